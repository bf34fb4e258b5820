import { ScaleError, ScaleReader, asBytes, blake2_256, toHex } from './bytes.ts';
import { fail, ok, type VerifyResult } from '../result.ts';
import type { Hex } from '../../src/domain/hex.ts';

/**
 * Substrate's base-16 trie without extension nodes (sp-trie, blake2-256),
 * node codec per the Polkadot host spec / sp_trie::node_codec:
 *  header byte: 00000000 empty; 01xxxxxx leaf; 10xxxxxx branch; 11xxxxxx
 *  branch with value; 001xxxxx leaf with hashed value (V1); 0001xxxx branch
 *  with hashed value (V1). The low bits hold the partial key's nibble count,
 *  all-ones meaning "add the bytes that follow" (255 = more to come).
 *  The partial key follows (odd count: the first byte's high nibble is zero
 *  padding), then a branch's u16-LE child bitmap, the value (Compact length
 *  + bytes, or a 32-byte hash in V1), then each child (Compact length + bytes:
 *  32 bytes is a hash, fewer is the inline node).
 * Layout V1 stores values of more than 32 bytes as a hash; the value itself is
 * then one more node of the proof, found by its blake2-256 hash.
 * How this was checked (test/proofs/substrate-trie.test.ts): @polkadot/trie-db
 * 1.8 implements the 2019 codec with extension nodes (header 254/255 for
 * branches), not today's layout, so it cannot serve as a reference; instead
 * V0 and V1 nodes written byte by byte from the spec, a separately written
 * trie builder (test fixture) whose roots match those hand-made nodes, and a
 * real Timestamp::Now read proof from a live chain (checked once, not shipped).
 */
export type TrieLayout = 'v0' | 'v1';

/** blake2-256 of the empty node [0x00]: the root of an empty state. */
export const EMPTY_TRIE_ROOT: Hex = toHex(blake2_256(Uint8Array.of(0)));

type Value = { inline: Uint8Array } | { hash: Uint8Array };
type Child = { hash: Uint8Array } | { inline: Uint8Array };

export type TrieNode =
  | { kind: 'empty' }
  | { kind: 'leaf'; partial: Uint8Array; value: Value }
  | { kind: 'branch'; partial: Uint8Array; value: Value | null; children: (Child | null)[] };

const NIBBLE_SIZE_BOUND = 65535;

function nibbleCount(r: ScaleReader, first: number, bits: number): number {
  const max = (1 << bits) - 1;
  let n = first & max;
  if (n < max) return n;
  for (;;) {
    const b = r.u8();
    n += b;
    if (n > NIBBLE_SIZE_BOUND) throw new ScaleError('partial key too long');
    if (b < 255) return n;
  }
}

function readPartial(r: ScaleReader, count: number): Uint8Array {
  const bytes = r.take(Math.ceil(count / 2));
  const out = new Uint8Array(count);
  let o = 0;
  let i = 0;
  if (count % 2 === 1) {
    if (bytes[0]! >> 4 !== 0) throw new ScaleError('bad padding in partial key');
    out[o++] = bytes[0]! & 0x0f;
    i = 1;
  }
  for (; i < bytes.length; i++) {
    out[o++] = bytes[i]! >> 4;
    out[o++] = bytes[i]! & 0x0f;
  }
  return out;
}

export function decodeTrieNode(data: Uint8Array): TrieNode {
  const r = new ScaleReader(data);
  const h = r.u8();
  let node: TrieNode;
  if (h === 0) node = { kind: 'empty' };
  else if (h >> 6 === 1) node = readLeaf(r, nibbleCount(r, h, 6), false);
  else if (h >> 6 === 2) node = readBranch(r, nibbleCount(r, h, 6), 'none');
  else if (h >> 6 === 3) node = readBranch(r, nibbleCount(r, h, 6), 'inline');
  else if (h >> 5 === 1) node = readLeaf(r, nibbleCount(r, h, 5), true);
  else if (h >> 4 === 1) node = readBranch(r, nibbleCount(r, h, 4), 'hash');
  else throw new ScaleError(`unknown node header 0x${h.toString(16)}`);
  r.end();
  return node;
}

function readLeaf(r: ScaleReader, count: number, hashed: boolean): TrieNode {
  const partial = readPartial(r, count);
  const value: Value = hashed ? { hash: r.take(32) } : { inline: r.bytes() };
  return { kind: 'leaf', partial, value };
}

