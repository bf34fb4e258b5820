import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from '../../src/api/client.ts';
import { buildApi, startApi } from '../../src/api/server.ts';
import { chainId, type ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId, messageToJson, type QiaoMessage } from '../../src/domain/message.ts';
import { ValidationError } from '../../src/errors.ts';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex, MessageRow, SentRecord } from '../../src/index/types.ts';

/* The issue-6 routes and filters: lane, since/until, account, txHash, /lanes*, /docs. */

const A = chainId('eip155:2001');
const B = chainId('eip155:2002');
const C = chainId('cosmos:hub-9');
const rnd = (n: number): Hex => `0x${randomBytes(n).toString('hex')}`;
const PORT = rnd(20);
const ALICE = rnd(20);

interface Seeded {
  rec: SentRecord;
  src: ChainId;
  dst: ChainId;
  row?: MessageRow;
}

const SEEDED_FROM = Date.now() - 10 * 60_000;
let seeded = 0;

function sent(src: ChainId, dst: ChainId, nonce: bigint, over: Partial<QiaoMessage> = {}): Seeded {
  const m: QiaoMessage = {
    version: 1,
    srcChain: src,
    srcPort: PORT,
    sender: rnd(20),
    dstChain: dst,
    dstPort: PORT,
    receiver: rnd(20),
    nonce,
    gasLimit: 1n,
    timeoutHeight: 0n,
    timeoutUnixSeconds: 0n,
    payload: rnd(4),
    ...over,
  };
  const encoded = encodeMessage(m);
  // Sent in the past, a second apart in seeding order: every delivery seeded below is then in
  // the past too, inside any latency window that ends now, whatever second the test runs at.
  const at = new Date(SEEDED_FROM + seeded++ * 1000);
  return { src, dst, rec: { id: messageId(encoded), encoded, message: messageToJson(m), height: 10n, txHash: rnd(32), blockHash: rnd(32), logIndex: 0, at } };
}

// Seeded in this order, one recordSent each (so createdAt and seq both increase).
const SEEDS: Seeded[] = [
  sent(A, B, 1n, { sender: ALICE }),
  sent(A, B, 2n),
  sent(B, A, 1n, { receiver: ALICE }),
  sent(A, C, 1n),
  sent(B, A, 2n, { sender: ALICE }),
  sent(A, B, 4n, { receiver: ALICE }),
];
const DST_TX = rnd(32);

async function seed(index: MessageIndex): Promise<void> {
  for (const s of SEEDS) {
    expect(await index.recordSent(s.src, [s.rec])).toEqual([s.rec.id]);
    s.row = (await index.getMessage(s.rec.id))!;
  }
  // A→B: the first two delivered 2 s and 4 s after they were sent.
  for (const [i, s] of SEEDS.slice(0, 2).entries()) {
    await index.transition([s.rec.id], 'verified');
    await index.transition([s.rec.id], 'delivered', { at: new Date(s.row!.createdAt.getTime() + (i + 1) * 2000), txHash: DST_TX });
  }
  await index.setDstTx(SEEDS[1]!.rec.id, DST_TX);
  await index.recordLaneNonces(SEEDS.map((s) => ({ srcChain: s.src, srcPort: PORT, dstChain: s.dst, nonce: BigInt(s.rec.message.nonce) })));
}

const newestFirst = (pred: (s: Seeded) => boolean): Hex[] => SEEDS.filter(pred).map((s) => s.rec.id).reverse();

