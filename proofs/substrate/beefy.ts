import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { asBytes, concatBytes, encodeCompact, equalBytes, toHex, u32le, u64le } from './bytes.ts';
import { verifySimplifiedMmrProof } from './mmr.ts';
import { fail, ok, type VerifyResult } from '../result.ts';
import type { Hex } from '../../src/domain/hex.ts';

/**
 * BEEFY commitments as bridges check them (Snowbridge's BeefyClient): the
 * commitment hash is keccak-256 of SCALE `Commitment{payload, block_number:
 * u32, validator_set_id: u64}`; each signature is secp256k1 over that hash by
 * a validator whose Ethereum address is a leaf (keccak-256 of the 20 bytes)
 * of the validator-set Merkle root (Substrate's binary_merkle_tree, keccak);
 * the MMR leaf (SCALE `MmrLeaf`, keccak-256) is proven into the payload's
 * `mh` MMR root with a simplified MMR proof.
 * This checks signatures, not a supermajority: BeefyClient accepts a random
 * sample, whose size rule needs Ethereum state; the caller chooses `minSignatures`.
 */
export interface BeefyCommitment {
  payload: { id: string; data: Hex }[];
  blockNumber: number;
  validatorSetId: bigint;
}

export interface BeefyMmrLeaf {
  version: number;
  parentNumber: number;
  parentHash: Hex;
  nextAuthoritySetId: bigint;
  nextAuthoritySetLen: number;
  nextAuthoritySetRoot: Hex;
  parachainHeadsRoot: Hex;
}

export interface BeefyValidatorSignature {
  account: Hex;
  index: number;
  proof: Hex[];
  r: Hex;
  s: Hex;
  v: number;
}

export interface BeefyValidatorSet {
  id: bigint;
  length: number;
  root: Hex;
}

const HALF_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n / 2n;
const ASCII = new TextEncoder();

export function beefyCommitmentHash(c: BeefyCommitment): Uint8Array {
  const items = c.payload.map((p) => {
    const data = asBytes(p.data);
    if (!data || ASCII.encode(p.id).length !== 2) throw new RangeError('payload item needs a 2-byte id and hex data');
    return concatBytes(ASCII.encode(p.id), encodeCompact(data.length), data);
  });
  return keccak_256(concatBytes(encodeCompact(items.length), ...items, u32le(c.blockNumber), u64le(c.validatorSetId)));
}

export function beefyLeafHash(l: BeefyMmrLeaf): Uint8Array {
  const b32 = (h: Hex) => {
    const b = asBytes(h, 32);
    if (!b) throw new RangeError(`${h} is not 32 bytes`);
    return b;
  };
  return keccak_256(
    concatBytes(Uint8Array.of(l.version), u32le(l.parentNumber), b32(l.parentHash), u64le(l.nextAuthoritySetId), u32le(l.nextAuthoritySetLen), b32(l.nextAuthoritySetRoot), b32(l.parachainHeadsRoot)),
  );
}

/** Root of Substrate's binary_merkle_tree from a leaf hash, its position and the leaf count (a last odd node is promoted). */
export function binaryMerkleRoot(leaf: Uint8Array, position: number, width: number, proof: Uint8Array[]): Uint8Array | null {
  let node = leaf;
  let pos = position;
  let w = width;
  let k = 0;
  while (w > 1) {
    if (pos % 2 === 1) node = keccak_256(concatBytes(proof[k++] ?? new Uint8Array(0), node));
    else if (pos + 1 < w) node = keccak_256(concatBytes(node, proof[k++] ?? new Uint8Array(0)));
    if (k > proof.length) return null;
    pos = Math.floor(pos / 2);
    w = Math.ceil(w / 2);
  }
  return k === proof.length ? node : null;
}

function recoverAddress(hash: Uint8Array, r: Uint8Array, s: Uint8Array, v: number): Uint8Array | null {
  const rec = v >= 27 ? v - 27 : v;
  if (rec !== 0 && rec !== 1) return null;
  try {
    const sig = secp256k1.Signature.fromBytes(concatBytes(r, s), 'compact');
    if (sig.s > HALF_N) return null;
    const pub = sig.addRecoveryBit(rec).recoverPublicKey(hash).toBytes(false);
    return keccak_256(pub.subarray(1)).subarray(12);
  } catch {
    return null;
  }
}

export function verifyBeefyCommitment(
  input: { commitment: BeefyCommitment; signatures: BeefyValidatorSignature[]; leaf?: BeefyMmrLeaf; leafProof?: Hex[]; leafProofOrder?: bigint | number; commitmentHash?: Hex },
  validatorSet: BeefyValidatorSet,
  { minSignatures = 1 }: { minSignatures?: number } = {},
): VerifyResult<{ commitmentHash: Hex; mmrRoot: Hex | null; signers: number }> {
  let hash: Uint8Array;
  try {
    hash = beefyCommitmentHash(input.commitment);
  } catch (e) {
    return fail('proof_malformed', `commitment: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (input.commitmentHash !== undefined && toHex(hash) !== input.commitmentHash.toLowerCase()) {
    return fail('header_hash_mismatch', `commitment hashes to ${toHex(hash)}, not ${input.commitmentHash}`);
  }
  if (input.commitment.validatorSetId !== validatorSet.id) return fail('untrusted_header', `commitment is for set ${input.commitment.validatorSetId}, trusted set is ${validatorSet.id}`);
  const root = asBytes(validatorSet.root, 32);
  if (!root) return fail('expectation_invalid', 'validator set root is not 32 bytes');
  const seen = new Set<number>();
  for (const [i, s] of input.signatures.entries()) {
    const account = asBytes(s.account, 20);
    const r = asBytes(s.r, 32);
    const sv = asBytes(s.s, 32);
    const proof = s.proof.map((p) => asBytes(p, 32));
    if (!account || !r || !sv || proof.some((p) => !p) || !Number.isInteger(s.index)) return fail('proof_malformed', `signature ${i} is malformed`);
    if (s.index < 0 || s.index >= validatorSet.length || seen.has(s.index)) return fail('proof_malformed', `signature ${i}: index ${s.index} repeated or outside the set`);
    seen.add(s.index);
    const got = recoverAddress(hash, r, sv, s.v);
    if (!got || !equalBytes(got, account)) return fail('signature_invalid', `signature ${i} does not recover to ${s.account}`);
    const computed = binaryMerkleRoot(keccak_256(account), s.index, validatorSet.length, proof as Uint8Array[]);
    if (!computed || !equalBytes(computed, root)) return fail('grandpa_unknown_authority', `validator ${s.account} (index ${s.index}) is not proven in set ${validatorSet.id}`);
  }
  if (seen.size < minSignatures) return fail('insufficient_signatures', `${seen.size} signatures, ${minSignatures} required`);
  let mmrRoot: Hex | null = null;
  if (input.leaf) {
    const mh = input.commitment.payload.find((p) => p.id === 'mh');
    if (!mh) return fail('proof_malformed', 'commitment has no MMR root (mh) payload');
    let leafHash: Uint8Array;
    try {
      leafHash = beefyLeafHash(input.leaf);
    } catch (e) {
      return fail('proof_malformed', `leaf: ${e instanceof Error ? e.message : String(e)}`);
    }
    const r = verifySimplifiedMmrProof(mh.data, leafHash, input.leafProof ?? [], input.leafProofOrder ?? 0);
    if (!r.ok) return r;
    mmrRoot = r.root;
  }
  return ok({ commitmentHash: toHex(hash), mmrRoot, signers: seen.size });
}
