// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Optionally implemented by contracts that send through QiaoPort.sendRefundable.
interface IQiaoSender {
    /// Called by the source port, with the escrowed value, once the destination port
    /// has attested that message `id` was cancelled (past its timeout, never delivered).
    /// Reverting (or running out of the port's gas stipend) leaves the value claimable.
    function qiaoRefund(bytes32 id) external payable;
}
