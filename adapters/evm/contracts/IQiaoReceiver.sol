// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Implemented by contracts that receive Qiao messages from their chain's port.
interface IQiaoReceiver {
    /// Called by the port once per message id, with at most the message's gasLimit.
    /// Reverting records a `failed` receipt with the revert data as the reason.
    function qiaoReceive(bytes32 id, string calldata srcChain, bytes calldata sender, bytes calldata payload) external;
}