describe('issue-6 query routes over a seeded index', () => {
  let index: MessageIndex;
  let app: FastifyInstance;

  beforeAll(async () => {
    index = await openIndex({});
    await seed(index);
    app = buildApi({ index, health: async () => ({ ok: true, governance: null, chains: [], queues: {} }) });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await index?.close();
  });

  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> & { items: MessageRow[]; nextCursor: string | null } };
  };
  const ids = (b: { items: MessageRow[] }) => b.items.map((m) => m.id);
  const time = (i: number) => SEEDS[i]!.row!.createdAt.toISOString();

  it.each([
    ['lane', `${A}>${B}`, (s: Seeded) => s.src === A && s.dst === B],
    ['lane', `${B}>${A}`, (s: Seeded) => s.src === B && s.dst === A],
    ['lane', `${C}>${A}`, () => false],
    ['account', `${A}:${ALICE}`, (_s: Seeded, i: number) => i === 0 || i === 2],
    ['account', `${B}:${ALICE.toUpperCase().replace('0X', '0x')}`, (_s: Seeded, i: number) => i === 4 || i === 5],
    ['txHash', SEEDS[3]!.rec.txHash, (_s: Seeded, i: number) => i === 3],
    ['txHash', DST_TX, (_s: Seeded, i: number) => i === 1],
  ] as const)('filters by %s=%s', async (key, value, pred) => {
    const expected = SEEDS.map((s, i) => [s, i] as const).filter(([s, i]) => pred(s, i)).map(([s]) => s.rec.id).reverse();
    const r = await get(`/messages?${key}=${encodeURIComponent(value)}`);
    expect(r.status).toBe(200);
    expect(ids(r.body)).toEqual(expected);
  });

  it('filters by since (inclusive) and until (exclusive) on createdAt', async () => {
    const ms = SEEDS.map((s) => s.row!.createdAt.getTime());
    const between = (lo: number, hi: number) => newestFirst((s) => s.row!.createdAt.getTime() >= lo && s.row!.createdAt.getTime() < hi);
    expect(ids((await get(`/messages?since=${time(2)}`)).body)).toEqual(between(ms[2]!, Infinity));
    expect(ids((await get(`/messages?until=${time(2)}`)).body)).toEqual(between(-Infinity, ms[2]!));
    expect(ids((await get(`/messages?since=${time(1)}&until=${time(4)}`)).body)).toEqual(between(ms[1]!, ms[4]!));
    // Offsets and date-only forms are ISO-8601 too.
    expect(ids((await get(`/messages?since=2000-01-01`)).body)).toHaveLength(SEEDS.length);
    expect(ids((await get(`/messages?until=${encodeURIComponent('2000-01-01T00:00:00+02:00')}`)).body)).toEqual([]);
  });

  it('combines the new filters with the old ones and pages them', async () => {
    const all = newestFirst((s) => s.src === A && s.dst === B);
    const p1 = await get(`/messages?lane=${encodeURIComponent(`${A}>${B}`)}&since=${time(0)}&limit=2`);
    expect(ids(p1.body)).toEqual(all.slice(0, 2));
    const p2 = await get(`/messages?lane=${encodeURIComponent(`${A}>${B}`)}&since=${time(0)}&limit=2&cursor=${p1.body.nextCursor}`);
    expect(ids(p2.body)).toEqual(all.slice(2));
    expect(p2.body.nextCursor).toBeNull();
    const r = await get(`/messages?account=${encodeURIComponent(`${A}:${ALICE}`)}&status=delivered`);
    expect(ids(r.body)).toEqual([SEEDS[0]!.rec.id]);
  });

  it.each([
    ['/messages?lane=eip155:1', 'lane'],
    ['/messages?lane=eip155:1%3E', 'lane'],
    ['/messages?lane=eip155:1%3Eeip155:2%3Eeip155:3', 'lane'],
    ['/messages?lane=', 'lane'],
    ['/messages?since=yesterday', 'since'],
    ['/messages?since=2026-13-01', 'since'],
    ['/messages?since=2026-01-01T10:00:00', 'since'],
    ['/messages?until=1700000000', 'until'],
    ['/messages?since=2026-02-01&until=2026-01-01', 'until'],
    ['/messages?account=eip155:1', 'account'],
    ['/messages?account=0xabc', 'account'],
    ['/messages?account=', 'account'],
    ['/messages?txHash=abc', 'txHash'],
    ['/messages?txHash=0x', 'txHash'],
    ['/messages?txHash=0x123', 'txHash'],
    ['/messages/stream?since=2026-01-01', 'since'],
    ['/messages/stream?lane=x', 'lane'],
    ['/messages/stream?status=lost', 'status'],
    ['/lanes?verbose=1', 'verbose'],
    ['/lanes/gaps?lane=x', 'lane'],
    ['/lanes/latency', 'lane'],
    ['/lanes/latency?lane=nope', 'lane'],
    [`/lanes/latency?lane=${encodeURIComponent(`${A}>${B}`)}&buckets=0`, 'buckets'],
    [`/lanes/latency?lane=${encodeURIComponent(`${A}>${B}`)}&buckets=1441`, 'buckets'],
    [`/lanes/latency?lane=${encodeURIComponent(`${A}>${B}`)}&buckets=1e2`, 'buckets'],
    ['/docs?format=yaml', 'format'],
  ])('rejects %s with 400 naming %s', async (url, f) => {
    const r = await get(url);
    expect(r.status).toBe(400);
    const err = (r.body as unknown as { error: { code: string; message: string; field: string } }).error;
    expect(err.field).toBe(f);
    expect(err.message).toContain(f);
  });

  it('says which statuses exist when the status is unknown', async () => {
    const r = await get('/messages?status=lost');
    expect((r.body as unknown as { error: { message: string } }).error.message).toContain('delivered');
  });

  it('aggregates lanes: counts, latency over delivered, last nonce and gaps', async () => {
    const r = await app.inject({ method: 'GET', url: '/lanes' });
    expect(r.statusCode).toBe(200);
    const lanes = r.json() as client.LaneView[];
    // Ordered by srcChain, then dstChain ("cosmos:" sorts before "eip155:").
    expect(lanes.map((l) => `${l.srcChain}>${l.dstChain}`)).toEqual([`${A}>${C}`, `${A}>${B}`, `${B}>${A}`]);
    const ab = lanes[1]!;
    expect(Object.keys(ab)).toEqual(['srcChain', 'dstChain', 'counts', 'total', 'latencyMs', 'lastNonce', 'gaps']);
    expect(ab.total).toBe(3);
    expect(ab.counts).toMatchObject({ delivered: 2, sent: 1, verified: 0 });
    // Latencies 2000 and 4000 ms (createdAt carries microseconds: allow 1 ms).
    expect(Math.abs(ab.latencyMs!.p50 - 3000)).toBeLessThanOrEqual(1);
    expect(Math.abs(ab.latencyMs!.max - 4000)).toBeLessThanOrEqual(1);
    expect(ab.lastNonce).toBe('2');
    expect(ab.gaps).toBe(1);
    expect(lanes[0]).toMatchObject({ total: 1, latencyMs: null, lastNonce: '1', gaps: 0 });
    expect(lanes[2]).toMatchObject({ total: 2, latencyMs: null, lastNonce: '2', gaps: 0 });
  });

  it('lists nonce gaps', async () => {
    const r = await app.inject({ method: 'GET', url: '/lanes/gaps' });
    expect(r.statusCode).toBe(200);
    const gaps = r.json() as client.NonceGapView[];
    expect(gaps).toEqual([{ srcChain: A, srcPort: PORT.toLowerCase(), dstChain: B, expected: '3', seen: '4', detectedAt: expect.any(String) }]);
    expect(new Date(gaps[0]!.detectedAt).toISOString()).toBe(gaps[0]!.detectedAt);
  });

  it('serves a latency series of whole minutes for a lane', async () => {
    const r = await app.inject({ method: 'GET', url: `/lanes/latency?lane=${encodeURIComponent(`${A}>${B}`)}&buckets=1440` });
    expect(r.statusCode).toBe(200);
    const series = r.json() as client.LatencyBucketView[];
    // Both deliveries fall within the last day, whatever minute the test runs in.
    expect(series.reduce((n, b) => n + b.count, 0)).toBe(2);
    for (const b of series) {
      expect(Object.keys(b)).toEqual(['t', 'count', 'p50', 'p95']);
      expect(new Date(b.t).getTime() % 60_000).toBe(0);
    }
    const other = await app.inject({ method: 'GET', url: `/lanes/latency?lane=${encodeURIComponent(`${B}>${A}`)}` });
    expect(other.json()).toEqual([]);
  });

  it("serves a chain's registry history, paged, and names a bad field", async () => {
    const ev = (subject: string, i: number, status: string) => ({
      contract: 'ChainRegistry',
      kind: 'ChainStatusChanged',
      subject,
      status,
      data: { chainId: subject },
      blockNumber: BigInt(10 + i),
      blockTime: new Date(1_700_000_000_000 + i * 1000),
      txHash: rnd(32),
      logIndex: 0,
    });
    await index.recordRegistryEvents([ev(A, 0, 'pending'), ev(B, 1, 'pending'), ev(A, 2, 'approved'), ev(A, 3, 'suspended')]);
    const all = await app.inject({ method: 'GET', url: `/chains/${encodeURIComponent(A)}/events` });
    expect(all.statusCode).toBe(200);
    const rows = all.json() as { seq: string; status: string; blockNumber: string; blockTime: string }[];
    expect(rows.map((r) => r.status)).toEqual(['pending', 'approved', 'suspended']);
    expect(rows[1]!.blockNumber).toBe('12');
    expect(rows[1]!.blockTime).toBe(new Date(1_700_000_002_000).toISOString());
    const page = await app.inject({ method: 'GET', url: `/chains/${A}/events?after=${rows[0]!.seq}&limit=1` });
    expect((page.json() as { status: string }[]).map((r) => r.status)).toEqual(['approved']);
    const bad = await app.inject({ method: 'GET', url: '/chains/not-a-chain/events' });
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { error: { field: string } }).error.field).toBe('chainId');
    const badLimit = await app.inject({ method: 'GET', url: `/chains/${A}/events?limit=0` });
    expect(badLimit.statusCode).toBe(400);
    expect((badLimit.json() as { error: { field: string } }).error.field).toBe('limit');
  });

  describe('/docs', () => {
    it('is an OpenAPI 3.1 document listing every registered GET route and its parameters', async () => {
      const r = await app.inject({ method: 'GET', url: '/docs' });
      expect(r.statusCode).toBe(200);
      const doc = r.json() as { openapi: string; paths: Record<string, { get?: { parameters: { name: string; in: string }[]; responses: object } }> };
      expect(doc.openapi).toBe('3.1.0');
      const registered = registeredGetRoutes(app);
      expect(registered.length).toBeGreaterThanOrEqual(9);
      for (const route of registered) {
        const path = route.replace(/:(\w+)/g, '{$1}');
        expect(doc.paths[path]?.get, path).toBeDefined();
        expect(Object.keys(doc.paths[path]!.get!.responses).some((c) => /^[23]/.test(c)), path).toBe(true);
      }
      for (const p of ['/messages', '/messages/{id}', '/messages/stream', '/lanes', '/lanes/gaps', '/lanes/latency', '/chains', '/chains/{chainId}/events', '/health', '/docs']) {
        expect(doc.paths[p], p).toBeDefined();
      }
      const params = (p: string) => doc.paths[p]!.get!.parameters.map((x) => `${x.in}:${x.name}`);
      expect(params('/messages')).toEqual(
        ['chain', 'srcChain', 'dstChain', 'lane', 'status', 'sender', 'receiver', 'account', 'since', 'until', 'txHash', 'cursor', 'limit'].map((n) => `query:${n}`),
      );
      expect(params('/messages/stream')).toEqual([...['chain', 'srcChain', 'dstChain', 'lane', 'status', 'sender', 'receiver', 'account'].map((n) => `query:${n}`), 'header:Last-Event-ID']);
      expect(params('/messages/{id}')).toEqual(['path:id']);
      expect(params('/lanes/latency')).toEqual(['query:lane', 'query:buckets']);
    });

    it('documents exactly the query parameters each route accepts', async () => {
      const doc = (await app.inject({ method: 'GET', url: '/docs' })).json() as { paths: Record<string, { get: { parameters: { name: string; in: string }[] } }> };
      for (const [path, item] of Object.entries(doc.paths)) {
        // The stream would open and never end (it has its own tests).
        if (path === '/messages/stream') continue;
        for (const p of item.get.parameters.filter((x) => x.in === 'query')) {
          // An accepted parameter with a junk value is a 400 about that parameter, never "unknown parameter".
          const url = `${path.replace('{id}', `0x${'ab'.repeat(32)}`)}?${p.name}=%00`;
          const res = await app.inject({ method: 'GET', url });
          if (res.statusCode === 400) expect((res.json() as { error: { message: string } }).error.message, url).not.toMatch(/unknown query parameter/);
        }
      }
    });
  });
});

