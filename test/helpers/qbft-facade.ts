import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SigningKey } from 'ethers';
import { buildBftHeader, buildGenesis, type Variant } from '../proofs/fixtures/qbft/build.ts';

/**
 * A QBFT (or IBFT 2.0) member chain for tests, since no Besu runs here: a
 * JSON-RPC server in front of a real anvil that serves Besu-format sealed
 * headers (extraData with validators and committed seals, Besu block hashing)
 * over anvil's real state roots, so eth_getProof answers verify against them.
 * Everything else passes through to anvil. It imports nothing from proofs/ or
 * adapters/: headers are built by the independent ethers-only test builder.
 */
export async function startQbftFacade({
  upstream,
  variant = 'qbft',
  validators,
  sealers,
}: {
  upstream: string;
  variant?: Variant;
  /** The validator set every block names (sorted addresses). */
  validators: string[];
  /** Who seals each block: members for an honest chain, outsiders for a forged one. */
  sealers: SigningKey[];
}): Promise<{ url: string; genesisHash: string; close(): Promise<void> }> {
  const genesis = { ...buildGenesis(variant, validators) };
  const headers = new Map<bigint, Record<string, string>>([[0n, genesis]]);
  const call = async (method: string, params: unknown[]) => {
    const r = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
    return ((await r.json()) as { result?: unknown; error?: unknown });
  };
  const headerAt = async (n: bigint): Promise<Record<string, string> | null> => {
    let last = 0n;
    for (const k of headers.keys()) if (k > last && k <= n) last = k;
    for (let h = last + 1n; h <= n; h++) {
      const b = (await call('eth_getBlockByNumber', [`0x${h.toString(16)}`, false])).result as Record<string, string> | null;
      if (!b) return null;
      headers.set(
        h,
        buildBftHeader({ variant, number: h, parentHash: headers.get(h - 1n)!.hash!, nextValidators: validators, sealers, round: 0, stateRoot: b.stateRoot, timestamp: BigInt(b.timestamp!) }),
      );
    }
    return headers.get(n) ?? null;
  };
  const blockJson = (h: Record<string, string>) => ({ ...h, transactions: [], uncles: [], size: '0x200', totalDifficulty: h.number });
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        const one = async (r: { id: unknown; method: string; params?: unknown[] }) => {
          if (r.method === 'eth_getBlockByNumber') {
            const tag = (r.params?.[0] ?? 'latest') as string;
            let n: bigint;
            if (/^0x[0-9a-f]+$/i.test(tag)) n = BigInt(tag);
            else n = BigInt(((await call('eth_blockNumber', [])).result as string) ?? '0x0');
            const h = await headerAt(n);
            return { jsonrpc: '2.0', id: r.id, result: h ? blockJson(h) : null };
          }
          const { result, error } = await call(r.method, r.params ?? []);
          return { jsonrpc: '2.0', id: r.id, ...(error === undefined ? { result } : { error }) };
        };
        try {
          const parsed = JSON.parse(body) as { id: unknown; method: string; params?: unknown[] } | { id: unknown; method: string; params?: unknown[] }[];
          const out = Array.isArray(parsed) ? await Promise.all(parsed.map(one)) : await one(parsed);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(out));
        } catch (err) {
          res.writeHead(500);
          res.end(String(err));
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    genesisHash: genesis.hash!,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
