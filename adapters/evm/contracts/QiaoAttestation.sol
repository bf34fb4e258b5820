// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// EIP-712 attestation digest of DESIGN.md: domain {name "Qiao", version "1",
/// chainId: governance chain id, verifyingContract: MessageLog} — the governance
/// chain's domain, not the chain this code runs on.
library QiaoAttestation {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant ATTESTATION_TYPEHASH =
        keccak256("Attestation(uint8 rootType,uint64 setId,uint64 batchNo,bytes32 root)");

    uint8 internal constant ROOT_MESSAGES = 1;
    uint8 internal constant ROOT_REGISTRY = 2;
    uint8 internal constant ROOT_ATTESTOR_SET = 3;

    function domainSeparator(uint256 govChainId, address messageLog) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("Qiao"), keccak256("1"), govChainId, messageLog));
    }

    function digest(bytes32 domain, uint8 rootType, uint64 setId, uint64 batchNo, bytes32 root) internal pure returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(ATTESTATION_TYPEHASH, rootType, setId, batchNo, root));
        return keccak256(abi.encodePacked(hex"1901", domain, structHash));
    }
}
