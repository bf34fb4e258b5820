// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./Governed.sol";
import {IdentityRegistry} from "./IdentityRegistry.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";

/// Credit attestations in the style of EAS: a schema registered by governance, a subject DID,
/// an accredited issuer DID, a salted commitment to the private data (computed off chain)
/// and only the fields the schema marks public. Subjects can dispute; issuers must answer
/// before the schema's deadline; negative records expire after the schema's retention
/// without anyone acting.
contract CreditRegistry is Governed {
    uint256 public constant MAX_PUBLIC_FIELDS = 16;
    uint256 public constant MAX_PUBLIC_DATA = 2048;
    uint256 private constant MAX_FIELD = 64;
    uint256 private constant MAX_NAME = 64;

    enum AttestationStatus {
        None,
        Valid,
        Revoked,
        Expired,
        Disputed,
        Flagged
    }

    uint8 public constant OUTCOME_OPEN = 0;
    uint8 public constant OUTCOME_UPHELD = 1;
    uint8 public constant OUTCOME_WITHDRAWN = 2;
    uint8 public constant OUTCOME_LAPSED = 3;

    struct Schema {
        string name;
        string[] publicFields; // Solidity ABI "type name" strings, e.g. "string grade"
        bool revocable;
        bool negative;
        uint64 retentionSeconds; // negative schemas: issuedAt + retention ends the record
        uint64 disputeWindowSeconds;
        uint64 registeredAt;
    }

    struct Dispute {
        bytes32 statementHash;
        uint64 openedAt; // 0 = never disputed
        uint64 deadline;
        uint8 outcome; // stored outcome; an open dispute past its deadline reads as lapsed in `status`
        bytes32 responseHash;
        uint64 closedAt;
    }

    struct Attestation {
        bytes32 uid;
        bytes32 schemaId;
        string subjectDid;
        bytes32 subjectDidHash;
        string issuerDid;
        bytes32 issuerDidHash;
        bytes32 dataCommitment;
        uint64 issuedAt;
        uint64 expiresAt; // 0 = none
        bool revocable;
        uint64 revokedAt; // 0 = not revoked (a withdrawn dispute sets it too)
        bytes publicData; // abi.encode of exactly the schema's public fields
        Dispute dispute;
    }

    IdentityRegistry public immutable identities;
    IssuerRegistry public immutable issuers;

    mapping(bytes32 => Schema) private schemas;
    bytes32[] private schemaIds;
    mapping(bytes32 => Attestation) private attestations;
    bytes32[] private uids;

    event SchemaRegistered(
        bytes32 indexed schemaId,
        string name,
        string[] publicFields,
        bool revocable,
        bool negative,
        uint64 retentionSeconds,
        uint64 disputeWindowSeconds
    );
    event Attested(
        bytes32 indexed uid,
        bytes32 indexed schemaId,
        bytes32 indexed subjectDidHash,
        bytes32 issuerDidHash,
        uint64 issuedAt,
        uint64 expiresAt
    );
    event AttestationRevoked(bytes32 indexed uid, bytes32 indexed subjectDidHash, uint64 revokedAt);
    event DisputeOpened(bytes32 indexed uid, bytes32 indexed subjectDidHash, bytes32 statementHash, uint64 deadline);
    event DisputeAnswered(bytes32 indexed uid, bytes32 indexed subjectDidHash, uint8 outcome, bytes32 responseHash);
    event DisputeClosed(bytes32 indexed uid, bytes32 indexed subjectDidHash, uint8 outcome);

    error BadSchemaName(string name);
    error SchemaExists(bytes32 schemaId, string name);
    error BadPublicField(uint256 index);
    error TooManyPublicFields(uint256 count, uint256 max);
    error NegativeNeedsRetention(string name);
    error ZeroDisputeWindow(string name);
    error UnknownSchema(bytes32 schemaId);
    error NotIssuerController(string issuerDid, address caller);
    error IssuerInactive(string issuerDid);
    error IssuerNotAccredited(string issuerDid, bytes32 schemaId);
    error SubjectInactive(string subjectDid);
    error BadExpiry(uint64 expiresAt, uint64 nowSeconds);
    error SchemaNotRevocable(bytes32 schemaId);
    error ZeroCommitment();
    error BadPublicData(uint256 length);
    error UnknownAttestation(bytes32 uid);
    error NotRevocable(bytes32 uid);
    error AlreadyRevoked(bytes32 uid);
    error NotSubjectController(bytes32 uid, address caller);
    error NotDisputable(bytes32 uid, uint8 status);
    error AlreadyDisputed(bytes32 uid);
    error ZeroStatement();
    error NoOpenDispute(bytes32 uid);
    error DeadlinePassed(bytes32 uid, uint64 deadline);
    error DeadlineNotPassed(bytes32 uid, uint64 deadline);
    error BadOutcome(uint8 outcome);

    constructor(address governor_, IdentityRegistry identities_, IssuerRegistry issuers_) Governed(governor_) {
        if (address(identities_) == address(0) || address(issuers_) == address(0)) revert ZeroAddress();
        identities = identities_;
        issuers = issuers_;
    }

    // ------------------------------------------------------------- governance

    function registerSchema(
        string calldata name,
        string[] calldata publicFields,
        bool revocable,
        bool negative,
        uint64 retentionSeconds,
        uint64 disputeWindowSeconds
    ) external onlyGovernor returns (bytes32 schemaId) {
        uint256 n = bytes(name).length;
        if (n == 0 || n > MAX_NAME) revert BadSchemaName(name);
        schemaId = keccak256(bytes(name));
        if (schemas[schemaId].registeredAt != 0) revert SchemaExists(schemaId, name);
        if (publicFields.length > MAX_PUBLIC_FIELDS) revert TooManyPublicFields(publicFields.length, MAX_PUBLIC_FIELDS);
        // The field grammar is checked by the hub's client; the contract keeps the cheap bound.
        for (uint256 i = 0; i < publicFields.length; i++) {
            uint256 f = bytes(publicFields[i]).length;
            if (f < 3 || f > MAX_FIELD) revert BadPublicField(i);
        }
        if (negative && retentionSeconds == 0) revert NegativeNeedsRetention(name);
        if (disputeWindowSeconds == 0) revert ZeroDisputeWindow(name);
        Schema storage s = schemas[schemaId];
        s.name = name;
        for (uint256 i = 0; i < publicFields.length; i++) s.publicFields.push(publicFields[i]);
        s.revocable = revocable;
        s.negative = negative;
        s.retentionSeconds = retentionSeconds;
        s.disputeWindowSeconds = disputeWindowSeconds;
        s.registeredAt = uint64(block.timestamp);
        schemaIds.push(schemaId);
        emit SchemaRegistered(schemaId, name, publicFields, revocable, negative, retentionSeconds, disputeWindowSeconds);
    }

    // ----------------------------------------------------------------- issuer

    function attest(
        bytes32 schemaId,
        string calldata subjectDid,
        string calldata issuerDid,
        bytes32 dataCommitment,
        uint64 expiresAt,
        bool revocable,
        bytes calldata publicData
    ) external returns (bytes32 uid) {
        Schema storage s = schemas[schemaId];
        if (s.registeredAt == 0) revert UnknownSchema(schemaId);
        bytes32 issuerHash = keccak256(bytes(issuerDid));
        bytes32 subjectHash = keccak256(bytes(subjectDid));
        _checkIssuer(issuerDid, issuerHash);
        if (!issuers.isAccredited(issuerHash, schemaId)) revert IssuerNotAccredited(issuerDid, schemaId);
        if (!identities.isActive(subjectHash)) revert SubjectInactive(subjectDid);
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert BadExpiry(expiresAt, uint64(block.timestamp));
        if (revocable && !s.revocable) revert SchemaNotRevocable(schemaId);
        if (dataCommitment == bytes32(0)) revert ZeroCommitment();
        // abi.encode of the public fields: at least one head word per field, whole words only.
        uint256 len = publicData.length;
        if (len > MAX_PUBLIC_DATA || len % 32 != 0 || len < 32 * s.publicFields.length) revert BadPublicData(len);

        uid = keccak256(abi.encode(schemaId, subjectHash, issuerHash, dataCommitment, block.timestamp, uids.length));
        Attestation storage a = attestations[uid];
        a.uid = uid;
        a.schemaId = schemaId;
        a.subjectDid = subjectDid;
        a.subjectDidHash = subjectHash;
        a.issuerDid = issuerDid;
        a.issuerDidHash = issuerHash;
        a.dataCommitment = dataCommitment;
        a.issuedAt = uint64(block.timestamp);
        a.expiresAt = expiresAt;
        a.revocable = revocable;
        a.publicData = publicData;
        uids.push(uid);
        emit Attested(uid, schemaId, subjectHash, issuerHash, uint64(block.timestamp), expiresAt);
    }

    function revoke(bytes32 uid) external {
        Attestation storage a = _existing(uid);
        _checkIssuer(a.issuerDid, a.issuerDidHash);
        if (!a.revocable) revert NotRevocable(uid);
        if (_status(a) == AttestationStatus.Revoked) revert AlreadyRevoked(uid);
        _revoke(a);
    }

    /// Before the deadline only: upheld (the record stands) or withdrawn (revoked).
    function answer(bytes32 uid, uint8 outcome, bytes32 responseHash) external {
        Attestation storage a = _existing(uid);
        _checkIssuer(a.issuerDid, a.issuerDidHash);
        Dispute storage d = a.dispute;
        if (d.openedAt == 0 || d.outcome != OUTCOME_OPEN) revert NoOpenDispute(uid);
        if (block.timestamp > d.deadline) revert DeadlinePassed(uid, d.deadline);
        if (outcome != OUTCOME_UPHELD && outcome != OUTCOME_WITHDRAWN) revert BadOutcome(outcome);
        d.outcome = outcome;
        d.responseHash = responseHash;
        d.closedAt = uint64(block.timestamp);
        emit DisputeAnswered(uid, a.subjectDidHash, outcome, responseHash);
        // Due process outranks the revocable flag: a withdrawn record is revoked either way.
        if (outcome == OUTCOME_WITHDRAWN && a.revokedAt == 0) _revoke(a);
    }

    // ---------------------------------------------------------------- subject

    function dispute(bytes32 uid, bytes32 statementHash) external {
        Attestation storage a = _existing(uid);
        if (identities.controllerOf(a.subjectDidHash) != msg.sender) revert NotSubjectController(uid, msg.sender);
        if (!identities.isActive(a.subjectDidHash)) revert SubjectInactive(a.subjectDid);
        if (statementHash == bytes32(0)) revert ZeroStatement();
        if (a.dispute.openedAt != 0) revert AlreadyDisputed(uid);
        AttestationStatus st = _status(a);
        if (st != AttestationStatus.Valid && st != AttestationStatus.Flagged) revert NotDisputable(uid, uint8(st));
        uint64 deadline = uint64(block.timestamp) + schemas[a.schemaId].disputeWindowSeconds;
        a.dispute.statementHash = statementHash;
        a.dispute.openedAt = uint64(block.timestamp);
        a.dispute.deadline = deadline;
        emit DisputeOpened(uid, a.subjectDidHash, statementHash, deadline);
    }

    /// Anyone may record a lapsed dispute (the views already treat it as lapsed).
    function closeDispute(bytes32 uid) external {
        Attestation storage a = _existing(uid);
        Dispute storage d = a.dispute;
        if (d.openedAt == 0 || d.outcome != OUTCOME_OPEN) revert NoOpenDispute(uid);
        if (block.timestamp <= d.deadline) revert DeadlineNotPassed(uid, d.deadline);
        d.outcome = OUTCOME_LAPSED;
        d.closedAt = uint64(block.timestamp);
        emit DisputeClosed(uid, a.subjectDidHash, OUTCOME_LAPSED);
    }

    // ------------------------------------------------------------------ views

    /// Precedence: none, revoked (revoked, withdrawn or lapsed), expired (expiresAt or negative
    /// retention reached), disputed (open), flagged (accreditation revoked at or after issuance), valid.
    function status(bytes32 uid) external view returns (uint8) {
        return uint8(_status(attestations[uid]));
    }

    /// The effective dispute outcome now: an open dispute past its deadline is lapsed.
    function disputeOutcome(bytes32 uid) public view returns (uint8) {
        Dispute storage d = attestations[uid].dispute;
        if (d.openedAt != 0 && d.outcome == OUTCOME_OPEN && block.timestamp > d.deadline) return OUTCOME_LAPSED;
        return d.outcome;
    }

    /// The end of a record's validity: expiresAt, or for a negative schema min(expiresAt, issuedAt + retention); 0 = none.
    function validUntil(bytes32 uid) public view returns (uint64) {
        Attestation storage a = attestations[uid];
        Schema storage s = schemas[a.schemaId];
        uint64 end = a.expiresAt;
        if (s.negative && a.issuedAt != 0) {
            uint64 r = a.issuedAt + s.retentionSeconds;
            if (end == 0 || r < end) end = r;
        }
        return end;
    }

    /// An unknown uid returns an empty record (issuedAt 0).
    function get(bytes32 uid) external view returns (Attestation memory) {
        return attestations[uid];
    }

    /// One call for everything a reader shows: the record and its state now.
    function inspect(bytes32 uid)
        external
        view
        returns (Attestation memory record, uint8 status_, uint8 disputeOutcome_, uint64 validUntil_)
    {
        Attestation storage a = attestations[uid];
        return (a, uint8(_status(a)), disputeOutcome(uid), validUntil(uid));
    }

    function count() external view returns (uint256) {
        return uids.length;
    }

    function uidAt(uint256 i) external view returns (bytes32) {
        return uids[i];
    }

    /// An unknown id returns an empty schema (registeredAt 0).
    function schema(bytes32 schemaId) external view returns (Schema memory) {
        return schemas[schemaId];
    }

    function schemaCount() external view returns (uint256) {
        return schemaIds.length;
    }

    function schemaAt(uint256 i) external view returns (bytes32) {
        return schemaIds[i];
    }

    // --------------------------------------------------------------- internal

    function _existing(bytes32 uid) private view returns (Attestation storage a) {
        a = attestations[uid];
        if (a.issuedAt == 0) revert UnknownAttestation(uid);
    }

    /// The caller must control the issuer DID now, and the DID must be active.
    function _checkIssuer(string memory issuerDid, bytes32 issuerHash) private view {
        if (identities.controllerOf(issuerHash) != msg.sender) revert NotIssuerController(issuerDid, msg.sender);
        if (!identities.isActive(issuerHash)) revert IssuerInactive(issuerDid);
    }

    function _revoke(Attestation storage a) private {
        a.revokedAt = uint64(block.timestamp);
        emit AttestationRevoked(a.uid, a.subjectDidHash, a.revokedAt);
    }

    function _status(Attestation storage a) private view returns (AttestationStatus) {
        if (a.issuedAt == 0) return AttestationStatus.None;
        Dispute storage d = a.dispute;
        bool open = d.openedAt != 0 && d.outcome == OUTCOME_OPEN;
        if (a.revokedAt != 0 || d.outcome == OUTCOME_WITHDRAWN || d.outcome == OUTCOME_LAPSED) return AttestationStatus.Revoked;
        if (open && block.timestamp > d.deadline) return AttestationStatus.Revoked;
        uint64 end = validUntil(a.uid);
        if (end != 0 && block.timestamp >= end) return AttestationStatus.Expired;
        if (open) return AttestationStatus.Disputed;
        (,,, uint64 accRevokedAt) = issuers.accreditation(a.issuerDidHash, a.schemaId);
        if (accRevokedAt != 0 && accRevokedAt >= a.issuedAt) return AttestationStatus.Flagged;
        return AttestationStatus.Valid;
    }
}
