// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IQiaoReceiver} from "../IQiaoReceiver.sol";

/// A demo receiver that counts what it gets; payloads starting with "fail" revert,
/// so the failed-receipt path can be shown on a real chain.
contract DemoReceiver is IQiaoReceiver {
    address public immutable port;
    uint256 public received;
    mapping(bytes32 => uint256) public timesReceived;
    bytes32 public lastId;

    event Received(bytes32 indexed id, string srcChain, bytes sender, bytes payload);

    error OnlyPort();

    constructor(address port_) {
        port = port_;
    }

    function qiaoReceive(bytes32 id, string calldata srcChain, bytes calldata sender, bytes calldata payload) external {
        if (msg.sender != port) revert OnlyPort();
        if (payload.length >= 4 && bytes4(payload[0:4]) == bytes4("fail")) revert("demo receiver refuses payloads starting with fail");
        received += 1;
        timesReceived[id] += 1;
        lastId = id;
        emit Received(id, srcChain, sender, payload);
    }
}
