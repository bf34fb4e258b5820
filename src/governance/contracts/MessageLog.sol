// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./Governed.sol";

/// The log of every relayed message: numbered batches of verified message ids and
/// their Merkle roots (OpenZeppelin StandardMerkleTree over [bytes32 id]). It is
/// also the EIP-712 verifyingContract of every attestation, and the log of the
/// numbered registry snapshots (root type 2) that other chains check proofs against.
contract MessageLog is Governed {
    struct Batch {
        bytes32 root;
        uint32 count;
        uint64 blockNumber;
    }

    /// A registry snapshot: the StandardMerkleTree root over the registries as they
    /// stood at governance block `sourceBlock`, whose timestamp is `takenAt`.
    struct Snapshot {
        bytes32 treeRoot;
        uint64 takenAt;
        uint64 sourceBlock;
        uint64 blockNumber;
    }

    uint64 public nextBatchNo = 1;
    uint64 public nextSnapshotNo = 1;
    mapping(uint64 => Snapshot) private snapshots;
    mapping(uint64 => Batch) private batches;
    mapping(address => bool) public isCommitter;

    event BatchCommitted(uint64 indexed batchNo, bytes32 root, bytes32[] ids);
    event CommitterChanged(address indexed committer, bool allowed);
    event SnapshotCommitted(uint64 indexed snapshotNo, bytes32 treeRoot, uint64 takenAt, uint64 sourceBlock);

    error NotCommitter(address caller);
    error WrongBatchNo(uint64 expected, uint64 got);
    error EmptyBatch();
    error WrongSnapshotNo(uint64 expected, uint64 got);
    error BadSnapshot();

    constructor(address governor_) Governed(governor_) {}

    function setCommitter(address committer, bool allowed) external onlyGovernor {
        isCommitter[committer] = allowed;
        emit CommitterChanged(committer, allowed);
    }

    /// Batches are strictly sequential, so two relayers can never log one number twice.
    /// The ids are in the event: attestors recompute the root from them before signing.
    function commitBatch(uint64 batchNo, bytes32 root, bytes32[] calldata ids) external {
        if (!isCommitter[msg.sender]) revert NotCommitter(msg.sender);
        if (batchNo != nextBatchNo) revert WrongBatchNo(nextBatchNo, batchNo);
        if (ids.length == 0) revert EmptyBatch();
        batches[batchNo] = Batch(root, uint32(ids.length), uint64(block.number));
        nextBatchNo = batchNo + 1;
        emit BatchCommitted(batchNo, root, ids);
    }

    function batch(uint64 batchNo) external view returns (Batch memory) {
        return batches[batchNo];
    }

    /// Snapshots are sequential like batches; each is taken at a past block, no
    /// earlier than the one before, so a newer number never describes an older state.
    function commitSnapshot(uint64 snapshotNo, bytes32 treeRoot, uint64 takenAt, uint64 sourceBlock) external {
        if (!isCommitter[msg.sender]) revert NotCommitter(msg.sender);
        if (snapshotNo != nextSnapshotNo) revert WrongSnapshotNo(nextSnapshotNo, snapshotNo);
        if (treeRoot == bytes32(0) || sourceBlock >= block.number || takenAt > block.timestamp) revert BadSnapshot();
        if (snapshotNo > 1) {
            Snapshot storage prev = snapshots[snapshotNo - 1];
            if (sourceBlock < prev.sourceBlock || takenAt < prev.takenAt) revert BadSnapshot();
        }
        snapshots[snapshotNo] = Snapshot(treeRoot, takenAt, sourceBlock, uint64(block.number));
        nextSnapshotNo = snapshotNo + 1;
        emit SnapshotCommitted(snapshotNo, treeRoot, takenAt, sourceBlock);
    }

    function snapshot(uint64 snapshotNo) external view returns (Snapshot memory) {
        return snapshots[snapshotNo];
    }
}
