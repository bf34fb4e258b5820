import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import pg from 'pg';
import { getMessage, listLanes, listMessages, streamTransitions } from '../../src/api/client.ts';
import { startApi, type HealthReport } from '../../src/api/server.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeCursor } from '../../src/index/cursor.ts';
import { KyselyIndex } from '../../src/index/kysely-index.ts';
import { openIndex } from '../../src/index/open.ts';
import { pgliteDialect } from '../../src/index/pglite-dialect.ts';
import type { IndexDatabase } from '../../src/index/schema.ts';
import type { MessageFilter, MessageIndex } from '../../src/index/types.ts';
import { bulkLoad, LANES, loadFresh, loadPlan, type Exec, type LoadPlan } from './index-load.ts';
import type { BenchRow } from './proofs.bench.ts';
import { percentile, progress } from './stats.ts';

/*
 * The message index at scale (issue 6): a million messages in the local
 * PostgreSQL, queried through the real HTTP API and client, and the SSE stream
 * fed at 1,000 transitions/s; the same on PGlite with a smaller load.
 */

export interface BenchIndexOptions {
  /** Messages loaded into PostgreSQL. */
  messages?: number;
  /** Messages loaded into PGlite (0 skips PGlite). */
  pgliteMessages?: number;
  /** Timed requests per query. */
  requests?: number;
  /** Stream: transitions per second and for how long. */
  sseRate?: number;
  sseSeconds?: number;
  /** Server URL without a database name; a fresh database is created in it and dropped. */
  serverUrl?: string;
}

const GOAL_MS = 50;
const PAGE = 50;
const WARMUP = 10;
/** Distinct parameter values per filter (requests cycle through them). */
const VARIANTS = 20;

const noHealth = async (): Promise<HealthReport> => ({ ok: true, governance: null, chains: [], queues: {} });

interface Query {
  name: string;
  /** The API filter, and the same condition in SQL (to count what the page must hold). */
  variants: { filter: MessageFilter; where: string }[];
}

interface Timed {
  name: string;
  p50: number;
  p99: number;
  n: number;
  items: string;
  goal: boolean;
  plan?: string;
}

export async function benchIndex(opts: BenchIndexOptions = {}): Promise<BenchRow[]> {
  const {
    messages = 1_000_000,
    pgliteMessages = 100_000,
    requests = 200,
    sseRate = 1000,
    sseSeconds = 10,
    serverUrl = 'postgres://postgres@127.0.0.1:5432',
  } = opts;
  const rows: BenchRow[] = [];
  rows.push(...(await benchPostgres({ messages, requests, sseRate, sseSeconds, serverUrl })));
  if (pgliteMessages > 0) rows.push(...(await benchPglite({ messages: pgliteMessages, requests, sseRate, sseSeconds })));
  return rows;
}

interface BackendRun {
  messages: number;
  requests: number;
  sseRate: number;
  sseSeconds: number;
}

