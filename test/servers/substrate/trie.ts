import { blake2AsU8a } from '@polkadot/util-crypto';
import { compactToU8a, u8aConcat, u8aToHex } from '@polkadot/util';

/**
 * Substrate's state trie (sp-trie: base-16 Patricia trie without extension
 * nodes, blake2-256), built from scratch for every block: the test chains are
 * tiny, so rebuilding is cheaper than maintaining an incremental trie and
 * there is no node cache that could drift from the stored values.
 * Node codec (Polkadot host spec, sp_trie::node_codec):
 *   header 01xxxxxx leaf, 10xxxxxx branch, 11xxxxxx branch with value,
 *   (V1 only) 001xxxxx leaf with hashed value, 0001xxxx branch with hashed
 *   value; low bits = partial-key nibble count (all ones: more bytes follow).
 *   partial key (odd count: high nibble of the first byte is zero padding),
 *   branch: u16-LE child bitmap, value (Compact len ++ bytes, or 32-byte hash),
 *   children (Compact len ++ encoded node if < 32 bytes, else its hash).
 * V1 stores values of 33 bytes or more as a separate node referenced by hash.
 * (@polkadot/trie-db implements the 2019 codec with extension nodes, which is
 * not what a chain serves today, hence this builder.)
 */
export type TrieLayout = 'v0' | 'v1';

const h256 = (d: Uint8Array): Uint8Array => blake2AsU8a(d, 256);

interface Entry {
  nibbles: number[];
  value: Uint8Array;
}

interface Node {
  encoded: Uint8Array;
  partial: number[];
  children: (Node | null)[];
  /** hex hash of an out-of-line (V1) value stored at this node */
  valueHash: string | null;
}

export interface StateTrie {
  root: Uint8Array;
  /** The nodes a lookup of each key touches, as state_getReadProof serves them. */
  proof(keys: Uint8Array[]): Uint8Array[];
}

function header(prefix: number, prefixBits: number, nibbles: number): number[] {
  const room = 8 - prefixBits;
  const max = (1 << room) - 1;
  const top = prefix << room;
  if (nibbles < max) return [top | nibbles];
  const out = [top | max];
  let rest = nibbles - max;
  while (rest >= 255) {
    out.push(255);
    rest -= 255;
  }
  out.push(rest);
  return out;
}

function packNibbles(nibbles: number[]): number[] {
  const out: number[] = [];
  let i = 0;
  if (nibbles.length % 2 === 1) out.push(nibbles[i++]!);
  for (; i < nibbles.length; i += 2) out.push((nibbles[i]! << 4) | nibbles[i + 1]!);
  return out;
}

function toNibbles(key: Uint8Array): number[] {
  const out: number[] = [];
  for (const b of key) out.push(b >> 4, b & 0x0f);
  return out;
}

export function buildTrie(entries: Map<string, Uint8Array>, layout: TrieLayout): StateTrie {
  const outOfLine = new Map<string, Uint8Array>();
  const sorted: Entry[] = [...entries.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, value]) => ({ nibbles: toNibbles(Buffer.from(k.slice(2), 'hex')), value }));

  const value = (v: Uint8Array): { bytes: Uint8Array; hashed: string | null } => {
    if (layout === 'v1' && v.length > 32) {
      const hv = h256(v);
      outOfLine.set(u8aToHex(hv), v);
      return { bytes: hv, hashed: u8aToHex(hv) };
    }
    return { bytes: u8aConcat(compactToU8a(v.length), v), hashed: null };
  };

  const build = (items: Entry[], depth: number): Node => {
    if (items.length === 1) {
      const it = items[0]!;
      const partial = it.nibbles.slice(depth);
      const v = value(it.value);
      const head = v.hashed ? header(1, 3, partial.length) : header(1, 2, partial.length);
      return { encoded: u8aConcat(Uint8Array.from([...head, ...packNibbles(partial)]), v.bytes), partial, children: [], valueHash: v.hashed };
    }
    const first = items[0]!.nibbles;
    let common = 0;
    for (;;) {
      const d = depth + common;
      if (d >= first.length || !items.every((e) => e.nibbles.length > d && e.nibbles[d] === first[d])) break;
      common++;
    }
    const partial = first.slice(depth, depth + common);
    const at = depth + common;
    const own = items.find((e) => e.nibbles.length === at);
    const children: (Node | null)[] = [];
    const refs: Uint8Array[] = [];
    let bitmap = 0;
    for (let n = 0; n < 16; n++) {
      const sub = items.filter((e) => e.nibbles.length > at && e.nibbles[at] === n);
      if (sub.length === 0) {
        children.push(null);
        continue;
      }
      const c = build(sub, at + 1);
      children.push(c);
      bitmap |= 1 << n;
      const ref = c.encoded.length >= 32 ? h256(c.encoded) : c.encoded;
      refs.push(u8aConcat(compactToU8a(ref.length), ref));
    }
    let head: number[];
    let valueBytes: Uint8Array = new Uint8Array(0);
    let valueHash: string | null = null;
    if (!own) head = header(2, 2, partial.length);
    else {
      const v = value(own.value);
      head = v.hashed ? header(1, 4, partial.length) : header(3, 2, partial.length);
      valueBytes = v.bytes;
      valueHash = v.hashed;
    }
    const encoded = u8aConcat(Uint8Array.from([...head, ...packNibbles(partial), bitmap & 0xff, bitmap >> 8]), valueBytes, ...refs);
    return { encoded, partial, children, valueHash };
  };

  if (sorted.length === 0) {
    const empty = Uint8Array.of(0);
    return { root: h256(empty), proof: () => [empty] };
  }
  const top = build(sorted, 0);

  const proof = (keys: Uint8Array[]): Uint8Array[] => {
    const out = new Map<string, Uint8Array>();
    for (const key of keys) {
      const nib = toNibbles(key);
      let node: Node | null = top;
      let at = 0;
      let isTop = true;
      while (node) {
        // inline children travel inside their parent; only hashed nodes are proof items
        if (isTop || node.encoded.length >= 32) out.set(u8aToHex(node.encoded), node.encoded);
        isTop = false;
        if (!node.partial.every((n, i) => nib[at + i] === n)) break;
        at += node.partial.length;
        if (at === nib.length || node.children.length === 0) {
          if (at === nib.length && node.valueHash) out.set(node.valueHash, outOfLine.get(node.valueHash)!);
          break;
        }
        node = node.children[nib[at]!] ?? null;
        at++;
      }
    }
    return [...out.values()];
  };
  return { root: h256(top.encoded), proof };
}

/** Root of the trie `ordered_trie_root` builds: key = SCALE Compact(index). */
export function orderedTrieRoot(items: Uint8Array[], layout: TrieLayout): Uint8Array {
  const m = new Map<string, Uint8Array>();
  items.forEach((it, i) => m.set(u8aToHex(compactToU8a(i)), it));
  return buildTrie(m, layout).root;
}
