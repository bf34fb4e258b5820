/**
 * Snappy raw block format (what consensus-spec-tests `.ssz_snappy` files hold;
 * not the framing format of the p2p streams). snappyjs ships no types, so it is
 * loaded through a typed require rather than a global module declaration.
 */
import { createRequire } from 'node:module';

const snappy = createRequire(import.meta.url)('snappyjs') as { uncompress(b: Uint8Array, maxLength?: number): Uint8Array; compress(b: Uint8Array): Uint8Array };

/** Throws on a corrupt block; callers at a boundary wrap it. */
export function snappyUncompress(b: Uint8Array, maxLength = 16 * 1024 * 1024): Uint8Array {
  return new Uint8Array(snappy.uncompress(b, maxLength));
}

export function snappyCompress(b: Uint8Array): Uint8Array {
  return new Uint8Array(snappy.compress(b));
}
