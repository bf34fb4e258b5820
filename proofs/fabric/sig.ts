/**
 * ECDSA P-256 / SHA-256 as Fabric's BCCSP checks it: DER signatures, and S
 * must be in the lower half of the group order (Fabric rejects high-S to
 * keep signatures non-malleable). node:crypto (OpenSSL) does the curve work.
 */
import { verify as cryptoVerify, type KeyObject } from 'node:crypto';

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;

/** Big-endian bytes of floor(n/2) for P-256. */
const HALF_N_BYTES = Uint8Array.from(Buffer.from(P256_HALF_N.toString(16).padStart(64, '0'), 'hex'));

/**
 * Where S sits in a DER signature SEQUENCE { INTEGER r, INTEGER s } (strict
 * DER: minimal lengths, positive integers), or null when it is not one.
 */
function derS(sig: Uint8Array): Uint8Array | null {
  if (sig.length < 8 || sig[0] !== 0x30) return null;
  let pos = 2;
  let total = sig[1]!;
  if (total & 0x80) {
    if (total !== 0x81) return null;
    total = sig[2]!;
    pos = 3;
  }
  if (pos + total !== sig.length) return null;
  const readInt = (): Uint8Array | null => {
    if (sig[pos] !== 0x02) return null;
    const len = sig[pos + 1];
    if (len === undefined || len === 0 || len > 33 || pos + 2 + len > sig.length) return null;
    const v = sig.subarray(pos + 2, pos + 2 + len);
    if (v[0]! & 0x80) return null;
    pos += 2 + len;
    return v;
  };
  const r = readInt();
  const s = readInt();
  if (!r || !s || pos !== sig.length) return null;
  if (r.every((b) => b === 0) || s.every((b) => b === 0)) return null;
  return s;
}

/** Is S (big-endian, possibly with a leading zero) at most floor(n/2)? */
function lowS(s: Uint8Array): boolean {
  let i = 0;
  while (i < s.length - 1 && s[i] === 0) i++;
  const v = s.subarray(i);
  if (v.length !== HALF_N_BYTES.length) return v.length < HALF_N_BYTES.length;
  for (let j = 0; j < v.length; j++) {
    if (v[j]! !== HALF_N_BYTES[j]!) return v[j]! < HALF_N_BYTES[j]!;
  }
  return true;
}

/** The S of a DER ECDSA signature; null when not DER. */
export function derSignatureS(sig: Uint8Array): bigint | null {
  const s = derS(sig);
  return s ? BigInt(`0x${Buffer.from(s).toString('hex')}`) : null;
}

export function isLowS(sig: Uint8Array): boolean {
  const s = derS(sig);
  return s !== null && lowS(s);
}

export type SigCheck = 'ok' | 'high_s' | 'bad';

/** Verifies an ECDSA-SHA256 DER signature with Fabric's low-S rule. */
export function verifyEcdsa(key: KeyObject, message: Uint8Array, sig: Uint8Array): SigCheck {
  const s = derS(sig);
  if (s === null) return 'bad';
  if (!lowS(s)) return 'high_s';
  try {
    return cryptoVerify('sha256', message, { key, dsaEncoding: 'der' }, sig) ? 'ok' : 'bad';
  } catch {
    return 'bad';
  }
}

export { P256_N };
