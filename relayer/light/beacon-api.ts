import { decodeJson, type LightClientBootstrap, type LightClientFinalityUpdate, type LightClientKind, type LightClientUpdate, type Preset } from '../../proofs/beacon/index.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { RpcError, ValidationError, redactUrl } from '../../src/errors.ts';

/**
 * What the beacon light client reads from one Beacon API endpoint, decoded
 * into proofs/beacon's objects. Nothing it returns is trusted: the client
 * verifies every object. Implementations throw RpcError when the endpoint
 * cannot answer (a wait) and ValidationError when it answers something that
 * does not decode (the endpoint's fault, refused like a bad proof).
 */
export interface BeaconApiSource {
  /** The endpoint as logs may show it (credentials redacted). */
  readonly name: string;
  bootstrap(blockRoot: Hex): Promise<LightClientBootstrap>;
  /** The best update of each period from `startPeriod`, as far as the node knows them (may be fewer than `count`). */
  updates(startPeriod: number, count: number): Promise<LightClientUpdate[]>;
  finalityUpdate(): Promise<LightClientFinalityUpdate>;
}

/** MAX_REQUEST_LIGHT_CLIENT_UPDATES of the Beacon API. */
export const MAX_UPDATES_PER_REQUEST = 128;

const DEFAULT_TIMEOUT_MS = 10_000;
/** A light-client object is a few kB (mainnet updates with two committees about 50 kB); anything far larger is not one. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface BeaconApiOptions {
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

/** A Beacon API endpoint over HTTP(S). */
export class BeaconApiClient implements BeaconApiSource {
  readonly name: string;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(
    url: string,
    private readonly preset: Preset,
    { timeoutMs = DEFAULT_TIMEOUT_MS, fetchImpl = fetch }: BeaconApiOptions = {},
  ) {
    this.base = url.replace(/\/+$/, '');
    this.name = redactUrl(url);
    this.timeoutMs = timeoutMs;
    this.fetchImpl = fetchImpl;
  }

  async bootstrap(blockRoot: Hex): Promise<LightClientBootstrap> {
    if (!/^0x[0-9a-f]{64}$/i.test(blockRoot)) throw new ValidationError('blockRoot', 'must be 32 bytes of 0x-hex');
    return this.decode('bootstrap', await this.getJson(`/eth/v1/beacon/light_client/bootstrap/${blockRoot.toLowerCase()}`), 'bootstrap');
  }

  async updates(startPeriod: number, count: number): Promise<LightClientUpdate[]> {
    if (!Number.isSafeInteger(startPeriod) || startPeriod < 0) throw new ValidationError('startPeriod', 'must be a non-negative integer');
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_UPDATES_PER_REQUEST) throw new ValidationError('count', `must be an integer from 1 to ${MAX_UPDATES_PER_REQUEST}`);
    const body = await this.getJson(`/eth/v1/beacon/light_client/updates?start_period=${startPeriod}&count=${count}`);
    if (!Array.isArray(body)) throw new ValidationError('beacon.updates', `${this.name} answered updates with ${typeof body}, not an array`);
    if (body.length > count) throw new ValidationError('beacon.updates', `${this.name} answered ${body.length} updates for ${count} periods`);
    return body.map((u, i) => this.decode('update', u, `updates[${i}]`));
  }

  async finalityUpdate(): Promise<LightClientFinalityUpdate> {
    return this.decode('finalityUpdate', await this.getJson('/eth/v1/beacon/light_client/finality_update'), 'finality_update');
  }

  /** `/eth/v1/beacon/genesis` data, unverified (for building a trust root). */
  async genesis(): Promise<Record<string, unknown>> {
    return dataOf(await this.getJson('/eth/v1/beacon/genesis'), 'genesis', this.name);
  }

  /** `/eth/v1/config/spec` data, unverified (for building a trust root). */
  async spec(): Promise<Record<string, unknown>> {
    return dataOf(await this.getJson('/eth/v1/config/spec'), 'spec', this.name);
  }

  /** `/eth/v1/beacon/headers/{id}` data, unverified (for building a trust root). */
  async header(blockId: string): Promise<Record<string, unknown>> {
    if (!/^(head|finalized|genesis|\d{1,20}|0x[0-9a-fA-F]{64})$/.test(blockId)) throw new ValidationError('blockId', 'must be head, finalized, genesis, a slot or a 0x block root');
    return dataOf(await this.getJson(`/eth/v1/beacon/headers/${blockId}`), 'headers', this.name);
  }

  private decode<K extends LightClientKind>(kind: K, json: unknown, what: string): ReturnType<typeof decodeJson<K>> {
    try {
      return decodeJson(kind, json, this.preset);
    } catch (cause) {
      throw new ValidationError(`beacon.${what}`, `${this.name} served a ${kind} that does not decode: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  private async getJson(path: string): Promise<unknown> {
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (cause) {
      throw new RpcError(url, `GET ${path} failed`, { cause });
    }
    // 404 (an unknown or pruned root, a period not kept) and 5xx are the node's state, not a verdict on the chain: the caller waits.
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw new RpcError(url, `GET ${path}: HTTP ${res.status} ${text.slice(0, 200)}`.trim());
    }
    const len = Number(res.headers.get('content-length') ?? 0);
    if (len > MAX_BODY_BYTES) throw new ValidationError(`beacon.${path}`, `${this.name} answered ${len} bytes`);
    let text: string;
    try {
      text = await res.text();
    } catch (cause) {
      throw new RpcError(url, `GET ${path}: reading the body failed`, { cause });
    }
    if (text.length > MAX_BODY_BYTES) throw new ValidationError(`beacon.${path}`, `${this.name} answered ${text.length} bytes`);
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new ValidationError(`beacon.${path}`, `${this.name} answered something that is not JSON`, { cause });
    }
  }
}

function dataOf(body: unknown, what: string, name: string): Record<string, unknown> {
  const data = (body as { data?: unknown } | null)?.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new ValidationError(`beacon.${what}`, `${name} answered ${what} without a data object`);
  return data as Record<string, unknown>;
}
