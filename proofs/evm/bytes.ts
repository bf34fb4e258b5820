import { keccak256 as ethersKeccak } from 'ethers';
import { bytesToHex as toHexDigits, hexToBytes as fromHexDigits } from '@noble/hashes/utils.js';
import type { Hex } from '../../src/domain/hex.ts';

/** keccak256 of the empty RLP string 0x80: the root of an empty trie. */
export const EMPTY_TRIE_ROOT: Hex = '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421';

const EVEN_HEX = /^0x(?:[0-9a-fA-F]{2})*$/;
const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;

/** keccak-256 as lowercase 0x-hex. */
export function keccak256Hex(data: Uint8Array): Hex {
  // Through ethers: a process that installed a faster keccak there (src/evm/keccak.ts) gets it here too.
  return ethersKeccak(data) as Hex;
}

export function keccak256(data: Uint8Array): Uint8Array {
  return Buffer.from(keccak256Hex(data).slice(2), 'hex');
}

export function toHex(bytes: Uint8Array): Hex {
  return `0x${toHexDigits(bytes)}`;
}

/** Even-length 0x-hex to bytes (optionally of an exact length); null when it is not. */
export function parseBytes(v: unknown, byteLength?: number): Uint8Array | null {
  if (typeof v !== 'string' || !EVEN_HEX.test(v)) return null;
  if (byteLength !== undefined && v.length !== 2 + 2 * byteLength) return null;
  return fromHexDigits(v.slice(2));
}

/** A JSON-RPC quantity ("0x0", "0x1b4", up to 256 bits) to bigint; null when it is not one. */
export function parseQuantity(v: unknown): bigint | null {
  if (typeof v !== 'string' || !QUANTITY.test(v)) return null;
  return BigInt(v);
}

/** Minimal big-endian bytes, as RLP encodes integers (0 is the empty string). */
export function bigintToBytes(n: bigint): Uint8Array {
  if (n === 0n) return new Uint8Array(0);
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return fromHexDigits(hex);
}

/** Canonical RLP integer bytes (no leading zero, at most 32 bytes) to bigint; null when not canonical. */
export function bytesToBigint(b: Uint8Array): bigint | null {
  if (b.length > 32 || (b.length > 0 && b[0] === 0)) return null;
  return b.length === 0 ? 0n : BigInt(toHex(b));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
