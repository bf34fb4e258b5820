import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApi, startApi, type ApiDeps, type HealthReport } from '../../src/api/server.ts';
import * as client from '../../src/api/client.ts';
import { chainId, type ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId, messageToJson, type QiaoMessage } from '../../src/domain/message.ts';
import type { MessageStatus } from '../../src/domain/status.ts';
import { NotReadyError, QiaoError, RpcError, ValidationError } from '../../src/errors.ts';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex, MessageRow, SentRecord } from '../../src/index/types.ts';

const A = chainId('eip155:1001');
const B = chainId('eip155:1002');
const C = chainId('cosmos:hub-1');

const hex = (byte: number, bytes: number): Hex => `0x${byte.toString(16).padStart(2, '0').repeat(bytes)}` as Hex;
const S1 = hex(0x11, 20);
const S2 = hex(0x12, 20);
const R1 = hex(0x21, 20);
const R2 = hex(0x22, 20);

interface Seed {
  src: ChainId;
  dst: ChainId;
  sender: Hex;
  receiver: Hex;
  nonce: bigint;
  path: MessageStatus[];
  id?: Hex;
}

// Seeded in this order, one recordSent each, so "newest first" is the reverse.
const SEEDS: Seed[] = [
  { src: A, dst: B, sender: S1, receiver: R1, nonce: 1n, path: ['verified', 'committed', 'attested', 'delivered'] },
  { src: A, dst: B, sender: S2, receiver: R1, nonce: 2n, path: ['verified'] },
  { src: B, dst: A, sender: S1, receiver: R2, nonce: 1n, path: [] },
  { src: A, dst: C, sender: S1, receiver: R2, nonce: 1n, path: ['verified', 'committed', 'attested', 'failed'] },
  { src: C, dst: B, sender: S2, receiver: R1, nonce: 1n, path: [] },
  { src: B, dst: A, sender: S2, receiver: R2, nonce: 2n, path: ['verified'] },
  { src: A, dst: B, sender: S1, receiver: R1, nonce: 3n, path: [] },
];

function chainReg(id: ChainId, endpoints: string[]): ChainRegistration {
  return {
    chainId: id,
    family: id.startsWith('cosmos:') ? 'cosmos' : 'evm',
    genesisHash: hex(0xaa, 32),
    port: hex(0x50, 20),
    lightClient: 'local-dev',
    trustRoot: '0x',
    finality: { kind: 'depth', depth: 2 },
    endpoints,
    status: 'approved',
  };
}

async function seed(index: MessageIndex): Promise<void> {
  await index.upsertChain(chainReg(A, ['http://user:hunter2@rpc.example:8545/?apikey=topsecret']));
  await index.upsertChain(chainReg(B, ['http://127.0.0.1:8546']));
  for (const [i, s] of SEEDS.entries()) {
    const m: QiaoMessage = {
      version: 1,
      srcChain: s.src,
      srcPort: hex(0x50, 20),
      sender: s.sender,
      dstChain: s.dst,
      dstPort: hex(0x51, 20),
      receiver: s.receiver,
      nonce: s.nonce,
      gasLimit: 200_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload: `0x${(i + 1).toString(16).padStart(2, '0')}` as Hex,
    };
    const encoded = encodeMessage(m);
    const id = messageId(encoded);
    s.id = id;
    const rec: SentRecord = { id, encoded, message: messageToJson(m), height: 100n + BigInt(i), txHash: hex(0x70 + i, 32), blockHash: hex(0x90 + i, 32), logIndex: 0 };
    expect(await index.recordSent(s.src, [rec])).toEqual([id]);
    for (const to of s.path) {
      const evidence = to === 'committed' ? { batchNo: 7n } : to === 'failed' ? { reason: 'receiver reverted', chain: s.dst, height: 55n } : { chain: s.src, height: 101n };
      expect(await index.transition([id], to, evidence)).toEqual([id]);
    }
  }
}

const statusOf = (s: Seed): MessageStatus => s.path.at(-1) ?? 'sent';
const idsNewestFirst = (pred: (s: Seed) => boolean): Hex[] => SEEDS.filter(pred).map((s) => s.id!).reverse();

