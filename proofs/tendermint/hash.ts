/**
 * CometBFT's hashes: the RFC 6962-style simple Merkle tree (leaf prefix 0x00,
 * inner 0x01, SHA-256, split at the largest power of two below n), the header
 * hash over its 14 proto-encoded fields, and the validator-set hash over
 * SimpleValidator encodings.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ProtoWriter, utf8Bytes } from './proto.ts';
import type { BlockId, Header, Time, ValidatorSet } from './types.ts';

const LEAF = new Uint8Array([0]);
const INNER = new Uint8Array([1]);

export function leafHash(leaf: Uint8Array): Uint8Array {
  return sha256.create().update(LEAF).update(leaf).digest();
}

export function innerHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256.create().update(INNER).update(left).update(right).digest();
}

function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function merkleRoot(items: Uint8Array[], from = 0, to = items.length): Uint8Array {
  const n = to - from;
  if (n === 0) return sha256(new Uint8Array(0));
  if (n === 1) return leafHash(items[from]!);
  const k = splitPoint(n);
  return innerHash(merkleRoot(items, from, from + k), merkleRoot(items, from + k, to));
}

/** Root from a leaf hash and its aunts (CometBFT merkle.Proof), or undefined when the shape is wrong. */
export function rootFromAunts(index: number, total: number, leaf: Uint8Array, aunts: Uint8Array[]): Uint8Array | undefined {
  if (index < 0 || index >= total || total < 1) return undefined;
  if (total === 1) return aunts.length === 0 ? leaf : undefined;
  if (aunts.length === 0) return undefined;
  const k = splitPoint(total);
  const last = aunts[aunts.length - 1]!;
  const rest = aunts.slice(0, -1);
  if (index < k) {
    const left = rootFromAunts(index, k, leaf, rest);
    return left && innerHash(left, last);
  }
  const right = rootFromAunts(index - k, total - k, leaf, rest);
  return right && innerHash(last, right);
}

export function encodeTimestamp(t: Time): Uint8Array {
  return new ProtoWriter(16).varintField(1, t.seconds).varintField(2, t.nanos).finish();
}

export function encodeBlockId(b: BlockId): Uint8Array {
  const psh = new ProtoWriter(48).varintField(1, b.partSetHeader.total).bytesField(2, b.partSetHeader.hash).finish();
  return new ProtoWriter(96).bytesField(1, b.hash).messageField(2, psh).finish();
}

/** gogotypes wrappers (StringValue, Int64Value, BytesValue): field 1, empty when default. */
function wrapBytes(b: Uint8Array): Uint8Array {
  return new ProtoWriter(b.length + 3).bytesField(1, b).finish();
}

/**
 * `proto` is CometBFT / Tendermint >= 0.34. `amino` is Tendermint <= 0.33
 * (the encoding of the upstream bisection vectors): bare length-prefixed
 * fields without protobuf wrappers, empty fields as empty leaves, and ed25519
 * keys with their amino prefix in the validator-set leaves.
 */
export type Codec = 'proto' | 'amino';

function bare(b: Uint8Array): Uint8Array {
  if (b.length === 0) return b;
  return new ProtoWriter(b.length + 3).varint(b.length).raw(b).finish();
}

function isEmptyBlockId(b: BlockId): boolean {
  return b.hash.length === 0 && b.partSetHeader.total === 0 && b.partSetHeader.hash.length === 0;
}

function aminoHeaderLeaves(h: Header): Uint8Array[] {
  return [
    new ProtoWriter(24).varintField(1, h.versionBlock).varintField(2, h.versionApp).finish(),
    bare(utf8Bytes(h.chainId)),
    h.height === 0n ? new Uint8Array(0) : new ProtoWriter(12).varint(h.height).finish(),
    encodeTimestamp(h.time),
    isEmptyBlockId(h.lastBlockId) ? new Uint8Array(0) : encodeBlockId(h.lastBlockId),
    bare(h.lastCommitHash),
    bare(h.dataHash),
    bare(h.validatorsHash),
    bare(h.nextValidatorsHash),
    bare(h.consensusHash),
    bare(h.appHash),
    bare(h.lastResultsHash),
    bare(h.evidenceHash),
    bare(h.proposerAddress),
  ];
}

export function headerLeaves(h: Header, codec: Codec = 'proto'): Uint8Array[] {
  if (codec === 'amino') return aminoHeaderLeaves(h);
  return [
    new ProtoWriter(24).varintField(1, h.versionBlock).varintField(2, h.versionApp).finish(),
    wrapBytes(utf8Bytes(h.chainId)),
    new ProtoWriter(12).varintField(1, h.height).finish(),
    encodeTimestamp(h.time),
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
  ];
}

export function headerHash(h: Header, codec: Codec = 'proto'): Uint8Array {
  return merkleRoot(headerLeaves(h, codec));
}

const AMINO_ED25519_PREFIX = new Uint8Array([0x16, 0x24, 0xde, 0x64, 0x20]);

export function validatorSetHash(vs: ValidatorSet, codec: Codec = 'proto'): Uint8Array {
  return merkleRoot(
    vs.validators.map((v) => {
      if (codec === 'amino') {
        const pk = new ProtoWriter(40).raw(AMINO_ED25519_PREFIX).raw(v.pubKey).finish();
        return new ProtoWriter(48).messageField(1, pk).varintField(2, v.power).finish();
      }
      const pk = new ProtoWriter(36).bytesField(1, v.pubKey).finish();
      return new ProtoWriter(48).messageField(1, pk).varintField(2, v.power).finish();
    }),
  );
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
