/**
 * The hash and length operations of ICS-23 and the application of leaf and
 * inner ops, returning failures as values. Every hash op of the current
 * protobuf enum is supported (the reference library 0.6.8 stops at
 * SHA512_256, so its `doHash` cannot serve the upstream unit vectors).
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { sha256, sha512, sha512_256 } from '@noble/hashes/sha2.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { blake2b, blake2s } from '@noble/hashes/blake2.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { fail, ok, type VerifyResult } from '../result.ts';
import { HashOp, LengthOp, type ExistenceProof, type InnerOp, type LeafOp, type ProofSpec } from './types.ts';

export type Hashed = VerifyResult<{ hash: Uint8Array }>;

function hashed(hash: Uint8Array): Hashed {
  return ok({ hash });
}

export function doHash(op: number, preimage: Uint8Array): Hashed {
  switch (op) {
    case HashOp.SHA256:
      return hashed(sha256(preimage));
    case HashOp.SHA512:
      return hashed(sha512(preimage));
    case HashOp.KECCAK256:
      return hashed(keccak_256(preimage));
    case HashOp.RIPEMD160:
      return hashed(ripemd160(preimage));
    case HashOp.BITCOIN:
      return hashed(ripemd160(sha256(preimage)));
    case HashOp.SHA512_256:
      return hashed(sha512_256(preimage));
    case HashOp.BLAKE2B_512:
      return hashed(blake2b(preimage));
    case HashOp.BLAKE2S_256:
      return hashed(blake2s(preimage));
    case HashOp.BLAKE3:
      return hashed(blake3(preimage));
  }
  return fail('ics23_calculation_failed', `unsupported hash op ${op}`);
}

function doHashOrNoop(op: number, preimage: Uint8Array): Hashed {
  return op === HashOp.NO_HASH ? hashed(preimage) : doHash(op, preimage);
}

export function encodeVarintProto(n: number): Uint8Array {
  const out: number[] = [];
  let l = n;
  while (l >= 0x80) {
    out.push((l & 0x7f) | 0x80);
    l = Math.floor(l / 128);
  }
  out.push(l);
  return Uint8Array.from(out);
}

function fixedLength(n: number, bytes: 4 | 8, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  if (bytes === 4) view.setUint32(0, n, littleEndian);
  else view.setBigUint64(0, BigInt(n), littleEndian);
  return out;
}

export function doLengthOp(op: number, data: Uint8Array): Hashed {
  switch (op) {
    case LengthOp.NO_PREFIX:
      return hashed(data);
    case LengthOp.VAR_PROTO:
      return hashed(concat(encodeVarintProto(data.length), data));
    case LengthOp.FIXED32_BIG:
      return hashed(concat(fixedLength(data.length, 4, false), data));
    case LengthOp.FIXED32_LITTLE:
      return hashed(concat(fixedLength(data.length, 4, true), data));
    case LengthOp.FIXED64_BIG:
      return hashed(concat(fixedLength(data.length, 8, false), data));
    case LengthOp.FIXED64_LITTLE:
      return hashed(concat(fixedLength(data.length, 8, true), data));
    case LengthOp.REQUIRE_32_BYTES:
      return data.length === 32 ? hashed(data) : fail('ics23_calculation_failed', `data is ${data.length} bytes, not 32`);
    case LengthOp.REQUIRE_64_BYTES:
      return data.length === 64 ? hashed(data) : fail('ics23_calculation_failed', `data is ${data.length} bytes, not 64`);
  }
  // VAR_RLP is reserved in the spec and implemented by no reference verifier.
  return fail('ics23_calculation_failed', `unsupported length op ${op}`);
}

function prepareLeafData(hashOp: number, lengthOp: number, data: Uint8Array): Hashed {
  const h = doHashOrNoop(hashOp, data);
  return h.ok ? doLengthOp(lengthOp, h.hash) : h;
}

export function applyLeaf(op: LeafOp, key: Uint8Array, value: Uint8Array): Hashed {
  if (key.length === 0) return fail('ics23_calculation_failed', 'leaf op needs a key');
  if (value.length === 0) return fail('ics23_calculation_failed', 'leaf op needs a value');
  const pkey = prepareLeafData(op.prehashKey, op.length, key);
  if (!pkey.ok) return pkey;
  const pvalue = prepareLeafData(op.prehashValue, op.length, value);
  if (!pvalue.ok) return pvalue;
  return doHash(op.hash, concat(op.prefix, pkey.hash, pvalue.hash));
}

export function applyInner(op: InnerOp, child: Uint8Array): Hashed {
  if (child.length === 0) return fail('ics23_calculation_failed', 'inner op needs a child hash');
  return doHash(op.hash, concat(op.prefix, child, op.suffix));
}

/**
 * The root an existence proof commits to. With a spec, an intermediate hash
 * longer than a child slot is refused (it could not be a child in that tree).
 */
export function calculateExistenceRoot(proof: ExistenceProof, spec?: ProofSpec): Hashed {
  if (!proof.leaf) return fail('proof_malformed', 'existence proof has no leaf op');
  let res = applyLeaf(proof.leaf, proof.key, proof.value);
  if (!res.ok) return res;
  for (const [i, step] of proof.path.entries()) {
    res = applyInner(step, res.hash);
    if (!res.ok) return res;
    if (spec && spec.innerSpec.childSize >= 32 && res.hash.length > spec.innerSpec.childSize) {
      return fail('ics23_spec_mismatch', `inner op ${i} yields ${res.hash.length} bytes, more than a child slot of ${spec.innerSpec.childSize}`);
    }
  }
  return res;
}

/** Concatenation of byte strings (@noble/hashes). */
export const concat = concatBytes;

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic byte order, as Go's bytes.Compare. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length - b.length;
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}
