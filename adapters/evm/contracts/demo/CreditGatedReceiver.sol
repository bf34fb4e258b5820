// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IQiaoReceiver} from "../IQiaoReceiver.sol";

/// A registry snapshot leaf, as QiaoPort hashes it (frozen: see src/registries/snapshot/leaves.ts).
struct RegistryLeaf {
    uint8 kind;
    bytes32 key;
    bytes32 a;
    bytes32 b;
    uint8 status;
    uint64 validUntil;
    bytes32 data;
}

/// The registry views of QiaoPort this receiver uses.
interface IQiaoRegistryView {
    /// 0 ok, 1 no snapshot accepted yet, 2 latest snapshot older than the port's maximum age, 3 leaf not in it.
    function checkRegistryLeaf(RegistryLeaf calldata leaf, bytes32[] calldata proof) external view returns (uint8 code);
}

/// A receiver on a member chain that accepts a message only from a sender whose DID
/// holds a valid credit attestation of one schema, with a public grade at least
/// `minimumGrade`, from an issuer accredited for that schema, all proven against the
/// latest registry snapshot the port accepted.
///
/// Payload (encode with src/registries/snapshot/gated-payload.ts):
///   abi.encode(
///     RegistryLeaf identity,      bytes32[] identityProof,      // kind 1: key = didHash, a = controller
///     RegistryLeaf attestation,   bytes32[] attestationProof,   // kind 3: a = didHash, b = schemaId
///     RegistryLeaf accreditation, bytes32[] accreditationProof, // kind 2: a = issuerDidHash, b = schemaId
///     bytes publicData,                                         // abi.encode(string grade)
///     bytes body)                                               // the application's own message
/// The issuer is bound through the attestation's data = keccak256(abi.encode(issuerDidHash, publicData)),
/// with issuerDidHash taken from the accreditation leaf; the DID is bound to the message
/// sender through the identity leaf's controller.
contract CreditGatedReceiver is IQiaoReceiver {
    uint8 private constant KIND_IDENTITY = 1;
    uint8 private constant KIND_ACCREDITATION = 2;
    uint8 private constant KIND_ATTESTATION = 3;
    uint8 private constant STATUS_ACTIVE = 1;

    address public immutable port;
    bytes32 public immutable schemaId;
    /// Rank of each grade on the scale, best first, counted from 1 (0 = not on the scale).
    mapping(bytes32 => uint256) public gradeRank;
    uint256 public immutable minimumRank;
    string public minimumGrade;

    uint256 public accepted;
    bytes32 public lastId;
    mapping(bytes32 => bytes32) public lastIdOfDid;

    event Accepted(bytes32 indexed id, bytes32 indexed didHash, string grade, bytes body);

    error OnlyPort();
    error BadConfig();
    error SenderNotAnAddress(bytes sender);
    /// `kind` of the leaf whose proof the port refused, with the port's code (1 no root, 2 root too old, 3 not in snapshot).
    error RegistryProofRefused(uint8 kind, uint8 code);
    error WrongLeafKind(uint8 expected, uint8 got);
    error IdentityNotActive(bytes32 didHash, uint8 status);
    error NotController(address controller, address sender);
    error WrongSubject(bytes32 identityDid, bytes32 attestationSubject);
    error WrongSchema(bytes32 expected, bytes32 got);
    /// Attestation status: 2 revoked, 3 expired, 4 disputed, 5 flagged.
    error AttestationNotValid(bytes32 uid, uint8 status);
    error AttestationExpired(bytes32 uid, uint64 validUntil);
    error AccreditationMismatch(bytes32 issuerDidHash, bytes32 schemaId);
    /// Accreditation status: 2 revoked, 3 expired.
    error IssuerNotAccredited(bytes32 issuerDidHash, uint8 status);
    error AccreditationExpired(bytes32 issuerDidHash, uint64 validUntil);
    error PublicDataMismatch(bytes32 uid);
    error UnknownGrade(string grade);
    error GradeTooLow(string grade, string minimum);

    /// `gradeScale` lists grades best first (e.g. ["A", "B", "C", "D"]); `minimumGrade_` must be on it.
    constructor(address port_, bytes32 schemaId_, string[] memory gradeScale, string memory minimumGrade_) {
        port = port_;
        schemaId = schemaId_;
        for (uint256 i = 0; i < gradeScale.length; i++) {
            bytes32 h = keccak256(bytes(gradeScale[i]));
            if (gradeRank[h] != 0) revert BadConfig();
            gradeRank[h] = i + 1;
        }
        minimumRank = gradeRank[keccak256(bytes(minimumGrade_))];
        if (minimumRank == 0) revert BadConfig();
        minimumGrade = minimumGrade_;
    }

    function qiaoReceive(bytes32 id, string calldata, bytes calldata sender, bytes calldata payload) external {
        if (msg.sender != port) revert OnlyPort();
        (
            RegistryLeaf memory identity,
            bytes32[] memory identityProof,
            RegistryLeaf memory attestation,
            bytes32[] memory attestationProof,
            RegistryLeaf memory accreditation,
            bytes32[] memory accreditationProof,
            bytes memory publicData,
            bytes memory body
        ) = abi.decode(payload, (RegistryLeaf, bytes32[], RegistryLeaf, bytes32[], RegistryLeaf, bytes32[], bytes, bytes));

        _checkIdentity(identity, identityProof, sender);
        _checkAttestation(attestation, attestationProof, identity.key);
        _checkAccreditation(accreditation, accreditationProof, attestation.b);
        if (attestation.data != keccak256(abi.encode(accreditation.a, publicData))) revert PublicDataMismatch(attestation.key);
        string memory grade = abi.decode(publicData, (string));
        uint256 rank = gradeRank[keccak256(bytes(grade))];
        if (rank == 0) revert UnknownGrade(grade);
        if (rank > minimumRank) revert GradeTooLow(grade, minimumGrade);

        accepted += 1;
        lastId = id;
        lastIdOfDid[identity.key] = id;
        emit Accepted(id, identity.key, grade, body);
    }

    function _checkIdentity(RegistryLeaf memory leaf, bytes32[] memory proof, bytes calldata sender) private view {
        if (leaf.kind != KIND_IDENTITY) revert WrongLeafKind(KIND_IDENTITY, leaf.kind);
        _inSnapshot(leaf, proof);
        if (leaf.status != STATUS_ACTIVE) revert IdentityNotActive(leaf.key, leaf.status);
        // EVM source ports put the sending account's 20 bytes in `sender`.
        if (sender.length != 20) revert SenderNotAnAddress(sender);
        address from = address(bytes20(sender));
        address controller = address(uint160(uint256(leaf.a)));
        if (controller != from) revert NotController(controller, from);
    }

    function _checkAttestation(RegistryLeaf memory leaf, bytes32[] memory proof, bytes32 didHash) private view {
        if (leaf.kind != KIND_ATTESTATION) revert WrongLeafKind(KIND_ATTESTATION, leaf.kind);
        _inSnapshot(leaf, proof);
        if (leaf.a != didHash) revert WrongSubject(didHash, leaf.a);
        if (leaf.b != schemaId) revert WrongSchema(schemaId, leaf.b);
        if (leaf.status != STATUS_ACTIVE) revert AttestationNotValid(leaf.key, leaf.status);
        // The snapshot may predate an expiry: judge validUntil against this chain's clock too.
        if (leaf.validUntil != 0 && leaf.validUntil <= block.timestamp) revert AttestationExpired(leaf.key, leaf.validUntil);
    }

    function _checkAccreditation(RegistryLeaf memory leaf, bytes32[] memory proof, bytes32 schema) private view {
        if (leaf.kind != KIND_ACCREDITATION) revert WrongLeafKind(KIND_ACCREDITATION, leaf.kind);
        _inSnapshot(leaf, proof);
        if (leaf.b != schema || leaf.key != keccak256(abi.encode(leaf.a, schema))) revert AccreditationMismatch(leaf.a, leaf.b);
        if (leaf.status != STATUS_ACTIVE) revert IssuerNotAccredited(leaf.a, leaf.status);
        if (leaf.validUntil != 0 && leaf.validUntil <= block.timestamp) revert AccreditationExpired(leaf.a, leaf.validUntil);
    }

    function _inSnapshot(RegistryLeaf memory leaf, bytes32[] memory proof) private view {
        uint8 code = IQiaoRegistryView(port).checkRegistryLeaf(leaf, proof);
        if (code != 0) revert RegistryProofRefused(leaf.kind, code);
    }
}
