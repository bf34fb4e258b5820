import { AbiCoder, keccak256 } from 'ethers';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { ValidationError } from '../../errors.ts';
import { asBytes32, type Hex } from '../../domain/hex.ts';
import {
  LEAF_KIND,
  REGISTRY_LEAF_ENCODING,
  accreditationLeaf,
  attestationLeaf,
  identityLeaf,
  laneFeeLeaf,
  leafTuple,
  type AccreditationStatusName,
  type AttestationStatusName,
  type LeafKind,
  type LeafKindName,
  type LeafTuple,
  type RegistryLeaf,
} from './leaves.ts';

/** A block to read the registries at; named tags are pinned to a number first so every list reads the same block. */
export type SnapshotBlockTag = bigint | number | 'latest' | 'safe' | 'finalized';

export interface SnapshotIdentity {
  didHash: Hex;
  controller: string;
  documentHash: Hex;
  active: boolean;
}

export interface SnapshotAccreditation {
  issuerDidHash: Hex;
  schemaId: Hex;
  status: AccreditationStatusName;
  expiresAt: bigint;
}

export interface SnapshotAttestation {
  uid: Hex;
  subjectDidHash: Hex;
  issuerDidHash: Hex;
  schemaId: Hex;
  /** abi.encode of the schema's public fields. */
  publicData: Hex;
  status: AttestationStatusName;
  /** See attestationValidUntil: expiresAt, or the end of retention for a negative schema. */
  validUntil: bigint;
}

/** A lane's fee as governance set it (LaneFeeRegistry); see laneFeeLeaf. */
export interface SnapshotLaneFee {
  srcChain: string;
  dstChain: string;
  fee: bigint;
  maxDstGasPrice: bigint;
}

/**
 * What the builder reads. Statuses are those of the registry views executed AT the
 * given block (an eth_call at that height runs with its timestamp), so they hold at
 * `takenAt` and nobody has to act for an expiry to show.
 */
export interface SnapshotReader {
  block(tag: SnapshotBlockTag): Promise<{ number: bigint; timestamp: bigint }>;
  listIdentities(blockNumber: bigint): Promise<SnapshotIdentity[]>;
  listAccreditations(blockNumber: bigint): Promise<SnapshotAccreditation[]>;
  listAttestations(blockNumber: bigint): Promise<SnapshotAttestation[]>;
  /**
   * Lane fees (issue 5). A reader without them builds the tree it built before
   * lane fees existed; with none set, the root is the same either way.
   */
  listLaneFees?(blockNumber: bigint): Promise<SnapshotLaneFee[]>;
}

export interface LeafProof {
  leaf: RegistryLeaf;
  proof: Hex[];
}

export interface RegistrySnapshot {
  /** Root of the StandardMerkleTree over every leaf; bytes32(0) for empty registries. */
  treeRoot: Hex;
  /** What attestors sign as root type 2: keccak256(abi.encode(treeRoot, uint64 takenAt)). */
  attestedRoot: Hex;
  takenAt: bigint;
  blockNumber: bigint;
  leaves: readonly RegistryLeaf[];
  /** The public part of attestations, which leaves only commit to (for proofs). */
  attestations: readonly SnapshotAttestation[];
  proofFor(kind: LeafKind | LeafKindName, key: Hex): LeafProof | undefined;
}

const ZERO32 = `0x${'0'.repeat(64)}` as Hex;

export function attestedRegistryRoot(treeRoot: Hex, takenAt: bigint): Hex {
  return keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint64'], [treeRoot, takenAt])) as Hex;
}

/** Reads the three registries at one block and builds the snapshot tree. */
export async function buildRegistrySnapshot(reader: SnapshotReader, blockTag: SnapshotBlockTag = 'latest'): Promise<RegistrySnapshot> {
  const block = await reader.block(blockTag);
  const [identities, accreditations, attestations, laneFees] = await Promise.all([
    reader.listIdentities(block.number),
    reader.listAccreditations(block.number),
    reader.listAttestations(block.number),
    reader.listLaneFees ? reader.listLaneFees(block.number) : [],
  ]);
  return snapshotOf({ blockNumber: block.number, takenAt: block.timestamp, identities, accreditations, attestations, laneFees });
}

/** The pure part of the builder: same registry content and block, same root (attestors rely on it). */
export function snapshotOf(x: {
  blockNumber: bigint;
  takenAt: bigint;
  identities: readonly SnapshotIdentity[];
  accreditations: readonly SnapshotAccreditation[];
  attestations: readonly SnapshotAttestation[];
  laneFees?: readonly SnapshotLaneFee[];
}): RegistrySnapshot {
  const leaves = [
    ...x.identities.map(identityLeaf),
    ...x.accreditations.map(accreditationLeaf),
    ...x.attestations.map(attestationLeaf),
    ...(x.laneFees ?? []).map(laneFeeLeaf),
  ];
  const index = new Map<string, number>();
  leaves.forEach((l, i) => {
    const id = `${l.kind}:${l.key}`;
    if (index.has(id)) throw new ValidationError('registry', `two ${kindLabel(l.kind)} leaves with key ${l.key}`);
    index.set(id, i);
  });
  // OpenZeppelin sorts leaves by hash: the input order never changes the root.
  const tree = leaves.length > 0 ? StandardMerkleTree.of<LeafTuple>(leaves.map(leafTuple), [...REGISTRY_LEAF_ENCODING]) : undefined;
  const treeIndex = new Map<number, number>();
  if (tree) for (const [ti, v] of tree.entries()) treeIndex.set(index.get(`${v[0]}:${v[1]}`)!, ti);
  const treeRoot = (tree?.root ?? ZERO32) as Hex;
  return {
    treeRoot,
    attestedRoot: attestedRegistryRoot(treeRoot, x.takenAt),
    takenAt: x.takenAt,
    blockNumber: x.blockNumber,
    leaves,
    attestations: x.attestations,
    proofFor(kind, key) {
      const k = typeof kind === 'number' ? kind : LEAF_KIND[kind];
      const i = index.get(`${k}:${asBytes32(key, 'key')}`);
      if (i === undefined || !tree) return undefined;
      return { leaf: leaves[i]!, proof: tree.getProof(treeIndex.get(i)!) as Hex[] };
    },
  };
}

function kindLabel(kind: number): string {
  return kind === LEAF_KIND.identity ? 'identity' : kind === LEAF_KIND.accreditation ? 'accreditation' : kind === LEAF_KIND.attestation ? 'attestation' : 'lane fee';
}
