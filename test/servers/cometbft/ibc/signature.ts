import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { LegacyAminoPubKey } from 'cosmjs-types/cosmos/crypto/multisig/keys';
import type { CompactBitArray } from 'cosmjs-types/cosmos/crypto/multisig/v1beta1/multisig';
import { PubKey as Secp256k1PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { SignatureDescriptor_Data } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import type { Any } from 'cosmjs-types/google/protobuf/any';

export const SECP256K1_PUBKEY_URL = '/cosmos.crypto.secp256k1.PubKey';
export const MULTISIG_PUBKEY_URL = '/cosmos.crypto.multisig.LegacyAminoPubKey';

export type PublicKey =
  | { kind: 'secp256k1'; key: Uint8Array }
  | { kind: 'multisig'; threshold: number; keys: PublicKey[] };

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Decodes a solo machine consensus-state public key; undefined for an unsupported type. */
export function decodePublicKey(any: Any | undefined): PublicKey | undefined {
  if (!any) return undefined;
  try {
    if (any.typeUrl === SECP256K1_PUBKEY_URL) {
      const key = Secp256k1PubKey.decode(any.value).key;
      if (key.length !== 33) return undefined;
      secp256k1.Point.fromBytes(key);
      return { kind: 'secp256k1', key };
    }
    if (any.typeUrl === MULTISIG_PUBKEY_URL) {
      const m = LegacyAminoPubKey.decode(any.value);
      const keys = m.publicKeys.map(decodePublicKey);
      if (keys.some((k) => k === undefined) || m.threshold === 0 || m.threshold > keys.length) return undefined;
      return { kind: 'multisig', threshold: m.threshold, keys: keys as PublicKey[] };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** cosmos-sdk's CompactBitArray.Count / GetIndex (bits MSB first). */
function bitCount(b: CompactBitArray): number {
  if (b.extraBitsStored === 0) return b.elems.length * 8;
  return (b.elems.length - 1) * 8 + b.extraBitsStored;
}
function bitAt(b: CompactBitArray, i: number): boolean {
  const byte = b.elems[i >> 3];
  return byte !== undefined && (byte & (1 << (7 - (i % 8)))) !== 0;
}

/** secp256k1 over sha256(msg), 64-byte r||s, low-S only, as cosmos-sdk's secp256k1.PubKey.VerifySignature. */
function verifySecp256k1(key: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  try {
    return secp256k1.verify(sig, sha256(msg), key, { prehash: false, lowS: true, format: 'compact' });
  } catch {
    return false;
  }
}

function verifyData(pk: PublicKey, msg: Uint8Array, data: SignatureDescriptor_Data): Verdict {
  if (pk.kind === 'secp256k1') {
    if (!data.single) return { ok: false, reason: 'invalid signature data type, expected single signature' };
    return verifySecp256k1(pk.key, msg, data.single.signature) ? { ok: true } : { ok: false, reason: 'signature verification failed' };
  }
  if (!data.multi || !data.multi.bitarray) return { ok: false, reason: 'invalid signature data type, expected multi signature' };
  // Mirrors LegacyAminoPubKey.VerifyMultisignature: every set bit must carry a valid signature.
  const bits = data.multi.bitarray;
  const size = bitCount(bits);
  const sigs = data.multi.signatures;
  if (size !== pk.keys.length) return { ok: false, reason: `bit array size is incorrect, expecting: ${pk.keys.length}` };
  if (sigs.length < pk.threshold || sigs.length > size) return { ok: false, reason: `signature size is incorrect ${sigs.length}` };
  let set = 0;
  for (let i = 0; i < size; i++) if (bitAt(bits, i)) set++;
  if (set < pk.threshold) return { ok: false, reason: `not enough signatures set, have ${set}, expected ${pk.threshold}` };
  let idx = 0;
  for (let i = 0; i < size; i++) {
    if (!bitAt(bits, i)) continue;
    const s = sigs[idx];
    const key = pk.keys[i];
    if (!s || !key) return { ok: false, reason: `unable to verify signature at index ${i}` };
    const v = verifyData(key, msg, s);
    if (!v.ok) return { ok: false, reason: `unable to verify signature at index ${i}` };
    idx++;
  }
  return { ok: true };
}

/** Decodes marshalled SignatureDescriptor.Data (ibc-go UnmarshalSignatureData); undefined if malformed. */
export function decodeSignatureData(bytes: Uint8Array): SignatureDescriptor_Data | undefined {
  try {
    const d = SignatureDescriptor_Data.decode(bytes);
    if (!d.single && !d.multi) return undefined;
    return d;
  } catch {
    return undefined;
  }
}

/** ibc-go 06-solomachine VerifySignature: the signature data kind must match the key kind. */
export function verifySignature(pk: PublicKey, signBytes: Uint8Array, data: SignatureDescriptor_Data): Verdict {
  return verifyData(pk, signBytes, data);
}
