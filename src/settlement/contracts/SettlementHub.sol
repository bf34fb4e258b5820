// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "../../governance/contracts/Governed.sol";
import {IdentityRegistry} from "../../governance/contracts/IdentityRegistry.sol";
import {IssuerRegistry} from "../../governance/contracts/IssuerRegistry.sol";
import {CreditRegistry} from "../../governance/contracts/CreditRegistry.sol";
import {ISettlementPort} from "./ISettlementPort.sol";

/// Cross-border settlement on the governance chain: the corridor registry (providers propose,
/// governance approves or suspends), the providers' FX rates, token-bucket limits, compliance
/// against the credit registries, and the ONE commit-or-abort decision per payment.
///
/// Every lock, decision, release and refund is an ordinary Qiao message through this chain's
/// port (payload `abi.encode(uint8 kind, bytes16 uetr, uint8 leg, bytes body)`): escrows on the
/// member chains report LOCKED / LOCK_FAILED, this contract answers RESERVE / RELEASE / REFUND.
/// No escrow releases or refunds on its own; no leg decides alone.
///
/// Compliance: a corridor lists the schemas it accepts for the sender (and the receiver).
/// "Requires ANY of": a non-empty list needs ONE attestation whose schema is in the list, that
/// is valid in CreditRegistry now, whose subject DID is active and controlled by the account,
/// and whose issuer is accredited for that schema now. An empty list needs nothing.
///
/// Limits: per corridor, a bucket over every input, and a bucket per entity (the sender's DID
/// hash when it controls the attestation's subject, else keccak256(abi.encode(sender))). Buckets
/// start full and refill linearly up to their capacity; an opened payment consumes its hop's
/// input from both, and an aborted one does not give it back (limits count attempted volume).
contract SettlementHub is Governed {
    uint8 public constant KIND_LOCKED = 1;
    uint8 public constant KIND_LOCK_FAILED = 2;
    uint8 public constant KIND_RESERVE = 3;
    uint8 public constant KIND_RELEASE = 4;
    uint8 public constant KIND_REFUND = 5;

    uint64 public constant HUB_TO_ESCROW_GAS = 300_000;
    uint256 public constant MAX_HOPS = 3;
    uint256 public constant MAX_SCHEMAS = 8;

    uint8 public constant STATUS_PROPOSED = 0;
    uint8 public constant STATUS_APPROVED = 1;
    uint8 public constant STATUS_SUSPENDED = 2;

    uint8 public constant PAYMENT_NONE = 0;
    uint8 public constant PAYMENT_OPEN = 1;
    uint8 public constant PAYMENT_COMMITTED = 2;
    uint8 public constant PAYMENT_ABORTED = 3;

    uint8 public constant LEG_PENDING = 0;
    uint8 public constant LEG_LOCKED = 1;
    uint8 public constant LEG_LOCK_FAILED = 2;
    uint8 public constant LEG_RELEASE_SENT = 3;
    uint8 public constant LEG_REFUND_SENT = 4;

    // The `why` of Sender/ReceiverNotCompliant.
    uint8 public constant WHY_MISSING = 1;
    uint8 public constant WHY_NOT_VALID = 2;
    uint8 public constant WHY_WRONG_SCHEMA = 3;
    uint8 public constant WHY_NOT_CONTROLLER = 4;
    uint8 public constant WHY_ISSUER_NOT_ACCREDITED = 5;

    struct Corridor {
        string srcChain;
        string srcAsset;
        string dstChain;
        string dstAsset;
        address provider;
        uint16 feeBps;
        uint256 fixedFee;
        uint16 spreadBps;
        string fxSource;
        uint256 minAmount;
        uint256 maxAmount;
        uint256 bucketCapacity;
        uint256 bucketRefillPerSecond;
        uint256 entityCapacity;
        uint256 entityRefillPerSecond;
        bytes32[] senderSchemas;
        bytes32[] receiverSchemas;
        uint64 expectedSeconds;
    }

    struct Leg {
        string chain;
        string asset;
        address token;
        uint256 amount;
        address from;
        address to;
        uint8 state;
    }

    /// What was consumed, as of `at`; the level is capacity - (spent - refilled since).
    struct Bucket {
        uint256 spent;
        uint64 at;
    }

    struct CorridorRecord {
        Corridor c;
        uint8 status;
        uint256 rate;
        uint64 rateUpdatedAt;
        address srcToken;
        address dstToken;
        Bucket bucket;
    }

    struct Payment {
        uint8 state;
        address sender;
        address receiver;
        uint64 deadline;
        uint64 openedAt;
        uint64 decidedAt;
        uint8 lockedCount;
        Leg[] legs;
        uint64[] corridorIds;
    }

    struct EscrowBinding {
        bytes escrow;
        bytes port;
    }

    IdentityRegistry public immutable identities;
    IssuerRegistry public immutable issuers;
    CreditRegistry public immutable credits;

    address public port;
    string public chainName;
    uint64 public maxRateAge = 3600;
    mapping(address => bool) public operators;

    uint64 public corridorCount;
    mapping(uint64 => CorridorRecord) private corridors;
    mapping(uint64 => mapping(bytes32 => Bucket)) private entityBuckets;
    mapping(bytes32 => EscrowBinding) private escrows;

    mapping(bytes16 => Payment) private payments;
    /// UETRs burned by a LOCKED that arrived before any payment used them.
    mapping(bytes16 => bool) public burned;
    bytes16[] private openList;
    mapping(bytes16 => uint256) private openIndex; // 1-based

    event PortSet(address port, string chainName);
    event EscrowSet(string chain, bytes escrow, bytes port);
    event OperatorSet(address indexed operator, bool allowed);
    event MaxRateAgeSet(uint64 seconds_);
    event CorridorProposed(uint64 indexed id, address indexed provider);
    event CorridorStatus(uint64 indexed id, uint8 status);
    event RateSet(uint64 indexed id, uint256 rate, uint64 at);
    event PaymentOpened(bytes16 indexed uetr, address sender, address receiver, uint8 legs, uint64 deadline);
    event LegLocked(bytes16 indexed uetr, uint8 leg);
    event LegLockFailed(bytes16 indexed uetr, uint8 leg, string reason);
    event LockMismatch(bytes16 indexed uetr, uint8 leg);
    event PaymentCommitted(bytes16 indexed uetr);
    event PaymentAborted(bytes16 indexed uetr, string reason);

    error NotOperator(address caller);
    error UetrUsed(bytes16 uetr);
    error DeadlinePassed(uint64 deadline, uint64 nowSeconds);
    error BadHopCount(uint256 count);
    error UnknownCorridor(uint64 id);
    error HopsNotChained(uint256 hop);
    error CorridorNotApproved(uint64 id, uint8 status);
    error NoRate(uint64 id);
    error StaleRate(uint64 id, uint64 updatedAt, uint64 maxAge);
    error BelowMinimum(uint64 id, uint256 amount, uint256 minAmount);
    error AboveMaximum(uint64 id, uint256 amount, uint256 maxAmount);
    error FeeExceedsAmount(uint64 id, uint256 amount, uint256 fee);
    error ZeroOutput(uint64 id);
    error CorridorLimitExhausted(uint64 id, uint256 amount, uint256 headroom);
    error EntityLimitExhausted(uint64 id, bytes32 entity, uint256 amount, uint256 headroom);
    error SenderNotCompliant(uint64 id, bytes32 attestation, uint8 why);
    error ReceiverNotCompliant(uint64 id, bytes32 attestation, uint8 why);
    error BelowMinOut(uint256 out, uint256 minOut);
    error NoEscrow(string chain);
    error PortNotSet();
    error NotProvider(uint64 id, address caller);
    error BadCorridor(string field);
    error BadRate();
    error BadStatusChange(uint64 id, uint8 status);
    error NotPort(address caller);
    error UnknownEscrow(string srcChain, bytes sender);
    error BadKind(uint8 kind);
    error UnknownPayment(bytes16 uetr);
    error NotOpen(bytes16 uetr, uint8 state);
    error DeadlineNotPassed(bytes16 uetr, uint64 deadline);

    constructor(address governor_, IdentityRegistry identities_, IssuerRegistry issuers_, CreditRegistry credits_) Governed(governor_) {
        if (address(identities_) == address(0) || address(issuers_) == address(0) || address(credits_) == address(0)) revert ZeroAddress();
        identities = identities_;
        issuers = issuers_;
        credits = credits_;
    }

    // ------------------------------------------------------------- governance

    function setPort(address port_, string calldata chainName_) external onlyGovernor {
        if (port_ == address(0)) revert ZeroAddress();
        port = port_;
        chainName = chainName_;
        emit PortSet(port_, chainName_);
    }

    /// The escrow and port of a member chain: LOCKED / LOCK_FAILED count only from that escrow
    /// on that chain, and RESERVE / RELEASE / REFUND for legs there go to it.
    function setEscrow(string calldata chain, bytes calldata escrow, bytes calldata port_) external onlyGovernor {
        if (bytes(chain).length == 0 || escrow.length == 0 || port_.length == 0) revert ZeroAddress();
        escrows[keccak256(bytes(chain))] = EscrowBinding(escrow, port_);
        emit EscrowSet(chain, escrow, port_);
    }

    function setOperator(address operator, bool allowed) external onlyGovernor {
        if (operator == address(0)) revert ZeroAddress();
        operators[operator] = allowed;
        emit OperatorSet(operator, allowed);
    }

    function setMaxRateAge(uint64 seconds_) external onlyGovernor {
        if (seconds_ == 0) revert BadRate();
        maxRateAge = seconds_;
        emit MaxRateAgeSet(seconds_);
    }

    function approveCorridor(uint64 id) external onlyGovernor {
        CorridorRecord storage r = _corridor(id);
        if (r.status == STATUS_APPROVED) revert BadStatusChange(id, r.status);
        r.status = STATUS_APPROVED;
        emit CorridorStatus(id, STATUS_APPROVED);
    }

    function suspendCorridor(uint64 id) external onlyGovernor {
        CorridorRecord storage r = _corridor(id);
        if (r.status == STATUS_SUSPENDED) revert BadStatusChange(id, r.status);
        r.status = STATUS_SUSPENDED;
        emit CorridorStatus(id, STATUS_SUSPENDED);
    }

    // --------------------------------------------------------------- providers

    function proposeCorridor(Corridor calldata c) external returns (uint64 id) {
        if (msg.sender != c.provider) revert NotProvider(0, msg.sender);
        address srcToken = _tokenOf(c.srcChain, c.srcAsset, "srcAsset");
        address dstToken = _tokenOf(c.dstChain, c.dstAsset, "dstAsset");
        if (c.feeBps > 10_000) revert BadCorridor("feeBps");
        if (c.spreadBps >= 10_000) revert BadCorridor("spreadBps");
        if (c.maxAmount == 0 || c.minAmount > c.maxAmount) revert BadCorridor("minAmount");
        if (c.bucketCapacity == 0) revert BadCorridor("bucketCapacity");
        if (c.entityCapacity == 0) revert BadCorridor("entityCapacity");
        if (c.senderSchemas.length > MAX_SCHEMAS) revert BadCorridor("senderSchemas");
        if (c.receiverSchemas.length > MAX_SCHEMAS) revert BadCorridor("receiverSchemas");
        id = ++corridorCount;
        CorridorRecord storage r = corridors[id];
        r.c = c;
        r.srcToken = srcToken;
        r.dstToken = dstToken;
        emit CorridorProposed(id, msg.sender);
        emit CorridorStatus(id, STATUS_PROPOSED);
    }

    function setRate(uint64 id, uint256 rate1e18) external {
        CorridorRecord storage r = _corridor(id);
        if (msg.sender != r.c.provider) revert NotProvider(id, msg.sender);
        if (rate1e18 == 0) revert BadRate();
        r.rate = rate1e18;
        r.rateUpdatedAt = uint64(block.timestamp);
        emit RateSet(id, rate1e18, uint64(block.timestamp));
    }

    // ---------------------------------------------------------------- payments

    function open(
        bytes16 uetr,
        uint64[] calldata corridorIds,
        uint256 amount,
        address sender,
        address receiver,
        bytes32 senderAttestation,
        bytes32 receiverAttestation,
        uint64 deadline,
        uint256 minOut
    ) external {
        if (!operators[msg.sender]) revert NotOperator(msg.sender);
        if (sender == address(0) || receiver == address(0)) revert ZeroAddress();
        if (payments[uetr].state != PAYMENT_NONE || burned[uetr]) revert UetrUsed(uetr);
        if (deadline <= block.timestamp) revert DeadlinePassed(deadline, uint64(block.timestamp));
        uint256 h = corridorIds.length;
        if (h == 0 || h > MAX_HOPS) revert BadHopCount(h);

        Payment storage p = payments[uetr];
        bytes32 entity = entityOf(sender, senderAttestation);
        uint256 a = amount;
        for (uint256 i = 0; i < h; i++) {
            uint64 id = corridorIds[i];
            if (id == 0 || id > corridorCount) revert UnknownCorridor(id);
            CorridorRecord storage r = corridors[id];
            if (i > 0) _checkChained(corridors[corridorIds[i - 1]].c, r.c, i);
            if (i == 0) p.legs.push(Leg(r.c.srcChain, r.c.srcAsset, r.srcToken, a, sender, r.c.provider, LEG_PENDING));
            uint256 out = _checkHop(id, r, a, entity);
            uint8 why = _compliance(senderAttestation, r.c.senderSchemas, sender);
            if (why != 0) revert SenderNotCompliant(id, senderAttestation, why);
            p.legs.push(Leg(r.c.dstChain, r.c.dstAsset, r.dstToken, out, r.c.provider, receiver, LEG_PENDING));
            // The previous leg pays this hop's provider, not the receiver.
            if (i > 0) p.legs[i].to = r.c.provider;
            p.corridorIds.push(id);
            a = out;
        }
        {
            uint64 last = corridorIds[h - 1];
            uint8 why = _compliance(receiverAttestation, corridors[last].c.receiverSchemas, receiver);
            if (why != 0) revert ReceiverNotCompliant(last, receiverAttestation, why);
        }
        if (a < minOut) revert BelowMinOut(a, minOut);
        for (uint256 i = 0; i <= h; i++) {
            if (escrows[keccak256(bytes(p.legs[i].chain))].escrow.length == 0) revert NoEscrow(p.legs[i].chain);
        }
        if (port == address(0)) revert PortNotSet();

        p.state = PAYMENT_OPEN;
        p.sender = sender;
        p.receiver = receiver;
        p.deadline = deadline;
        p.openedAt = uint64(block.timestamp);
        openList.push(uetr);
        openIndex[uetr] = openList.length;
        emit PaymentOpened(uetr, sender, receiver, uint8(h + 1), deadline);
        // Leg 0 is locked by the sender himself; the providers' legs are reserved from their pools.
        for (uint256 i = 1; i <= h; i++) {
            Leg storage l = p.legs[i];
            _sendToEscrow(l.chain, KIND_RESERVE, uetr, uint8(i), abi.encode(l.token, l.amount, l.from, l.to));
        }
    }

    /// Anyone (the hub's keeper): an open payment past its deadline is aborted; every leg that
    /// reported LOCKED is refunded.
    function abort(bytes16 uetr) external {
        Payment storage p = payments[uetr];
        if (p.state == PAYMENT_NONE) revert UnknownPayment(uetr);
        if (p.state != PAYMENT_OPEN) revert NotOpen(uetr, p.state);
        if (block.timestamp <= p.deadline) revert DeadlineNotPassed(uetr, p.deadline);
        _abort(uetr, p, "deadline");
    }

    // ---------------------------------------------------------------- messages

    function qiaoReceive(bytes32, string calldata srcChain, bytes calldata sender, bytes calldata payload) external {
        if (msg.sender != port) revert NotPort(msg.sender);
        EscrowBinding storage e = escrows[keccak256(bytes(srcChain))];
        if (e.escrow.length == 0 || keccak256(sender) != keccak256(e.escrow)) revert UnknownEscrow(srcChain, sender);
        (uint8 kind, bytes16 uetr, uint8 leg, bytes memory body) = abi.decode(payload, (uint8, bytes16, uint8, bytes));
        if (kind == KIND_LOCKED) _onLocked(srcChain, uetr, leg, body);
        else if (kind == KIND_LOCK_FAILED) _onLockFailed(srcChain, uetr, leg, abi.decode(body, (string)));
        else revert BadKind(kind);
    }

    function _onLocked(string calldata srcChain, bytes16 uetr, uint8 leg, bytes memory body) private {
        (address token, uint256 amount, address from, address to) = abi.decode(body, (address, uint256, address, address));
        Payment storage p = payments[uetr];
        if (p.state == PAYMENT_NONE) {
            // A lock before (or without) an open: give it back and never open this uetr.
            burned[uetr] = true;
            _mismatch(srcChain, uetr, leg);
            return;
        }
        if (leg >= p.legs.length) return _mismatch(srcChain, uetr, leg);
        Leg storage l = p.legs[leg];
        bool same = keccak256(bytes(l.chain)) == keccak256(bytes(srcChain)) && l.token == token && l.amount == amount && l.from == from && l.to == to;
        if (!same || l.state != LEG_PENDING) return _mismatch(srcChain, uetr, leg);
        if (p.state == PAYMENT_ABORTED) {
            // The decision is already taken: a late lock goes straight back.
            l.state = LEG_REFUND_SENT;
            _sendToEscrow(srcChain, KIND_REFUND, uetr, leg, "");
            return;
        }
        l.state = LEG_LOCKED;
        emit LegLocked(uetr, leg);
        if (++p.lockedCount < p.legs.length) return;
        if (block.timestamp <= p.deadline) _commit(uetr, p);
        else _abort(uetr, p, "deadline");
    }

    function _onLockFailed(string calldata srcChain, bytes16 uetr, uint8 leg, string memory reason) private {
        Payment storage p = payments[uetr];
        if (p.state == PAYMENT_NONE || leg >= p.legs.length) {
            emit LockMismatch(uetr, leg);
            return;
        }
        Leg storage l = p.legs[leg];
        if (keccak256(bytes(l.chain)) != keccak256(bytes(srcChain)) || l.state != LEG_PENDING) {
            emit LockMismatch(uetr, leg);
            return;
        }
        l.state = LEG_LOCK_FAILED;
        emit LegLockFailed(uetr, leg, reason);
        if (p.state == PAYMENT_OPEN) _abort(uetr, p, "lock-failed");
    }

    function _mismatch(string calldata srcChain, bytes16 uetr, uint8 leg) private {
        emit LockMismatch(uetr, leg);
        _sendToEscrow(srcChain, KIND_REFUND, uetr, leg, "");
    }

    function _commit(bytes16 uetr, Payment storage p) private {
        p.state = PAYMENT_COMMITTED;
        p.decidedAt = uint64(block.timestamp);
        _removeOpen(uetr);
        emit PaymentCommitted(uetr);
        for (uint256 i = 0; i < p.legs.length; i++) {
            p.legs[i].state = LEG_RELEASE_SENT;
            _sendToEscrow(p.legs[i].chain, KIND_RELEASE, uetr, uint8(i), "");
        }
    }

    function _abort(bytes16 uetr, Payment storage p, string memory reason) private {
        p.state = PAYMENT_ABORTED;
        p.decidedAt = uint64(block.timestamp);
        _removeOpen(uetr);
        emit PaymentAborted(uetr, reason);
        for (uint256 i = 0; i < p.legs.length; i++) {
            if (p.legs[i].state != LEG_LOCKED) continue;
            p.legs[i].state = LEG_REFUND_SENT;
            _sendToEscrow(p.legs[i].chain, KIND_REFUND, uetr, uint8(i), "");
        }
    }

    function _sendToEscrow(string memory chain, uint8 kind, bytes16 uetr, uint8 leg, bytes memory body) private {
        EscrowBinding storage e = escrows[keccak256(bytes(chain))];
        // No timeout: a decision must arrive eventually.
        ISettlementPort(port).send(chain, e.port, e.escrow, HUB_TO_ESCROW_GAS, 0, 0, abi.encode(kind, uetr, leg, body));
    }

    function _removeOpen(bytes16 uetr) private {
        uint256 i = openIndex[uetr];
        if (i == 0) return;
        uint256 last = openList.length;
        if (i != last) {
            bytes16 moved = openList[last - 1];
            openList[i - 1] = moved;
            openIndex[moved] = i;
        }
        openList.pop();
        delete openIndex[uetr];
    }

    // ------------------------------------------------------------ hop checks

    function _checkChained(Corridor storage prev, Corridor storage next, uint256 hop) private view {
        if (keccak256(bytes(prev.dstChain)) != keccak256(bytes(next.srcChain)) || keccak256(bytes(prev.dstAsset)) != keccak256(bytes(next.srcAsset))) {
            revert HopsNotChained(hop);
        }
    }

    /// Status, rate, bounds, amount and limits of one hop with input `a`; consumes the limits.
    function _checkHop(uint64 id, CorridorRecord storage r, uint256 a, bytes32 entity) private returns (uint256 out) {
        if (r.status != STATUS_APPROVED) revert CorridorNotApproved(id, r.status);
        if (r.rate == 0) revert NoRate(id);
        if (block.timestamp - r.rateUpdatedAt > maxRateAge) revert StaleRate(id, r.rateUpdatedAt, maxRateAge);
        if (a < r.c.minAmount) revert BelowMinimum(id, a, r.c.minAmount);
        if (a > r.c.maxAmount) revert AboveMaximum(id, a, r.c.maxAmount);
        uint256 fee;
        (fee, , out) = _hopOutput(a, r.c.fixedFee, r.c.feeBps, r.c.spreadBps, r.rate);
        if (a <= fee) revert FeeExceedsAmount(id, a, fee);
        if (out == 0) revert ZeroOutput(id);
        uint256 room = _level(r.bucket, r.c.bucketCapacity, r.c.bucketRefillPerSecond);
        if (a > room) revert CorridorLimitExhausted(id, a, room);
        Bucket storage eb = entityBuckets[id][entity];
        uint256 eroom = _level(eb, r.c.entityCapacity, r.c.entityRefillPerSecond);
        if (a > eroom) revert EntityLimitExhausted(id, entity, a, eroom);
        _consume(r.bucket, r.c.bucketCapacity - room, a);
        _consume(eb, r.c.entityCapacity - eroom, a);
    }

    /// The one amount formula (src/settlement/amounts.ts computes the same, bit for bit):
    /// fee = fixedFee + a*feeBps/10000; net = a - fee; out = net*r/1e18*(10000-spreadBps)/10000.
    /// Returns out = 0 when a <= fee (the caller refuses).
    function _hopOutput(uint256 a, uint256 fixedFee, uint16 feeBps, uint16 spreadBps, uint256 rate)
        private
        pure
        returns (uint256 fee, uint256 net, uint256 out)
    {
        fee = fixedFee + (a * feeBps) / 10_000;
        if (a <= fee) return (fee, 0, 0);
        net = a - fee;
        out = (((net * rate) / 1e18) * (10_000 - uint256(spreadBps))) / 10_000;
    }

    /// Capacity minus what is still spent after refilling since the last consumption.
    function _level(Bucket storage b, uint256 capacity, uint256 refillPerSecond) private view returns (uint256) {
        return capacity - _spentNow(b, refillPerSecond);
    }

    function _spentNow(Bucket storage b, uint256 refillPerSecond) private view returns (uint256) {
        uint256 spent = b.spent;
        if (spent == 0) return 0;
        uint256 elapsed = block.timestamp - b.at;
        // elapsed * refill may overflow only when it exceeds `spent` anyway.
        if (refillPerSecond != 0 && elapsed > spent / refillPerSecond) return 0;
        return spent - elapsed * refillPerSecond;
    }

    function _consume(Bucket storage b, uint256 spentNow, uint256 a) private {
        b.spent = spentNow + a;
        b.at = uint64(block.timestamp);
    }

    /// 0 when the attestation satisfies "any of `schemas`" for `account` (always when the list is empty).
    function _compliance(bytes32 uid, bytes32[] storage schemas, address account) private view returns (uint8) {
        if (schemas.length == 0) return 0;
        if (uid == bytes32(0)) return WHY_MISSING;
        if (credits.status(uid) != uint8(CreditRegistry.AttestationStatus.Valid)) return WHY_NOT_VALID;
        CreditRegistry.Attestation memory a = credits.get(uid);
        bool listed;
        for (uint256 i = 0; i < schemas.length; i++) if (schemas[i] == a.schemaId) listed = true;
        if (!listed) return WHY_WRONG_SCHEMA;
        if (identities.controllerOf(a.subjectDidHash) != account || !identities.isActive(a.subjectDidHash)) return WHY_NOT_CONTROLLER;
        if (!issuers.isAccredited(a.issuerDidHash, a.schemaId)) return WHY_ISSUER_NOT_ACCREDITED;
        return 0;
    }

    /// `eip155:<id>/erc20:0x<40 lowercase hex>` on `chain`: the token address.
    function _tokenOf(string calldata chain, string calldata asset, string memory field) private pure returns (address token) {
        bytes calldata b = bytes(asset);
        if (b.length < 40 || keccak256(b[0:b.length - 40]) != keccak256(bytes(string.concat(chain, "/erc20:0x")))) revert BadCorridor(field);
        uint160 v;
        for (uint256 i = b.length - 40; i < b.length; i++) {
            uint8 c = uint8(b[i]);
            uint8 d;
            if (c >= 48 && c <= 57) d = c - 48;
            else if (c >= 97 && c <= 102) d = c - 87;
            else revert BadCorridor(field);
            v = (v << 4) | d;
        }
        token = address(v);
        if (token == address(0)) revert BadCorridor(field);
    }

    function _corridor(uint64 id) private view returns (CorridorRecord storage r) {
        if (id == 0 || id > corridorCount) revert UnknownCorridor(id);
        r = corridors[id];
    }

    // ------------------------------------------------------------------- views

    function corridor(uint64 id) external view returns (Corridor memory c, uint8 status, uint256 rate, uint64 rateUpdatedAt) {
        CorridorRecord storage r = _corridor(id);
        return (r.c, r.status, r.rate, r.rateUpdatedAt);
    }

    /// min(corridor bucket, entity bucket) now.
    function headroom(uint64 id, bytes32 entity) external view returns (uint256) {
        CorridorRecord storage r = _corridor(id);
        uint256 a = _level(r.bucket, r.c.bucketCapacity, r.c.bucketRefillPerSecond);
        uint256 b = _level(entityBuckets[id][entity], r.c.entityCapacity, r.c.entityRefillPerSecond);
        return a < b ? a : b;
    }

    /// The fee, net and output of corridor `id` for input `a` at its current rate (0 out = refused).
    function quoteHop(uint64 id, uint256 a) external view returns (uint256 fee, uint256 net, uint256 out) {
        CorridorRecord storage r = _corridor(id);
        return _hopOutput(a, r.c.fixedFee, r.c.feeBps, r.c.spreadBps, r.rate);
    }

    /// The limit entity of `sender`: its DID hash when it controls the attestation's subject.
    function entityOf(address sender, bytes32 senderAttestation) public view returns (bytes32) {
        if (senderAttestation != bytes32(0)) {
            bytes32 subject = credits.get(senderAttestation).subjectDidHash;
            if (subject != bytes32(0) && identities.controllerOf(subject) == sender) return subject;
        }
        return keccak256(abi.encode(sender));
    }

    function payment(bytes16 uetr)
        external
        view
        returns (uint8 state, address sender, address receiver, uint64 deadline, uint64 openedAt, uint64 decidedAt, Leg[] memory legs)
    {
        Payment storage p = payments[uetr];
        return (p.state, p.sender, p.receiver, p.deadline, p.openedAt, p.decidedAt, p.legs);
    }

    function paymentCorridors(bytes16 uetr) external view returns (uint64[] memory) {
        return payments[uetr].corridorIds;
    }

    function openCount() external view returns (uint256) {
        return openList.length;
    }

    function openAt(uint256 i) external view returns (bytes16) {
        return openList[i];
    }

    function escrowOf(string calldata chain) external view returns (bytes memory escrow, bytes memory port_) {
        EscrowBinding storage e = escrows[keccak256(bytes(chain))];
        return (e.escrow, e.port);
    }
}
