/**
 * BLS12-381 for the sync committee: G1 public keys, G2 signatures, the
 * Ethereum proof-of-possession ciphersuite. noble's default hash DST is the
 * _NUL_ suite, so the POP DST is always passed explicitly.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';

export const ETH_BLS_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';

const sigs = bls12_381.longSignatures;

export type G1Point = ReturnType<typeof sigs.getPublicKey>;

/** Decodes (and subgroup-checks) a compressed public key; null when it is not a valid key. */
export function decodePubkey(pk: Uint8Array): G1Point | null {
  try {
    const p = bls12_381.G1.Point.fromBytes(pk);
    if (p.is0()) return null;
    return p;
  } catch {
    return null;
  }
}

/**
 * FastAggregateVerify over already decoded keys. Never throws: a malformed
 * signature is a failed verification.
 */
export function fastAggregateVerifyPoints(pubkeys: readonly G1Point[], message: Uint8Array, signature: Uint8Array): boolean {
  if (pubkeys.length === 0) return false;
  try {
    const agg = sigs.aggregatePublicKeys([...pubkeys]);
    return sigs.verify(signature, sigs.hash(message, ETH_BLS_DST), agg);
  } catch {
    return false;
  }
}
