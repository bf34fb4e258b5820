import { FetchRequest, JsonRpcProvider, Log, Network, TransactionReceipt, makeError, type JsonRpcPayload, type JsonRpcResult, type LogParams, type TransactionReceiptParams } from 'ethers';
import { fastFormatters } from './fast-format.ts';
import { getUrlJoined } from './get-url.ts';

const utf8Out = new TextEncoder();
const utf8In = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * ethers' JSON-RPC provider with the body coded by the platform instead of
 * ethers' JavaScript UTF-8 coder: a 553 KB eth_getProof answer took 44 ms of
 * CPU to decode there and under 1 ms here. Everything else (FetchRequest's
 * timeout, throttling and redirects, assertOk's SERVER_ERROR on HTTP errors,
 * batching, the JSON-RPC error mapping) is ethers' own, unchanged. Receipts
 * and logs are formatted as ethers does, with checksummed addresses cached
 * (src/evm/fast-format.ts).
 */
export class FastJsonRpcProvider extends JsonRpcProvider {
  readonly #format = fastFormatters();

  override _wrapTransactionReceipt(value: TransactionReceiptParams, _network: Network): TransactionReceipt {
    return new TransactionReceipt(this.#format.receipt(value), this);
  }

  override _wrapLog(value: LogParams, _network: Network): Log {
    return new Log(this.#format.log(value), this);
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const request = this._getConnection();
    request.body = utf8Out.encode(JSON.stringify(payload));
    request.setHeader('content-type', 'application/json');
    const response = await request.send();
    response.assertOk();
    let resp: unknown;
    // One read: ethers' `body` getter copies the body every time it is read.
    const body = response.body;
    try {
      resp = JSON.parse(body === null ? '' : utf8In.decode(body));
    } catch {
      // The error ethers' FetchResponse.bodyJson gives for a body that is not UTF-8 JSON.
      throw makeError('response body is not valid JSON', 'UNSUPPORTED_OPERATION', { operation: 'bodyJson', info: { response } });
    }
    return (Array.isArray(resp) ? resp : [resp]) as JsonRpcResult[];
  }
}

/**
 * A JSON-RPC provider pinned to a known chain id (no network detection round
 * trips, no silent chain switch) with a short polling interval for local chains.
 */
export function makeProvider(
  url: string,
  chainId: bigint,
  { pollingMs = 200, timeoutMs = 15_000, batchMax = 1 }: { pollingMs?: number; timeoutMs?: number; batchMax?: number } = {},
): JsonRpcProvider {
  const req = new FetchRequest(url);
  req.timeout = timeoutMs;
  req.getUrlFunc = getUrlJoined;
  // batchMax > 1: calls made in the same few milliseconds travel as one JSON-RPC batch (many reads, one round trip).
  const batching = batchMax > 1 ? { batchMaxCount: batchMax, batchStallTime: 2 } : { batchMaxCount: 1 };
  const p = new FastJsonRpcProvider(req, Network.from(chainId), { staticNetwork: true, ...batching, pollingInterval: pollingMs, cacheTimeout: -1 });
  return p;
}

/** Asks an endpoint for its chain id without trusting any configured value. */
export async function fetchChainId(url: string, timeoutMs = 10_000): Promise<bigint> {
  const req = new FetchRequest(url);
  req.timeout = timeoutMs;
  const p = new JsonRpcProvider(req, undefined, { staticNetwork: true, batchMaxCount: 1 });
  try {
    return BigInt((await p.send('eth_chainId', [])) as string);
  } finally {
    p.destroy();
  }
}
