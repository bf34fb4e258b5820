// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IQiaoReceiver} from "./IQiaoReceiver.sol";
import {IQiaoSender} from "./IQiaoSender.sol";
import {QiaoMessage} from "./QiaoMessage.sol";
import {QiaoAttestation} from "./QiaoAttestation.sol";

/// The Qiao port of an EVM member chain: sends messages (lane nonce + a stored
/// commitment the relayer proves with eth_getProof), delivers attested ones,
/// follows the attestor set's signed hand-overs (root type 3) and holds the
/// latest attested registry snapshot (root type 2) for contracts on this chain.
///
/// Acknowledgements and timeouts (DESIGN.md "The flow of one message", step 6).
/// No new root type or leaf: an outcome travels back as an ordinary Qiao
/// message, so it is observed, proven with eth_getProof, committed, attested and
/// delivered like any other, and the frozen formats stay as they are.
/// - Only a message with a timeout (timeoutHeight or timeoutUnixSeconds set) is
///   answered; one without can never be refunded and stays fire-and-forget.
/// - At the destination, the first receipt of such a message (delivered, or
///   failed) and its cancel marker each make the port `send` one ack message
///   from itself to the source port: sender = srcPort = this port, receiver =
///   dstPort = the source port, no timeout (acks are never answered),
///   payload = abi.encode(uint8 outcome, bytes32 originalId, bytes reason) with
///   outcome 1 delivered, 2 failed, 3 cancelled (the receipt codes).
/// - The cancel marker (`cancel`, receipts[id] = 3) is written only for a message
///   of an attested root, addressed here, past its timeout on this chain's
///   clock, without a delivered receipt. Delivery and cancellation exclude each
///   other in the one `receipts` slot, so a message is never both.
/// - At the source, every timed send records which port must answer
///   (keccak256(abi.encode(keccak256(dstChain), keccak256(dstPort)))). The ack
///   is delivered to this port as receiver; `qiaoReceive` accepts it only from
///   that port on that chain (the hub attests srcChain/srcPort: only a chain's
///   registered port is observed). `sendRefundable` escrows msg.value; a
///   cancelled ack returns it to the sender (with IQiaoSender.qiaoRefund), a
///   delivered ack settles it (the value stays locked here, backing what the
///   destination credited); a failed ack releases nothing (a failed message
///   stays retryable until its timeout).
contract QiaoPort {
    // Storage layout is part of the proof format: `commitments` MUST stay at slot 0
    // and `laneNonce` at slot 1 (the relayer proves these slots).
    /// message id => block number it was sent in (non-zero = committed here).
    mapping(bytes32 => uint256) public commitments;
    /// keccak256(dstChain) => last nonce used on that lane (nonces count from 1).
    mapping(bytes32 => uint64) public laneNonce;
    /// message id => receipt status (0 none, 1 delivered, 2 failed).
    mapping(bytes32 => uint8) public receipts;
    /// Merkle roots (root type 1) accepted under a valid k-of-n attestation.
    mapping(bytes32 => bool) public acceptedRoots;

    uint8 public constant RECEIPT_DELIVERED = 1;
    uint8 public constant RECEIPT_FAILED = 2;
    /// The cancel marker: past its timeout, never delivered, never deliverable again.
    uint8 public constant RECEIPT_CANCELLED = 3;
    uint256 public constant MAX_PAYLOAD = 64 * 1024;
    uint256 private constant MAX_REASON = 256;
    // Gas the port itself needs after the receiver returns (receipt, event).
    uint256 private constant DELIVERY_OVERHEAD = 30_000;
    // Gas the port needs to send an ack message after the receiver returns.
    uint256 private constant ACK_OVERHEAD = 90_000;
    /// Gas limit of ack messages: what the source port's qiaoReceive (and a refund) needs.
    uint64 public constant ACK_GAS_LIMIT = 200_000;
    // Gas given to the sender's qiaoRefund callback; a refund it refuses stays claimable.
    uint256 private constant REFUND_CALL_GAS = 60_000;

    string public chainName;
    bytes32 private immutable chainNameHash;
    bytes32 public immutable attestationDomain;
    address public admin;
    bool public paused;

    uint64 public setId;
    uint8 public threshold;
    address[] private attestorList;
    /// set id => member => in that set. Set ids only grow, so an id is never reused.
    mapping(uint64 => mapping(address => bool)) private memberOf;
    /// The set before the last hand-over: its signatures still count until previousValidUntil.
    uint64 public previousSetId;
    uint8 public previousThreshold;
    uint64 public previousValidUntil;
    uint64 public rotationGraceSeconds;

    /// Registry snapshots (root type 2): only the latest is kept, proofs are checked against it.
    struct RegistryLeaf {
        uint8 kind;
        bytes32 key;
        bytes32 a;
        bytes32 b;
        uint8 status;
        uint64 validUntil;
        bytes32 data;
    }

    uint64 public maxRegistryAge;
    uint64 private registrySnapshotNo;
    uint64 private registryTakenAt;
    bytes32 private registryTreeRoot;

    /// Outbound message id (sent with a timeout) => the port that must answer it.
    mapping(bytes32 => bytes32) public ackPeer;
    /// Outbound message id => the outcome acknowledged by the destination port (the receipt codes).
    mapping(bytes32 => uint8) public acks;
    struct Escrow {
        address sender;
        uint96 value;
    }
    /// Outbound message id => what sendRefundable holds until the message's outcome comes back.
    mapping(bytes32 => Escrow) public escrows;
    /// Refunds whose transfer the sender refused: claimable with claimRefund.
    mapping(address => uint256) public claimable;

    /// Lane fees (issue 5): set by the council on the governance chain
    /// (LaneFeeRegistry), carried here as registry snapshot leaves of kind
    /// LEAF_LANE_FEE. The port takes only `fee`; maxDstGasPrice is the relayer's.
    struct LaneFee {
        uint128 fee;
        /// The registry snapshot the fee was proven against: a fee is only ever replaced from a newer one.
        uint64 snapshotNo;
    }
    /// keccak256(dstChain) (the laneNonce key) => fee in wei of this chain's native token per message.
    mapping(bytes32 => LaneFee) public laneFees;
    /// Fees taken and not yet withdrawn; kept apart from escrows, which belong to senders.
    uint256 public feesAccrued;
    /// Registry leaf kind of a lane fee: key = keccak256(abi.encode(a, b)), a = keccak256(srcChain),
    /// b = keccak256(dstChain), status 1, data = bytes32(fee << 128 | maxDstGasPrice).
    uint8 public constant LEAF_LANE_FEE = 4;
    /// Ordered lanes (issue 5). A lane at this port is (srcChain, srcPort), keyed like
    /// ackPeer (_peer). Unordered by default: any attested message may be delivered at
    /// any time. On an ordered lane only the message whose nonce is `next` passes
    /// _check; delivering it (or cancelling it past its timeout, or the admin's skip)
    /// moves `next` on, a failed delivery does not (the lane blocks, visibly, until
    /// the failed head is retried or skipped). One slot per lane: one read per message.
    struct Lane {
        bool ordered;
        uint64 next;
    }
    /// keccak256(abi.encode(keccak256(srcChain), keccak256(srcPort))) => the lane's order state.
    mapping(bytes32 => Lane) public lanes;

    uint8 public constant REGISTRY_OK = 0;
    uint8 public constant REGISTRY_NO_ROOT = 1;
    uint8 public constant REGISTRY_TOO_OLD = 2;
    uint8 public constant REGISTRY_NOT_INCLUDED = 3;

    event MessageSent(bytes32 indexed id, bytes32 indexed lane, uint64 nonce, bytes message);
    event RootAccepted(uint64 indexed setId, uint64 indexed batchNo, bytes32 root);
    event MessageDelivered(bytes32 indexed id, bool success, bytes reason);
    event MessageRejected(bytes32 indexed id, uint8 code);
    event AttestorSetChanged(uint64 indexed setId, address[] attestors, uint8 threshold);
    event AttestorsRotated(uint64 indexed previousSetId, uint64 indexed setId, uint64 previousValidUntil);
    event RegistryRootAccepted(uint64 indexed setId, uint64 indexed snapshotNo, bytes32 treeRoot, uint64 takenAt);
    event SettingChanged(string name, uint64 value);
    event Paused(address by, bool paused);
    event MessageCancelled(bytes32 indexed id);
    event Acknowledged(bytes32 indexed id, uint8 outcome, bytes reason);
    event MessageRefunded(bytes32 indexed id, address indexed sender, uint256 value, bool paid);
    event EscrowSettled(bytes32 indexed id, uint256 value);
    event RefundClaimed(address indexed sender, uint256 value);
    event LaneFeeSet(bytes32 indexed lane, uint256 fee, uint256 maxDstGasPrice, uint64 snapshotNo);
    event FeesWithdrawn(address indexed to, uint256 value);
    event LaneOrderChanged(bytes32 indexed lane, string srcChain, bytes srcPort, bool ordered, uint64 next);
    /// The admin gave up on the head of an ordered lane: never delivered, answered like a cancel.
    event MessageSkipped(bytes32 indexed id, bytes reason);

    error WrongChainName(string expected);
    error PayloadTooLarge(uint256 size);
    error NotAdmin();
    error IsPaused();
    error BadAttestorSet();
    error WrongSetId(uint64 expected, uint64 got);
    error NotEnoughSignatures(uint256 valid, uint8 threshold);
    error RootNotAttested(bytes32 root);
    error NotInBatch(bytes32 id);
    error WrongVersion(uint8 version);
    error WrongDestination(string dstChain);
    error WrongPort(bytes dstPort);
    error BadReceiver(bytes receiver);
    error AlreadyDelivered(bytes32 id);
    error TimedOut(bytes32 id);
    error InsufficientGas(uint256 left, uint64 gasLimit);
    error LengthMismatch();
    error StaleSetId(uint64 current, uint64 got);
    error StaleSnapshot(uint64 current, uint64 got);
    error Cancelled(bytes32 id);
    error NotTimedOut(bytes32 id);
    error CannotCancel(bytes32 id, uint8 code);
    error NeedsTimeout();
    error ValueTooLarge(uint256 value);
    error OnlySelf();
    error AckFromWrongPort(bytes32 id);
    error BadAck(uint8 outcome);
    error AckNotExpected(bytes32 id, uint8 current, uint8 outcome);
    error NothingToClaim();
    error TransferFailed();
    error InsufficientFee(string dstChain, uint256 required, uint256 paid);
    error NotLaneFeeLeaf(uint8 kind);
    error WrongSourceChain(bytes32 srcChainHash);
    error LeafNotAccepted(uint8 code);
    error OutOfOrder(uint64 expected, uint64 got);
    error CannotSkip(bytes32 id, uint8 code);

    // Codes of MessageRejected in batch delivery, one per error above.
    uint8 public constant REJECT_NOT_IN_BATCH = 1;
    uint8 public constant REJECT_VERSION = 2;
    uint8 public constant REJECT_DESTINATION = 3;
    uint8 public constant REJECT_PORT = 4;
    uint8 public constant REJECT_RECEIVER = 5;
    uint8 public constant REJECT_ALREADY_DELIVERED = 6;
    uint8 public constant REJECT_TIMED_OUT = 7;
    uint8 public constant REJECT_CANCELLED = 8;
    /// An ordered lane's message that is not its head (nonce != the lane's next).
    uint8 public constant REJECT_OUT_OF_ORDER = 9;

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
        _;
    }

    constructor(
        string memory chainName_,
        uint256 govChainId,
        address messageLog,
        address[] memory attestors,
        uint8 threshold_,
        uint64 setId_,
        uint64 rotationGraceSeconds_,
        uint64 maxRegistryAge_
    ) {
        // The port knows its own CAIP-2 id and refuses to exist on another chain.
        string memory expected = string.concat("eip155:", Strings.toString(block.chainid));
        if (keccak256(bytes(chainName_)) != keccak256(bytes(expected))) revert WrongChainName(expected);
        chainName = chainName_;
        chainNameHash = keccak256(bytes(chainName_));
        attestationDomain = QiaoAttestation.domainSeparator(govChainId, messageLog);
        admin = msg.sender;
        rotationGraceSeconds = rotationGraceSeconds_;
        maxRegistryAge = maxRegistryAge_;
        _setAttestors(attestors, threshold_, setId_);
    }

    // ---------------------------------------------------------------- sending

    function send(
        string calldata dstChain,
        bytes calldata dstPort,
        bytes calldata receiver,
        uint64 gasLimit,
        uint64 timeoutHeight,
        uint64 timeoutUnixSeconds,
        bytes calldata payload
    ) external payable returns (bytes32 id) {
        _requireFee(dstChain, msg.value);
        // Everything paid is the fee: paying more than the lane asks is a tip, not escrow.
        if (msg.value != 0) feesAccrued += msg.value;
        id = _send(msg.sender, dstChain, dstPort, receiver, gasLimit, timeoutHeight, timeoutUnixSeconds, payload);
        if (timeoutHeight != 0 || timeoutUnixSeconds != 0) ackPeer[id] = _peer(dstChain, dstPort);
    }

    /// Like send, and holds msg.value (less the lane fee, which is never refunded)
    /// until the outcome comes back: returned to the sender on an attested cancel
    /// from the destination port, kept once delivered. Needs a timeout (without one
    /// nothing could ever be refunded).
    function sendRefundable(
        string calldata dstChain,
        bytes calldata dstPort,
        bytes calldata receiver,
        uint64 gasLimit,
        uint64 timeoutHeight,
        uint64 timeoutUnixSeconds,
        bytes calldata payload
    ) external payable returns (bytes32 id) {
        if (timeoutHeight == 0 && timeoutUnixSeconds == 0) revert NeedsTimeout();
        uint256 fee = _requireFee(dstChain, msg.value);
        if (fee != 0) feesAccrued += fee;
        uint256 escrowed = msg.value - fee;
        if (escrowed > type(uint96).max) revert ValueTooLarge(escrowed);
        id = _send(msg.sender, dstChain, dstPort, receiver, gasLimit, timeoutHeight, timeoutUnixSeconds, payload);
        ackPeer[id] = _peer(dstChain, dstPort);
        escrows[id] = Escrow(msg.sender, uint96(escrowed));
    }

    /// Refuses a send that pays less than its lane's fee. Acks (_sendAck) never
    /// pass here: the port pays no fee to itself.
    function _requireFee(string calldata dstChain, uint256 paid) private view returns (uint256 fee) {
        fee = laneFees[keccak256(bytes(dstChain))].fee;
        if (paid < fee) revert InsufficientFee(dstChain, fee, paid);
    }

    /// The fee a send to `dstChain` must pay now (0 = free).
    function laneFee(string calldata dstChain) external view returns (uint256) {
        return laneFees[keccak256(bytes(dstChain))].fee;
    }

    function _peer(string memory chain, bytes memory port_) private pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(bytes(chain)), keccak256(port_)));
    }

    function _send(
        address sender,
        string memory dstChain,
        bytes memory dstPort,
        bytes memory receiver,
        uint64 gasLimit,
        uint64 timeoutHeight,
        uint64 timeoutUnixSeconds,
        bytes memory payload
    ) private returns (bytes32 id) {
        if (payload.length > MAX_PAYLOAD) revert PayloadTooLarge(payload.length);
        bytes32 lane = keccak256(bytes(dstChain));
        uint64 nonce = ++laneNonce[lane];
        bytes memory m = QiaoMessage.encode(
            QiaoMessage.Message({
                version: 1,
                srcChain: chainName,
                srcPort: abi.encodePacked(address(this)),
                sender: abi.encodePacked(sender),
                dstChain: dstChain,
                dstPort: dstPort,
                receiver: receiver,
                nonce: nonce,
                gasLimit: gasLimit,
                timeoutHeight: timeoutHeight,
                timeoutUnixSeconds: timeoutUnixSeconds,
                payload: payload
            })
        );
        id = keccak256(m);
        commitments[id] = block.number;
        emit MessageSent(id, lane, nonce, m);
    }

    // ------------------------------------------------------------- attestation

    /// Accepts a messages root signed by `threshold` distinct attestors of the
    /// current set, or of the previous set within its grace window.
    function acceptRoot(uint64 setId_, uint64 batchNo, bytes32 root, bytes[] calldata signatures) public {
        if (acceptedRoots[root]) return;
        _requireAttested(QiaoAttestation.ROOT_MESSAGES, setId_, batchNo, root, signatures);
        acceptedRoots[root] = true;
        emit RootAccepted(setId_, batchNo, root);
    }

    /// The signed hand-over to the next attestor set (root type 3, batchNo = the new
    /// set id), verified against the current set only: a set in its grace window
    /// can still sign batches but no longer hand over.
    function rotateAttestors(uint64 newSetId, address[] calldata members, uint8 threshold_, bytes[] calldata signatures) external {
        if (newSetId <= setId) revert StaleSetId(setId, newSetId);
        bytes32 root = keccak256(abi.encode(newSetId, members, threshold_));
        bytes32 d = QiaoAttestation.digest(attestationDomain, QiaoAttestation.ROOT_ATTESTOR_SET, setId, newSetId, root);
        uint256 valid = _countSigners(d, setId, signatures);
        if (valid < threshold) revert NotEnoughSignatures(valid, threshold);
        previousSetId = setId;
        previousThreshold = threshold;
        previousValidUntil = uint64(block.timestamp) + rotationGraceSeconds;
        _setAttestors(members, threshold_, newSetId);
        emit AttestorsRotated(previousSetId, newSetId, previousValidUntil);
    }

    /// Accepts a newer registry snapshot (root type 2, batchNo = snapshot number,
    /// root = keccak256(abi.encode(treeRoot, takenAt))).
    function acceptRegistryRoot(uint64 setId_, uint64 snapshotNo, bytes32 treeRoot, uint64 takenAt, bytes[] calldata signatures) external {
        if (snapshotNo <= registrySnapshotNo || takenAt < registryTakenAt) revert StaleSnapshot(registrySnapshotNo, snapshotNo);
        _requireAttested(QiaoAttestation.ROOT_REGISTRY, setId_, snapshotNo, keccak256(abi.encode(treeRoot, takenAt)), signatures);
        registrySnapshotNo = snapshotNo;
        registryTreeRoot = treeRoot;
        registryTakenAt = takenAt;
        emit RegistryRootAccepted(setId_, snapshotNo, treeRoot, takenAt);
    }

    // -------------------------------------------------------- registry proofs

    /// 0 ok, 1 no snapshot yet, 2 the latest snapshot is older than maxRegistryAge,
    /// 3 the leaf is not in the latest snapshot (a proof against a superseded one included).
    function checkRegistryLeaf(RegistryLeaf calldata leaf, bytes32[] calldata proof) public view returns (uint8) {
        if (registrySnapshotNo == 0) return REGISTRY_NO_ROOT;
        if (uint256(registryTakenAt) + maxRegistryAge < block.timestamp) return REGISTRY_TOO_OLD;
        bytes32 h = keccak256(
            bytes.concat(keccak256(abi.encode(leaf.kind, leaf.key, leaf.a, leaf.b, leaf.status, leaf.validUntil, leaf.data)))
        );
        if (!MerkleProof.verifyCalldata(proof, registryTreeRoot, h)) return REGISTRY_NOT_INCLUDED;
        return REGISTRY_OK;
    }

    function verifyRegistryLeaf(RegistryLeaf calldata leaf, bytes32[] calldata proof) external view returns (bool) {
        return checkRegistryLeaf(leaf, proof) == REGISTRY_OK;
    }

    function registryRootInfo() external view returns (uint64 snapshotNo, bytes32 treeRoot, uint64 takenAt) {
        return (registrySnapshotNo, registryTreeRoot, registryTakenAt);
    }

    /// Takes a lane fee from the latest accepted registry snapshot. Anyone may call
    /// it (the hub does after each snapshot): the leaf must be a lane fee of this
    /// chain as source, included in the latest snapshot, which must not be too old.
    /// The port keeps only the latest snapshot, so a leaf of an older one is refused
    /// and a fee is never replaced by an older decision.
    function setLaneFee(RegistryLeaf calldata leaf, bytes32[] calldata proof) external {
        if (leaf.kind != LEAF_LANE_FEE || leaf.status != 1 || leaf.key != keccak256(abi.encode(leaf.a, leaf.b))) revert NotLaneFeeLeaf(leaf.kind);
        if (leaf.a != chainNameHash) revert WrongSourceChain(leaf.a);
        uint8 code = checkRegistryLeaf(leaf, proof);
        if (code != REGISTRY_OK) revert LeafNotAccepted(code);
        LaneFee storage f = laneFees[leaf.b];
        if (registrySnapshotNo < f.snapshotNo) revert StaleSnapshot(f.snapshotNo, registrySnapshotNo);
        uint256 packed = uint256(leaf.data);
        f.fee = uint128(packed >> 128);
        f.snapshotNo = registrySnapshotNo;
        emit LaneFeeSet(leaf.b, packed >> 128, uint128(packed), registrySnapshotNo);
    }

    function _requireAttested(uint8 rootType, uint64 setId_, uint64 batchNo, bytes32 root, bytes[] calldata signatures) private view {
        uint8 k;
        if (setId_ == setId) k = threshold;
        else if (setId_ == previousSetId && setId_ != 0 && block.timestamp <= previousValidUntil) k = previousThreshold;
        else revert WrongSetId(setId, setId_);
        bytes32 d = QiaoAttestation.digest(attestationDomain, rootType, setId_, batchNo, root);
        uint256 valid = _countSigners(d, setId_, signatures);
        if (valid < k) revert NotEnoughSignatures(valid, k);
    }

    function _countSigners(bytes32 d, uint64 setId_, bytes[] calldata signatures) private view returns (uint256 valid) {
        address[] memory seen = new address[](signatures.length);
        for (uint256 i = 0; i < signatures.length; i++) {
            (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecover(d, signatures[i]);
            if (err != ECDSA.RecoverError.NoError || !memberOf[setId_][signer]) continue;
            bool dup;
            for (uint256 j = 0; j < valid; j++) if (seen[j] == signer) dup = true;
            if (dup) continue;
            seen[valid++] = signer;
        }
    }

    // ---------------------------------------------------------------- delivery

    /// Delivers one message; reverts with the reason when it cannot.
    function deliver(bytes32 root, bytes calldata message, bytes32[] calldata proof) external {
        if (paused) revert IsPaused();
        if (!acceptedRoots[root]) revert RootNotAttested(root);
        (uint8 code, bytes32 id, QiaoMessage.Message memory m) = _check(root, message, proof);
        if (code == REJECT_NOT_IN_BATCH) revert NotInBatch(id);
        if (code == REJECT_VERSION) revert WrongVersion(m.version);
        if (code == REJECT_DESTINATION) revert WrongDestination(m.dstChain);
        if (code == REJECT_PORT) revert WrongPort(m.dstPort);
        if (code == REJECT_RECEIVER) revert BadReceiver(m.receiver);
        if (code == REJECT_ALREADY_DELIVERED) revert AlreadyDelivered(id);
        if (code == REJECT_TIMED_OUT) revert TimedOut(id);
        if (code == REJECT_CANCELLED) revert Cancelled(id);
        if (code == REJECT_OUT_OF_ORDER) revert OutOfOrder(lanes[_peer(m.srcChain, m.srcPort)].next, m.nonce);
        _call(id, m);
    }

    /// Writes the cancel marker of an attested message addressed here that is past
    /// its timeout and was never delivered (a failed one may be cancelled: it was
    /// retryable only until its timeout). Anyone may call it; it works while
    /// paused, since it calls no receiver and only ever makes delivery impossible.
    function cancel(bytes32 root, bytes calldata message, bytes32[] calldata proof) external {
        if (!acceptedRoots[root]) revert RootNotAttested(root);
        (uint8 code, bytes32 id, QiaoMessage.Message memory m) = _check(root, message, proof);
        if (code == 0) revert NotTimedOut(id);
        if (code != REJECT_TIMED_OUT) revert CannotCancel(id, code);
        receipts[id] = RECEIPT_CANCELLED;
        _advance(m);
        emit MessageCancelled(id);
        _sendAck(m, id, RECEIPT_CANCELLED, "");
    }

    /// The operator's way past a blocked ordered lane: the head of an ordered lane
    /// (deliverable, failed, timed out, or with a receiver that is no address) gets
    /// the cancel receipt, so it is never delivered afterwards, and the lane moves on.
    /// It is answered like a cancel: ack outcome 3 carrying `reason`, so a refundable
    /// send is refunded at the source. That is the error acknowledgement of an ordered
    /// lane: the receiver never got the message, the sender gets its value back.
    /// Messages without a timeout (and acks) are not answered, as everywhere.
    /// Only the admin (the hub's governance key) may skip: unlike a cancel past the
    /// timeout, nothing on chain shows the message could not be delivered.
    function skip(bytes32 root, bytes calldata message, bytes32[] calldata proof, bytes calldata reason) external onlyAdmin {
        if (!acceptedRoots[root]) revert RootNotAttested(root);
        (uint8 code, bytes32 id, QiaoMessage.Message memory m) = _check(root, message, proof);
        if (code != 0 && code != REJECT_TIMED_OUT && code != REJECT_RECEIVER) revert CannotSkip(id, code);
        // Codes 0, 5 and 7 come after the order check: on an ordered lane this is the head.
        if (!lanes[_peer(m.srcChain, m.srcPort)].ordered) revert CannotSkip(id, 0);
        bytes memory r = reason;
        if (r.length > MAX_REASON) assembly { mstore(r, 256) }
        receipts[id] = RECEIPT_CANCELLED;
        _advance(m);
        emit MessageSkipped(id, r);
        if (_answered(m)) _sendAck(m, id, RECEIPT_CANCELLED, r);
    }

    /// Accepts the root (if not yet) and delivers many messages of one batch.
    /// Messages that cannot be delivered are skipped with MessageRejected, so one
    /// bad item never blocks the rest; gas shortage still reverts the whole call.
    function deliverBatch(
        uint64 setId_,
        uint64 batchNo,
        bytes32 root,
        bytes[] calldata signatures,
        bytes[] calldata messages,
        bytes32[][] calldata proofs
    ) external {
        if (paused) revert IsPaused();
        if (messages.length != proofs.length) revert LengthMismatch();
        acceptRoot(setId_, batchNo, root, signatures);
        for (uint256 i = 0; i < messages.length; i++) {
            (uint8 code, bytes32 id, QiaoMessage.Message memory m) = _check(root, messages[i], proofs[i]);
            if (code != 0) {
                emit MessageRejected(id, code);
                continue;
            }
            _call(id, m);
        }
    }

    function _check(bytes32 root, bytes calldata message, bytes32[] calldata proof)
        private
        view
        returns (uint8 code, bytes32 id, QiaoMessage.Message memory m)
    {
        id = keccak256(message);
        if (!MerkleProof.verifyCalldata(proof, root, QiaoMessage.leaf(id))) return (REJECT_NOT_IN_BATCH, id, m);
        m = QiaoMessage.decode(message);
        if (m.version != 1) return (REJECT_VERSION, id, m);
        if (keccak256(bytes(m.dstChain)) != chainNameHash) return (REJECT_DESTINATION, id, m);
        if (keccak256(m.dstPort) != keccak256(abi.encodePacked(address(this)))) return (REJECT_PORT, id, m);
        uint8 receipt = receipts[id];
        if (receipt == RECEIPT_DELIVERED) return (REJECT_ALREADY_DELIVERED, id, m);
        if (receipt == RECEIPT_CANCELLED) return (REJECT_CANCELLED, id, m);
        // Before the timeout check: only the head of an ordered lane may be cancelled
        // (a cancelled message behind the head would leave a hole the lane never passes).
        Lane memory l = lanes[_peer(m.srcChain, m.srcPort)];
        if (l.ordered && m.nonce != l.next) return (REJECT_OUT_OF_ORDER, id, m);
        // After the order check, so the admin can skip an ordered head whose receiver is no address.
        if (m.receiver.length != 20) return (REJECT_RECEIVER, id, m);
        if ((m.timeoutHeight != 0 && block.number >= m.timeoutHeight) || (m.timeoutUnixSeconds != 0 && block.timestamp >= m.timeoutUnixSeconds)) {
            return (REJECT_TIMED_OUT, id, m);
        }
        return (0, id, m);
    }

    function _call(bytes32 id, QiaoMessage.Message memory m) private {
        bool answered = _answered(m);
        // EIP-150 forwards at most 63/64 of what is left: make sure the receiver
        // really gets gasLimit, or fail the whole transaction (the relayer retries
        // with more gas) instead of recording a failure the sender did not cause.
        uint256 overhead = DELIVERY_OVERHEAD + (answered ? ACK_OVERHEAD : 0);
        if (gasleft() < uint256(m.gasLimit) + uint256(m.gasLimit) / 63 + overhead) revert InsufficientGas(gasleft(), m.gasLimit);
        uint8 before = receipts[id];
        // Marked before the call: a re-entering receiver cannot get the message twice.
        receipts[id] = RECEIPT_DELIVERED;
        address receiver = address(bytes20(m.receiver));
        bool ok;
        bytes memory ret;
        if (receiver.code.length == 0) {
            ret = bytes("receiver has no code");
        } else {
            bytes memory data = abi.encodeCall(IQiaoReceiver.qiaoReceive, (id, m.srcChain, m.sender, m.payload));
            // Copying a large payload into memory costs gas too: check again right before the call.
            if (gasleft() < uint256(m.gasLimit) + uint256(m.gasLimit) / 63 + 10_000 + (answered ? ACK_OVERHEAD : 0)) revert InsufficientGas(gasleft(), m.gasLimit);
            (ok, ret) = receiver.call{gas: m.gasLimit}(data);
        }
        if (!ok) {
            receipts[id] = RECEIPT_FAILED;
            if (ret.length > MAX_REASON) assembly { mstore(ret, 256) }
        } else {
            ret = "";
            // A failed head does not move its ordered lane: it blocks until retried or skipped.
            _advance(m);
        }
        emit MessageDelivered(id, ok, ret);
        // The first receipt is answered; a failed retry that fails again adds nothing new.
        if (answered && (ok || before == 0)) _sendAck(m, id, ok ? RECEIPT_DELIVERED : RECEIPT_FAILED, ret);
    }

    /// Messages with a timeout are answered, except acks themselves (addressed to a port as receiver).
    function _answered(QiaoMessage.Message memory m) private view returns (bool) {
        return (m.timeoutHeight != 0 || m.timeoutUnixSeconds != 0) && address(bytes20(m.receiver)) != address(this);
    }

    /// Moves an ordered lane past its head (called only for a message that passed the order check).
    function _advance(QiaoMessage.Message memory m) private {
        bytes32 key = _peer(m.srcChain, m.srcPort);
        if (lanes[key].ordered) lanes[key].next = m.nonce + 1;
    }

    function _sendAck(QiaoMessage.Message memory m, bytes32 id, uint8 outcome, bytes memory reason) private {
        _send(address(this), m.srcChain, m.srcPort, m.srcPort, ACK_GAS_LIMIT, 0, 0, abi.encode(outcome, id, reason));
    }

    // ------------------------------------------------------- acknowledgements

    /// Receives ack messages (delivered by this port to itself, so msg.sender is
    /// this port). An ack counts only from the port the message was sent to.
    function qiaoReceive(bytes32, string calldata srcChain, bytes calldata sender, bytes calldata payload) external {
        if (msg.sender != address(this)) revert OnlySelf();
        (uint8 outcome, bytes32 id, bytes memory reason) = abi.decode(payload, (uint8, bytes32, bytes));
        bytes32 peer = ackPeer[id];
        if (peer == bytes32(0) || peer != _peer(srcChain, sender)) revert AckFromWrongPort(id);
        if (outcome == 0 || outcome > RECEIPT_CANCELLED) revert BadAck(outcome);
        uint8 current = acks[id];
        // Recorded once: delivered and cancelled are final; failed may still become either.
        if (current == RECEIPT_DELIVERED || current == RECEIPT_CANCELLED || current == outcome) revert AckNotExpected(id, current, outcome);
        acks[id] = outcome;
        emit Acknowledged(id, outcome, reason);
        if (outcome == RECEIPT_FAILED) return;
        Escrow memory e = escrows[id];
        if (e.sender == address(0)) return;
        delete escrows[id];
        if (outcome == RECEIPT_DELIVERED) {
            emit EscrowSettled(id, e.value);
            return;
        }
        // An EOA just receives the value; a contract is told which message came back.
        (bool paid, ) = e.sender.call{value: e.value, gas: REFUND_CALL_GAS}(abi.encodeCall(IQiaoSender.qiaoRefund, (id)));
        if (!paid) claimable[e.sender] += e.value;
        emit MessageRefunded(id, e.sender, e.value, paid);
    }

    /// Pays out refunds the sender's qiaoRefund refused.
    function claimRefund() external {
        uint256 v = claimable[msg.sender];
        if (v == 0) revert NothingToClaim();
        claimable[msg.sender] = 0;
        (bool ok, ) = msg.sender.call{value: v}("");
        if (!ok) revert TransferFailed();
        emit RefundClaimed(msg.sender, v);
    }

    // ------------------------------------------------------------ administration

    /// Admin bootstrap (a port deployed before the governance chain's set, or recovery):
    /// a higher set id, no grace for the set it replaces. Normal hand-overs use rotateAttestors.
    function setAttestors(address[] calldata attestors, uint8 threshold_, uint64 setId_) external onlyAdmin {
        if (setId_ <= setId) revert StaleSetId(setId, setId_);
        previousSetId = 0;
        previousThreshold = 0;
        previousValidUntil = 0;
        _setAttestors(attestors, threshold_, setId_);
    }

    function setRotationGraceSeconds(uint64 seconds_) external onlyAdmin {
        rotationGraceSeconds = seconds_;
        emit SettingChanged("rotationGraceSeconds", seconds_);
    }

    /// Pays the fees taken so far to `to`. The port's admin withdraws (the hub's key
    /// for ports it deployed, else the chain's operator, who settles with whoever
    /// relays): the governance chain cannot call a member chain's port itself.
    function withdrawFees(address payable to) external onlyAdmin {
        uint256 v = feesAccrued;
        if (v == 0) revert NothingToClaim();
        feesAccrued = 0;
        (bool ok, ) = to.call{value: v}("");
        if (!ok) revert TransferFailed();
        emit FeesWithdrawn(to, v);
    }

    function setMaxRegistryAge(uint64 seconds_) external onlyAdmin {
        maxRegistryAge = seconds_;
        emit SettingChanged("maxRegistryAge", seconds_);
    }

    /// Makes a lane ordered (deliveries from then on only in nonce order, from `next`)
    /// or unordered again. `next` lets a lane become ordered after traffic has flowed,
    /// and moves a lane past a nonce that will never arrive here (a message of that
    /// source port to another port on this chain uses a nonce of the same lane).
    function setOrderedLane(string calldata srcChain, bytes calldata srcPort, bool ordered, uint64 next) external onlyAdmin {
        bytes32 key = _peer(srcChain, srcPort);
        lanes[key] = Lane(ordered, next);
        emit LaneOrderChanged(key, srcChain, srcPort, ordered, next);
    }

    /// Any single attestor (or the admin) can pause delivery.
    function pause(bool p) external {
        if (msg.sender != admin && !isAttestor(msg.sender)) revert NotAdmin();
        // One attestor may stop delivery, but not undo another's stop.
        if (!p && msg.sender != admin) revert NotAdmin();
        paused = p;
        emit Paused(msg.sender, p);
    }

    function attestors() external view returns (address[] memory) {
        return attestorList;
    }

    /// A member of the current set (who may pause).
    function isAttestor(address a) public view returns (bool) {
        return memberOf[setId][a];
    }

    function _setAttestors(address[] memory attestors_, uint8 threshold_, uint64 setId_) private {
        if (threshold_ == 0 || threshold_ > attestors_.length || setId_ == 0) revert BadAttestorSet();
        delete attestorList;
        for (uint256 i = 0; i < attestors_.length; i++) {
            if (attestors_[i] == address(0) || memberOf[setId_][attestors_[i]]) revert BadAttestorSet();
            memberOf[setId_][attestors_[i]] = true;
            attestorList.push(attestors_[i]);
        }
        threshold = threshold_;
        setId = setId_;
        emit AttestorSetChanged(setId_, attestors_, threshold_);
    }
}
