import { keccak256 } from 'ethers';
import type { Hex } from './hex.ts';

/**
 * OpenZeppelin's merkle-tree algorithms (`core.js` of @openzeppelin/merkle-tree 1.x) over 32-byte nodes, kept as
 * lowercase 0x-hex strings: keccak256 returns hex anyway, proofs are hex, and for equal-length lowercase hex the
 * string order is the numeric order OpenZeppelin sorts pairs and leaves by.
 *
 * Hashing goes through ethers' `keccak256` on bytes (never hex strings, whose parsing in ethers is slow), so a
 * faster keccak registered with `keccak256.register` speeds these trees up too.
 *
 * Layout (frozen with the format): a complete binary tree in an array of 2n-1 nodes, root at 0, children of i at
 * 2i+1 and 2i+2, the leaf sorted k-th at index 2n-2-k.
 */

/** Writes a 0x-hex string of 32 bytes into `buf` at `offset` (the caller has validated it). */
function put(buf: Buffer, offset: number, node: string): void {
  buf.write(node.slice(2), offset, 32, 'hex');
}

/** keccak256(keccak256(id)): OpenZeppelin's standard leaf for `[bytes32 id]` (abi.encode of a bytes32 is the bytes). */
export function leafOf(id: Uint8Array, scratch32: Buffer): Hex {
  put(scratch32, 0, keccak256(id));
  return keccak256(scratch32) as Hex;
}

/** OpenZeppelin's node hash: keccak256 of the two children, smaller first. */
export function nodeOf(a: string, b: string, scratch64: Buffer): Hex {
  if (a < b) {
    put(scratch64, 0, a);
    put(scratch64, 32, b);
  } else {
    put(scratch64, 0, b);
    put(scratch64, 32, a);
  }
  return keccak256(scratch64) as Hex;
}

/** The node array for leaves already sorted ascending. */
export function buildTree(sortedLeaves: readonly Hex[]): Hex[] {
  const n = sortedLeaves.length;
  const tree = new Array<Hex>(2 * n - 1);
  for (let k = 0; k < n; k++) tree[tree.length - 1 - k] = sortedLeaves[k]!;
  const scratch = Buffer.allocUnsafe(64);
  for (let i = n - 2; i >= 0; i--) tree[i] = nodeOf(tree[2 * i + 1]!, tree[2 * i + 2]!, scratch);
  return tree;
}

const sibling = (i: number): number => (i % 2 === 1 ? i + 1 : i - 1);
const parent = (i: number): number => (i - 1) >> 1;

/** The sibling path from node `index` up to the root (OpenZeppelin's `getProof`). */
export function pathOf(tree: readonly Hex[], index: number): Hex[] {
  const proof: Hex[] = [];
  for (let i = index; i > 0; i = parent(i)) proof.push(tree[sibling(i)]!);
  return proof;
}

/**
 * OpenZeppelin's `getMultiProof` for distinct leaf indices: the same walk, the same order of `proof` and
 * `proofFlags`, and `leaves` in descending tree index (the order MerkleProof.multiProofVerify consumes them).
 * No indices gives the proof `[root]`, as OpenZeppelin does.
 */
export function multiProofOf(tree: readonly Hex[], indices: readonly number[]): { indices: number[]; proof: Hex[]; proofFlags: boolean[] } {
  const sorted = [...indices].sort((a, b) => b - a);
  // A queue read from `head` rather than Array.shift: same order as OpenZeppelin, without its quadratic cost.
  const queue = [...sorted];
  let head = 0;
  const proof: Hex[] = [];
  const proofFlags: boolean[] = [];
  while (head < queue.length && queue[head]! > 0) {
    const j = queue[head++]!;
    const s = sibling(j);
    if (head < queue.length && queue[head] === s) {
      proofFlags.push(true);
      head++;
    } else {
      proofFlags.push(false);
      proof.push(tree[s]!);
    }
    queue.push(parent(j));
  }
  if (sorted.length === 0) proof.push(tree[0]!);
  return { indices: sorted, proof, proofFlags };
}

/** The root a leaf and its sibling path lead to (OpenZeppelin's `processProof`); nodes must be lowercase hex. */
export function rootOf(leaf: Hex, proof: readonly Hex[]): Hex {
  const scratch = Buffer.allocUnsafe(64);
  let node = leaf;
  for (const p of proof) node = nodeOf(node, p, scratch);
  return node;
}
