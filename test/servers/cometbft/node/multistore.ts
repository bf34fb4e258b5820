import { ics23 } from '@confio/ics23';
import { sha256 } from '@noble/hashes/sha2.js';
import { compareBytes, IavlTree, type Entry } from './iavl.ts';
import { hashFromByteSlices, merklePath } from './merkle.ts';
import { concat, lp } from './proto.ts';
import type { KV } from './module.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A mutable working store; writes land here during a block and are frozen into an IavlTree at commit. */
export class WorkingStore implements KV {
  readonly data = new Map<string, Entry>();
  dirty = false;

  get(key: Uint8Array): Uint8Array | undefined {
    return this.data.get(hex(key))?.[1];
  }
  set(key: Uint8Array, value: Uint8Array): void {
    this.data.set(hex(key), [Uint8Array.from(key), Uint8Array.from(value)]);
    this.dirty = true;
  }
  delete(key: Uint8Array): void {
    if (this.data.delete(hex(key))) this.dirty = true;
  }
  prefix(p: Uint8Array): Entry[] {
    return [...this.data.values()].filter(([k]) => startsWith(k, p)).sort((a, b) => compareBytes(a[0], b[0]));
  }
}

export function startsWith(k: Uint8Array, p: Uint8Array): boolean {
  if (k.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (k[i] !== p[i]) return false;
  return true;
}

/**
 * A tx's buffered view of a store: reads fall through to the parent, writes are kept until
 * `write()` (success) or dropped (the handler threw), as the SDK's CacheMultiStore.
 */
export class CacheKV implements KV {
  private readonly writes = new Map<string, Entry | null>();
  constructor(private readonly parent: KV) {}

  get(key: Uint8Array): Uint8Array | undefined {
    const w = this.writes.get(hex(key));
    if (w === null) return undefined;
    return w ? w[1] : this.parent.get(key);
  }
  set(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(hex(key), [Uint8Array.from(key), Uint8Array.from(value)]);
  }
  delete(key: Uint8Array): void {
    this.writes.set(hex(key), null);
  }
  prefix(p: Uint8Array): Entry[] {
    const m = new Map<string, Entry>(this.parent.prefix(p).map((e) => [hex(e[0]), e]));
    for (const [k, w] of this.writes) {
      if (w === null) m.delete(k);
      else if (startsWith(w[0], p)) m.set(k, w);
    }
    return [...m.values()].sort((a, b) => compareBytes(a[0], b[0]));
  }
  write(): void {
    for (const [k, w] of this.writes) {
      if (w === null) this.parent.delete(Buffer.from(k, 'hex'));
      else this.parent.set(w[0], w[1]);
    }
    this.writes.clear();
  }
}

/** A read-only view of one committed store version. */
export class SnapshotKV implements KV {
  constructor(private readonly tree: IavlTree) {}
  get(key: Uint8Array): Uint8Array | undefined {
    return this.tree.get(key);
  }
  set(): void {
    throw new Error('query context is read-only');
  }
  delete(): void {
    throw new Error('query context is read-only');
  }
  prefix(p: Uint8Array): Entry[] {
    return this.tree.entries.filter(([k]) => startsWith(k, p));
  }
}

/** One committed version of the multistore: an IAVL tree per store and the SDK commit-info root. */
export class CommitInfo {
  readonly names: string[];
  private readonly leaves: Uint8Array[];
  readonly appHash: Uint8Array;

  constructor(readonly height: bigint, readonly trees: ReadonlyMap<string, IavlTree>) {
    this.names = [...trees.keys()].sort();
    // the SDK's commit info: simple Merkle over kv leaves (name, sha256(store root)), sorted by name
    this.leaves = this.names.map((n) => concat(lp(utf8(n)), lp(sha256(trees.get(n)!.hash()))));
    this.appHash = hashFromByteSlices(this.leaves);
  }

  /** ICS-23 existence proof of a store's root in the commit info (tendermintSpec) */
  storeProof(name: string): ics23.ICommitmentProof {
    const index = this.names.indexOf(name);
    if (index < 0) throw new Error(`no store ${name}`);
    const path = merklePath(this.leaves, index).map(({ sibling, siblingIsLeft }) =>
      siblingIsLeft
        ? { hash: ics23.HashOp.SHA256, prefix: concat(Uint8Array.of(1), sibling), suffix: new Uint8Array(0) }
        : { hash: ics23.HashOp.SHA256, prefix: Uint8Array.of(1), suffix: sibling },
    );
    return {
      exist: {
        key: utf8(name),
        value: this.trees.get(name)!.hash(),
        leaf: {
          hash: ics23.HashOp.SHA256,
          prehashKey: ics23.HashOp.NO_HASH,
          prehashValue: ics23.HashOp.SHA256,
          length: ics23.LengthOp.VAR_PROTO,
          prefix: Uint8Array.of(0),
        },
        path,
      },
    };
  }
}

/** The live multistore: working stores for the block being built, and every committed version. */
export class MultiStore {
  readonly working = new Map<string, WorkingStore>();
  private readonly versions = new Map<bigint, CommitInfo>();
  private last: CommitInfo | null = null;

  mount(name: string): WorkingStore {
    let s = this.working.get(name);
    if (!s) {
      s = new WorkingStore();
      s.dirty = true;
      this.working.set(name, s);
    }
    return s;
  }

  commit(height: bigint): CommitInfo {
    const trees = new Map<string, IavlTree>();
    for (const [name, s] of this.working) {
      const prev = this.last?.trees.get(name);
      // an unchanged store keeps its tree (and node versions), as iavl does
      trees.set(name, prev && !s.dirty ? prev : new IavlTree([...s.data.values()], height));
      s.dirty = false;
    }
    const info = new CommitInfo(height, trees);
    this.versions.set(height, info);
    this.last = info;
    return info;
  }

  at(height: bigint): CommitInfo | undefined {
    return this.versions.get(height);
  }
}
