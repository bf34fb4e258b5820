/**
 * An in-memory Fabric channel for chaincode tests: a ChaincodeStub and
 * ClientIdentity test double with Fabric's transaction semantics, so the
 * chaincode is tested against what a peer does, not against a friendlier map.
 *
 * - Reads see the committed state only, never the transaction's own writes
 *   (Fabric's GetState reads the ledger, the write set is applied at commit).
 * - Writes of one transaction, across every chaincode it calls, commit together
 *   when the outer-most invocation succeeds, and are dropped when it fails. A
 *   called chaincode that returns an error keeps its writes in the transaction
 *   (Fabric has no nested rollback).
 * - One chaincode event per transaction: the last setEvent of the outer-most
 *   chaincode; a called chaincode's events are lost.
 * - invokeChaincode runs another installed contract inside the same transaction
 *   and answers {status 200, payload} or {status 500, message}; it throws when
 *   the chaincode does not exist or is already running in this transaction
 *   (A -> B -> A: the peer answers ERROR, the shim throws).
 * - getSignedProposal carries the client's ChaincodeInvocationSpec (outer-most
 *   chaincode and arguments), as the shim decodes it.
 */
import { peer } from '@hyperledger/fabric-protos';
import { Context, type Contract } from 'fabric-contract-api';
import type { ChaincodeResponse, ChaincodeStub, ClientIdentity } from 'fabric-shim-api';

const enc = new TextEncoder();
const MIN_UNICODE = '\u0000';
const MAX_UNICODE = '\u{10FFFF}';

export interface TestIdentity {
  mspId: string;
  certPem: string;
}

export interface ChaincodeEventOut {
  name: string;
  payload: Uint8Array;
}

export interface TxResult {
  txId: string;
  status: number;
  message: string;
  payload: Uint8Array;
  /** The transaction's one chaincode event, if the outer-most chaincode set one. */
  event?: ChaincodeEventOut;
  /** Keys written, per chaincode namespace. */
  writes: Map<string, Map<string, Uint8Array>>;
  /** The payload as UTF-8. */
  text: string;
}

/** Fabric refuses submit of a failed proposal: a committed tx has status 200. */
export class TxFailed extends Error {
  constructor(readonly result: TxResult) {
    super(`transaction ${result.txId} failed (${result.status}): ${result.message}`);
    this.name = 'TxFailed';
  }
}

class Simulation {
  readonly writes = new Map<string, Map<string, Uint8Array>>();
  /** Chaincodes running in this transaction, outer-most first. */
  readonly stack: string[] = [];
  constructor(
    readonly net: FabricChannel,
    readonly txId: string,
    readonly creator: TestIdentity,
    readonly outer: { chaincode: string; args: string[] },
  ) {}

  write(ns: string, key: string, value: Uint8Array): void {
    let m = this.writes.get(ns);
    if (!m) this.writes.set(ns, (m = new Map()));
    m.set(key, value);
  }
}

function validateCompositeKeyAttribute(s: string): void {
  if (s.includes(MIN_UNICODE) || s.includes(MAX_UNICODE)) throw new Error(`input string "${s}" contains U+0000 or U+10FFFF`);
}

class StubDouble {
  event: ChaincodeEventOut | undefined;

  constructor(
    private readonly sim: Simulation,
    private readonly ns: string,
    private readonly args: string[],
  ) {}

  getArgs(): string[] {
    return [...this.args];
  }
  getStringArgs(): string[] {
    return [...this.args];
  }
  getFunctionAndParameters(): { fcn: string; params: string[] } {
    return { fcn: this.args[0] ?? '', params: this.args.slice(1) };
  }
  getTxID(): string {
    return this.sim.txId;
  }
  getChannelID(): string {
    return this.sim.net.channel;
  }
  getCreator(): { mspid: string; idBytes: Uint8Array } {
    return { mspid: this.sim.creator.mspId, idBytes: enc.encode(this.sim.creator.certPem) };
  }
  getMspID(): string {
    return this.sim.net.peerMspId;
  }
  getTransient(): Map<string, Uint8Array> {
    return new Map();
  }
  getSignedProposal(): unknown {
    const id = new peer.ChaincodeID();
    id.setName(this.sim.outer.chaincode);
    const input = new peer.ChaincodeInput();
    input.setArgsList(this.sim.outer.args.map((a) => enc.encode(a)));
    const spec = new peer.ChaincodeSpec();
    spec.setType(peer.ChaincodeSpec.Type.NODE);
    spec.setChaincodeId(id);
    spec.setInput(input);
    const cis = new peer.ChaincodeInvocationSpec();
    cis.setChaincodeSpec(spec);
    return { signature: new Uint8Array(), proposal: { header: {}, payload: { input: cis.serializeBinary() } } };
  }

