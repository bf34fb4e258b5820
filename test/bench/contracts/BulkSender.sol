// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

interface IQiaoPortSend {
    function send(
        string calldata dstChain,
        bytes calldata dstPort,
        bytes calldata receiver,
        uint64 gasLimit,
        uint64 timeoutHeight,
        uint64 timeoutUnixSeconds,
        bytes calldata payload
    ) external returns (bytes32 id);
}

/// Benchmark load: many messages per transaction, so the source chain's
/// transaction rate does not cap what the relayer is measured at.
contract BulkSender {
    function sendMany(
        IQiaoPortSend port,
        string calldata dstChain,
        bytes calldata dstPort,
        bytes calldata receiver,
        uint64 gasLimit,
        uint256 count,
        uint256 firstSeq
    ) external {
        for (uint256 i = 0; i < count; i++) {
            port.send(dstChain, dstPort, receiver, gasLimit, 0, 0, abi.encodePacked("bench ", firstSeq + i));
        }
    }
}
