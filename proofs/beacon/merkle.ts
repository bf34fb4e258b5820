/** SSZ Merkle branches (is_valid_merkle_branch and its normalized Electra form). */
import { createHash } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { floorLog2 } from './ssz.ts';

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isZero(a: Uint8Array): boolean {
  for (const x of a) if (x !== 0) return false;
  return true;
}

/** Root reached from `leaf` at `index` (position among the 2^depth leaves) through `branch`. */
export function branchRoot(leaf: Uint8Array, branch: readonly Uint8Array[], depth: number, index: number): Uint8Array {
  let node = leaf;
  const buf = new Uint8Array(64);
  for (let i = 0; i < depth; i++) {
    const sib = branch[i]!;
    if (Math.floor(index / 2 ** i) % 2 === 1) {
      buf.set(sib, 0);
      buf.set(node, 32);
    } else {
      buf.set(node, 0);
      buf.set(sib, 32);
    }
    node = sha256(buf);
  }
  return node;
}

export function isValidMerkleBranch(leaf: Uint8Array, branch: readonly Uint8Array[], depth: number, index: number, root: Uint8Array): boolean {
  if (branch.length < depth || branch.some((b) => b.length !== 32)) return false;
  return bytesEqual(branchRoot(leaf, branch, depth, index), root);
}

/**
 * is_valid_normalized_merkle_branch: a branch made for a deeper tree (a later
 * fork) proves a shallower gindex when its extra leading nodes are zero.
 */
export function isValidNormalizedBranch(leaf: Uint8Array, branch: readonly Uint8Array[], gindex: number, root: Uint8Array): boolean {
  const depth = floorLog2(gindex);
  const index = gindex - 2 ** depth;
  const extra = branch.length - depth;
  if (extra < 0) return false;
  for (let i = 0; i < extra; i++) if (!isZero(branch[i]!)) return false;
  return isValidMerkleBranch(leaf, branch.slice(extra), depth, index, root);
}

// node:crypto's native SHA-256 here: a 512-key committee root is ~1500 hashes,
// where the per-call cost of the JS implementation shows in every update.
function nativeSha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(b).digest());
}

function hashPair(a: Uint8Array, b: Uint8Array, buf: Uint8Array): Uint8Array {
  buf.set(a, 0);
  buf.set(b, 32);
  return nativeSha256(buf);
}

/** hash_tree_root of a BLSPubkey (48 bytes: two chunks, the second zero-padded). */
function pubkeyRoot(pk: Uint8Array, buf: Uint8Array): Uint8Array {
  buf.fill(0);
  buf.set(pk.subarray(0, 48), 0);
  return nativeSha256(buf);
}

/**
 * hash_tree_root(SyncCommittee) computed directly: the SSZ library builds a
 * persistent tree for a 512-key vector, several times slower than hashing it.
 * Committee sizes are powers of two (32, 512). Tests check it against the library.
 */
export function syncCommitteeRoot(pubkeys: readonly Uint8Array[], aggregatePubkey: Uint8Array): Uint8Array {
  const buf = new Uint8Array(64);
  let layer = pubkeys.map((pk) => pubkeyRoot(pk, buf));
  if ((layer.length & (layer.length - 1)) !== 0 || layer.length === 0) throw new RangeError('sync committee size must be a power of two');
  while (layer.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2) next.push(hashPair(layer[i]!, layer[i + 1]!, buf));
    layer = next;
  }
  return hashPair(layer[0]!, pubkeyRoot(aggregatePubkey, buf), buf);
}
