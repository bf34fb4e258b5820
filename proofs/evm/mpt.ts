import { EMPTY_TRIE_ROOT, equalBytes, parseBytes, toHex } from './bytes.ts';
import { nodeOf, type ProofNode, type RlpItem } from './nodes.ts';

/**
 * A synchronous Merkle-Patricia proof walker. @ethereumjs/mpt verifies the
 * same proofs but only asynchronously (it loads the nodes into a scratch trie
 * database first), and the relayer's verifiers are synchronous, pure
 * functions. The acceptance rules deliberately match @ethereumjs/mpt's
 * `verifyMerkleProof` (test/proofs/evm-mpt.test.ts cross-checks the two):
 *  - a non-empty proof's first node must hash to the root;
 *  - nodes are found by hash, so their order after the first does not matter
 *    and nodes off the path are ignored;
 *  - a path that ends at an empty branch slot or diverges from an extension
 *    or leaf key is a proof of absence.
 * One difference is intended: under the empty-trie root, `[]` (geth) and
 * `['0x80']` (anvil) prove absence here, where the library rejects every
 * proof, even its own, so it cannot show that an empty storage trie lacks a slot.
 */
export type MptResult = { ok: true; value: Uint8Array | null } | { ok: false; detail: string };

const EMPTY_ROOT_BYTES = parseBytes(EMPTY_TRIE_ROOT)!;
/** A 32-byte key has 64 nibbles; each step but an empty extension consumes one. */
const MAX_STEPS = 256;

function invalid(detail: string): MptResult {
  return { ok: false, detail };
}

function nibblesOf(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i]! >> 4;
    out[2 * i + 1] = key[i]! & 0x0f;
  }
  return out;
}

/** Hex-prefix (compact) path encoding of leaf and extension nodes. */
function decodeCompactPath(path: Uint8Array): { leaf: boolean; nibbles: Uint8Array } | null {
  if (path.length === 0) return null;
  const flag = path[0]! >> 4;
  if (flag > 3) return null;
  const odd = (flag & 1) === 1;
  if (!odd && (path[0]! & 0x0f) !== 0) return null;
  const all = nibblesOf(path);
  return { leaf: flag >= 2, nibbles: all.subarray(odd ? 1 : 2) };
}

function startsWith(key: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (key.length - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[at + i] !== prefix[i]) return false;
  return true;
}

/**
 * Proves the value at `key` (the trie path itself: callers of a secure trie
 * pass keccak256 of the account or slot) under `root`. `value: null` is a
 * proven absence. Never throws: a tampered or truncated proof is `ok: false`.
 */
export function verifyMptProof(root: Uint8Array, key: Uint8Array, proof: readonly Uint8Array[]): MptResult {
  return verifyMptNodes(root, key, proof.map(nodeOf));
}

/** `verifyMptProof` over nodes whose bytes and hashes may be shared with other proofs (see ProofNodeCache). */
export function verifyMptNodes(root: Uint8Array, key: Uint8Array, proof: readonly ProofNode[]): MptResult {
  if (root.length !== 32) return invalid(`root must be 32 bytes, got ${root.length}`);
  const rootHex = toHex(root);
  const first = proof[0];
  if (first !== undefined && first.hash() !== rootHex) return invalid(`the first proof node does not hash to the root ${rootHex}`);
  if (equalBytes(root, EMPTY_ROOT_BYTES)) return { ok: true, value: null };

  const byHash = new Map<string, ProofNode>();
  for (const node of proof) byHash.set(node.hash(), node);

  const path = nibblesOf(key);
  let at = 0;
  let ref: RlpItem = root;
  for (let step = 0; step < MAX_STEPS; step++) {
    let node: RlpItem;
    if (ref instanceof Uint8Array) {
      if (ref.length === 0) return { ok: true, value: null };
      if (ref.length !== 32) return invalid(`child reference of ${ref.length} bytes at nibble ${at}`);
      const found = byHash.get(toHex(ref));
      if (!found) return invalid(`node ${toHex(ref)} at nibble ${at} is not in the proof`);
      const decoded = found.decoded();
      if (decoded instanceof Error) return invalid(`node ${toHex(ref)} is not RLP: ${decoded.message}`);
      node = decoded;
    } else {
      // An embedded node (its RLP is under 32 bytes, so its parent holds it instead of its hash).
      node = ref;
    }
    if (!Array.isArray(node)) return node.length === 0 ? { ok: true, value: null } : invalid(`node at nibble ${at} is a string, not a list`);

    if (node.length === 17) {
      if (at === path.length) {
        const v = node[16]!;
        if (!(v instanceof Uint8Array)) return invalid('branch value is a list');
        return { ok: true, value: v.length === 0 ? null : v };
      }
      ref = node[path[at]!]!;
      at += 1;
      continue;
    }
    if (node.length === 2) {
      const [encodedPath, next] = node as [RlpItem, RlpItem];
      if (!(encodedPath instanceof Uint8Array)) return invalid(`node path at nibble ${at} is a list`);
      const compact = decodeCompactPath(encodedPath);
      if (!compact) return invalid(`bad compact path at nibble ${at}`);
      if (compact.leaf) {
        if (!(next instanceof Uint8Array)) return invalid('leaf value is a list');
        const matches = path.length - at === compact.nibbles.length && startsWith(path, at, compact.nibbles);
        return { ok: true, value: matches ? next : null };
      }
      if (!startsWith(path, at, compact.nibbles)) return { ok: true, value: null };
      at += compact.nibbles.length;
      ref = next;
      continue;
    }
    return invalid(`node at nibble ${at} has ${node.length} items (a node has 2 or 17)`);
  }
  return invalid(`proof walk exceeded ${MAX_STEPS} steps`);
}
