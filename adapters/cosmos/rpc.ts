import { Comet38Client } from '@cosmjs/tendermint-rpc';
import type { Hex } from '../../src/domain/hex.ts';
import { RpcError } from '../../src/errors.ts';

/** One CometBFT RPC endpoint: cosmjs's decoding client, and its URL for raw JSON-RPC calls. */
export interface CometEndpoint {
  url: string;
  client: Comet38Client;
}

/** Runs one call against an endpoint; whatever it throws becomes an RpcError of that endpoint (the relayer tries the next). */
export async function rpc<T>(url: string, what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (cause) {
    if (cause instanceof RpcError) throw cause;
    throw new RpcError(url, `${what} failed`, { cause });
  }
}

export async function connectComet(url: string): Promise<CometEndpoint> {
  const client = await rpc(url, 'connect', () => Comet38Client.connect(url));
  return { url, client };
}

export function disconnectComet(e: CometEndpoint): void {
  try {
    e.client.disconnect();
  } catch {
    // already closed
  }
}

const RAW_TIMEOUT_MS = 20_000;

/**
 * A JSON-RPC call whose result is returned as the endpoint served it: the light
 * client reads /commit and /validators in CometBFT's own JSON field names,
 * which cosmjs's decoded objects rename and partly drop.
 */
export async function rawRpc(url: string, method: string, params: Record<string, unknown>, fetchImpl: typeof fetch = fetch): Promise<unknown> {
  return rpc(url, method, async () => {
    const res = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(RAW_TIMEOUT_MS),
    });
    if (!res.ok) throw new RpcError(url, `${method}: HTTP ${res.status}`);
    const body = (await res.json()) as { result?: unknown; error?: { code?: number; message?: string; data?: string } };
    if (body.error) throw new RpcError(url, `${method}: ${String(body.error.message ?? 'error')} ${String(body.error.data ?? '')}`.trim());
    if (body.result === undefined || body.result === null) throw new RpcError(url, `${method}: no result`);
    return body.result;
  });
}

/** `/commit` at a height: the `signed_header` as served. */
export async function rawSignedHeader(url: string, height: bigint, fetchImpl?: typeof fetch): Promise<unknown> {
  const r = (await rawRpc(url, 'commit', { height: height.toString() }, fetchImpl)) as { signed_header?: unknown };
  if (!r || typeof r !== 'object' || !r.signed_header) throw new RpcError(url, `commit ${height}: no signed_header`);
  return r.signed_header;
}

const VALIDATORS_PER_PAGE = 100;

/** `/validators` at a height, every page, as `{validators: [...]}` with the entries as served. */
export async function rawValidators(url: string, height: bigint, fetchImpl?: typeof fetch): Promise<{ validators: unknown[] }> {
  const validators: unknown[] = [];
  for (let page = 1; ; page++) {
    const r = (await rawRpc(url, 'validators', { height: height.toString(), page: String(page), per_page: String(VALIDATORS_PER_PAGE) }, fetchImpl)) as {
      validators?: unknown[];
      total?: string | number;
    };
    if (!Array.isArray(r.validators)) throw new RpcError(url, `validators ${height}: no validators array`);
    validators.push(...r.validators);
    const total = Number(r.total ?? validators.length);
    if (!Number.isSafeInteger(total) || total < 0) throw new RpcError(url, `validators ${height}: bad total`);
    if (validators.length >= total || r.validators.length === 0) break;
    if (page > 10_000) throw new RpcError(url, `validators ${height}: too many pages`);
  }
  return { validators };
}

/** An `abci_query` of a raw key in a store, with its ICS-23 proof ops, at a height. */
export async function storeQuery(e: CometEndpoint, store: string, key: Uint8Array, height: bigint | undefined, prove: boolean): Promise<{ value: Uint8Array; proofOps: { type: string; key: Uint8Array; data: Uint8Array }[] }> {
  const r = await rpc(e.url, `abci_query store/${store}/key`, () => e.client.abciQuery({ path: `store/${store}/key`, data: key, ...(height !== undefined ? { height: Number(height) } : {}), prove }));
  if (r.code) throw new RpcError(e.url, `abci_query store/${store}/key at ${height}: code ${r.code} ${r.codespace} ${r.log ?? ''}`.trim());
  return { value: r.value, proofOps: (r.proof?.ops ?? []).map((o) => ({ type: o.type, key: o.key, data: o.data })) };
}

/** A gRPC-style query through abci_query (`/cosmwasm.wasm.v1.Query/SmartContractState`, ...), the latest state or at a height. */
export async function grpcQuery(e: CometEndpoint, path: string, request: Uint8Array, height?: bigint): Promise<Uint8Array> {
  const r = await rpc(e.url, `abci_query ${path}`, () => e.client.abciQuery({ path, data: request, ...(height !== undefined ? { height: Number(height) } : {}) }));
  if (r.code) throw new RpcError(e.url, `abci_query ${path}: code ${r.code} ${r.codespace} ${r.log ?? ''}`.trim());
  return r.value;
}

export function toHex(b: Uint8Array): Hex {
  return `0x${Buffer.from(b).toString('hex')}` as Hex;
}

export function fromHex(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h.replace(/^0x/, ''), 'hex'));
}
