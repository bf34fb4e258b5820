import { sha256 } from '@noble/hashes/sha2.js';
import { concat } from './proto.ts';

/** CometBFT's simple Merkle tree (crypto/merkle, RFC 6962 style with a 0x00/0x01 domain prefix). */
export function leafHash(leaf: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(0), leaf));
}

export function innerHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(1), left, right));
}

function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function hashFromByteSlices(items: Uint8Array[]): Uint8Array {
  if (items.length === 0) return sha256(new Uint8Array(0));
  if (items.length === 1) return leafHash(items[0]!);
  const k = splitPoint(items.length);
  return innerHash(hashFromByteSlices(items.slice(0, k)), hashFromByteSlices(items.slice(k)));
}

/** Sibling hashes from the leaf upward, with the side the sibling sits on. */
export function merklePath(items: Uint8Array[], index: number): { sibling: Uint8Array; siblingIsLeft: boolean }[] {
  if (items.length <= 1) return [];
  const k = splitPoint(items.length);
  if (index < k) {
    return [...merklePath(items.slice(0, k), index), { sibling: hashFromByteSlices(items.slice(k)), siblingIsLeft: false }];
  }
  return [...merklePath(items.slice(k), index - k), { sibling: hashFromByteSlices(items.slice(0, k)), siblingIsLeft: true }];
}
