// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

interface IQiaoPortSend {
    function send(string calldata dstChain, bytes calldata dstPort, bytes calldata receiver, uint64 gasLimit, uint64 timeoutHeight, uint64 timeoutUnixSeconds, bytes calldata payload)
        external
        returns (bytes32);
}

/// A demo application that sends a numbered greeting to a receiver on another chain.
contract DemoSender {
    IQiaoPortSend public immutable port;
    uint256 public sent;

    constructor(address port_) {
        port = IQiaoPortSend(port_);
    }

    function ping(string calldata dstChain, address dstPort, address receiver, bytes calldata payload) external returns (bytes32 id) {
        sent += 1;
        id = port.send(dstChain, abi.encodePacked(dstPort), abi.encodePacked(receiver), 200_000, 0, 0, payload);
    }
}
