import { decode as rlpDecode } from '@ethereumjs/rlp';
import { keccak256Hex, parseBytes } from './bytes.ts';

/** An RLP item: a string or a list of items. */
export type RlpItem = Uint8Array | RlpItem[];

/** A proof node as bytes, with its keccak-256 (lowercase 0x-hex) and its RLP decoding, each computed once when first asked for. */
export interface ProofNode {
  readonly bytes: Uint8Array;
  hash(): string;
  /** The decoded node, or the decoder's error (read-only: shared by every proof that lists the node). */
  decoded(): RlpItem | Error;
}

/**
 * Proof nodes by their 0x-hex text, each parsed and hashed at most once. The
 * storage proofs of one eth_getProof answer share their upper nodes (every
 * path starts at the same storage root), and a block's proof was checked slot
 * by slot: for 256 slots of one port, most nodes were parsed and hashed again
 * for each slot, and each node's text was checked twice (shape, then verify).
 * The cache changes nothing about which nodes a proof may use: each slot still
 * walks only the nodes its own proof lists.
 */
export class ProofNodeCache {
  readonly #nodes = new Map<string, ProofNode | null>();

  /** The node for `hex`, or null when it is not even-length 0x-hex. */
  get(hex: unknown): ProofNode | null {
    if (typeof hex !== 'string') return null;
    let node = this.#nodes.get(hex);
    if (node === undefined) {
      const bytes = parseBytes(hex);
      node = bytes ? nodeOf(bytes) : null;
      this.#nodes.set(hex, node);
    }
    return node;
  }
}

export function nodeOf(bytes: Uint8Array): ProofNode {
  let h: string | null = null;
  let d: RlpItem | Error | null = null;
  return {
    bytes,
    hash: () => (h ??= keccak256Hex(bytes)),
    decoded: () => (d ??= decodeOrError(bytes)),
  };
}

function decodeOrError(bytes: Uint8Array): RlpItem | Error {
  try {
    return rlpDecode(bytes) as RlpItem;
  } catch (cause) {
    return cause instanceof Error ? cause : new Error(String(cause));
  }
}
