import { FetchRequest, JsonRpcProvider, Network } from 'ethers';

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
  // batchMax > 1: calls made in the same few milliseconds travel as one JSON-RPC batch (many reads, one round trip).
  const batching = batchMax > 1 ? { batchMaxCount: batchMax, batchStallTime: 2 } : { batchMaxCount: 1 };
  const p = new JsonRpcProvider(req, Network.from(chainId), { staticNetwork: true, ...batching, pollingInterval: pollingMs, cacheTimeout: -1 });
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
