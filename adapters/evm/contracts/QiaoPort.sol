// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IQiaoReceiver} from "./IQiaoReceiver.sol";
import {QiaoMessage} from "./QiaoMessage.sol";
import {QiaoAttestation} from "./QiaoAttestation.sol";

/// The Qiao port of an EVM member chain: sends messages (lane nonce + a stored
/// commitment the relayer proves with eth_getProof) and delivers attested ones.
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
    uint256 public constant MAX_PAYLOAD = 64 * 1024;
    uint256 private constant MAX_REASON = 256;
    // Gas the port itself needs after the receiver returns (receipt, event).
    uint256 private constant DELIVERY_OVERHEAD = 30_000;

    string public chainName;
    bytes32 private immutable chainNameHash;
    bytes32 public immutable attestationDomain;
    address public admin;
    bool public paused;

    uint64 public setId;
    uint8 public threshold;
    address[] private attestorList;
    mapping(address => bool) public isAttestor;

    event MessageSent(bytes32 indexed id, bytes32 indexed lane, uint64 nonce, bytes message);
    event RootAccepted(uint64 indexed setId, uint64 indexed batchNo, bytes32 root);
    event MessageDelivered(bytes32 indexed id, bool success, bytes reason);
    event MessageRejected(bytes32 indexed id, uint8 code);
    event AttestorSetChanged(uint64 indexed setId, address[] attestors, uint8 threshold);
    event Paused(address by, bool paused);

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

    // Codes of MessageRejected in batch delivery, one per error above.
    uint8 public constant REJECT_NOT_IN_BATCH = 1;
    uint8 public constant REJECT_VERSION = 2;
    uint8 public constant REJECT_DESTINATION = 3;
    uint8 public constant REJECT_PORT = 4;
    uint8 public constant REJECT_RECEIVER = 5;
    uint8 public constant REJECT_ALREADY_DELIVERED = 6;
    uint8 public constant REJECT_TIMED_OUT = 7;

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
        _;
    }

    constructor(string memory chainName_, uint256 govChainId, address messageLog, address[] memory attestors, uint8 threshold_, uint64 setId_) {
        // The port knows its own CAIP-2 id and refuses to exist on another chain.
        string memory expected = string.concat("eip155:", Strings.toString(block.chainid));
        if (keccak256(bytes(chainName_)) != keccak256(bytes(expected))) revert WrongChainName(expected);
        chainName = chainName_;
        chainNameHash = keccak256(bytes(chainName_));
        attestationDomain = QiaoAttestation.domainSeparator(govChainId, messageLog);
        admin = msg.sender;
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
    ) external returns (bytes32 id) {
        if (payload.length > MAX_PAYLOAD) revert PayloadTooLarge(payload.length);
        bytes32 lane = keccak256(bytes(dstChain));
        uint64 nonce = ++laneNonce[lane];
        bytes memory m = QiaoMessage.encode(
            QiaoMessage.Message({
                version: 1,
                srcChain: chainName,
                srcPort: abi.encodePacked(address(this)),
                sender: abi.encodePacked(msg.sender),
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

    /// Accepts a messages root signed by `threshold` distinct attestors of the current set.
    function acceptRoot(uint64 setId_, uint64 batchNo, bytes32 root, bytes[] calldata signatures) public {
        if (acceptedRoots[root]) return;
        if (setId_ != setId) revert WrongSetId(setId, setId_);
        bytes32 d = QiaoAttestation.digest(attestationDomain, QiaoAttestation.ROOT_MESSAGES, setId_, batchNo, root);
        uint256 valid;
        address[] memory seen = new address[](signatures.length);
        for (uint256 i = 0; i < signatures.length; i++) {
            (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecover(d, signatures[i]);
            if (err != ECDSA.RecoverError.NoError || !isAttestor[signer]) continue;
            bool dup;
            for (uint256 j = 0; j < valid; j++) if (seen[j] == signer) dup = true;
            if (dup) continue;
            seen[valid++] = signer;
        }
        if (valid < threshold) revert NotEnoughSignatures(valid, threshold);
        acceptedRoots[root] = true;
        emit RootAccepted(setId_, batchNo, root);
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
        _call(id, m);
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
        if (m.receiver.length != 20) return (REJECT_RECEIVER, id, m);
        if (receipts[id] == RECEIPT_DELIVERED) return (REJECT_ALREADY_DELIVERED, id, m);
        if ((m.timeoutHeight != 0 && block.number >= m.timeoutHeight) || (m.timeoutUnixSeconds != 0 && block.timestamp >= m.timeoutUnixSeconds)) {
            return (REJECT_TIMED_OUT, id, m);
        }
        return (0, id, m);
    }

    function _call(bytes32 id, QiaoMessage.Message memory m) private {
        // EIP-150 forwards at most 63/64 of what is left: make sure the receiver
        // really gets gasLimit, or fail the whole transaction (the relayer retries
        // with more gas) instead of recording a failure the sender did not cause.
        if (gasleft() < uint256(m.gasLimit) + uint256(m.gasLimit) / 63 + DELIVERY_OVERHEAD) revert InsufficientGas(gasleft(), m.gasLimit);
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
            if (gasleft() < uint256(m.gasLimit) + uint256(m.gasLimit) / 63 + 10_000) revert InsufficientGas(gasleft(), m.gasLimit);
            (ok, ret) = receiver.call{gas: m.gasLimit}(data);
        }
        if (!ok) {
            receipts[id] = RECEIPT_FAILED;
            if (ret.length > MAX_REASON) assembly { mstore(ret, 256) }
        } else {
            ret = "";
        }
        emit MessageDelivered(id, ok, ret);
    }

    // ------------------------------------------------------------ administration

    /// Until governance rotation reaches ports (root type 3), the hub's admin key sets the attestor set.
    function setAttestors(address[] calldata attestors, uint8 threshold_, uint64 setId_) external onlyAdmin {
        _setAttestors(attestors, threshold_, setId_);
    }

    /// Any single attestor (or the admin) can pause delivery.
    function pause(bool p) external {
        if (msg.sender != admin && !isAttestor[msg.sender]) revert NotAdmin();
        // One attestor may stop delivery, but not undo another's stop.
        if (!p && msg.sender != admin) revert NotAdmin();
        paused = p;
        emit Paused(msg.sender, p);
    }

    function attestors() external view returns (address[] memory) {
        return attestorList;
    }

    function _setAttestors(address[] memory attestors_, uint8 threshold_, uint64 setId_) private {
        if (threshold_ == 0 || threshold_ > attestors_.length) revert BadAttestorSet();
        for (uint256 i = 0; i < attestorList.length; i++) isAttestor[attestorList[i]] = false;
        delete attestorList;
        for (uint256 i = 0; i < attestors_.length; i++) {
            if (attestors_[i] == address(0) || isAttestor[attestors_[i]]) revert BadAttestorSet();
            isAttestor[attestors_[i]] = true;
            attestorList.push(attestors_[i]);
        }
        threshold = threshold_;
        setId = setId_;
        emit AttestorSetChanged(setId_, attestors_, threshold_);
    }
}