async function benchPostgres({ serverUrl, ...run }: BackendRun & { serverUrl: string }): Promise<BenchRow[]> {
  const dbName = `qiao_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: `${serverUrl}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const databaseUrl = `${serverUrl}/${dbName}`;
  const raw = new pg.Client({ connectionString: databaseUrl });
  let index: MessageIndex | undefined;
  let writer: MessageIndex | undefined;
  try {
    index = await openIndex({ databaseUrl });
    await raw.connect();
    const exec: Exec = async (sql) => (await raw.query(sql)).rows as Record<string, unknown>[];
    await exec(`SET maintenance_work_mem = '512MB'`);
    await exec(`SET synchronous_commit = off`);
    const plan = loadPlan(run.messages);
    const label = `PostgreSQL ${fmtCount(run.messages)}`;
    const load = await bulkLoad(exec, plan, label);
    await exec(`RESET maintenance_work_mem`);
    // A second index instance writes the stream's transitions, as a relayer process would.
    writer = await openIndex({ databaseUrl, poolSize: 2 });
    return await measure({ label, index, writer, exec, plan, load, run });
  } finally {
    await writer?.close();
    await index?.close();
    await raw.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

async function benchPglite(run: BackendRun): Promise<BenchRow[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'qiao-bench-pglite-'));
  let index: MessageIndex | undefined;
  try {
    // Migrations run through openIndex; PGlite allows one instance per folder, so
    // the benchmark then opens that folder once and shares the client between its
    // own SQL (loading, expected counts) and a KyselyIndex with the same dialect.
    await (await openIndex({ dataDir })).close();
    const client = await PGlite.create({ dataDir, parsers: { [types.INT8]: (v: string) => v } });
    index = new KyselyIndex({ db: new Kysely<IndexDatabase>({ dialect: pgliteDialect(client) }), backend: 'pglite' });
    const exec: Exec = async (sql) => (await client.query<Record<string, unknown>>(sql)).rows;
    const plan = loadPlan(run.messages);
    const label = `PGlite ${fmtCount(run.messages)}`;
    const load = await bulkLoad(exec, plan, label, { chunk: 10_000 });
    return await measure({ label, index, writer: index, exec, plan, load, run });
  } finally {
    await index?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

interface MeasureArgs {
  label: string;
  index: MessageIndex;
  writer: MessageIndex;
  exec: Exec;
  plan: LoadPlan;
  load: { messages: number; transitions: number; seconds: number };
  run: BackendRun;
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function measure({ label, index, writer, exec, plan, load, run }: MeasureArgs): Promise<BenchRow[]> {
  const out: BenchRow[] = [
    {
      name: `${label}: bulk load`,
      figure: `${load.messages} messages + ${load.transitions} transitions in ${load.seconds.toFixed(0)} s`,
      baseline: '-',
      ratio: '-',
      note: 'generate_series in SQL, secondary indexes rebuilt after; not through recordSent',
    },
  ];
  const api = await startApi({ index, health: noHealth });
  try {
    const timed: Timed[] = [];
    // Sample rows spread over the whole table: their values are the filters' parameters.
    const seqs = Array.from({ length: run.requests }, (_, i) => 1 + Math.floor(((i + 0.5) * plan.messages) / run.requests));
    const sample = (await exec(`SELECT id, src_chain, dst_chain, sender, receiver, src_tx_hash, dst_tx_hash, created_at, status FROM messages WHERE seq IN (${seqs.join(',')}) ORDER BY seq`)) as {
      id: string;
      src_chain: string;
      dst_chain: string;
      sender: string;
      receiver: string;
      src_tx_hash: string;
      dst_tx_hash: string | null;
      created_at: Date | string;
      status: string;
    }[];
    if (sample.length !== run.requests) throw new Error(`sampled ${sample.length} rows, wanted ${run.requests}`);

    // Lookups by id: the message and its timeline (GET /messages/:id).
    const steps = new Map<string, number>();
    for (const r of await exec(`SELECT message_id, count(*)::int AS n FROM transitions WHERE message_id IN (${sample.map((r) => lit(r.id)).join(',')}) GROUP BY message_id`)) {
      steps.set(String(r.message_id), Number(r.n));
    }
    timed.push(
      await timeRequests(`${label}: GET /messages/:id`, run.requests, 'transitions', async (i) => {
        const r = sample[i % sample.length]!;
        const m = await getMessage(api.url, r.id);
        if (m === null || m.id !== r.id || m.timeline.length !== steps.get(r.id)) throw new Error(`lookup of ${r.id} returned the wrong message or timeline`);
        return m.timeline.length;
      }),
    );

    for (const q of queries(sample)) {
      const firsts: { filter: MessageFilter; expect: number; sql: string }[] = [];
      const deeps: { filter: MessageFilter; expect: number; sql: string }[] = [];
      const listSql = (where: string) => `SELECT * FROM messages WHERE ${where} ORDER BY seq DESC LIMIT ${PAGE + 1}`;
      for (const v of q.variants) {
        const total = Number((await exec(`SELECT count(*)::int AS n FROM messages WHERE ${v.where}`))[0]?.n);
        firsts.push({ filter: { ...v.filter, limit: PAGE }, expect: Math.min(PAGE, total), sql: listSql(v.where) });
        if (total > 2 * PAGE) {
          // A page from the middle of the result: the cursor a client holds after total/2 rows.
          const k = Math.floor(total / 2);
          const at = String((await exec(`SELECT seq FROM messages WHERE ${v.where} ORDER BY seq DESC OFFSET ${k} LIMIT 1`))[0]?.seq);
          deeps.push({ filter: { ...v.filter, limit: PAGE, cursor: encodeCursor(at) }, expect: Math.min(PAGE, total - k - 1), sql: listSql(`${v.where} AND seq < ${at}`) });
        }
      }
      const pages = [
        ['first page', firsts],
        ['deep page', deeps],
      ] as const;
      for (const [kind, list] of pages) {
        if (list.length === 0) continue;
        const t = await timeRequests(`${label}: GET /messages?${q.name} (${kind})`, run.requests, 'items', async (i) => {
          const v = list[i % list.length]!;
          const page = await listMessages(api.url, v.filter);
          if (page.items.length !== v.expect) throw new Error(`${q.name} ${kind}: ${page.items.length} items, expected ${v.expect}`);
          return v.expect;
        });
        // A query over the goal says why: the plan of the same SQL the index builds.
        if (t.p99 > GOAL_MS) t.plan = planSummary(await exec(`EXPLAIN ${list[0]!.sql}`));
        timed.push(t);
      }
    }

    // /lanes reads the per-lane counters (lane_counts) and one latency window per lane.
    const lanesTotal = plan.messages;
    timed.push(
      await timeRequests(`${label}: GET /lanes`, Math.min(run.requests, 20), 'lanes', async () => {
        const lanes = await listLanes(api.url);
        const total = lanes.reduce((s, l) => s + l.total, 0);
        if (lanes.length !== LANES || total !== lanesTotal) throw new Error(`/lanes: ${lanes.length} lanes, ${total} messages`);
        return lanes.length;
      }),
    );
    for (const t of timed) {
      out.push({
        name: t.name,
        figure: `p50 ${t.p50.toFixed(1)} ms, p99 ${t.p99.toFixed(1)} ms (${t.n} req, ${t.items})`,
        baseline: t.goal ? `goal p99 < ${GOAL_MS} ms` : '-',
        ratio: (t.p99 / GOAL_MS).toFixed(2),
        note: t.plan === undefined ? 'ratio = p99 / 50 ms' : `ratio = p99 / 50 ms; plan: ${t.plan}`,
      });
    }
    out.push(await benchStream({ label, url: api.url, writer, exec, plan, run }));
  } finally {
    await api.close();
  }
  return out;
}

type Sample = { id: string; src_chain: string; dst_chain: string; sender: string; receiver: string; src_tx_hash: string; dst_tx_hash: string | null; created_at: Date | string; status: string };

/** Every list filter, each with up to VARIANTS parameter values taken from the sampled rows. */
function queries(sample: Sample[]): Query[] {
  const uniq = <T,>(xs: T[], key: (x: T) => string) => [...new Map(xs.map((x) => [key(x), x])).values()].slice(0, VARIANTS);
  const when = (r: Sample) => new Date(r.created_at);
  const ts = (d: Date) => `TIMESTAMPTZ ${lit(d.toISOString())}`;
  const HOUR = 3_600_000;
  return [
    { name: 'chain=', variants: uniq(sample, (r) => r.src_chain).map((r) => ({ filter: { chain: r.src_chain }, where: `(src_chain = ${lit(r.src_chain)} OR dst_chain = ${lit(r.src_chain)})` })) },
    { name: 'srcChain=', variants: uniq(sample, (r) => r.src_chain).map((r) => ({ filter: { srcChain: r.src_chain }, where: `src_chain = ${lit(r.src_chain)}` })) },
    { name: 'dstChain=', variants: uniq(sample, (r) => r.dst_chain).map((r) => ({ filter: { dstChain: r.dst_chain }, where: `dst_chain = ${lit(r.dst_chain)}` })) },
    {
      name: 'lane=',
      variants: uniq(sample, (r) => `${r.src_chain}>${r.dst_chain}`).map((r) => ({
        filter: { lane: `${r.src_chain}>${r.dst_chain}` },
        where: `src_chain = ${lit(r.src_chain)} AND dst_chain = ${lit(r.dst_chain)}`,
      })),
    },
    { name: 'status=', variants: ['delivered', 'failed', 'sent', 'attested'].map((s) => ({ filter: { status: s as MessageFilter['status'] }, where: `status = ${lit(s)}` })) },
    { name: 'sender=', variants: uniq(sample, (r) => r.sender).map((r) => ({ filter: { sender: r.sender }, where: `sender = ${lit(r.sender)}` })) },
    { name: 'receiver=', variants: uniq(sample, (r) => r.receiver).map((r) => ({ filter: { receiver: r.receiver }, where: `receiver = ${lit(r.receiver)}` })) },
    {
      name: 'account=',
      variants: uniq(sample, (r) => `${r.src_chain}:${r.sender}`).map((r) => ({
        filter: { account: `${r.src_chain}:${r.sender}` },
        where: `((src_chain = ${lit(r.src_chain)} AND sender = ${lit(r.sender)}) OR (dst_chain = ${lit(r.src_chain)} AND receiver = ${lit(r.sender)}))`,
      })),
    },
    {
      name: 'txHash=',
      variants: uniq(sample, (r) => r.id).map((r, i) => {
        const h = i % 2 === 1 && r.dst_tx_hash !== null ? r.dst_tx_hash : r.src_tx_hash;
        return { filter: { txHash: h }, where: `(src_tx_hash = ${lit(h)} OR dst_tx_hash = ${lit(h)})` };
      }),
    },
    { name: 'since=', variants: uniq(sample, (r) => r.id).map((r) => ({ filter: { since: when(r) }, where: `created_at >= ${ts(when(r))}` })) },
    { name: 'until=', variants: uniq(sample, (r) => r.id).map((r) => ({ filter: { until: when(r) }, where: `created_at < ${ts(when(r))}` })) },
    {
      name: 'since=&until= (1 h)',
      variants: uniq(sample, (r) => r.id).map((r) => {
        const to = new Date(when(r).getTime() + HOUR);
        return { filter: { since: when(r), until: to }, where: `created_at >= ${ts(when(r))} AND created_at < ${ts(to)}` };
      }),
    },
  ];
}

/** Sequential requests after a warm-up; `f` checks the answer and says what it held. */
async function timeRequests(name: string, n: number, unit: string, f: (i: number) => Promise<number>): Promise<Timed> {
  for (let i = 0; i < Math.min(WARMUP, n); i++) await f(i);
  const ms: number[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const got = await f(i);
    ms.push(performance.now() - t0);
    lo = Math.min(lo, got);
    hi = Math.max(hi, got);
    progress(name, i + 1, n);
  }
  ms.sort((x, y) => x - y);
  const items = lo === hi ? `${lo} ${unit} each` : `${lo}-${hi} ${unit}`;
  return { name, p50: percentile(ms, 50), p99: percentile(ms, 99), n, items, goal: !name.endsWith('/lanes') };
}

/** The scan nodes of an EXPLAIN, one line. */
function planSummary(rows: Record<string, unknown>[]): string {
  return rows
    .map((r) => String(r['QUERY PLAN']).trim().replace(/^->\s*/, ''))
    .filter((l) => /Scan|Filter|Index Cond|Sort/.test(l))
    .map((l) => l.replace(/\s*\(cost=[^)]*\)/, ''))
    .join('; ');
}

interface StreamArgs {
  label: string;
  url: string;
  writer: MessageIndex;
  exec: Exec;
  plan: LoadPlan;
  run: BackendRun;
}

/**
 * Fresh `sent` messages moved to `verified` in batches every 100 ms (sseRate/s for
 * sseSeconds), through MessageIndex.transition, while a client follows the stream.
 * Lag runs from just before the batch's transition() call to the event's arrival.
 */
async function benchStream({ label, url, writer, exec, plan, run }: StreamArgs): Promise<BenchRow> {
  const total = run.sseRate * run.sseSeconds;
  const ids = await loadFresh(exec, plan, total);
  const tick = 100;
  const perTick = Math.max(1, Math.round((run.sseRate * tick) / 1000));
  const sentAt = new Map<string, number>();
  const lags: number[] = [];
  const ac = new AbortController();
  let received = 0;
  let lastAt = 0;
  let onAll: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    onAll = resolve;
  });
  let opened: () => void = () => undefined;
  const open = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const stream = streamTransitions(
    url,
    {},
    (e) => {
      const t = sentAt.get(e.messageId);
      if (t === undefined || e.status !== 'verified') return;
      sentAt.delete(e.messageId);
      lastAt = performance.now();
      lags.push(lastAt - t);
      received++;
      if (received === total) onAll();
    },
    ac.signal,
    { reconnect: false, onOpen: () => opened() },
  );
  await open;
  const t0 = performance.now();
  let written = 0;
  for (let b = 0; written < total; b++) {
    // Paced against the start time, so a slow batch is caught up rather than the rate drifting.
    const due = t0 + b * tick;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const batch = ids.slice(written, written + perTick) as Hex[];
    const at = performance.now();
    for (const id of batch) sentAt.set(id, at);
    const moved = await writer.transition(batch, 'verified', { chain: 'eip155:1001', height: 1n, proof: { kind: 'bench' } });
    if (moved.length !== batch.length) throw new Error(`transition moved ${moved.length} of ${batch.length}`);
    written += batch.length;
    progress(`${label}: stream writes`, written, total);
  }
  const writeSecs = (performance.now() - t0) / 1000;
  const deadline = new Promise<'late'>((r) => setTimeout(() => r('late'), 60_000).unref());
  const done = await Promise.race([all.then(() => 'ok' as const), deadline]);
  ac.abort();
  await stream.catch(() => undefined);
  if (done !== 'ok' || received !== total) throw new Error(`stream delivered ${received} of ${total} transitions`);
  lags.sort((x, y) => x - y);
  const rate = received / ((lastAt - t0) / 1000);
  return {
    name: `${label}: SSE /messages/stream at ${run.sseRate} transitions/s for ${run.sseSeconds} s`,
    figure: `${rate.toFixed(0)} events/s received (written at ${(total / writeSecs).toFixed(0)}/s); lag p50 ${percentile(lags, 50).toFixed(0)} ms, p99 ${percentile(lags, 99).toFixed(0)} ms; ${received}/${total} arrived`,
    baseline: `${run.sseRate} transitions/s written`,
    ratio: (rate / run.sseRate).toFixed(2),
    note: 'ratio = received rate / write rate; lag from transition() call to event, feed polls every 200 ms',
  };
}

function fmtCount(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n);
}
