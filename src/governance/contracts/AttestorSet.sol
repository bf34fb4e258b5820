// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Governed} from "./Governed.sol";
import {QiaoAttestation} from "../../../adapters/evm/contracts/QiaoAttestation.sol";

/// The k-of-n attestor keys that sign batch roots, numbered by set id.
/// A new set is proposed by governance and becomes current only when the
/// current set signs the hand-over (root type 3), so the keys every port trusts
/// pass from one set to the next without an unsigned gap.
contract AttestorSet is Governed {
    struct SetRecord {
        uint8 threshold;
        uint64 previousSetId;
        uint64 activatedBlock;
        address[] members;
    }

    uint64 public setId;
    uint8 public threshold;
    address[] private members;
    /// The MessageLog whose address is the EIP-712 verifyingContract of every attestation.
    address public messageLog;
    address private immutable deployer;

    /// Highest id ever proposed: every proposal takes a fresh id, so a replaced
    /// proposal's signatures can never activate its successor.
    uint64 public lastProposedId;
    uint64 private pendingId;
    uint8 private pendingThreshold;
    address[] private pendingMembers;
    mapping(uint64 => SetRecord) private history;

    event SetChanged(uint64 indexed setId, address[] members, uint8 threshold);
    event SetProposed(uint64 indexed setId, address[] members, uint8 threshold, bytes32 root);
    event SetActivated(uint64 indexed setId, uint64 indexed previousSetId, bytes[] signatures);
    event MessageLogSet(address messageLog);

    error BadSet();
    error NoPendingSet();
    error MessageLogUnknown();
    error MessageLogAlreadySet();
    error NotEnoughSignatures(uint256 valid, uint8 threshold);

    constructor(address governor_, address[] memory members_, uint8 threshold_) Governed(governor_) {
        deployer = msg.sender;
        _check(members_, threshold_);
        _activate(1, members_, threshold_);
        lastProposedId = 1;
    }

    /// Set once, by the deployer or governance: MessageLog is usually deployed after this contract.
    function setMessageLog(address messageLog_) external {
        if (msg.sender != deployer && msg.sender != governor) revert NotGovernor(msg.sender);
        if (messageLog != address(0)) revert MessageLogAlreadySet();
        if (messageLog_ == address(0)) revert ZeroAddress();
        messageLog = messageLog_;
        emit MessageLogSet(messageLog_);
    }

    /// Governance names the next set; it waits for the current set's signatures in `activate`.
    /// A later proposal replaces an earlier pending one (under a new id).
    function proposeSet(address[] calldata members_, uint8 threshold_) external onlyGovernor returns (uint64 id) {
        _check(members_, threshold_);
        id = ++lastProposedId;
        pendingId = id;
        pendingThreshold = threshold_;
        pendingMembers = members_;
        emit SetProposed(id, members_, threshold_, setRoot(id, members_, threshold_));
    }

    /// Anyone may carry the current set's k-of-n signatures over the pending set's root.
    function activate(bytes[] calldata signatures) external {
        if (pendingId == 0) revert NoPendingSet();
        if (messageLog == address(0)) revert MessageLogUnknown();
        uint64 id = pendingId;
        bytes32 root = setRoot(id, pendingMembers, pendingThreshold);
        bytes32 d = QiaoAttestation.digest(
            QiaoAttestation.domainSeparator(block.chainid, messageLog), QiaoAttestation.ROOT_ATTESTOR_SET, setId, id, root
        );
        uint256 valid = _countSigners(d, signatures);
        if (valid < threshold) revert NotEnoughSignatures(valid, threshold);
        uint64 previous = setId;
        address[] memory m = pendingMembers;
        uint8 t = pendingThreshold;
        pendingId = 0;
        pendingThreshold = 0;
        delete pendingMembers;
        _activate(id, m, t);
        history[id].previousSetId = previous;
        emit SetActivated(id, previous, signatures);
    }

    /// The root type 3 root of a set: what the current set signs with batchNo = the new set id.
    function setRoot(uint64 id, address[] memory members_, uint8 threshold_) public pure returns (bytes32) {
        return keccak256(abi.encode(id, members_, threshold_));
    }

    function current() external view returns (uint64, uint8, address[] memory) {
        return (setId, threshold, members);
    }

    /// The set waiting for activation; id 0 when there is none.
    function pending() external view returns (uint64, uint8, address[] memory) {
        return (pendingId, pendingThreshold, pendingMembers);
    }

    /// An activated set; previousSetId is the set that signed its hand-over (0 for the first).
    function setAt(uint64 id) external view returns (SetRecord memory) {
        return history[id];
    }

    function _countSigners(bytes32 d, bytes[] calldata signatures) private view returns (uint256 valid) {
        address[] memory seen = new address[](signatures.length);
        for (uint256 i = 0; i < signatures.length; i++) {
            (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecover(d, signatures[i]);
            if (err != ECDSA.RecoverError.NoError || !_isMember(signer)) continue;
            bool dup;
            for (uint256 j = 0; j < valid; j++) if (seen[j] == signer) dup = true;
            if (dup) continue;
            seen[valid++] = signer;
        }
    }

    function _isMember(address a) private view returns (bool) {
        for (uint256 i = 0; i < members.length; i++) if (members[i] == a) return true;
        return false;
    }

    function _check(address[] memory members_, uint8 threshold_) private pure {
        if (threshold_ == 0 || threshold_ > members_.length) revert BadSet();
        for (uint256 i = 0; i < members_.length; i++) {
            if (members_[i] == address(0)) revert BadSet();
            for (uint256 j = 0; j < i; j++) if (members_[j] == members_[i]) revert BadSet();
        }
    }

    function _activate(uint64 id, address[] memory members_, uint8 threshold_) private {
        members = members_;
        threshold = threshold_;
        setId = id;
        SetRecord storage r = history[id];
        r.threshold = threshold_;
        r.activatedBlock = uint64(block.number);
        r.members = members_;
        emit SetChanged(id, members_, threshold_);
    }
}
