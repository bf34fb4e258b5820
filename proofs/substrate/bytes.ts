import { blake2b } from '@noble/hashes/blake2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Hex } from '../../src/domain/hex.ts';

export function blake2_256(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 32 });
}

export function toHex(bytes: Uint8Array): Hex {
  return `0x${bytesToHex(bytes)}`;
}

const EVEN_HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

/** Bytes as given, or even-length 0x-hex; null when neither (or not of `byteLength`). */
export function asBytes(v: unknown, byteLength?: number): Uint8Array | null {
  let out: Uint8Array;
  if (v instanceof Uint8Array) out = v;
  else if (typeof v === 'string' && EVEN_HEX.test(v)) out = hexToBytes(v.slice(2));
  else return null;
  if (byteLength !== undefined && out.length !== byteLength) return null;
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Signals malformed SCALE input inside the decoders; the verifiers turn it into a `fail(...)`. */
export class ScaleError extends Error {}

/**
 * A SCALE reader over one buffer. Compact integers must be canonical (the
 * smallest mode that fits), as parity-scale-codec requires, so that hashing
 * the bytes as received equals hashing the re-encoded value.
 */
export class ScaleReader {
  offset = 0;
  constructor(readonly data: Uint8Array) {}

  get remaining(): number {
    return this.data.length - this.offset;
  }

  take(n: number): Uint8Array {
    if (n < 0 || this.offset + n > this.data.length) throw new ScaleError(`need ${n} bytes at offset ${this.offset}, have ${this.remaining}`);
    const out = this.data.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u32(): number {
    const b = this.take(4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16)) + b[3]! * 0x1000000;
  }

  u64(): bigint {
    const lo = BigInt(this.u32());
    const hi = BigInt(this.u32());
    return (hi << 32n) | lo;
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) throw new ScaleError(`bad bool byte ${b} at offset ${this.offset - 1}`);
    return b === 1;
  }

  /** Compact<u32>-range integer (lengths, block numbers). */
  compact(): number {
    const at = this.offset;
    const b0 = this.u8();
    const mode = b0 & 3;
    if (mode === 0) return b0 >> 2;
    if (mode === 1) {
      const v = (b0 | (this.u8() << 8)) >> 2;
      if (v < 64) throw new ScaleError(`non-canonical compact at offset ${at}`);
      return v;
    }
    if (mode === 2) {
      const b = this.take(3);
      const v = ((b0 | (b[0]! << 8) | (b[1]! << 16)) >>> 2) + b[2]! * 0x400000;
      if (v < 1 << 14) throw new ScaleError(`non-canonical compact at offset ${at}`);
      return v;
    }
    const len = (b0 >> 2) + 4;
    const b = this.take(len);
    if (b[len - 1] === 0) throw new ScaleError(`non-canonical compact at offset ${at}`);
    if (len > 4) throw new ScaleError(`compact at offset ${at} exceeds u32`);
    const v = b[0]! + b[1]! * 0x100 + b[2]! * 0x10000 + b[3]! * 0x1000000;
    if (v < 1 << 30) throw new ScaleError(`non-canonical compact at offset ${at}`);
    return v;
  }

  bytes(): Uint8Array {
    return this.take(this.compact());
  }

  /** A vector length, bounded by what the remaining input could hold. */
  length(minItemBytes: number): number {
    const n = this.compact();
    if (n * minItemBytes > this.remaining) throw new ScaleError(`vector of ${n} items cannot fit in ${this.remaining} bytes`);
    return n;
  }

  end(): void {
    if (this.remaining !== 0) throw new ScaleError(`${this.remaining} trailing bytes`);
  }
}

export function encodeCompact(n: number): Uint8Array {
  if (n < 64) return Uint8Array.of(n << 2);
  if (n < 1 << 14) return Uint8Array.of(((n << 2) | 1) & 0xff, n >> 6);
  if (n < 1 << 30) {
    const v = (n * 4 + 2) >>> 0;
    return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  }
  return Uint8Array.of(3, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
}

export { concatBytes } from '@noble/hashes/utils.js';

export function u32le(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
}

export function u64le(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  let v = n;
  for (let i = 0; i < 8; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