  async getState(key: string): Promise<Uint8Array> {
    // Committed state only: this transaction's own writes are invisible to it.
    return this.sim.net.committedValue(this.ns, key) ?? new Uint8Array(0);
  }
  async putState(key: string, value: Uint8Array): Promise<void> {
    if (!key) throw new Error('key must not be empty');
    this.sim.write(this.ns, key, new Uint8Array(value));
  }
  createCompositeKey(objectType: string, attributes: string[]): string {
    validateCompositeKeyAttribute(objectType);
    let key = MIN_UNICODE + objectType + MIN_UNICODE;
    for (const a of attributes) {
      validateCompositeKeyAttribute(a);
      key += a + MIN_UNICODE;
    }
    return key;
  }
  splitCompositeKey(key: string): { objectType: string; attributes: string[] } {
    const parts = key.split(MIN_UNICODE);
    return { objectType: parts[1] ?? '', attributes: parts.slice(2, -1) };
  }
  setEvent(name: string, payload: Uint8Array): void {
    if (typeof name !== 'string' || name === '') throw new Error('Event name must be a non-empty string');
    this.event = { name, payload: new Uint8Array(payload) };
  }
  async invokeChaincode(chaincodeName: string, args: string[], channel: string): Promise<ChaincodeResponse> {
    if (channel && channel !== this.sim.net.channel) throw new Error(`channel ${channel} is not reachable from this double`);
    // The peer answers ERROR (the shim throws) when it cannot run the callee at all;
    // a callee that ran and refused answers COMPLETED with its status.
    if (!this.sim.net.installed(chaincodeName)) throw new Error(`make sure the chaincode ${chaincodeName} has been successfully defined on channel ${this.sim.net.channel}`);
    // The peer keeps one context per (chaincode, txid): A -> B -> A is refused.
    if (this.sim.stack.includes(chaincodeName)) throw new Error(`txid: ${this.sim.txId}(${this.sim.net.channel}) exists`);
    const r = await this.sim.net.invoke(this.sim, chaincodeName, args);
    return r.status === 200 ? { status: 200, payload: r.payload } : { status: r.status, message: r.message };
  }
}

class IdentityDouble implements ClientIdentity {
  constructor(private readonly id: TestIdentity) {}
  assertAttributeValue(): boolean {
    return false;
  }
  getAttributeValue(): string | null {
    return null;
  }
  getID(): string {
    return `x509::${this.id.mspId}`;
  }
  getIDBytes(): Uint8Array {
    return enc.encode(this.id.certPem);
  }
  getMSPID(): string {
    return this.id.mspId;
  }
}

/** fabric-contract-api's JSONSerializer.toBuffer for undecorated transactions. */
function toBuffer(result: unknown): Uint8Array {
  if (result === undefined || result === null) return new Uint8Array(0);
  if (typeof result === 'string' || typeof result === 'number' || typeof result === 'boolean') return enc.encode(result.toString());
  return enc.encode(JSON.stringify(result));
}

/** fabric-contract-api without metadata: every own method not starting with "_" is a transaction. */
function transactionOf(contract: Contract, fcn: string): ((ctx: Context, ...a: string[]) => Promise<unknown>) | undefined {
  const i = fcn.lastIndexOf(':');
  const name = i >= 0 ? fcn.slice(i + 1) : fcn;
  if (i >= 0 && fcn.slice(0, i) !== contract.getName()) return undefined;
  if (!name || name.startsWith('_') || name === 'constructor') return undefined;
  const proto = Object.getPrototypeOf(contract) as object;
  if (!Object.getOwnPropertyNames(proto).includes(name)) return undefined;
  const f = (contract as unknown as Record<string, unknown>)[name];
  return typeof f === 'function' ? (f as (ctx: Context, ...a: string[]) => Promise<unknown>).bind(contract) : undefined;
}