function readBranch(r: ScaleReader, count: number, valueKind: 'none' | 'inline' | 'hash'): TrieNode {
  const partial = readPartial(r, count);
  const bitmap = r.u8() | (r.u8() << 8);
  if (bitmap === 0) throw new ScaleError('branch without children');
  const value: Value | null = valueKind === 'none' ? null : valueKind === 'hash' ? { hash: r.take(32) } : { inline: r.bytes() };
  const children: (Child | null)[] = [];
  for (let i = 0; i < 16; i++) {
    if (!(bitmap & (1 << i))) {
      children.push(null);
      continue;
    }
    const c = r.bytes();
    if (c.length > 32) throw new ScaleError('child reference longer than a hash');
    children.push(c.length === 32 ? { hash: c } : { inline: c });
  }
  return { kind: 'branch', partial, value, children };
}

function nibblesOf(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i]! >> 4;
    out[2 * i + 1] = key[i]! & 0x0f;
  }
  return out;
}

function hasPrefixAt(key: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (key.length - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[at + i] !== prefix[i]) return false;
  return true;
}

class ProofError extends Error {}

function lookup(root: Uint8Array, db: Map<string, Uint8Array>, key: Uint8Array, layout: TrieLayout): Uint8Array | null {
  const rootHex = toHex(root);
  if (rootHex === EMPTY_TRIE_ROOT) return null;
  const path = nibblesOf(key);
  let encoded = db.get(rootHex);
  if (!encoded) throw new ProofError(`root node ${rootHex} is not in the proof`);
  let at = 0;
  for (let depth = 0; depth <= path.length + 1; depth++) {
    let node: TrieNode;
    try {
      node = decodeTrieNode(encoded);
    } catch (e) {
      if (e instanceof ScaleError) throw new ProofError(`bad node at depth ${depth}: ${e.message}`);
      throw e;
    }
    if (node.kind === 'empty') {
      if (depth === 0) throw new ProofError('an empty node under a non-empty root');
      throw new ProofError('an empty node inside the trie');
    }
    if (layout === 'v0' && node.value && 'hash' in node.value) throw new ProofError('a hashed value node in a V0 trie');
    if (!hasPrefixAt(path, at, node.partial)) return null;
    at += node.partial.length;
    if (node.kind === 'leaf') return at === path.length ? readValue(node.value, db) : null;
    if (at === path.length) return node.value ? readValue(node.value, db) : null;
    const child = node.children[path[at]!];
    at += 1;
    if (!child) return null;
    if ('inline' in child) encoded = child.inline;
    else {
      const next = db.get(toHex(child.hash));
      if (!next) throw new ProofError(`node ${toHex(child.hash)} on the path is not in the proof`);
      encoded = next;
    }
  }
  throw new ProofError('path longer than the key');
}

function readValue(v: Value, db: Map<string, Uint8Array>): Uint8Array {
  if ('inline' in v) return v.inline;
  const data = db.get(toHex(v.hash));
  if (!data) throw new ProofError(`hashed value ${toHex(v.hash)} is not in the proof`);
  return data;
}

/**
 * Verifies a storage read proof as `state_getReadProof` returns it (an
 * unordered set of encoded trie nodes, V1 values as separate nodes) against a
 * state root from a finalized header. Returns, per key, the value or null for
 * a proven absence. Layout 'v1' (the default) accepts nodes of both layouts,
 * as sp-trie's LayoutV1 does (a state mid-migration holds both); 'v0' refuses
 * hashed-value nodes. Nodes off the paths are ignored (as sp-trie's
 * MemoryDB-backed read_proof_check does). Child tries: not handled here (a
 * child trie's root is a value of the main trie; verify it, then call again).
 */
export function verifyReadProof(
  stateRoot: Hex | Uint8Array,
  proofNodes: readonly (Hex | Uint8Array)[],
  keys: readonly (Hex | Uint8Array)[],
  layout: TrieLayout = 'v1',
): VerifyResult<{ values: (Uint8Array | null)[] }> {
  const root = asBytes(stateRoot, 32);
  if (!root) return fail('expectation_invalid', 'state root is not 32 bytes');
  if (layout !== 'v0' && layout !== 'v1') return fail('expectation_invalid', `unknown trie layout ${String(layout)}`);
  if (!Array.isArray(proofNodes)) return fail('proof_malformed', 'proof must be a list of nodes');
  const db = new Map<string, Uint8Array>();
  for (const [i, n] of proofNodes.entries()) {
    const b = asBytes(n);
    if (!b) return fail('proof_malformed', `proof node ${i} is not bytes`);
    db.set(toHex(blake2_256(b)), b);
  }
  const values: (Uint8Array | null)[] = [];
  for (const [i, k] of keys.entries()) {
    const key = asBytes(k);
    if (!key) return fail('expectation_invalid', `key ${i} is not bytes`);
    try {
      values.push(lookup(root, db, key, layout));
    } catch (e) {
      if (e instanceof ProofError) return fail('storage_proof_invalid', `key ${toHex(key)}: ${e.message}`);
      throw e;
    }
  }
  return ok({ values });
}
