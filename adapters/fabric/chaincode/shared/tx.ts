import { createHash } from 'node:crypto';
import type { ChaincodeStub } from 'fabric-shim-api';
import { ChaincodeError } from './errors.ts';
import { decodeInvocationSpec, type Invocation } from './proto.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * World state as one transaction sees it. Fabric's GetState reads the committed
 * state, never this transaction's own writes, so a transaction that writes a key
 * and reads it again (two acks on one lane, one id twice in a batch) would read
 * the old value: this overlay gives the chaincode its own writes back.
 */
export class TxState {
  private readonly writes = new Map<string, Uint8Array>();

  constructor(readonly stub: ChaincodeStub) {}

  key(type: string, ...attrs: string[]): string {
    return this.stub.createCompositeKey(type, attrs);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const own = this.writes.get(key);
    if (own) return own;
    const v = await this.stub.getState(key);
    return v && v.length > 0 ? v : undefined;
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const v = await this.get(key);
    return v ? (JSON.parse(dec.decode(v)) as T) : undefined;
  }

  async getString(key: string): Promise<string | undefined> {
    const v = await this.get(key);
    return v ? dec.decode(v) : undefined;
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.writes.set(key, value);
    await this.stub.putState(key, value);
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.put(key, enc.encode(JSON.stringify(value)));
  }

  async putString(key: string, value: string): Promise<void> {
    await this.put(key, enc.encode(value));
  }
}

export interface QiaoEvent {
  name: string;
  payload: unknown;
}

/**
 * Fabric keeps one chaincode event per transaction (the last setEvent, and only
 * from the outer-most chaincode). One event goes out under its own name; several
 * go out as one `QiaoEvents` event whose payload is the JSON array of {name, payload}.
 */
export class EventLog {
  readonly events: QiaoEvent[] = [];

  add(name: string, payload: unknown): void {
    this.events.push({ name, payload });
  }

  flush(stub: ChaincodeStub): void {
    const [only] = this.events;
    if (!only) return;
    if (this.events.length === 1) stub.setEvent(only.name, enc.encode(JSON.stringify(only.payload)));
    else stub.setEvent('QiaoEvents', enc.encode(JSON.stringify(this.events)));
  }
}

export const EVENTS_BATCH = 'QiaoEvents';

/** DER bytes of a PEM certificate (the idBytes of a Fabric SerializedIdentity). */
export function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m?.[1]) throw new ChaincodeError('bad_identity', 'creator identity is not a PEM certificate');
  return new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
}

/** The Qiao `sender` of a Fabric client: sha256(utf8(mspId) || 0x00 || DER of its certificate). */
export function identityHash(mspId: string, idBytes: Uint8Array): string {
  const der = pemToDer(dec.decode(idBytes));
  const h = createHash('sha256').update(enc.encode(mspId)).update(new Uint8Array([0])).update(der).digest('hex');
  return `0x${h}`;
}

export function creatorHash(stub: ChaincodeStub): string {
  const c = stub.getCreator();
  return identityHash(c.mspid, c.idBytes);
}

/** The chaincode (and its arguments) the client's signed proposal invoked; undefined if the proposal is not available. */
export function outerInvocation(stub: ChaincodeStub): Invocation | undefined {
  const payload = (stub.getSignedProposal() as { proposal?: { payload?: unknown } } | undefined)?.proposal?.payload as
    | { input?: Uint8Array; getInput_asU8?: () => Uint8Array }
    | undefined;
  if (!payload) return undefined;
  const input = typeof payload.getInput_asU8 === 'function' ? payload.getInput_asU8() : payload.input;
  if (!input) return undefined;
  try {
    return decodeInvocationSpec(input);
  } catch (cause) {
    throw new ChaincodeError('bad_proposal', 'cannot read the invoked chaincode from the signed proposal', { cause });
  }
}

/** Function name as fabric-contract-api accepts it: "fn" or "contract:fn". */
export function functionName(arg: string | undefined): string {
  const s = arg ?? '';
  const i = s.lastIndexOf(':');
  return i >= 0 ? s.slice(i + 1) : s;
}

export function utf8(b: Uint8Array | undefined): string {
  return b ? dec.decode(b) : '';
}