export class FabricChannel {
  private readonly state = new Map<string, Map<string, Uint8Array>>();
  private readonly chaincodes = new Map<string, Contract>();
  private txCount = 0;
  /** Every committed transaction, in order. */
  readonly ledger: TxResult[] = [];

  constructor(
    readonly channel: string,
    readonly peerMspId = 'Org1MSP',
  ) {}

  install(name: string, contract: Contract): void {
    this.chaincodes.set(name, contract);
  }

  installed(name: string): boolean {
    return this.chaincodes.has(name);
  }

  committedValue(ns: string, key: string): Uint8Array | undefined {
    return this.state.get(ns)?.get(key);
  }

  /** Endorses and commits: the writes land only if the outer-most invocation succeeded. */
  async submit(as: TestIdentity, chaincode: string, ...args: string[]): Promise<TxResult> {
    const r = await this.run(as, chaincode, args);
    if (r.status !== 200) throw new TxFailed(r);
    for (const [ns, kv] of r.writes) {
      let m = this.state.get(ns);
      if (!m) this.state.set(ns, (m = new Map()));
      for (const [k, v] of kv) m.set(k, v);
    }
    this.ledger.push(r);
    return r;
  }

  /** Endorses only (a query): nothing is written. */
  async evaluate(as: TestIdentity, chaincode: string, ...args: string[]): Promise<string> {
    const r = await this.run(as, chaincode, args);
    if (r.status !== 200) throw new TxFailed(r);
    return r.text;
  }

  private async run(as: TestIdentity, chaincode: string, args: string[]): Promise<TxResult> {
    const txId = `tx${++this.txCount}`;
    const sim = new Simulation(this, txId, as, { chaincode, args });
    const r = await this.invoke(sim, chaincode, args);
    const ok = r.status === 200;
    return {
      txId,
      status: r.status,
      message: r.message,
      payload: r.payload,
      text: new TextDecoder().decode(r.payload),
      writes: ok ? sim.writes : new Map(),
      ...(ok && r.event ? { event: r.event } : {}),
    };
  }

  async invoke(sim: Simulation, chaincode: string, args: string[]): Promise<{ status: number; message: string; payload: Uint8Array; event?: ChaincodeEventOut }> {
    const contract = this.chaincodes.get(chaincode);
    if (!contract) return { status: 500, message: `chaincode ${chaincode} is not installed`, payload: new Uint8Array() };
    const fn = transactionOf(contract, args[0] ?? '');
    if (!fn) return { status: 500, message: `You've asked to invoke a function that does not exist: ${args[0]}`, payload: new Uint8Array() };
    const stub = new StubDouble(sim, chaincode, args);
    const ctx = new Context();
    ctx.stub = stub as unknown as ChaincodeStub;
    ctx.clientIdentity = new IdentityDouble(sim.creator);
    sim.stack.push(chaincode);
    try {
      const result = await fn(ctx, ...args.slice(1));
      return { status: 200, message: '', payload: toBuffer(result), ...(stub.event ? { event: stub.event } : {}) };
    } catch (e) {
      return { status: 500, message: e instanceof Error ? e.message : String(e), payload: new Uint8Array() };
    } finally {
      sim.stack.pop();
    }
  }
}

/** The one event of a transaction as a list: a `QiaoEvents` batch unpacked, or the single event. */
export function eventsOf(r: TxResult): { name: string; payload: Record<string, unknown> }[] {
  if (!r.event) return [];
  const body = JSON.parse(new TextDecoder().decode(r.event.payload)) as unknown;
  if (r.event.name === 'QiaoEvents') return body as { name: string; payload: Record<string, unknown> }[];
  return [{ name: r.event.name, payload: body as Record<string, unknown> }];
}
