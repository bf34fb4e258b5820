import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { FetchRequest, JsonRpcProvider, Network } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProvider } from '../../src/evm/provider.ts';

type Handler = (body: unknown, res: ServerResponse) => void;

/** A JSON-RPC endpoint whose answer is chosen per test by the method name. */
function rpcServer(handlers: Record<string, Handler>): Promise<{ server: Server; url: string; requests: unknown[] }> {
  const requests: unknown[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { method: string; id: number } | { method: string; id: number }[];
      requests.push(body);
      const method = Array.isArray(body) ? 'batch' : body.method;
      (handlers[method] ?? handlers.default!)(body, res);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests })));
}

const json = (res: ServerResponse, v: unknown) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(v));
};
const result = (id: number, r: unknown) => ({ jsonrpc: '2.0', id, result: r });
const big = 'é✓' + 'ab'.repeat(280_000);

describe('makeProvider transport', () => {
  let srv: Awaited<ReturnType<typeof rpcServer>>;
  beforeAll(async () => {
    srv = await rpcServer({
      echo_big: (b, res) => json(res, result((b as { id: number }).id, big)),
      // Written in 1,001-byte pieces, flushed one by one: the answer arrives in many chunks, and some split a character.
      echo_trickle: (b, res) => {
        const bytes = Buffer.from(JSON.stringify(result((b as { id: number }).id, big)));
        res.setHeader('content-type', 'application/json');
        let at = 0;
        const next = () => {
          if (at >= bytes.length) return res.end();
          res.write(bytes.subarray(at, (at += 1001)), next);
        };
        next();
      },
      echo_gzip: (b, res) => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('content-encoding', 'gzip');
        res.end(gzipSync(JSON.stringify(result((b as { id: number }).id, big))));
      },
      batch: (b, res) => json(res, (b as { id: number; params: unknown[] }[]).map((x) => result(x.id, x.params[0]))),
      fail_500: (_b, res) => { res.statusCode = 500; res.end('internal error'); },
      not_json: (_b, res) => res.end('<html>'),
      bad_utf8: (_b, res) => res.end(Buffer.from([0x7b, 0xff, 0x7d])),
      never: () => undefined,
      eth_sendRawTransaction: (b, res) => json(res, { jsonrpc: '2.0', id: (b as { id: number }).id, error: { code: -32000, message: 'nonce too low' } }),
      default: (b, res) => json(res, result((b as { id: number }).id, (b as { params: unknown[] }).params[0] ?? null)),
    });
  });
  afterAll(async () => {
    // The 'never' requests are still open: close them rather than wait for them.
    srv.server.closeAllConnections();
    await new Promise<void>((r) => srv.server.close(() => r()));
  });

  /** ethers' own provider on the same endpoint, for the errors to compare against. */
  function plain(timeoutMs = 15_000): JsonRpcProvider {
    const req = new FetchRequest(srv.url);
    req.timeout = timeoutMs;
    return new JsonRpcProvider(req, Network.from(1n), { staticNetwork: true, batchMaxCount: 1 });
  }
  const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

  it('decodes large and non-ASCII answers and sends non-ASCII requests', async () => {
    const p = makeProvider(srv.url, 1n);
    expect(await p.send('echo_big', [])).toBe(big);
    expect(await p.send('echo', ['ü€😀'])).toBe('ü€😀');
    expect(await p.send('echo_trickle', [])).toBe(big);
    expect(await p.send('echo_gzip', [])).toBe(big);
    p.destroy();
  });

  it('still batches calls made together', async () => {
    const p = makeProvider(srv.url, 1n, { batchMax: 8 });
    const before = srv.requests.length;
    expect(await Promise.all([p.send('x', [1]), p.send('y', [2]), p.send('z', [3])])).toEqual([1, 2, 3]);
    expect(srv.requests.length - before).toBe(1);
    p.destroy();
  });

  it('fails the way ethers fails: HTTP errors, bodies that are not JSON or UTF-8, JSON-RPC errors, timeouts', async () => {
    const ours = makeProvider(srv.url, 1n, { timeoutMs: 300 });
    const theirs = plain(300);
    for (const method of ['fail_500', 'not_json', 'bad_utf8', 'never']) {
      const want = await codeOf(theirs.send(method, []));
      expect(want).not.toBe('ok');
      expect(await codeOf(ours.send(method, []))).toBe(want);
    }
    // The JSON-RPC error mapping (here: a refused nonce on eth_sendRawTransaction) is ethers' own.
    const raw = await codeOf(ours.send('eth_sendRawTransaction', ['0x00']));
    expect(raw).toBe('NONCE_EXPIRED');
    ours.destroy();
    theirs.destroy();
  });
});