describe('HTTP API over a seeded index', () => {
  let index: MessageIndex;
  let app: FastifyInstance;
  let healthReport: HealthReport;

  beforeAll(async () => {
    index = await makeIndex();
    await seed(index);
    healthReport = { ok: true, governance: { url: 'http://gov:pw@127.0.0.1:8545/?token=abc', chainId: 'eip155:4242', head: '12' }, chains: [], queues: {} };
    app = buildApi({ index, health: async () => healthReport });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await index?.close();
  });

  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() as Record<string, unknown>, headers: res.headers };
  };
  const itemIds = (body: Record<string, unknown>) => (body.items as MessageRow[]).map((m) => m.id);

  it('lists every message, newest first, as JSON', async () => {
    const r = await get('/messages');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(itemIds(r.body)).toEqual(idsNewestFirst(() => true));
    expect(r.body.nextCursor).toBeNull();
  });

  it.each([
    ['chain', A, (s: Seed) => s.src === A || s.dst === A],
    ['chain', C, (s: Seed) => s.src === C || s.dst === C],
    ['srcChain', B, (s: Seed) => s.src === B],
    ['dstChain', B, (s: Seed) => s.dst === B],
    ['status', 'verified', (s: Seed) => statusOf(s) === 'verified'],
    ['status', 'failed', (s: Seed) => statusOf(s) === 'failed'],
    ['sender', S1, (s: Seed) => s.sender === S1],
    ['receiver', R2, (s: Seed) => s.receiver === R2],
  ] as const)('filters by %s=%s', async (key, value, pred) => {
    const expected = idsNewestFirst(pred);
    expect(expected.length).toBeGreaterThan(0);
    const r = await get(`/messages?${key}=${encodeURIComponent(value)}`);
    expect(r.status).toBe(200);
    expect(itemIds(r.body)).toEqual(expected);
  });

  it('combines filters', async () => {
    const r = await get(`/messages?srcChain=${A}&dstChain=${B}&sender=${S1}`);
    expect(itemIds(r.body)).toEqual(idsNewestFirst((s) => s.src === A && s.dst === B && s.sender === S1));
  });

  it('matches a hex sender whatever its letter case', async () => {
    const upper = `0x${S1.slice(2).toUpperCase()}`;
    const r = await get(`/messages?sender=${upper}`);
    expect(itemIds(r.body)).toEqual(idsNewestFirst((s) => s.sender === S1));
  });

  it('returns an empty page when nothing matches', async () => {
    const r = await get('/messages?status=refunded');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ items: [], nextCursor: null });
  });

  it('pages through everything with cursors, without gaps or repeats', async () => {
    const seen: Hex[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const r = await get(`/messages?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(r.status).toBe(200);
      sizes.push((r.body.items as unknown[]).length);
      seen.push(...itemIds(r.body));
      cursor = r.body.nextCursor as string | null;
    } while (cursor !== null && sizes.length < 10);
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual(idsNewestFirst(() => true));
  });

  it('gives a next page after a full one and no cursor after an exactly full last page', async () => {
    // Four messages leave chain A: limit 2 fills two pages exactly.
    const all = idsNewestFirst((s) => s.src === A);
    expect(all).toHaveLength(4);
    const p1 = await get(`/messages?srcChain=${A}&limit=2`);
    expect(itemIds(p1.body)).toEqual(all.slice(0, 2));
    expect(typeof p1.body.nextCursor).toBe('string');
    const p2 = await get(`/messages?srcChain=${A}&limit=2&cursor=${encodeURIComponent(p1.body.nextCursor as string)}`);
    expect(itemIds(p2.body)).toEqual(all.slice(2, 4));
    expect(p2.body.nextCursor).toBeNull();
    const exact = await get(`/messages?srcChain=${A}&limit=4`);
    expect(exact.body).toEqual({ items: expect.any(Array), nextCursor: null });
    expect(itemIds(exact.body)).toEqual(all);
  });

  it.each([
    ['/messages?cursor=not-a-cursor', 'cursor'],
    ['/messages?cursor=', 'cursor'],
    ['/messages?limit=0', 'limit'],
    ['/messages?limit=501', 'limit'],
    ['/messages?limit=abc', 'limit'],
    ['/messages?limit=2.5', 'limit'],
    ['/messages?limit=1e2', 'limit'],
    ['/messages?limit=-1', 'limit'],
    ['/messages?limit=', 'limit'],
    ['/messages?limit=1&limit=2', 'limit'],
    ['/messages?status=lost', 'status'],
    ['/messages?status=SENT', 'status'],
    ['/messages?chain=not_caip2', 'chain'],
    ['/messages?srcChain=eip155', 'srcChain'],
    ['/messages?dstChain=', 'dstChain'],
    ['/messages?sender=', 'sender'],
    ['/messages?src_chain=eip155:1', 'src_chain'],
    ['/messages?chain=eip155:1&apikey=x', 'apikey'],
    ['/chains?verbose=1', 'verbose'],
    ['/health?deep=true', 'deep'],
  ])('rejects %s with 400 naming %s', async (url, field) => {
    const r = await get(url);
    expect(r.status).toBe(400);
    const err = (r.body as { error: { code: string; message: string; field?: string } }).error;
    expect(err.code).toBe('invalid_input');
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
    expect(Object.keys(r.body)).toEqual(['error']);
  });

  it('returns one message with its timeline, bigints and dates as strings', async () => {
    const s = SEEDS[0]!;
    const r = await get(`/messages/${s.id}`);
    expect(r.status).toBe(200);
    const m = r.body as unknown as client.MessageDetail;
    expect(m.id).toBe(s.id);
    expect(m.status).toBe('delivered');
    expect(m.srcChain).toBe(A);
    expect(m.dstChain).toBe(B);
    expect(m.sender).toBe(S1);
    expect(m.nonce).toBe('1');
    expect(m.srcHeight).toBe('100');
    expect(m.batchNo).toBe('7');
    expect(m.message.gasLimit).toBe('200000');
    expect(new Date(m.createdAt).toISOString()).toBe(m.createdAt);
    expect(Object.keys(m)).toEqual([
      'id', 'encoded', 'message', 'srcChain', 'dstChain', 'sender', 'receiver', 'nonce', 'status', 'reason',
      'srcTxHash', 'srcHeight', 'dstTxHash', 'batchNo', 'createdAt', 'updatedAt', 'timeline',
    ]);
    expect(m.timeline.map((t) => t.status)).toEqual(['sent', 'verified', 'committed', 'attested', 'delivered']);
    for (const t of m.timeline) {
      expect(t.messageId).toBe(s.id);
      expect(typeof t.seq).toBe('string');
      expect(new Date(t.at).toISOString()).toBe(t.at);
    }
  });

  it('shows the reason of a failed message', async () => {
    const s = SEEDS[3]!;
    const r = await get(`/messages/${s.id!.toUpperCase().replace('0X', '0x')}`);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('failed');
    expect(r.body.reason).toBe('receiver reverted');
  });

  it.each([
    ['0x1234'],
    [hex(0xab, 32).slice(2)],
    [`${hex(0xab, 32)}00`],
    [`0x${'g'.repeat(64)}`],
    [`0x${'a'.repeat(300)}`],
  ])('rejects the id %s with 400 naming id', async (id) => {
    const r = await get(`/messages/${id}`);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: { code: 'invalid_input', message: expect.stringContaining('id'), field: 'id' } });
  });

  it('answers 404 not_found for an unknown id', async () => {
    const r = await get(`/messages/${hex(0xee, 32)}`);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });

  it('answers 404 in the same error format for an unknown route', async () => {
    const r = await get('/nope?x=1');
    expect(r.status).toBe(404);
    expect((r.body as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('lists chains with secrets stripped from endpoint URLs', async () => {
    const r = await app.inject({ method: 'GET', url: '/chains' });
    expect(r.statusCode).toBe(200);
    expect(r.body).not.toContain('hunter2');
    expect(r.body).not.toContain('topsecret');
    const chains = r.json() as client.ChainView[];
    expect(chains.map((c) => c.chainId).sort()).toEqual([A, B]);
    const a = chains.find((c) => c.chainId === A)!;
    expect(a.finality).toEqual({ kind: 'depth', depth: 2 });
    expect(a.family).toBe('evm');
    expect(a.endpoints[0]).toMatch(/^http:\/\/\*\*\*:\*\*\*@rpc\.example:8545\//);
    expect(new Date(a.updatedAt).toISOString()).toBe(a.updatedAt);
  });

  it('answers /health 200 when ok and 503 when not, with the report as body', async () => {
    healthReport = { ...healthReport, ok: true };
    const ok = await app.inject({ method: 'GET', url: '/health' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ ok: true, governance: { chainId: 'eip155:4242', head: '12' } });
    expect(ok.body).not.toContain(':pw@');
    expect(ok.body).not.toContain('token=abc');

    healthReport = {
      ok: false,
      governance: null,
      chains: [{ chainId: A, head: '10', finalized: '8', checkpoint: '5', lag: '3', status: 'lagging' }],
      queues: { observe: { waiting: 1, delayed: 2, active: 0, dead: 4 } },
    };
    const bad = await app.inject({ method: 'GET', url: '/health' });
    expect(bad.statusCode).toBe(503);
    expect(bad.json()).toEqual(healthReport);
  });
});

describe('HTTP API errors that are not the caller\u2019s fault', () => {
  const secret = 'postgres://hub:s3cr3t-pw@db/qiao';
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  const failing: MessageIndex = {
    ...unusedIndex(),
    listChains: async () => {
      throw new Error(`connect failed: ${secret}`);
    },
    listMessages: async () => {
      throw new QiaoError('db_down', `query failed on ${secret}`, { cause: new Error('boom') });
    },
    getMessage: async () => {
      throw new TypeError('cannot read properties of undefined');
    },
  };
  let app: FastifyInstance;

  beforeAll(async () => {
    app = buildApi({ index: failing, logger, health: async () => Promise.reject(new Error(`gov rpc ${secret}`)) });
    await app.ready();
  });
  afterAll(async () => app?.close());

  it.each([['/chains'], ['/messages?cursor=Q1VSU09SLVNFQ1JFVA'], [`/messages/${hex(0x01, 32)}`]])('maps a failure in %s to 500 without internals, and logs it', async (url) => {
    const before = lines.length;
    const r = await app.inject({ method: 'GET', url });
    expect(r.statusCode).toBe(500);
    expect(r.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(r.body).not.toContain('s3cr3t');
    const logged = lines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.level).toBe(50);
    expect(logged[0]!.route).toBe(url.startsWith('/messages/') ? '/messages/:id' : url.split('?')[0]);
    // Query strings are never logged.
    expect(lines.slice(before).join('')).not.toContain('Q1VSU09SLVNFQ1JFVA');
  });

  it('answers 503 with an error body when the health check itself fails', async () => {
    const r = await app.inject({ method: 'GET', url: '/health' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toEqual({ error: { code: 'unavailable', message: 'health check failed' } });
    expect(r.body).not.toContain('s3cr3t');
  });
});

describe('startApi and the typed client over real HTTP', () => {
  let index: MessageIndex;
  let api: Awaited<ReturnType<typeof startApi>>;
  let report: HealthReport = { ok: true, governance: null, chains: [], queues: {} };

  beforeAll(async () => {
    index = await makeIndex();
    await seed(index);
    const deps: ApiDeps = { index, health: async () => report };
    api = await startApi(deps, {});
  });
  afterAll(async () => {
    await api?.close();
    await index?.close();
  });

  it('listens on 127.0.0.1 on a free port', () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
  });

  it('lists and pages messages', async () => {
    const p1 = await client.listMessages(api.url, { dstChain: B, limit: 2 });
    expect(p1.items.map((m) => m.id)).toEqual(idsNewestFirst((s) => s.dst === B).slice(0, 2));
    expect(p1.nextCursor).not.toBeNull();
    const p2 = await client.listMessages(api.url, { dstChain: B, limit: 2, cursor: p1.nextCursor! });
    expect(p2.items.map((m) => m.id)).toEqual(idsNewestFirst((s) => s.dst === B).slice(2, 4));
  });

  it('gets a message, or null for an unknown id', async () => {
    const s = SEEDS[1]!;
    const m = await client.getMessage(api.url, s.id!);
    expect(m?.status).toBe('verified');
    expect(m?.timeline.map((t) => t.status)).toEqual(['sent', 'verified']);
    expect(await client.getMessage(api.url, hex(0xee, 32))).toBeNull();
  });

  it('turns a 400 into a ValidationError carrying the field', async () => {
    const err = await client.listMessages(api.url, { cursor: '!!' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('cursor');
    expect((err as ValidationError).message).toMatch(/^cursor: (?!cursor:)/);
    const status = await client.listMessages(api.url, { status: 'nope' as MessageStatus }).catch((e: unknown) => e);
    expect((status as ValidationError).field).toBe('status');
  });

  it('checks the id before asking', async () => {
    const err = await client.getMessage(api.url, '0x12').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('id');
  });

  it('lists chains and reads health whether ok or not', async () => {
    expect((await client.listChains(api.url)).map((c) => c.chainId).sort()).toEqual([A, B]);
    expect(await client.health(api.url)).toEqual(report);
    report = { ok: false, governance: null, chains: [], queues: { deliver: { waiting: 0, delayed: 0, active: 1, dead: 0 } } };
    expect(await client.health(api.url)).toEqual(report);
  });

  it('reports an unreachable hub as an RpcError', async () => {
    const dead = await startApi({ index, health: async () => report }, {});
    await dead.close();
    const err = await client.listChains(dead.url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QiaoError);
    expect((err as QiaoError).code).toBe('rpc_failed');
  });

  it('maps a 500 to a retryable RpcError and a not-ready 503 to NotReadyError', async () => {
    const broken = await startApi({ index: { ...unusedIndex(), listMessages: async () => Promise.reject(new NotReadyError('index migrating')) }, health: async () => report }, {});
    try {
      const e500 = await client.listChains(broken.url).catch((e: unknown) => e);
      expect(e500).toBeInstanceOf(RpcError);
      const e503 = await client.listMessages(broken.url).catch((e: unknown) => e);
      expect(e503).toBeInstanceOf(NotReadyError);
    } finally {
      await broken.close();
    }
  });

  it('rejects a bad port before listening', async () => {
    await expect(startApi({ index, health: async () => report }, { port: 70000 })).rejects.toMatchObject({ field: 'port' });
  });
});

// ---------------------------------------------------------------------------

function unusedIndex(): MessageIndex {
  const unused = (): never => {
    throw new Error('not used by the API');
  };
  return {
    backend: 'pglite',
    upsertChain: unused,
    getChain: unused,
    listChains: unused,
    recordSent: unused,
    transition: unused,
    setDstTx: unused,
    getMessage: unused,
    getMessages: unused,
    timeline: unused,
    listMessages: unused,
    messagesByStatus: unused,
    countByStatus: unused,
    pruneFinishedBefore: unused,
    createBatch: unused,
    markBatch: unused,
    getBatch: unused,
    batchesWithStatus: unused,
    batchNosWithMessagesIn: unused,
    lastBatchNo: unused,
    addAttestation: unused,
    attestations: unused,
    getCheckpoint: unused,
    setCheckpointFenced: unused,
    recordRegistryEvents: unused,
    registryEvents: unused,
    recordMisbehaviour: unused,
    misbehaviour: unused,
    setCheckpoint: unused,
    recordLaneNonces: unused,
    nonceGaps: unused,
    transitionsAfter: unused,
    outcomesAfter: unused,
    lastTransitionSeq: unused,
    laneSummaries: unused,
    laneLatency: unused,
    setLaneHold: unused,
    clearLaneHold: unused,
    laneHolds: unused,
    close: async () => undefined,
  };
}

/** The real index, embedded PGlite in memory. */
function makeIndex(): Promise<MessageIndex> {
  return openIndex({});
}
