import { secp256k1 } from '@noble/curves/secp256k1.js';
import { LegacyAminoPubKey } from 'cosmjs-types/cosmos/crypto/multisig/keys';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { Any } from 'cosmjs-types/google/protobuf/any';
import type { Hex } from '../../../src/domain/hex.ts';
import { ValidationError } from '../../../src/errors.ts';

export const SECP256K1_PUBKEY_TYPE_URL = '/cosmos.crypto.secp256k1.PubKey';
export const MULTISIG_PUBKEY_TYPE_URL = '/cosmos.crypto.multisig.LegacyAminoPubKey';

/** The 32 raw bytes of a 0x-hex secp256k1 private key, refused when it is not one. */
export function privateKeyBytes(key: Hex, field = 'attestorKey'): Uint8Array {
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new ValidationError(field, 'a secp256k1 private key is 0x and 64 hex digits');
  const bytes = Uint8Array.from(Buffer.from(key.slice(2), 'hex'));
  if (!secp256k1.utils.isValidSecretKey(bytes)) throw new ValidationError(field, 'not a valid secp256k1 private key');
  return bytes;
}

/** The 33-byte compressed public key of a secp256k1 private key. */
export function compressedPublicKey(key: Hex): Uint8Array {
  return secp256k1.getPublicKey(privateKeyBytes(key), true);
}

/** `cosmos.crypto.secp256k1.PubKey` packed in an Any. */
export function secp256k1PubKeyAny(compressed: Uint8Array): Any {
  if (compressed.length !== 33) throw new ValidationError('publicKey', 'a Cosmos secp256k1 public key is 33 bytes (compressed)');
  return Any.fromPartial({ typeUrl: SECP256K1_PUBKEY_TYPE_URL, value: PubKey.encode({ key: compressed }).finish() });
}

/**
 * The solo machine's public key: the attestors' k-of-n LegacyAminoPubKey, even for 1-of-1 (ibc-go
 * accepts any cryptotypes.PubKey; one shape for every set keeps the signer single-path). Keys stay in
 * the order given: the multisig bit array indexes that order, so the signer must use the same one.
 */
export function soloPublicKey(attestorKeys: readonly Hex[], threshold: number): Any {
  return multisigPubKeyAny(attestorKeys.map((k) => compressedPublicKey(k)), threshold);
}

/** The same Any from compressed public keys (what a verifier that holds no private key has). */
export function multisigPubKeyAny(publicKeys: readonly Uint8Array[], threshold: number): Any {
  if (publicKeys.length === 0) throw new ValidationError('attestorKeys', 'at least one attestor key');
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > publicKeys.length) {
    throw new ValidationError('threshold', `${threshold} of ${publicKeys.length} keys is not a valid threshold`);
  }
  const seen = new Set<string>();
  for (const p of publicKeys) {
    const h = Buffer.from(p).toString('hex');
    if (seen.has(h)) throw new ValidationError('attestorKeys', 'an attestor key appears twice');
    seen.add(h);
  }
  const value = LegacyAminoPubKey.encode({ threshold, publicKeys: publicKeys.map((p) => secp256k1PubKeyAny(p)) }).finish();
  return Any.fromPartial({ typeUrl: MULTISIG_PUBKEY_TYPE_URL, value });
}
