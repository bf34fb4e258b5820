import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Tamper = (method: string, result: unknown) => unknown;

/**
 * A JSON-RPC proxy in front of a real node that can rewrite answers: an
 * endpoint that lies, for tests of "one bad endpoint must not censor or forge".
 */
export async function startRpcProxy(upstream: string, tamper: Tamper): Promise<{ url: string; calls: Map<string, number>; close(): Promise<void> }> {
  const calls = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        try {
          const parsed = JSON.parse(body) as { method: string } | { method: string }[];
          const up = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          const answer = (await up.json()) as { result?: unknown } | { result?: unknown }[];
          const fix = (reqItem: { method: string }, a: { result?: unknown }) => {
            calls.set(reqItem.method, (calls.get(reqItem.method) ?? 0) + 1);
            if (a.result !== undefined) a.result = tamper(reqItem.method, a.result);
            return a;
          };
          const out = Array.isArray(parsed) ? (answer as { result?: unknown }[]).map((a, i) => fix(parsed[i]!, a)) : fix(parsed, answer as { result?: unknown });
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(out));
        } catch (err) {
          res.writeHead(502);
          res.end(String(err));
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Changes one byte in the last node of every storage proof (the leaf holding the commitment). */
export function tamperStorageProof(method: string, result: unknown): unknown {
  if (method !== 'eth_getProof') return result;
  const r = result as { storageProof: { proof: string[] }[] };
  for (const sp of r.storageProof) {
    const i = sp.proof.length - 1;
    const node = sp.proof[i]!;
    const pos = node.length - 4;
    const digit = node[pos] === '0' ? '1' : '0';
    sp.proof[i] = node.slice(0, pos) + digit + node.slice(pos + 1);
  }
  return r;
}
