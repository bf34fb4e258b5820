import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hashFromByteSlices, leafHash } from './merkle.ts';
import { concat, ProtoWriter, timestamp, uvarint, type Time } from './proto.ts';

/** CometBFT v0.38 block protocol version */
export const BLOCK_PROTOCOL = 11n;

export interface Validator {
  address: Uint8Array;
  pubKey: Uint8Array;
  power: bigint;
  /** ed25519 secret key (never logged) */
  secret: Uint8Array;
}

export interface BlockId {
  hash: Uint8Array;
  parts: { total: number; hash: Uint8Array };
}

export interface Header {
  chainId: string;
  height: bigint;
  time: Date | Time;
  /** header.version.app; default 0 */
  appVersion?: bigint;
  lastBlockId: BlockId | null;
  lastCommitHash: Uint8Array;
  dataHash: Uint8Array;
  validatorsHash: Uint8Array;
  nextValidatorsHash: Uint8Array;
  consensusHash: Uint8Array;
  appHash: Uint8Array;
  lastResultsHash: Uint8Array;
  evidenceHash: Uint8Array;
  proposerAddress: Uint8Array;
}

export interface CommitSig {
  /** 2 = COMMIT, 1 = ABSENT */
  flag: 1 | 2;
  address: Uint8Array;
  timestamp: Date | Time;
  signature: Uint8Array;
}

export interface Commit {
  height: bigint;
  round: number;
  blockId: BlockId;
  signatures: CommitSig[];
}

export const EMPTY_HASH = sha256(new Uint8Array(0));

/** Validators from a seed: deterministic so a test can rebuild the same chain; sorted as CometBFT sorts a set. */
export function makeValidators(seed: string, n: number, power = 100n): Validator[] {
  const vals = Array.from({ length: n }, (_, i) => {
    const secret = sha256(new TextEncoder().encode(`${seed}/validator/${i}`));
    const pubKey = ed25519.getPublicKey(secret);
    return { address: sha256(pubKey).slice(0, 20), pubKey, power, secret };
  });
  // by voting power descending, then address ascending (types.ValidatorsByVotingPower)
  return vals.sort((a, b) => (a.power !== b.power ? (b.power > a.power ? 1 : -1) : Buffer.compare(a.address, b.address)));
}

export function validatorsHash(vals: Validator[]): Uint8Array {
  return hashFromByteSlices(
    vals.map((v) => new ProtoWriter().bytes(1, new ProtoWriter().bytes(1, v.pubKey).finish()).uint(2, v.power).finish()),
  );
}

function encodeBlockId(id: BlockId | null): Uint8Array {
  const parts = new ProtoWriter().uint(1, id?.parts.total ?? 0).bytes(2, id?.parts.hash ?? new Uint8Array(0)).finish();
  return new ProtoWriter().bytes(1, id?.hash ?? new Uint8Array(0)).bytes(2, parts, true).finish();
}

const wrapBytes = (b: Uint8Array): Uint8Array => new ProtoWriter().bytes(1, b).finish();

/** Header.Hash(): simple Merkle over the protobuf encodings of the fields (cdcEncode wrappers for scalars). */
export function headerHash(h: Header): Uint8Array {
  return hashFromByteSlices([
    new ProtoWriter().uint(1, BLOCK_PROTOCOL).uint(2, h.appVersion ?? 0n).finish(),
    new ProtoWriter().bytes(1, h.chainId).finish(),
    new ProtoWriter().uint(1, h.height).finish(),
    timestamp(h.time),
    encodeBlockId(h.lastBlockId),
    wrapBytes(h.lastCommitHash),
    wrapBytes(h.dataHash),
    wrapBytes(h.validatorsHash),
    wrapBytes(h.nextValidatorsHash),
    wrapBytes(h.consensusHash),
    wrapBytes(h.appHash),
    wrapBytes(h.lastResultsHash),
    wrapBytes(h.evidenceHash),
    wrapBytes(h.proposerAddress),
  ]);
}

/** sha256(HashedParams{block_max_bytes, block_max_gas}) */
export function consensusParamsHash(maxBytes = 22020096n, maxGas = -1n): Uint8Array {
  return sha256(new ProtoWriter().uint(1, maxBytes).uint(2, maxGas).finish());
}

/** Commit.Hash(): Merkle over protobuf CommitSig (timestamp is non-nullable: always emitted). */
export function commitHash(c: Commit | null): Uint8Array {
  if (!c) return EMPTY_HASH;
  return hashFromByteSlices(
    c.signatures.map((s) =>
      new ProtoWriter()
        .uint(1, s.flag)
        .bytes(2, s.address)
        .bytes(3, timestamp(s.timestamp), true)
        .bytes(4, s.signature)
        .finish(),
    ),
  );
}

/** tendermint.types.CanonicalVote (precommit), length-delimited: what validators sign. */
export function voteSignBytes(chainId: string, height: bigint, round: number, blockId: BlockId, time: Date | Time): Uint8Array {
  const canonicalPsh = new ProtoWriter().uint(1, blockId.parts.total).bytes(2, blockId.parts.hash).finish();
  const canonicalId = new ProtoWriter().bytes(1, blockId.hash).bytes(2, canonicalPsh, true).finish();
  const vote = new ProtoWriter()
    .uint(1, 2) // SIGNED_MSG_TYPE_PRECOMMIT
    .sfixed64(2, height)
    .sfixed64(3, BigInt(round))
    .bytes(4, canonicalId)
    .bytes(5, timestamp(time), true)
    .bytes(6, chainId)
    .finish();
  return concat(uvarint(vote.length), vote);
}

export function signCommit(chainId: string, height: bigint, blockId: BlockId, vals: Validator[], time: Date): Commit {
  const signatures = vals.map((v, i): CommitSig => {
    const ts = new Date(time.getTime() + 1 + i);
    return { flag: 2, address: v.address, timestamp: ts, signature: ed25519.sign(voteSignBytes(chainId, height, 0, blockId, ts), v.secret) };
  });
  return { height, round: 0, blockId, signatures };
}

/** Txs.Hash(): Merkle over the sha256 of each tx */
export function dataHash(txs: Uint8Array[]): Uint8Array {
  return hashFromByteSlices(txs.map((t) => sha256(t)));
}

/** Deterministic part of ExecTxResult (code, data, gas_wanted, gas_used), as LastResultsHash covers. */
export function resultsHash(results: { code: number; data: Uint8Array; gasWanted: bigint; gasUsed: bigint }[]): Uint8Array {
  return hashFromByteSlices(
    results.map((r) => new ProtoWriter().uint(1, r.code).bytes(2, r.data).uint(5, r.gasWanted).uint(6, r.gasUsed).finish()),
  );
}

/** A single block part: its hash is the Merkle leaf of the part bytes (a stand-in for the encoded block). */
export function makeBlockId(header: Header, txs: Uint8Array[]): BlockId {
  const hash = headerHash(header);
  return { hash, parts: { total: 1, hash: leafHash(concat(hash, ...txs)) } };
}
