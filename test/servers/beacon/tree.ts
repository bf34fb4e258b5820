/**
 * The two Merkle trees a light client looks into: the beacon state, reduced to
 * a full-depth tree of its top-level fields (real leaves where the light client
 * reads, deterministic filler elsewhere), and the block body (the execution
 * payload header leaf, filler for the other fields).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { label, type ChainSpec, type TopFork } from './config.ts';
import { Checkpoint, EXECUTION_PAYLOAD_GINDEX, Fork, GINDEX } from './ssz.ts';

function parent(a: Uint8Array, b: Uint8Array): Uint8Array {
  const buf = new Uint8Array(64);
  buf.set(a, 0);
  buf.set(b, 32);
  return sha256(buf);
}

/** A complete binary tree over 2^depth leaves, with branches by generalized index. */
export class MerkleTree {
  private readonly nodes: Uint8Array[];
  readonly depth: number;

  constructor(leaves: readonly Uint8Array[]) {
    this.depth = Math.log2(leaves.length);
    if (!Number.isInteger(this.depth)) throw new RangeError(`a tree needs a power-of-two number of leaves, got ${leaves.length}`);
    const width = leaves.length;
    this.nodes = new Array<Uint8Array>(2 * width);
    leaves.forEach((l, i) => (this.nodes[width + i] = l));
    for (let g = width - 1; g >= 1; g--) this.nodes[g] = parent(this.nodes[2 * g]!, this.nodes[2 * g + 1]!);
  }

  get root(): Uint8Array {
    return this.nodes[1]!;
  }

  /** Sibling nodes from `gindex` up to the root (the spec's branch order). */
  branch(gindex: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let g = gindex; g > 1; g = Math.floor(g / 2)) out.push(this.nodes[g ^ 1]!);
    return out;
  }
}

export function uint64Leaf(n: number | bigint): Uint8Array {
  const leaf = new Uint8Array(32);
  new DataView(leaf.buffer).setBigUint64(0, BigInt(n), true);
  return leaf;
}

/** BeaconState field counts: deneb 28 (32 leaves), electra 37 (64 leaves). */
const STATE_FIELDS: Readonly<Record<TopFork, number>> = { deneb: 28, electra: 37 };
/** BeaconBlockBody field counts: deneb 12, electra 13 (execution_requests); both 16 leaves. */
const BODY_FIELDS: Readonly<Record<TopFork, number>> = { deneb: 12, electra: 13 };

const leafCount = (fields: number): number => 2 ** Math.ceil(Math.log2(fields));

export interface StateInput {
  slot: number;
  /** The state's finalized_checkpoint (epoch 0 and a zero root until something is final, as at genesis). */
  finalized: { epoch: number; root: Uint8Array };
  currentSyncCommitteeRoot: Uint8Array;
  nextSyncCommitteeRoot: Uint8Array;
}

export interface StateTree {
  root: Uint8Array;
  finalityBranch: Uint8Array[];
  currentSyncCommitteeBranch: Uint8Array[];
  nextSyncCommitteeBranch: Uint8Array[];
}

export function buildState(spec: ChainSpec, seed: string, s: StateInput): StateTree {
  const fork = spec.fork;
  const g = GINDEX[fork];
  const fields = STATE_FIELDS[fork];
  const width = leafCount(fields);
  const leaves = Array.from({ length: width }, (_, i) => (i < fields ? label(`${seed}/state/${s.slot}/field/${i}`) : new Uint8Array(32)));
  // Fields a reader could cross-check against the config: genesis_time, genesis_validators_root, slot, fork.
  leaves[0] = uint64Leaf(spec.genesisTime);
  leaves[1] = spec.genesisValidatorsRoot;
  leaves[2] = uint64Leaf(s.slot);
  const previous = fork === 'electra' ? spec.versions.deneb : spec.versions.capella;
  leaves[3] = Fork.hashTreeRoot({ previous_version: previous, current_version: spec.versions[fork], epoch: 0 });
  // finalized_checkpoint is a field; the finalized root sits one level below it (the checkpoint's second field).
  const checkpointIndex = Math.floor(g.finalizedRoot / 2) - width;
  leaves[checkpointIndex] = Checkpoint.hashTreeRoot(s.finalized);
  leaves[g.currentSyncCommittee - width] = s.currentSyncCommitteeRoot;
  leaves[g.nextSyncCommittee - width] = s.nextSyncCommitteeRoot;
  const tree = new MerkleTree(leaves);
  return {
    root: tree.root,
    finalityBranch: [uint64Leaf(s.finalized.epoch), ...tree.branch(Math.floor(g.finalizedRoot / 2))],
    currentSyncCommitteeBranch: tree.branch(g.currentSyncCommittee),
    nextSyncCommitteeBranch: tree.branch(g.nextSyncCommittee),
  };
}

export function buildBody(fork: TopFork, seed: string, slot: number, executionPayloadHeaderRoot: Uint8Array): { root: Uint8Array; executionBranch: Uint8Array[] } {
  const fields = BODY_FIELDS[fork];
  const width = leafCount(fields);
  const leaves = Array.from({ length: width }, (_, i) => (i < fields ? label(`${seed}/body/${slot}/field/${i}`) : new Uint8Array(32)));
  leaves[EXECUTION_PAYLOAD_GINDEX - width] = executionPayloadHeaderRoot;
  const tree = new MerkleTree(leaves);
  return { root: tree.root, executionBranch: tree.branch(EXECUTION_PAYLOAD_GINDEX) };
}
