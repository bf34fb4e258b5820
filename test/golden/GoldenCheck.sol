// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {QiaoMessage} from "../../adapters/evm/contracts/QiaoMessage.sol";
import {QiaoAttestation} from "../../adapters/evm/contracts/QiaoAttestation.sol";

/// Test-only: exposes the port's libraries so the golden vectors can be checked
/// against the Solidity implementation with eth_call.
contract GoldenCheck {
    function encode(QiaoMessage.Message calldata m) external pure returns (bytes memory) {
        return QiaoMessage.encode(m);
    }

    function idOf(QiaoMessage.Message calldata m) external pure returns (bytes32) {
        return QiaoMessage.id(QiaoMessage.encode(m));
    }

    function id(bytes calldata encoded) external pure returns (bytes32) {
        return QiaoMessage.id(encoded);
    }

    function decode(bytes calldata encoded) external pure returns (QiaoMessage.Message memory) {
        return QiaoMessage.decode(encoded);
    }

    function domainSeparator(uint256 govChainId, address messageLog) external pure returns (bytes32) {
        return QiaoAttestation.domainSeparator(govChainId, messageLog);
    }

    function digest(uint256 govChainId, address messageLog, uint8 rootType, uint64 setId, uint64 batchNo, bytes32 root) external pure returns (bytes32) {
        return QiaoAttestation.digest(QiaoAttestation.domainSeparator(govChainId, messageLog), rootType, setId, batchNo, root);
    }

    function recover(bytes32 d, bytes calldata signature) external pure returns (address) {
        return ECDSA.recover(d, signature);
    }

    function leaf(bytes32 messageId) external pure returns (bytes32) {
        return QiaoMessage.leaf(messageId);
    }

    function verify(bytes32[] calldata proof, bytes32 root, bytes32 messageId) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, QiaoMessage.leaf(messageId));
    }

    /// `ids` in the order of the multiproof's leaves.
    function multiProofVerify(bytes32[] calldata proof, bool[] calldata proofFlags, bytes32 root, bytes32[] calldata ids) external pure returns (bool) {
        bytes32[] memory leaves = new bytes32[](ids.length);
        for (uint256 i = 0; i < ids.length; i++) leaves[i] = QiaoMessage.leaf(ids[i]);
        return MerkleProof.multiProofVerify(proof, proofFlags, root, leaves);
    }
}
