import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId, messageToJson, type QiaoMessage } from '../../src/domain/message.ts';
import { ValidationError } from '../../src/errors.ts';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex, MessageRow, SentRecord } from '../../src/index/types.ts';

/* The query methods behind the explorer API (issue 6), on both backends. */

const PG_URL = process.env.QIAO_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const rnd = (n: number): Hex => `0x${randomBytes(n).toString('hex')}`;
const PORT = rnd(20);
let chainCounter = 5000;
const freshChain = (): ChainId => `eip155:${chainCounter++}` as ChainId;

function sent(src: ChainId, dst: ChainId, nonce: bigint, over: Partial<QiaoMessage> = {}): SentRecord {
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
  return { id: messageId(encoded), encoded, message: messageToJson(m), height: 10n, txHash: rnd(32), blockHash: rnd(32), logIndex: 0 };
}

async function field(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return (err as ValidationError).field;
}

const schema = `qiao_q_${randomBytes(6).toString('hex')}`;
const backends = [
  { name: 'pglite', open: () => openIndex({}), cleanup: async () => {} },
  {
    name: 'postgres',
    open: () => openIndex({ databaseUrl: PG_URL, schema }),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await c.end();
      }
    },
  },
];

describe.each(backends)('index queries on $name', ({ open, cleanup }) => {
  let idx: MessageIndex;
  beforeAll(async () => {
    idx = await open();
  });
  afterAll(async () => {
    await idx?.close();
    await cleanup();
  });

  async function record(src: ChainId, recs: SentRecord[]): Promise<MessageRow[]> {
    const ids: Hex[] = [];
    // One call each: every message gets its own created_at.
    for (const r of recs) ids.push(...(await idx.recordSent(src, [r])));
    return idx.getMessages(ids);
  }

  describe('listMessages filters', () => {
    it('filters by lane, account (either side), txHash (either side) and time range', async () => {
      const a = freshChain();
      const b = freshChain();
      const alice = rnd(20);
      const recs = [sent(a, b, 1n, { sender: alice }), sent(b, a, 1n, { receiver: alice }), sent(a, b, 2n), sent(b, a, 2n, { sender: alice }), sent(a, b, 3n, { receiver: alice })];
      const rows = await record(a, [recs[0]!, recs[2]!, recs[4]!]).then(async (x) => [...x, ...(await record(b, [recs[1]!, recs[3]!]))]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      const ids = (page: { items: MessageRow[] }) => page.items.map((m) => m.id).sort();

      expect(ids(await idx.listMessages({ lane: `${a}>${b}` }))).toEqual([recs[0]!.id, recs[2]!.id, recs[4]!.id].sort());
      expect(ids(await idx.listMessages({ lane: `${b}>${a}` }))).toEqual([recs[1]!.id, recs[3]!.id].sort());

      // Alice sends on a (0) and receives on a (1); she is also sender on b (3) and receiver on b (4).
      expect(ids(await idx.listMessages({ account: `${a}:${alice}` }))).toEqual([recs[0]!.id, recs[1]!.id].sort());
      expect(ids(await idx.listMessages({ account: `${b}:${alice.toUpperCase().replace('0X', '0x')}` }))).toEqual([recs[3]!.id, recs[4]!.id].sort());

      expect(ids(await idx.listMessages({ txHash: recs[2]!.txHash }))).toEqual([recs[2]!.id]);
      const dstTx = rnd(32);
      await idx.setDstTx(recs[3]!.id, dstTx);
      expect(ids(await idx.listMessages({ txHash: dstTx.toUpperCase().replace('0X', '0x') }))).toEqual([recs[3]!.id]);
      expect(ids(await idx.listMessages({ txHash: rnd(32) }))).toEqual([]);

      // Times: since is inclusive, until exclusive (ms-truncated createdAt stays exact for both).
      const sorted = [...byId.values()].sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
      const since = sorted[1]!.createdAt;
      const until = sorted[3]!.createdAt;
      const lanes = { chain: a };
      const expected = sorted.filter((r) => r.createdAt.getTime() >= since.getTime() && r.createdAt.getTime() < until.getTime()).map((r) => r.id);
      expect(expected.length).toBeGreaterThan(0);
      expect(ids(await idx.listMessages({ ...lanes, since, until }))).toEqual(expected.sort());
      expect(ids(await idx.listMessages({ ...lanes, since }))).toEqual(sorted.filter((r) => r.createdAt.getTime() >= since.getTime()).map((r) => r.id).sort());
    });

    it('rejects bad new filters naming the field', async () => {
      expect(await field(idx.listMessages({ lane: 'eip155:1' }))).toBe('lane');
      expect(await field(idx.listMessages({ lane: 'eip155:1>eip155:2>eip155:3' }))).toBe('lane');
      expect(await field(idx.listMessages({ account: 'eip155:1' }))).toBe('account');
      expect(await field(idx.listMessages({ txHash: 'xyz' }))).toBe('txHash');
      expect(await field(idx.listMessages({ since: new Date('nope') }))).toBe('since');
      expect(await field(idx.listMessages({ until: '2026-01-01' as unknown as Date }))).toBe('until');
    });
  });

  describe('transitionsAfter', () => {
    it('reads transitions by seq with the message fields, oldest first, paged by limit', async () => {
      const a = freshChain();
      const b = freshChain();
      const start = await idx.lastTransitionSeq();
      const r1 = sent(a, b, 1n);
      const r2 = sent(a, b, 2n);
      await idx.recordSent(a, [r1, r2]);
      await idx.transition([r1.id], 'verified', { chain: a, height: 12n, txHash: rnd(32), proof: { big: 'proof' } });
      const all = await idx.transitionsAfter(start, 1000);
      const mine = all.filter((e) => e.srcChain === a);
      expect(mine.map((e) => [e.messageId, e.status])).toEqual([
        [r1.id, 'sent'],
        [r2.id, 'sent'],
        [r1.id, 'verified'],
      ]);
      const v = mine[2]!;
      expect(v).toMatchObject({ dstChain: b, sender: r1.message.sender, receiver: r1.message.receiver, nonce: '1', chain: a, height: '12', reason: null });
      expect(v).not.toHaveProperty('proof');
      expect(v.at).toBeInstanceOf(Date);
      const seqs = all.map((e) => BigInt(e.seq));
      expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
      expect(seqs[0]! > BigInt(start)).toBe(true);
      expect(await idx.lastTransitionSeq()).toBe(all.at(-1)!.seq);

      const page = await idx.transitionsAfter(start, 2);
      expect(page.map((e) => e.seq)).toEqual(all.slice(0, 2).map((e) => e.seq));
      expect((await idx.transitionsAfter(page[1]!.seq, 1))[0]?.seq).toBe(all[2]!.seq);
      expect(await idx.transitionsAfter(all.at(-1)!.seq, 10)).toEqual([]);
    });

    it('outcomesAfter: only deliveries and failures, with lane and creation time, within (after, upTo]', async () => {
      const a = freshChain();
      const b = freshChain();
      const start = await idx.lastTransitionSeq();
      const [r1, r2, r3] = [1n, 2n, 3n].map((n) => sent(a, b, n));
      await idx.recordSent(a, [r1!, r2!, r3!]);
      await idx.transition([r1!.id, r2!.id, r3!.id], 'verified');
      const created = (await idx.getMessage(r1!.id))!.createdAt;
      await idx.transition([r1!.id], 'delivered', { at: new Date(created.getTime() + 2500) });
      await idx.transition([r2!.id], 'quarantined', { reason: 'proof_invalid: forged' });
      const upTo = await idx.lastTransitionSeq();
      await idx.transition([r3!.id], 'failed', { reason: 'receiver_revert: later' });
      const mine = (await idx.outcomesAfter(start, upTo, 1000)).filter((e) => e.srcChain === a);
      expect(mine.map((e) => [e.status, e.dstChain, e.reason])).toEqual([
        ['delivered', b, null],
        ['quarantined', b, 'proof_invalid: forged'],
      ]);
      expect(mine[0]!.at.getTime() - mine[0]!.createdAt.getTime()).toBe(2500);
      const later = (await idx.outcomesAfter(upTo, await idx.lastTransitionSeq(), 1000)).filter((e) => e.srcChain === a);
      expect(later.map((e) => e.status)).toEqual(['failed']);
      expect((await idx.outcomesAfter(start, upTo, 1)).length).toBe(1);
      expect(await field(idx.outcomesAfter('0', 'x', 10))).toBe('upToSeq');
      expect(await field(idx.outcomesAfter('0', '1', 1001))).toBe('limit');
    });

    it('rejects a bad seq or limit', async () => {
      expect(await field(idx.transitionsAfter('-1', 10))).toBe('afterSeq');
      expect(await field(idx.transitionsAfter('01', 10))).toBe('afterSeq');
      expect(await field(idx.transitionsAfter('0', 0))).toBe('limit');
      expect(await field(idx.transitionsAfter('0', 1001))).toBe('limit');
    });
  });

  describe('lane aggregates', () => {
    it('counts statuses, lanes latency percentiles, last nonce and gaps per lane', async () => {
      const a = freshChain();
      const b = freshChain();
      const recs = Array.from({ length: 10 }, (_, i) => sent(a, b, BigInt(i + 1)));
      const rows = await record(a, recs);
      // Delivered i+1 seconds after it was sent: latencies 1000..10000 ms.
      for (const [i, r] of rows.entries()) {
        await idx.transition([r.id], 'verified');
        if (i < 10) await idx.transition([r.id], 'delivered', { at: new Date(r.createdAt.getTime() + (i + 1) * 1000) });
      }
      const extra = sent(a, b, 12n);
      await idx.recordSent(a, [extra]);
      const back = sent(b, a, 1n);
      await idx.recordSent(b, [back]);
      await idx.recordLaneNonces([...recs, extra].map((r) => ({ srcChain: a, srcPort: PORT, dstChain: b, nonce: BigInt(r.message.nonce) })));

      const lanes = (await idx.laneSummaries()).filter((l) => l.srcChain === a || l.srcChain === b);
      expect(lanes.map((l) => [l.srcChain, l.dstChain])).toEqual([
        [a, b],
        [b, a],
      ]);
      const ab = lanes[0]!;
      expect(ab.total).toBe(11);
      expect(ab.counts).toMatchObject({ delivered: 10, sent: 1, verified: 0, failed: 0 });
      expect(ab.lastNonce).toBe('10');
      expect(ab.gaps).toBe(1);
      // percentile_cont over 1000..10000 (created_at has microseconds, so allow 1 ms).
      const lat = ab.latencyMs!;
      expect(Math.abs(lat.p50 - 5500)).toBeLessThanOrEqual(1);
      expect(Math.abs(lat.p95 - 9550)).toBeLessThanOrEqual(1);
      expect(Math.abs(lat.p99 - 9910)).toBeLessThanOrEqual(1);
      expect(Math.abs(lat.max - 10000)).toBeLessThanOrEqual(1);
      const ba = lanes[1]!;
      expect(ba).toMatchObject({ total: 1, latencyMs: null, lastNonce: null, gaps: 0 });
      expect(ba.counts.sent).toBe(1);
    });

    it('buckets deliveries per minute over the last N minutes', async () => {
      const a = freshChain();
      const b = freshChain();
      const rows = await record(a, Array.from({ length: 5 }, (_, i) => sent(a, b, BigInt(i + 1))));
      const base = Math.floor(Math.max(...rows.map((r) => r.createdAt.getTime())) / 60_000) * 60_000 + 10 * 60_000;
      // Two deliveries in minute base, three in base+2 minutes.
      const at = [base + 1000, base + 2000, base + 120_000, base + 121_000, base + 150_000];
      for (const [i, r] of rows.entries()) await idx.transition([r.id], 'delivered', { at: new Date(at[i]!) });

      const now = new Date(base + 2 * 60_000 + 59_000);
      const got = await idx.laneLatency(a, b, 3, now);
      expect(got.map((g) => [g.t.getTime(), g.count])).toEqual([
        [base, 2],
        [base + 120_000, 3],
      ]);
      const lat = (i: number) => at[i]! - rows[i]!.createdAt.getTime();
      expect(Math.abs(got[0]!.p50 - (lat(0) + lat(1)) / 2)).toBeLessThanOrEqual(1);
      expect(Math.abs(got[1]!.p50 - lat(3))).toBeLessThanOrEqual(1);
      // A window of two minutes no longer holds minute `base`.
      expect((await idx.laneLatency(a, b, 2, now)).map((g) => g.count)).toEqual([3]);
      expect(await idx.laneLatency(b, a, 60, now)).toEqual([]);
      expect(await field(idx.laneLatency(a, b, 0, now))).toBe('buckets');
      expect(await field(idx.laneLatency('nope', b, 1, now))).toBe('srcChain');
    });
  });
});
