import { ics23 } from '@confio/ics23';
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, lp, zigzag } from './proto.ts';

/**
 * An immutable IAVL tree with iavl's node hashing, rebuilt balanced per committed version of a
 * store. Real iavl rebalances incrementally, so its shape differs; the hashing rules and so the
 * ICS-23 proofs (checked against ics23's iavlSpec) are the same.
 */
type Node =
  | { leaf: true; key: Uint8Array; value: Uint8Array; version: bigint; hash: Uint8Array }
  | { leaf: false; left: Node; right: Node; height: number; size: number; version: bigint; hash: Uint8Array };

export type Entry = [Uint8Array, Uint8Array];

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function leafPrefix(version: bigint): Uint8Array {
  return concat(zigzag(0), zigzag(1), zigzag(version));
}

function height(n: Node): number {
  return n.leaf ? 0 : n.height;
}
function size(n: Node): number {
  return n.leaf ? 1 : n.size;
}

function build(entries: Entry[], version: bigint): Node {
  if (entries.length === 1) {
    const [key, value] = entries[0]!;
    return { leaf: true, key, value, version, hash: sha256(concat(leafPrefix(version), lp(key), lp(sha256(value)))) };
  }
  const mid = Math.ceil(entries.length / 2);
  const left = build(entries.slice(0, mid), version);
  const right = build(entries.slice(mid), version);
  const h = Math.max(height(left), height(right)) + 1;
  const s = size(left) + size(right);
  const hash = sha256(concat(zigzag(h), zigzag(s), zigzag(version), lp(left.hash), lp(right.hash)));
  return { leaf: false, left, right, height: h, size: s, version, hash };
}

export class IavlTree {
  private readonly root: Node | null;
  /** sorted by key */
  readonly entries: Entry[];

  constructor(entries: Entry[], readonly version: bigint) {
    this.entries = [...entries].sort((a, b) => compareBytes(a[0], b[0]));
    this.root = this.entries.length === 0 ? null : build(this.entries, version);
  }

  /** iavl's hash of an empty tree is sha256 of nothing */
  hash(): Uint8Array {
    return this.root ? this.root.hash : sha256(new Uint8Array(0));
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const i = this.search(key);
    return i.found ? this.entries[i.index]![1] : undefined;
  }

  private search(key: Uint8Array): { found: boolean; index: number } {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      const c = compareBytes(this.entries[m]![0], key);
      if (c === 0) return { found: true, index: m };
      if (c < 0) lo = m + 1;
      else hi = m;
    }
    return { found: false, index: lo };
  }

  private existence(index: number): ics23.IExistenceProof {
    const path: ics23.IInnerOp[] = [];
    const walk = (n: Node, lo: number): Node => {
      if (n.leaf) return n;
      const ls = size(n.left);
      const prefix = concat(zigzag(n.height), zigzag(n.size), zigzag(n.version));
      let leaf: Node;
      if (index < lo + ls) {
        leaf = walk(n.left, lo);
        path.push({ hash: ics23.HashOp.SHA256, prefix: concat(prefix, Uint8Array.of(32)), suffix: lp(n.right.hash) });
      } else {
        leaf = walk(n.right, lo + ls);
        path.push({ hash: ics23.HashOp.SHA256, prefix: concat(prefix, lp(n.left.hash), Uint8Array.of(32)), suffix: new Uint8Array(0) });
      }
      return leaf;
    };
    const leaf = walk(this.root!, 0);
    if (!leaf.leaf) throw new Error('unreachable');
    return {
      key: leaf.key,
      value: leaf.value,
      leaf: {
        hash: ics23.HashOp.SHA256,
        prehashKey: ics23.HashOp.NO_HASH,
        prehashValue: ics23.HashOp.SHA256,
        length: ics23.LengthOp.VAR_PROTO,
        prefix: leafPrefix(leaf.version),
      },
      path,
    };
  }

  /** ICS-23 CommitmentProof: existence if the key is present, else non-existence (neighbours). */
  proof(key: Uint8Array): ics23.ICommitmentProof {
    const { found, index } = this.search(key);
    if (found) return { exist: this.existence(index) };
    return {
      nonexist: {
        key,
        left: index > 0 ? this.existence(index - 1) : undefined,
        right: index < this.entries.length ? this.existence(index) : undefined,
      },
    };
  }
}

export function encodeCommitmentProof(p: ics23.ICommitmentProof): Uint8Array {
  return ics23.CommitmentProof.encode(p).finish();
}
