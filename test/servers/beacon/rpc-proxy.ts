/**
 * The execution JSON-RPC a relayer pairs with this beacon node: everything is
 * forwarded to the upstream anvil, except that the block tags "finalized" and
 * "safe" mean this facade's finalized execution block (anvil's own notion of
 * finality knows nothing of the beacon chain).
 */
import { RpcError } from '../../../src/errors.ts';

type Json = unknown;

interface RpcRequest {
  jsonrpc?: string;
  id?: Json;
  method?: unknown;
  params?: unknown;
}

const TAGS = new Set(['finalized', 'safe']);

/** Positions of block-tag parameters, by method (eth_getLogs filters are handled apart). */
const TAG_PARAM: Readonly<Record<string, number>> = {
  eth_getBlockByNumber: 0,
  eth_getBlockTransactionCountByNumber: 0,
  eth_getUncleCountByBlockNumber: 0,
  eth_getBlockReceipts: 0,
  eth_getTransactionByBlockNumberAndIndex: 0,
  eth_getBalance: 1,
  eth_getCode: 1,
  eth_getTransactionCount: 1,
  eth_call: 1,
  eth_estimateGas: 1,
  eth_createAccessList: 1,
  eth_getStorageAt: 2,
  eth_getProof: 2,
  eth_feeHistory: 1,
};

export class NoFinalizedBlock extends Error {}

/**
 * Rewrites one request's "finalized"/"safe" tags to `finalized` (a 0x block
 * number). Throws NoFinalizedBlock when a tag is used before anything is final.
 */
export function rewriteTags(req: RpcRequest, finalized: string | null): RpcRequest {
  if (typeof req.method !== 'string' || !Array.isArray(req.params)) return req;
  const params = [...(req.params as Json[])];
  const swap = (v: Json): Json => {
    if (typeof v !== 'string' || !TAGS.has(v)) return v;
    if (finalized === null) throw new NoFinalizedBlock(`no finalized block yet (${req.method})`);
    return finalized;
  };
  const at = TAG_PARAM[req.method];
  if (at !== undefined && at < params.length) params[at] = swap(params[at]);
  if ((req.method === 'eth_getLogs' || req.method === 'eth_newFilter') && params[0] && typeof params[0] === 'object') {
    const f = { ...(params[0] as Record<string, Json>) };
    if ('fromBlock' in f) f.fromBlock = swap(f.fromBlock);
    if ('toBlock' in f) f.toBlock = swap(f.toBlock);
    params[0] = f;
  }
  return { ...req, params };
}

export async function proxyRpc(upstream: string, body: string, finalized: string | null): Promise<{ status: number; body: string }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }) };
  }
  const one = async (r: unknown): Promise<unknown> => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid request' } };
    const req = r as RpcRequest;
    let rewritten: RpcRequest;
    try {
      rewritten = rewriteTags(req, finalized);
    } catch (e) {
      if (!(e instanceof NoFinalizedBlock)) throw e;
      // What an execution client answers before the consensus client has announced finality.
      if (req.method === 'eth_getBlockByNumber') return { jsonrpc: '2.0', id: req.id ?? null, result: null };
      return { jsonrpc: '2.0', id: req.id ?? null, error: { code: -39001, message: 'Unknown block' } };
    }
    const res = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rewritten), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new RpcError(upstream, `HTTP ${res.status}`);
    return res.json();
  };
  const out = Array.isArray(parsed) ? await Promise.all(parsed.map(one)) : await one(parsed);
  return { status: 200, body: JSON.stringify(out) };
}
