// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The part of QiaoPort (adapters/evm/contracts/QiaoPort.sol) settlement contracts use:
/// `send` with the frozen argument order. Declared here so the governance-chain contract
/// does not compile the whole port.
interface ISettlementPort {
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
