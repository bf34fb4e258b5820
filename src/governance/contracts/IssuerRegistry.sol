// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./Governed.sol";
import {IdentityRegistry} from "./IdentityRegistry.sol";

/// Which issuer DID governance trusts for which credit schema, and until when.
contract IssuerRegistry is Governed {
    enum Status {
        None,
        Active,
        Revoked,
        Expired
    }

    struct Record {
        Status status; // stored: None, Active or Revoked; Expired is computed from the clock
        uint64 since;
        uint64 expiresAt; // 0 = no expiry
        uint64 revokedAt; // the latest revocation, kept across a re-accreditation so earlier attestations stay flagged
    }

    struct Pair {
        bytes32 issuerDidHash;
        bytes32 schemaId;
    }

    IdentityRegistry public immutable identities;
    mapping(bytes32 => Record) private records;
    Pair[] private pairs;

    event Accredited(bytes32 indexed issuerDidHash, bytes32 indexed schemaId, string issuerDid, uint64 since, uint64 expiresAt);
    event AccreditationRevoked(bytes32 indexed issuerDidHash, bytes32 indexed schemaId, string issuerDid, uint64 revokedAt);

    error UnknownIssuer(string issuerDid);
    error IssuerInactive(string issuerDid);
    error ZeroSchemaId();
    error BadExpiry(uint64 expiresAt, uint64 nowSeconds);
    error NotAccredited(string issuerDid, bytes32 schemaId);

    constructor(address governor_, IdentityRegistry identities_) Governed(governor_) {
        if (address(identities_) == address(0)) revert ZeroAddress();
        identities = identities_;
    }

    /// Accredits, re-accredits after a revocation or expiry, or moves the expiry of a live accreditation.
    function accredit(string calldata issuerDid, bytes32 schemaId, uint64 expiresAt) external onlyGovernor {
        bytes32 h = keccak256(bytes(issuerDid));
        if (identities.controllerOf(h) == address(0)) revert UnknownIssuer(issuerDid);
        if (!identities.isActive(h)) revert IssuerInactive(issuerDid);
        if (schemaId == bytes32(0)) revert ZeroSchemaId();
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert BadExpiry(expiresAt, uint64(block.timestamp));
        bytes32 k = key(h, schemaId);
        Record storage r = records[k];
        if (r.status == Status.None) pairs.push(Pair(h, schemaId));
        if (_status(r) != Status.Active) r.since = uint64(block.timestamp);
        r.status = Status.Active;
        r.expiresAt = expiresAt;
        emit Accredited(h, schemaId, issuerDid, r.since, expiresAt);
    }

    function revoke(string calldata issuerDid, bytes32 schemaId) external onlyGovernor {
        bytes32 h = keccak256(bytes(issuerDid));
        Record storage r = records[key(h, schemaId)];
        // An expired accreditation may still be revoked: that flags what it let through.
        if (r.status != Status.Active) revert NotAccredited(issuerDid, schemaId);
        r.status = Status.Revoked;
        r.revokedAt = uint64(block.timestamp);
        emit AccreditationRevoked(h, schemaId, issuerDid, r.revokedAt);
    }

    // ------------------------------------------------------------------ views

    /// The snapshot leaf key of an accreditation.
    function key(bytes32 issuerDidHash, bytes32 schemaId) public pure returns (bytes32) {
        return keccak256(abi.encode(issuerDidHash, schemaId));
    }

    function accreditation(bytes32 issuerDidHash, bytes32 schemaId)
        external
        view
        returns (uint8 status, uint64 since, uint64 expiresAt, uint64 revokedAt)
    {
        Record storage r = records[key(issuerDidHash, schemaId)];
        return (uint8(_status(r)), r.since, r.expiresAt, r.revokedAt);
    }

    /// True when the accreditation is live now and the issuer's DID is active.
    function isAccredited(bytes32 issuerDidHash, bytes32 schemaId) external view returns (bool) {
        return _status(records[key(issuerDidHash, schemaId)]) == Status.Active && identities.isActive(issuerDidHash);
    }

    function count() external view returns (uint256) {
        return pairs.length;
    }

    function at(uint256 i) external view returns (bytes32 issuerDidHash, bytes32 schemaId) {
        Pair storage p = pairs[i];
        return (p.issuerDidHash, p.schemaId);
    }

    function _status(Record storage r) private view returns (Status) {
        if (r.status == Status.Active && r.expiresAt != 0 && block.timestamp >= r.expiresAt) return Status.Expired;
        return r.status;
    }
}
