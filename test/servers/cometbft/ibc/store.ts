import type { KV } from '../node/module.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const hexKey = (k: Uint8Array): string => Buffer.from(k).toString('hex');

/** Typed access to a module store with string (ICS-24) keys. */
export class Store {
  constructor(readonly kv: KV) {}
  get(key: string): Uint8Array | undefined {
    return this.kv.get(enc.encode(key));
  }
  set(key: string, value: Uint8Array): void {
    this.kv.set(enc.encode(key), value);
  }
  delete(key: string): void {
    this.kv.delete(enc.encode(key));
  }
  getU64(key: string): bigint | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : Buffer.from(v).readBigUInt64BE(0);
  }
  setU64(key: string, value: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(value);
    this.set(key, new Uint8Array(b));
  }
  getString(key: string): string | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : dec.decode(v);
  }
  setString(key: string, value: string): void {
    this.set(key, enc.encode(value));
  }
  getJson<T>(key: string): T | undefined {
    const v = this.getString(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }
  setJson(key: string, value: unknown): void {
    this.setString(key, JSON.stringify(value));
  }
}

/**
 * A write buffer over a KV: ibc-go runs packet handlers in a CacheContext and drops their writes
 * on a no-op (redundant relay) while the tx still succeeds; the node only buffers per tx.
 */
export class CachedKV implements KV {
  private readonly writes = new Map<string, Uint8Array | null>();
  constructor(private readonly parent: KV) {}
  get(key: Uint8Array): Uint8Array | undefined {
    const w = this.writes.get(hexKey(key));
    if (w === null) return undefined;
    return w ?? this.parent.get(key);
  }
  set(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(hexKey(key), value);
  }
  delete(key: Uint8Array): void {
    this.writes.set(hexKey(key), null);
  }
  prefix(p: Uint8Array): [Uint8Array, Uint8Array][] {
    const merged = new Map<string, Uint8Array>();
    for (const [k, v] of this.parent.prefix(p)) merged.set(hexKey(k), v);
    const ph = hexKey(p);
    for (const [k, v] of this.writes) {
      if (!k.startsWith(ph)) continue;
      if (v === null) merged.delete(k);
      else merged.set(k, v);
    }
    return [...merged.keys()].sort().map((k) => [new Uint8Array(Buffer.from(k, 'hex')), merged.get(k) as Uint8Array]);
  }
  commit(): void {
    for (const [k, v] of this.writes) {
      const key = new Uint8Array(Buffer.from(k, 'hex'));
      if (v === null) this.parent.delete(key);
      else this.parent.set(key, v);
    }
    this.writes.clear();
  }
}
