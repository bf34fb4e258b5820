/**
 * Chaincode simulation against a peer's committed world state, with the
 * subset of fabric-shim's ChaincodeStub that contracts use. As in Fabric,
 * reads see committed state only (not the transaction's own writes), each key
 * read is recorded once with its committed version, the last write per key
 * wins, and only the top-level chaincode's last event is kept.
 */
import type { ValidIdentity } from './identity.ts';

export interface Version {
  blockNum: number;
  txNum: number;
}
export interface VersionedValue {
  value: Uint8Array;
  version: Version;
}
/** namespace → key → value. */
export type WorldState = Map<string, Map<string, VersionedValue>>;

export interface ChaincodeResponse {
  status: number;
  message?: string;
  payload?: Uint8Array;
}

/** A chaincode as the model network runs it (see contractChaincode for fabric-contract-api classes). */
export interface Chaincode {
  invoke(stub: SimStub, fn: string, args: string[]): Promise<ChaincodeResponse> | ChaincodeResponse;
  /** Which organisations' peers must endorse: default MAJORITY as Fabric's /Channel/Application/Endorsement. */
  endorsementPolicy?: 'ANY' | 'MAJORITY' | 'ALL';
}

export interface NsRw {
  reads: Map<string, Version | null>;
  writes: Map<string, Uint8Array | null>;
}

export interface TxContext {
  txId: string;
  channel: string;
  creator: { mspid: string; idBytes: Uint8Array };
  timestamp: { seconds: number; nanos: number };
  signedProposal: unknown;
  transient: Map<string, Uint8Array>;
  state: WorldState;
  chaincodes: Record<string, Chaincode>;
  rw: Map<string, NsRw>;
  event: { name: string; payload: Uint8Array } | null;
  peerMspId: string;
  creatorIdentity: ValidIdentity;
}

const MIN_UNICODE = '\u0000';
const MAX_UNICODE = '\u{10FFFF}';

class Iterator implements AsyncIterable<{ key: string; value: Uint8Array }> {
  private i = 0;
  constructor(private readonly items: Array<{ key: string; value: Uint8Array }>) {}
  async next(): Promise<{ value: { key: string; value: Uint8Array; namespace?: string } | undefined; done: boolean }> {
    const v = this.items[this.i++];
    return v ? { value: v, done: false } : { value: undefined, done: true };
  }
  async close(): Promise<void> {}
  async *[Symbol.asyncIterator](): AsyncIterator<{ key: string; value: Uint8Array }> {
    for (const it of this.items) yield it;
  }
}

export class SimStub {
  constructor(
    private readonly ctx: TxContext,
    private readonly ns: string,
    private readonly fn: string,
    private readonly params: string[],
  ) {}

  private rw(): NsRw {
    let r = this.ctx.rw.get(this.ns);
    if (!r) this.ctx.rw.set(this.ns, (r = { reads: new Map(), writes: new Map() }));
    return r;
  }

  private committed(key: string): VersionedValue | undefined {
    return this.ctx.state.get(this.ns)?.get(key);
  }

  getArgs(): string[] {
    return [this.fn, ...this.params];
  }
  getStringArgs(): string[] {
    return this.getArgs();
  }
  getBufferArgs(): Buffer[] {
    return this.getArgs().map((a) => Buffer.from(a));
  }
  getFunctionAndParameters(): { fcn: string; params: string[] } {
    return { fcn: this.fn, params: this.params };
  }
  getTxID(): string {
    return this.ctx.txId;
  }
  getChannelID(): string {
    return this.ctx.channel;
  }
  getMspID(): string {
    return this.ctx.peerMspId;
  }
  getCreator(): { mspid: string; idBytes: Uint8Array } {
    return this.ctx.creator;
  }
  getTransient(): Map<string, Uint8Array> {
    return this.ctx.transient;
  }
  getSignedProposal(): unknown {
    return this.ctx.signedProposal;
  }
  /** fabric-shim 2.5 returns the header's google.protobuf.Timestamp; this answers both its getters and the older field shape. */
  getTxTimestamp(): { getSeconds(): number; getNanos(): number; toDate(): Date; seconds: number; nanos: number } {
    const { seconds, nanos } = this.ctx.timestamp;
    return { getSeconds: () => seconds, getNanos: () => nanos, toDate: () => this.getDateTimestamp(), seconds, nanos };
  }
  getDateTimestamp(): Date {
    return new Date(this.ctx.timestamp.seconds * 1000 + Math.floor(this.ctx.timestamp.nanos / 1e6));
  }

