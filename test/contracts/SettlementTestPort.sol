// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IQiaoReceiver} from "../../adapters/evm/contracts/IQiaoReceiver.sol";

/// A stand-in for QiaoPort in settlement contract tests: `send` emits the message (same
/// signature as QiaoPort.send), and `deliver` calls a receiver's qiaoReceive with the message's
/// gas limit like QiaoPort's delivery does, bubbling its revert. The test is the relayer.
contract SettlementTestPort {
    string public chainName;
    uint256 public sentCount;

    /// Only an event and one counter, like QiaoPort's cheap send (storage-heavy records would
    /// make the settlement contracts' gas limits look tighter than they are).
    event PortSent(uint256 indexed index, address sender, string dstChain, bytes dstPort, bytes receiver, uint64 gasLimit, bytes payload);

    constructor(string memory chainName_) {
        chainName = chainName_;
    }

    function send(
        string calldata dstChain,
        bytes calldata dstPort,
        bytes calldata receiver,
        uint64 gasLimit,
        uint64,
        uint64,
        bytes calldata payload
    ) external returns (bytes32 id) {
        uint256 i = sentCount++;
        id = keccak256(abi.encode(address(this), i));
        emit PortSent(i, msg.sender, dstChain, dstPort, receiver, gasLimit, payload);
    }

    function deliver(address receiver, bytes32 id, string calldata srcChain, bytes calldata sender, bytes calldata payload, uint64 gasLimit) external {
        (bool ok, bytes memory ret) = receiver.call{gas: gasLimit}(abi.encodeCall(IQiaoReceiver.qiaoReceive, (id, srcChain, sender, payload)));
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