describe('the typed client for the new routes', () => {
  let index: MessageIndex;
  let api: Awaited<ReturnType<typeof startApi>>;
  beforeAll(async () => {
    index = await openIndex({});
    await seed(index);
    api = await startApi({ index, health: async () => ({ ok: true, governance: null, chains: [], queues: {} }) });
  });
  afterAll(async () => {
    await api?.close();
    await index?.close();
  });

  it('lists lanes, gaps and latency', async () => {
    const lanes = await client.listLanes(api.url);
    expect(lanes.map((l) => l.total)).toEqual([1, 3, 2]);
    expect((await client.nonceGaps(api.url)).map((g) => g.expected)).toEqual(['3']);
    const series = await client.laneLatency(api.url, `${A}>${B}`, 1440);
    expect(series.reduce((n, b) => n + b.count, 0)).toBe(2);
  });

  it('sends the new filters, dates as ISO strings', async () => {
    const since = SEEDS[2]!.row!.createdAt;
    const page = await client.listMessages(api.url, { account: `${B}:${ALICE}`, since });
    expect(page.items.map((m) => m.id)).toEqual(newestFirst((s) => SEEDS.indexOf(s) >= 4));
    const byTx = await client.listMessages(api.url, { txHash: DST_TX, lane: `${A}>${B}` });
    expect(byTx.items.map((m) => m.id)).toEqual([SEEDS[1]!.rec.id]);
    const err = await client.listMessages(api.url, { lane: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('lane');
    expect(await client.listMessages(api.url, { since: new Date('x') }).catch((e: unknown) => (e as ValidationError).field)).toBe('since');
  });
});

/** The GET routes fastify holds, read from its own route tree (not from our route list). */
function registeredGetRoutes(app: FastifyInstance): string[] {
  const tree = app.printRoutes({ method: 'GET', commonPrefix: false });
  const out: string[] = [];
  const stack: { depth: number; path: string }[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[└├]── (.*?)(?: \((.*)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length;
    while (stack.length > 0 && stack.at(-1)!.depth >= depth) stack.pop();
    const path = (stack.at(-1)?.path ?? '') + m[2]!;
    stack.push({ depth, path });
    if (m[3] !== undefined && m[3].split(', ').includes('GET')) out.push(path);
  }
  return out;
}

describe('API plugins', () => {
  it('register their routes and their OpenAPI entries beside the index routes', async () => {
    const index = await openIndex({});
    const app = buildApi({
      index,
      health: async () => ({ ok: true, governance: null, chains: [], queues: {} }),
      plugins: [
        {
          name: 'echo',
          register: (a) => {
            a.post('/echo', async (req) => req.body);
          },
          docs: { paths: { '/echo': { POST: { summary: 'Echoes the body.', responses: { '200': { description: 'The body.' } } } } }, schemas: { Echo: { type: 'object' } } },
        },
      ],
    });
    try {
      await app.ready();
      const r = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } });
      expect(r.json()).toEqual({ a: 1 });
      const doc = (await app.inject({ method: 'GET', url: '/docs' })).json() as { paths: Record<string, Record<string, { summary: string }>>; components: { schemas: Record<string, unknown> } };
      expect(doc.paths['/echo']!.post!.summary).toBe('Echoes the body.');
      expect(doc.components.schemas.Echo).toEqual({ type: 'object' });
      expect(doc.components.schemas.Message).toBeDefined();
    } finally {
      await app.close();
      await index.close();
    }
  });
});