  async getState(key: string): Promise<Uint8Array> {
    const c = this.committed(key);
    const reads = this.rw().reads;
    if (!reads.has(key)) reads.set(key, c ? c.version : null);
    return c ? Buffer.from(c.value) : Buffer.alloc(0);
  }
  async putState(key: string, value: Uint8Array | string): Promise<void> {
    if (!key) throw new Error('key must not be an empty string');
    this.rw().writes.set(key, typeof value === 'string' ? Buffer.from(value) : Buffer.from(value));
  }
  async deleteState(key: string): Promise<void> {
    this.rw().writes.set(key, null);
  }

  /** Range scans record each returned key as a read (Fabric records a RangeQueryInfo instead). */
  private scan(start: string, end: string): Iterator {
    const all = [...(this.ctx.state.get(this.ns)?.entries() ?? [])]
      .filter(([k]) => k >= start && (end === '' || k < end))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const reads = this.rw().reads;
    for (const [k, v] of all) if (!reads.has(k)) reads.set(k, v.version);
    return new Iterator(all.map(([key, v]) => ({ key, value: Buffer.from(v.value) })));
  }
  async getStateByRange(start: string, end: string): Promise<Iterator> {
    return this.scan(start || '', end || '');
  }
  async getStateByPartialCompositeKey(objectType: string, attributes: string[]): Promise<Iterator> {
    const prefix = this.createCompositeKey(objectType, attributes);
    return this.scan(prefix, prefix + MAX_UNICODE);
  }
  createCompositeKey(objectType: string, attributes: string[]): string {
    return MIN_UNICODE + objectType + MIN_UNICODE + attributes.map((a) => a + MIN_UNICODE).join('');
  }
  splitCompositeKey(key: string): { objectType: string; attributes: string[] } {
    const parts = key.split(MIN_UNICODE);
    return { objectType: parts[1] ?? '', attributes: parts.slice(2, -1) };
  }

  setEvent(name: string, payload: Uint8Array | string): void {
    if (!name) throw new Error('event name must be a non-empty string');
    // Fabric keeps only the invoked (top-level) chaincode's event.
    if (this.ns === this.ctxTopNs) this.ctx.event = { name, payload: Buffer.from(payload) };
  }
  private get ctxTopNs(): string {
    return [...this.ctx.rw.keys()][0] ?? this.ns;
  }

  /** Chaincode-to-chaincode call on the same channel: the callee's reads/writes land in its own namespace. */
  async invokeChaincode(name: string, args: Array<string | Uint8Array>, channel?: string): Promise<ChaincodeResponse> {
    const cc = this.ctx.chaincodes[name.split(':')[0]!];
    if (channel && channel !== this.ctx.channel) throw new Error(`cross-channel invocation to ${channel} is not modelled`);
    if (!cc) return { status: 500, message: `chaincode ${name} not found` };
    const strs = args.map((a) => (typeof a === 'string' ? a : Buffer.from(a).toString('utf8')));
    return runChaincode(this.ctx, name, cc, strs[0] ?? '', strs.slice(1));
  }
}

export async function runChaincode(ctx: TxContext, ns: string, cc: Chaincode, fn: string, params: string[]): Promise<ChaincodeResponse> {
  const stub = new SimStub(ctx, ns, fn, params);
  if (!ctx.rw.has(ns)) ctx.rw.set(ns, { reads: new Map(), writes: new Map() });
  try {
    const r = await cc.invoke(stub, fn, params);
    return { status: r.status, message: r.message ?? '', payload: r.payload ?? new Uint8Array(0) };
  } catch (e) {
    return { status: 500, message: (e as Error).message ?? String(e) };
  }
}
