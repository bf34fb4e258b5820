import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId, messageToJson, type QiaoMessage } from '../../src/domain/message.ts';
import type { MessageStatus } from '../../src/domain/status.ts';
import { QiaoError, ValidationError } from '../../src/errors.ts';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex, SentRecord } from '../../src/index/types.ts';

const PG_URL = process.env.QIAO_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const UINT64_MAX = (1n << 64n) - 1n;
const INT8_MAX = (1n << 63n) - 1n;

const rnd = (n: number): Hex => `0x${randomBytes(n).toString('hex')}`;
const ADDR_A = rnd(20);
const ADDR_B = rnd(20);
const PORT = rnd(20);

// Every test works on chains of its own, so tests can share one index per backend.
let chainCounter = 1000;
const freshChain = (): ChainId => `eip155:${chainCounter++}` as ChainId;

function message(src: ChainId, dst: ChainId, nonce: bigint, over: Partial<QiaoMessage> = {}): QiaoMessage {
  return {
    version: 1,
    srcChain: src,
    srcPort: PORT,
    sender: ADDR_A,
    dstChain: dst,
    dstPort: PORT,
    receiver: ADDR_B,
    nonce,
    gasLimit: 200_000n,
    timeoutHeight: 0n,
    timeoutUnixSeconds: 0n,
    payload: rnd(8),
    ...over,
  };
}

function record(m: QiaoMessage, height = 10n, logIndex = 0): SentRecord {
  const encoded = encodeMessage(m);
  return { id: messageId(encoded), encoded, message: messageToJson(m), height, txHash: rnd(32), blockHash: rnd(32), logIndex };
}

function records(src: ChainId, dst: ChainId, n: number, over: Partial<QiaoMessage> = {}): SentRecord[] {
  return Array.from({ length: n }, (_, i) => record(message(src, dst, BigInt(i + 1), over), BigInt(100 + i), i));
}

async function validationField(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).field;
  }
  throw new Error('expected a ValidationError');
}

function registration(chainId: ChainId, over: Partial<ChainRegistration> = {}): ChainRegistration {
  return {
    chainId,
    family: 'evm',
    genesisHash: `0x${'AB'.repeat(32)}`,
    port: PORT,
    lightClient: 'local-dev',
    trustRoot: '0x',
    finality: { kind: 'depth', depth: 2 },
    endpoints: ['http://127.0.0.1:8545'],
    status: 'pending',
    ...over,
  };
}

const schema = `qiao_test_${randomBytes(6).toString('hex')}`;

async function dropSchema(): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

const backends = [
  { name: 'pglite', open: () => openIndex({}), cleanup: async () => {} },
  { name: 'postgres', open: () => openIndex({ databaseUrl: PG_URL, schema }), cleanup: dropSchema },
];

describe.each(backends)('MessageIndex on $name', ({ name, open, cleanup }) => {
  let idx: MessageIndex;

  beforeAll(async () => {
    idx = await open();
  });

  afterAll(async () => {
    await idx?.close();
    await cleanup();
  });

  it('reports its backend', () => {
    expect(idx.backend).toBe(name);
  });

  it('prunes only messages finished for good, before the cutoff, with their transitions', async () => {
    const src = freshChain();
    const dst = freshChain();
    const recs = records(src, dst, 4);
    await idx.recordSent(src, recs);
    const [done, quarantined, failed, open] = recs.map((r) => r.id) as [Hex, Hex, Hex, Hex];
    await idx.transition([done], 'delivered', { chain: dst });
    await idx.transition([quarantined], 'quarantined', { reason: 'proof_invalid:x' });
    await idx.transition([failed], 'failed', { reason: 'receiver reverted' });
    // Before the cutoff nothing is old enough.
    expect(await idx.pruneFinishedBefore(new Date(Date.now() - 3_600_000))).toBe(0);
    const pruned = await idx.pruneFinishedBefore(new Date(Date.now() + 60_000));
    expect(pruned).toBeGreaterThanOrEqual(2);
    expect(await idx.getMessage(done)).toBeNull();
    expect(await idx.timeline(done)).toEqual([]);
    expect(await idx.getMessage(quarantined)).toBeNull();
    expect((await idx.getMessage(failed))?.status).toBe('failed');
    expect((await idx.getMessage(open))?.status).toBe('sent');
    expect(await validationField(idx.pruneFinishedBefore(new Date('x')))).toBe('cutoff');
  });

  describe('lane counters', () => {
    it('follow sends, transitions and pruning, and agree with the messages', async () => {
      const src = freshChain();
      const dst = freshChain();
      const recs = records(src, dst, 5);
      await idx.recordSent(src, recs);
      // A replay changes nothing.
      await idx.recordSent(src, recs);
      const ids = recs.map((r) => r.id);
      await idx.transition(ids.slice(0, 4), 'verified');
      await idx.transition(ids.slice(0, 3), 'delivered', { chain: dst });
      // Not allowed from delivered: no move, no count change.
      await idx.transition(ids.slice(0, 1), 'verified');
      const lane = async () => (await idx.laneSummaries()).find((l) => l.srcChain === src && l.dstChain === dst)!;
      expect((await lane()).counts).toMatchObject({ sent: 1, verified: 1, delivered: 3 });
      expect((await lane()).total).toBe(5);
      const counted = await idx.countByStatus();
      expect(counted.delivered).toBeGreaterThanOrEqual(3);
      await idx.pruneFinishedBefore(new Date(Date.now() + 60_000));
      const after = await lane();
      expect(after.counts).toMatchObject({ sent: 1, verified: 1, delivered: 0 });
      expect(after.total).toBe(2);
    });

    it('concurrent transitions over one lane keep exact counts', async () => {
      const src = freshChain();
      const dst = freshChain();
      const recs = records(src, dst, 40);
      await idx.recordSent(src, recs);
      const ids = recs.map((r) => r.id);
      await Promise.all(Array.from({ length: 8 }, (_, k) => idx.transition(ids.filter((_, i) => i % 8 === k), 'verified')));
      await Promise.all(Array.from({ length: 4 }, (_, k) => idx.transition(ids.filter((_, i) => i % 4 === k && i < 20), 'delivered', { chain: dst })));
      const l = (await idx.laneSummaries()).find((x) => x.srcChain === src && x.dstChain === dst)!;
      expect(l.counts).toMatchObject({ sent: 0, verified: 20, delivered: 20 });
    });
  });

  it('keeps the send time a record carries (a rebuild passes the block time)', async () => {
    const src = freshChain();
    const dst = freshChain();
    const at = new Date('2026-01-02T03:04:05.000Z');
    const [r] = records(src, dst, 1);
    await idx.recordSent(src, [{ ...r!, at }]);
    expect((await idx.getMessage(r!.id))!.createdAt.getTime()).toBe(at.getTime());
    expect((await idx.timeline(r!.id))[0]!.at.getTime()).toBe(at.getTime());
    expect(await validationField(idx.recordSent(src, [{ ...records(src, dst, 1)[0]!, at: new Date('x') }]))).toBe('records[0].at');
  });

  describe('registry events', () => {
    const event = (subject: string, i: number, status: string | null = 'approved') => ({
      contract: 'ChainRegistry',
      kind: 'ChainStatusChanged',
      subject,
      status,
      data: { chainId: subject, status: '2', big: 1n },
      blockNumber: BigInt(100 + i),
      blockTime: new Date(1_700_000_000_000 + i * 1000),
      txHash: rnd(32),
      logIndex: i,
    });

    it('appends each log once and lists a subject\'s history in chain order', async () => {
      const a = freshChain();
      const b = freshChain();
      const evs = [event(a, 0, 'pending'), event(b, 1, 'pending'), event(a, 2, 'approved'), event(a, 3, 'suspended')];
      expect(await idx.recordRegistryEvents(evs)).toBe(4);
      expect(await idx.recordRegistryEvents(evs)).toBe(0);
      const hist = await idx.registryEvents({ subject: a });
      expect(hist.map((e) => e.status)).toEqual(['pending', 'approved', 'suspended']);
      expect(hist[0]).toMatchObject({ contract: 'ChainRegistry', kind: 'ChainStatusChanged', subject: a, blockNumber: '100', logIndex: 0, data: { chainId: a, status: '2', big: '1' } });
      expect(hist[0]!.blockTime.getTime()).toBe(1_700_000_000_000);
      const page = await idx.registryEvents({ subject: a, afterSeq: hist[0]!.seq, limit: 1 });
      expect(page.map((e) => e.status)).toEqual(['approved']);
      expect(await validationField(idx.recordRegistryEvents([{ ...event(a, 9), kind: 'bad kind' }]))).toBe('events[0].kind');
      expect(await validationField(idx.recordRegistryEvents([{ ...event(a, 9), txHash: '0x12' as Hex }]))).toBe('events[0].txHash');
      expect(await validationField(idx.registryEvents({ limit: 0 }))).toBe('limit');
    });
  });

  describe('chains', () => {
    it('upserts, reads and lists registrations', async () => {
      const a = freshChain();
      const b = freshChain();
      expect(await idx.getChain(a)).toBeNull();
      await idx.upsertChain(registration(b));
      await idx.upsertChain(registration(a));
      const got = await idx.getChain(a);
      expect(got).toMatchObject({ ...registration(a), genesisHash: `0x${'ab'.repeat(32)}`, port: PORT.toLowerCase() });
      expect(got?.updatedAt).toBeInstanceOf(Date);

      await idx.upsertChain(registration(a, { status: 'approved', endpoints: ['http://a', 'http://b'], finality: { kind: 'instant' } }));
      expect(await idx.getChain(a)).toMatchObject({ status: 'approved', endpoints: ['http://a', 'http://b'], finality: { kind: 'instant' } });

      const listed = (await idx.listChains()).map((c) => c.chainId);
      expect(listed.indexOf(a)).toBeGreaterThanOrEqual(0);
      expect(listed.indexOf(a)).toBeLessThan(listed.indexOf(b));
      expect(listed.filter((c) => c === a)).toHaveLength(1);
    });

    it('rejects malformed registrations and ids', async () => {
      expect(await validationField(idx.getChain('not a chain'))).toBe('chainId');
      expect(await validationField(idx.upsertChain(registration(freshChain(), { family: 'bitcoin' as never })))).toBe('chain.family');
      expect(await validationField(idx.upsertChain(registration(freshChain(), { genesisHash: '0xzz' as Hex })))).toBe('chain.genesisHash');
    });
  });

  describe('recordSent', () => {
    it('stores messages with status sent and a sent transition, as the interface spells rows', async () => {
      const src = freshChain();
      const dst = freshChain();
      const m = message(src, dst, UINT64_MAX);
      const r = { ...record(m, INT8_MAX, 3), txHash: `0x${'CD'.repeat(32)}` as Hex };
      expect(await idx.recordSent(src, [r])).toEqual([r.id]);

      const row = await idx.getMessage(r.id);
      expect(row).toMatchObject({
        id: r.id,
        encoded: r.encoded,
        srcChain: src,
        dstChain: dst,
        sender: ADDR_A,
        receiver: ADDR_B,
        nonce: UINT64_MAX.toString(),
        status: 'sent',
        reason: null,
        srcTxHash: `0x${'cd'.repeat(32)}`,
        srcHeight: INT8_MAX.toString(),
        dstTxHash: null,
        batchNo: null,
      });
      expect(row?.message).toEqual(messageToJson(m));
      expect(row?.createdAt).toBeInstanceOf(Date);
      expect(row?.updatedAt).toBeInstanceOf(Date);

      const tl = await idx.timeline(r.id);
      expect(tl).toHaveLength(1);
      expect(tl[0]).toMatchObject({ messageId: r.id, status: 'sent', chain: src, height: INT8_MAX.toString(), txHash: `0x${'cd'.repeat(32)}` });
      expect(tl[0]?.proof).toEqual({ blockHash: r.blockHash, logIndex: 3 });
      expect(typeof tl[0]?.seq).toBe('string');
    });

    it('is idempotent and returns only the new ids, in input order', async () => {
      const src = freshChain();
      const dst = freshChain();
      const [a, b, c] = records(src, dst, 3);
      expect(await idx.recordSent(src, [a!, b!])).toEqual([a!.id, b!.id]);
      expect(await idx.recordSent(src, [a!, b!])).toEqual([]);
      expect(await idx.recordSent(src, [c!, a!, c!, b!])).toEqual([c!.id]);
      for (const r of [a!, b!, c!]) expect(await idx.timeline(r.id)).toHaveLength(1);
      expect(await idx.recordSent(src, [])).toEqual([]);
    });

    it('takes many records in one call and concurrent replays insert each once', async () => {
      const src = freshChain();
      const dst = freshChain();
      const many = records(src, dst, 1200);
      const results = await Promise.all([idx.recordSent(src, many), idx.recordSent(src, many), idx.recordSent(src, many.slice(0, 600))]);
      const all = results.flat();
      expect(all).toHaveLength(1200);
      expect(new Set(all).size).toBe(1200);
      const page = await idx.listMessages({ srcChain: src, limit: 500 });
      expect(page.items).toHaveLength(500);
      expect(page.nextCursor).not.toBeNull();
      const tl = await idx.timeline(many[1199]!.id);
      expect(tl.map((t) => t.status)).toEqual(['sent']);
    });

    it('refuses an id that is not keccak256 of the bytes, or a message from another chain', async () => {
      const src = freshChain();
      const dst = freshChain();
      const [a, b] = records(src, dst, 2);
      expect(await validationField(idx.recordSent(src, [a!, { ...b!, id: a!.id }]))).toBe('records[1].id');
      expect(await validationField(idx.recordSent(freshChain(), [a!]))).toBe('records[0].message.srcChain');
      expect(await validationField(idx.recordSent(src, [{ ...a!, height: -1n }]))).toBe('records[0].height');
      expect(await validationField(idx.recordSent('nope', [a!]))).toBe('chain');
      // Nothing of a refused call was written.
      expect(await idx.getMessage(a!.id)).toBeNull();
    });
  });

  describe('transition', () => {
    it('moves forward only, records evidence, and ignores replays and illegal moves', async () => {
      const src = freshChain();
      const dst = freshChain();
      const [a, b] = records(src, dst, 2);
      await idx.recordSent(src, [a!, b!]);
      const unknown = rnd(32);

      expect(await idx.transition([b!.id, a!.id, unknown], 'verified', { chain: src, height: 12n, proof: { kind: 'evm', n: 5n, raw: new Uint8Array([1, 2]) } })).toEqual([
        b!.id,
        a!.id,
      ]);
      expect(await idx.transition([a!.id], 'verified')).toEqual([]);
      const at = new Date('2026-01-02T03:04:05.000Z');
      expect(await idx.transition([a!.id], 'committed', { batchNo: 7n, txHash: rnd(32), height: 40n, at })).toEqual([a!.id]);
      // Backwards, and quarantine after commit: both refused.
      expect(await idx.transition([a!.id], 'verified')).toEqual([]);
      expect(await idx.transition([a!.id], 'quarantined', { reason: 'late' })).toEqual([]);
      expect(await idx.transition([b!.id], 'quarantined', { reason: 'forged proof' })).toEqual([b!.id]);
      // Terminal: nothing moves a quarantined message.
      expect(await idx.transition([b!.id], 'delivered')).toEqual([]);

      const ra = await idx.getMessage(a!.id);
      expect(ra).toMatchObject({ status: 'committed', batchNo: '7', reason: null });
      const rb = await idx.getMessage(b!.id);
      expect(rb).toMatchObject({ status: 'quarantined', reason: 'forged proof', batchNo: null });

      const tl = await idx.timeline(a!.id);
      expect(tl.map((t) => t.status)).toEqual(['sent', 'verified', 'committed']);
      expect(tl[1]).toMatchObject({ chain: src, height: '12', proof: { kind: 'evm', n: '5', raw: '0x0102' } });
      expect(tl[2]).toMatchObject({ height: '40', at });
      expect(tl.map((t) => BigInt(t.seq))).toEqual([...tl.map((t) => BigInt(t.seq))].sort((x, y) => (x < y ? -1 : 1)));
      expect((await idx.timeline(b!.id)).map((t) => t.status)).toEqual(['sent', 'verified', 'quarantined']);
    });

    it('lets a failed message be delivered, keeps the reason, and records the destination tx', async () => {
      const src = freshChain();
      const dst = freshChain();
      const [a] = records(src, dst, 1);
      await idx.recordSent(src, [a!]);
      for (const s of ['verified', 'committed', 'attested'] as MessageStatus[]) expect(await idx.transition([a!.id], s)).toEqual([a!.id]);
      expect(await idx.transition([a!.id], 'failed', { reason: 'receiver reverted', chain: dst })).toEqual([a!.id]);
      expect(await idx.getMessage(a!.id)).toMatchObject({ status: 'failed', reason: 'receiver reverted' });
      const tx = `0x${'EF'.repeat(32)}` as Hex;
      await idx.setDstTx(a!.id, tx);
      expect(await idx.transition([a!.id], 'delivered', { chain: dst, txHash: tx })).toEqual([a!.id]);
      expect(await idx.transition([a!.id], 'acknowledged')).toEqual([a!.id]);
      expect(await idx.transition([a!.id], 'refunded')).toEqual([]);
      expect(await idx.getMessage(a!.id)).toMatchObject({ status: 'acknowledged', dstTxHash: `0x${'ef'.repeat(32)}` });
      expect((await idx.timeline(a!.id)).map((t) => t.status)).toEqual(['sent', 'verified', 'committed', 'attested', 'failed', 'delivered', 'acknowledged']);
    });

    it('moves each message once under concurrent transitions', async () => {
      const src = freshChain();
      const dst = freshChain();
      const rs = records(src, dst, 40);
      await idx.recordSent(src, rs);
      const ids = rs.map((r) => r.id);
      const moved = await Promise.all([
        idx.transition(ids, 'verified'),
        idx.transition([...ids].reverse(), 'verified'),
        idx.transition(ids.slice(10, 30), 'verified'),
      ]);
      expect(moved.flat().sort()).toEqual([...ids].sort());
      for (const id of [ids[0]!, ids[15]!, ids[39]!]) expect((await idx.timeline(id)).map((t) => t.status)).toEqual(['sent', 'verified']);
    });

    it('validates its inputs', async () => {
      expect(await validationField(idx.transition([rnd(32)], 'lost' as MessageStatus))).toBe('status');
      expect(await validationField(idx.transition(['0x12' as Hex], 'verified'))).toBe('ids[0]');
      expect(await validationField(idx.transition([rnd(32)], 'verified', { height: -1n }))).toBe('evidence.height');
      expect(await idx.transition([], 'verified')).toEqual([]);
    });
  });

  describe('reads', () => {
    it('getMessage/getMessages/timeline: unknown ids and bad ids', async () => {
      const src = freshChain();
      const [a, b] = records(src, freshChain(), 2);
      await idx.recordSent(src, [a!, b!]);
      expect(await idx.getMessage(rnd(32))).toBeNull();
      expect(await idx.timeline(rnd(32))).toEqual([]);
      expect((await idx.getMessages([b!.id, rnd(32), a!.id])).map((m) => m.id)).toEqual([b!.id, a!.id]);
      expect(await idx.getMessage(a!.id.toUpperCase().replace('0X', '0x'))).toMatchObject({ id: a!.id });
      expect(await validationField(idx.getMessage('0x1234'))).toBe('id');
    });

    it('messagesByStatus: oldest first, by destination, unbatched only', async () => {
      const src = freshChain();
      const d1 = freshChain();
      const d2 = freshChain();
      const one = records(src, d1, 3);
      const two = records(src, d2, 2, { sender: rnd(20) });
      await idx.recordSent(src, [one[0]!, two[0]!, one[1]!, two[1]!, one[2]!]);
      await idx.transition([...one, ...two].map((r) => r.id), 'verified');
      await idx.transition([one[0]!.id], 'committed', { batchNo: 99n });

      expect((await idx.messagesByStatus('verified', 10, { dstChain: d1 })).map((m) => m.id)).toEqual([one[1]!.id, one[2]!.id]);
      expect((await idx.messagesByStatus('committed', 10, { dstChain: d1 })).map((m) => m.id)).toEqual([one[0]!.id]);
      expect((await idx.messagesByStatus('committed', 10, { dstChain: d1, unbatched: true })).map((m) => m.id)).toEqual([]);
      expect((await idx.messagesByStatus('verified', 1, { dstChain: d2, unbatched: true })).map((m) => m.id)).toEqual([two[0]!.id]);
      const all = await idx.messagesByStatus('verified', 10_000);
      const mine = all.filter((m) => m.srcChain === src).map((m) => m.id);
      expect(mine).toEqual([two[0]!.id, one[1]!.id, two[1]!.id, one[2]!.id]);
      expect(await validationField(idx.messagesByStatus('verified', 0))).toBe('limit');
      expect(await validationField(idx.messagesByStatus('nope' as MessageStatus, 1))).toBe('status');
    });

    it('messagesByStatus withTimeout: only messages with a height or time timeout, found behind any number without', async () => {
      const src = freshChain();
      const dst = freshChain();
      const none = records(src, dst, 5);
      const byHeight = record(message(src, dst, 6n, { timeoutHeight: 2n ** 64n - 1n }), 106n, 5);
      const byTime = record(message(src, dst, 7n, { timeoutUnixSeconds: 1_900_000_000n }), 107n, 6);
      await idx.recordSent(src, [...none, byHeight, byTime]);
      await idx.transition([...none, byHeight, byTime].map((r) => r.id), 'verified');
      const got = await idx.messagesByStatus('verified', 2, { dstChain: dst, withTimeout: true });
      expect(got.map((m) => m.id)).toEqual([byHeight.id, byTime.id]);
      expect(got[0]!.message.timeoutHeight).toBe((2n ** 64n - 1n).toString());
      expect((await idx.messagesByStatus('verified', 2, { dstChain: dst })).map((m) => m.id)).toEqual([none[0]!.id, none[1]!.id]);
      expect(await idx.messagesByStatus('sent', 10, { dstChain: dst, withTimeout: true })).toEqual([]);
    });

    it('countByStatus counts every status', async () => {
      const before = await idx.countByStatus();
      expect(Object.keys(before).sort()).toEqual(
        ['acknowledged', 'attested', 'committed', 'delivered', 'failed', 'quarantined', 'refunded', 'sent', 'timed_out', 'verified'],
      );
      const src = freshChain();
      const rs = records(src, freshChain(), 3);
      await idx.recordSent(src, rs);
      await idx.transition([rs[0]!.id], 'verified');
      const after = await idx.countByStatus();
      expect(after.sent! - before.sent!).toBe(2);
      expect(after.verified! - before.verified!).toBe(1);
    });
  });

  describe('listMessages', () => {
    const src = freshChain();
    const dst = freshChain();
    const other = freshChain();
    const sender2 = rnd(20);
    const receiver2 = rnd(20);
    // Insertion order: out[0] oldest.
    const out = records(src, dst, 5);
    const back = records(dst, src, 2, { sender: sender2 });
    const side = records(src, other, 2, { receiver: receiver2 });

    beforeAll(async () => {
      await idx.recordSent(src, [out[0]!, out[1]!, side[0]!]);
      await idx.recordSent(dst, [back[0]!]);
      await idx.recordSent(src, [out[2]!, out[3]!, out[4]!, side[1]!]);
      await idx.recordSent(dst, [back[1]!]);
      await idx.transition([out[1]!.id, back[1]!.id], 'verified');
    });

    const ids = (p: { items: { id: Hex }[] }) => p.items.map((m) => m.id);

    it('lists newest first with each filter', async () => {
      expect(ids(await idx.listMessages({ srcChain: src }))).toEqual(
        [out[0], out[1], side[0], out[2], out[3], out[4], side[1]].reverse().map((r) => r!.id),
      );
      expect(ids(await idx.listMessages({ dstChain: dst }))).toEqual([out[4], out[3], out[2], out[1], out[0]].map((r) => r!.id));
      expect(ids(await idx.listMessages({ chain: dst }))).toEqual(
        [out[0], out[1], back[0], out[2], out[3], out[4], back[1]].reverse().map((r) => r!.id),
      );
      expect(ids(await idx.listMessages({ chain: other }))).toEqual([side[1]!.id, side[0]!.id]);
      expect(ids(await idx.listMessages({ srcChain: src, dstChain: other }))).toEqual([side[1]!.id, side[0]!.id]);
      expect(ids(await idx.listMessages({ chain: src, status: 'verified' }))).toEqual([back[1]!.id, out[1]!.id]);
      expect(ids(await idx.listMessages({ sender: sender2 }))).toEqual([back[1]!.id, back[0]!.id]);
      expect(ids(await idx.listMessages({ sender: sender2.toUpperCase().replace('0X', '0x') }))).toEqual([back[1]!.id, back[0]!.id]);
      expect(ids(await idx.listMessages({ receiver: receiver2 }))).toEqual([side[1]!.id, side[0]!.id]);
      const verified = await idx.listMessages({ status: 'verified', limit: 500 });
      expect(verified.items.every((m) => m.status === 'verified')).toBe(true);
      expect(ids(verified)).toEqual(expect.arrayContaining([back[1]!.id, out[1]!.id]));
    });

    it('pages with an opaque cursor until nextCursor is null', async () => {
      const expected = [out[0], out[1], back[0], out[2], out[3], out[4], back[1]].reverse().map((r) => r!.id);
      const seen: Hex[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const p = await idx.listMessages({ chain: dst, limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...ids(p));
        cursor = p.nextCursor ?? undefined;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(expected);
    });

    it('gives no cursor on an exactly full last page, and an empty page for nothing', async () => {
      const first = await idx.listMessages({ dstChain: dst, limit: 5 });
      expect(first.items).toHaveLength(5);
      expect(first.nextCursor).toBeNull();
      const twoPages = await idx.listMessages({ srcChain: src, limit: 4 });
      expect(twoPages.nextCursor).not.toBeNull();
      const last = await idx.listMessages({ srcChain: src, limit: 4, cursor: twoPages.nextCursor! });
      expect(last.items).toHaveLength(3);
      expect(last.nextCursor).toBeNull();
      expect(await idx.listMessages({ chain: freshChain() })).toEqual({ items: [], nextCursor: null });
      expect(await idx.listMessages({ sender: rnd(20), limit: 1 })).toEqual({ items: [], nextCursor: null });
    });

    it('defaults to 50 per page', async () => {
      const s = freshChain();
      await idx.recordSent(s, records(s, dst, 51));
      const p = await idx.listMessages({ srcChain: s });
      expect(p.items).toHaveLength(50);
      const rest = await idx.listMessages({ srcChain: s, cursor: p.nextCursor! });
      expect(rest.items).toHaveLength(1);
      expect(rest.nextCursor).toBeNull();
    });

    it('rejects bad cursors, limits and statuses, naming the field', async () => {
      for (const cursor of ['', 'abc', '!!!', Buffer.from('0').toString('base64url'), Buffer.from('-4').toString('base64url'), Buffer.from('12a').toString('base64url'), `${Buffer.from('12').toString('base64url')}=`, Buffer.from('99999999999999999999').toString('base64url')]) {
        expect(await validationField(idx.listMessages({ cursor }))).toBe('cursor');
      }
      for (const limit of [0, 501, 1.5, Number.NaN, -1, '10' as unknown as number]) {
        expect(await validationField(idx.listMessages({ limit }))).toBe('limit');
      }
      expect(await validationField(idx.listMessages({ status: 'lost' as MessageStatus }))).toBe('status');
      expect(await validationField(idx.listMessages({ chain: '' }))).toBe('chain');
    });
  });

  describe('batches and attestations', () => {
    it('creates batches write-ahead, moves them forward only, and finds them by status', async () => {
      expect(await idx.lastBatchNo()).toBeNull();
      const ids = [rnd(32), rnd(32)];
      const root = rnd(32);
      await idx.createBatch(1n, root, ids);
      await idx.createBatch(1n, root, ids); // replay
      await idx.createBatch(2n, rnd(32), [rnd(32)]);
      expect(await idx.lastBatchNo()).toBe(2n);
      const b = await idx.getBatch(1n);
      expect(b).toMatchObject({ batchNo: '1', root, ids, status: 'pending', govTxHash: null, govHeight: null });
      expect(b?.createdAt).toBeInstanceOf(Date);
      expect(await idx.getBatch(3n)).toBeNull();

      await expect(idx.createBatch(1n, rnd(32), ids)).rejects.toSatisfy((e: unknown) => e instanceof QiaoError && e.code === 'batch_conflict');

      const tx = rnd(32);
      await idx.markBatch(1n, 'committed', { txHash: tx, height: 77n });
      expect(await idx.getBatch(1n)).toMatchObject({ status: 'committed', govTxHash: tx, govHeight: '77' });
      expect((await idx.batchesWithStatus('pending')).map((x) => x.batchNo)).toEqual(['2']);
      expect((await idx.batchesWithStatus('committed')).map((x) => x.batchNo)).toEqual(['1']);
      await idx.markBatch(1n, 'attested');
      await idx.markBatch(1n, 'committed', { txHash: rnd(32) }); // a replay does not move it back
      expect(await idx.getBatch(1n)).toMatchObject({ status: 'attested', govTxHash: tx, govHeight: '77' });
      await idx.markBatch(2n, 'attested');
      expect((await idx.batchesWithStatus('attested', 1)).map((x) => x.batchNo)).toEqual(['1']);

      expect(await validationField(idx.markBatch(42n, 'committed'))).toBe('batchNo');
      expect(await validationField(idx.markBatch(1n, 'done' as never))).toBe('status');
      expect(await validationField(idx.createBatch(-1n, root, ids))).toBe('batchNo');
    });

    it('finds batches from a number on, and the batches whose messages still wait in a status', async () => {
      const src = freshChain();
      const dst = freshChain();
      const [a, b, c] = records(src, dst, 3);
      await idx.recordSent(src, [a!, b!, c!]);
      const base = ((await idx.lastBatchNo()) ?? 0n) + 100n;
      await idx.createBatch(base, rnd(32), [a!.id, b!.id]);
      await idx.createBatch(base + 1n, rnd(32), [c!.id]);
      await idx.createBatch(base + 2n, rnd(32), [rnd(32)]);
      for (const n of [base, base + 1n, base + 2n]) await idx.markBatch(n, 'attested');
      expect((await idx.batchesWithStatus('attested', 10_000, { fromBatchNo: base + 1n })).map((x) => x.batchNo)).toEqual([String(base + 1n), String(base + 2n)]);
      expect((await idx.batchesWithStatus('attested', 1, { fromBatchNo: base + 2n })).map((x) => x.batchNo)).toEqual([String(base + 2n)]);
      const ids = [a!.id, b!.id, c!.id];
      await idx.transition(ids, 'verified');
      await idx.transition([a!.id, b!.id], 'committed', { batchNo: base });
      await idx.transition([c!.id], 'committed', { batchNo: base + 1n });
      await idx.transition(ids, 'attested');
      expect((await idx.batchNosWithMessagesIn('attested')).filter((n) => n >= base)).toEqual([base, base + 1n]);
      await idx.transition([a!.id], 'delivered', { chain: dst });
      expect((await idx.batchNosWithMessagesIn('attested')).filter((n) => n >= base)).toEqual([base, base + 1n]);
      await idx.transition([b!.id, c!.id], 'delivered', { chain: dst });
      expect((await idx.batchNosWithMessagesIn('attested')).filter((n) => n >= base)).toEqual([]);
      expect(await validationField(idx.batchNosWithMessagesIn('gone' as never))).toBe('status');
    });

    it('stores one attestation per (root type, batch, attestor)', async () => {
      const a1 = rnd(20);
      const a2 = rnd(20);
      const sig = rnd(65);
      await idx.addAttestation({ batchNo: 5n, rootType: 1, setId: UINT64_MAX, attestor: a1, signature: sig });
      await idx.addAttestation({ batchNo: 5n, rootType: 1, setId: UINT64_MAX, attestor: a1, signature: rnd(65) }); // ignored
      await idx.addAttestation({ batchNo: 5n, rootType: 1, setId: 1n, attestor: a2, signature: rnd(65) });
      await idx.addAttestation({ batchNo: 5n, rootType: 2, setId: 1n, attestor: a1, signature: rnd(65) });
      await idx.addAttestation({ batchNo: 6n, rootType: 1, setId: 1n, attestor: a1, signature: rnd(65) });
      const all = await idx.attestations(5n);
      expect(all).toHaveLength(3);
      const mine = (await idx.attestations(5n, 1)).find((a) => a.attestor === a1);
      expect(mine).toMatchObject({ batchNo: '5', rootType: 1, setId: UINT64_MAX.toString(), signature: sig });
      expect(mine?.createdAt).toBeInstanceOf(Date);
      expect((await idx.attestations(5n, 2)).map((a) => a.attestor)).toEqual([a1]);
      expect(await idx.attestations(8n)).toEqual([]);
      expect(await validationField(idx.addAttestation({ batchNo: 5n, rootType: 1, setId: 1n, attestor: a1, signature: '0xq' as Hex }))).toBe('signature');
    });
  });

  describe('checkpoints', () => {
    it('only move forward', async () => {
      const c = freshChain();
      expect(await idx.getCheckpoint(c)).toBeNull();
      await idx.setCheckpoint(c, 10n);
      await idx.setCheckpoint(c, 9n);
      expect(await idx.getCheckpoint(c)).toBe(10n);
      await idx.setCheckpoint(c, 10n);
      await idx.setCheckpoint(c, INT8_MAX);
      expect(await idx.getCheckpoint(c)).toBe(INT8_MAX);
      expect(await validationField(idx.setCheckpoint(c, -1n))).toBe('height');
      expect(await validationField(idx.setCheckpoint(c, 1n << 63n))).toBe('height');
    });
  });

  describe('lane nonces', () => {
    const lane = (srcChain: string, dstChain: string) => (nonce: bigint) => ({ srcChain, srcPort: PORT, dstChain, nonce });

    it('keeps the highest contiguous nonce, reports each hole once, ignores duplicates', async () => {
      const src = freshChain();
      const l = lane(src, freshChain());
      expect(await idx.recordLaneNonces([3n, 1n, 2n].map(l))).toEqual([]);
      expect(await idx.recordLaneNonces([3n, 4n, 4n].map(l))).toEqual([]);

      const gaps = await idx.recordLaneNonces([6n].map(l));
      expect(gaps).toHaveLength(1);
      expect(gaps[0]).toMatchObject({ srcChain: src, srcPort: PORT.toLowerCase(), expected: '5', seen: '6' });
      expect(gaps[0]?.detectedAt).toBeInstanceOf(Date);
      // The late nonce fills the hole: nothing new to report, and 7 follows on.
      expect(await idx.recordLaneNonces([5n, 7n].map(l))).toEqual([]);
      expect(await idx.recordLaneNonces([9n, 8n].map(l))).toEqual([]);
      expect(await idx.recordLaneNonces([8n, 9n, 6n].map(l))).toEqual([]);

      const two = await idx.recordLaneNonces([12n, 10n, 15n].map(l));
      expect(two.map((g) => [g.expected, g.seen])).toEqual([
        ['11', '12'],
        ['13', '15'],
      ]);
      // A replay of the same observation reports nothing again.
      expect(await idx.recordLaneNonces([12n, 10n, 15n].map(l))).toEqual([]);
      // Still missing 11, 13, 14: the next message is not a new gap.
      expect(await idx.recordLaneNonces([16n].map(l))).toEqual([]);
      const all = (await idx.nonceGaps()).filter((g) => g.srcChain === src);
      expect(all.map((g) => [g.expected, g.seen])).toEqual([
        ['5', '6'],
        ['11', '12'],
        ['13', '15'],
      ]);
    });

    it('tracks lanes separately, in one call', async () => {
      const src = freshChain();
      const a = lane(src, freshChain());
      const b = lane(src, freshChain());
      const gaps = await idx.recordLaneNonces([a(1n), b(2n), a(2n), b(1n), a(4n)]);
      expect(gaps.map((g) => [g.dstChain, g.expected, g.seen])).toEqual([[a(0n).dstChain, '3', '4']]);
      expect(await idx.recordLaneNonces([b(3n)])).toEqual([]);
      expect(await idx.recordLaneNonces([])).toEqual([]);
      expect(await validationField(idx.recordLaneNonces([a(0n)]))).toBe('entries[0].nonce');
    });
  });

  describe('lane holds', () => {
    it('keeps one row per lane: upserts refresh prices and count but keep since, clear removes it', async () => {
      const src = freshChain();
      const dst = freshChain();
      const other = freshChain();
      const since = new Date('2026-01-02T03:04:05.000Z');
      const big = (1n << 256n) - 1n;
      const mine = async () => (await idx.laneHolds()).filter((h) => h.srcChain === src);
      expect(await idx.laneHolds({ srcChain: src, dstChain: dst })).toEqual([]);
      await idx.setLaneHold({ srcChain: src, dstChain: dst, maxDstGasPrice: 50n * 10n ** 9n, gasPrice: 80n * 10n ** 9n, waiting: 2, since });
      await idx.setLaneHold({ srcChain: src, dstChain: other, maxDstGasPrice: 1n, gasPrice: big, waiting: 0, since });
      const first = await mine();
      expect(first).toEqual([
        { srcChain: src, dstChain: dst, maxDstGasPrice: '50000000000', gasPrice: '80000000000', waiting: 2, since, updatedAt: expect.any(Date) },
        { srcChain: src, dstChain: other, maxDstGasPrice: '1', gasPrice: big.toString(), waiting: 0, since, updatedAt: expect.any(Date) },
      ].sort((a, b) => (a.dstChain < b.dstChain ? -1 : 1)));

      // A later check (any process, its own since): new prices and count, the first since.
      await idx.setLaneHold({ srcChain: src, dstChain: dst, maxDstGasPrice: 60n, gasPrice: 90n, waiting: 5, since: new Date() });
      expect(await idx.laneHolds({ srcChain: src, dstChain: dst })).toEqual([
        { srcChain: src, dstChain: dst, maxDstGasPrice: '60', gasPrice: '90', waiting: 5, since, updatedAt: expect.any(Date) },
      ]);

      expect(await idx.clearLaneHold(src, dst)).toBe(true);
      expect(await idx.clearLaneHold(src, dst)).toBe(false);
      expect((await mine()).map((h) => h.dstChain)).toEqual([other]);
      expect(await idx.clearLaneHold(src, other)).toBe(true);
      expect(await mine()).toEqual([]);
    });

    it('validates every field', async () => {
      const ok = { srcChain: freshChain(), dstChain: freshChain(), maxDstGasPrice: 1n, gasPrice: 2n, waiting: 1, since: new Date() };
      expect(await validationField(idx.setLaneHold({ ...ok, srcChain: 'nope' }))).toBe('srcChain');
      expect(await validationField(idx.setLaneHold({ ...ok, dstChain: '' }))).toBe('dstChain');
      expect(await validationField(idx.setLaneHold({ ...ok, maxDstGasPrice: -1n }))).toBe('maxDstGasPrice');
      expect(await validationField(idx.setLaneHold({ ...ok, gasPrice: 1n << 256n }))).toBe('gasPrice');
      expect(await validationField(idx.setLaneHold({ ...ok, gasPrice: 5 as unknown as bigint }))).toBe('gasPrice');
      expect(await validationField(idx.setLaneHold({ ...ok, waiting: 1.5 }))).toBe('waiting');
      expect(await validationField(idx.setLaneHold({ ...ok, since: new Date('x') }))).toBe('since');
      expect(await validationField(idx.setLaneHold(null as never))).toBe('hold');
      expect(await validationField(idx.clearLaneHold('x', ok.dstChain))).toBe('srcChain');
      expect(await validationField(idx.laneHolds({ srcChain: ok.srcChain, dstChain: 'x' }))).toBe('dstChain');
      expect(await idx.laneHolds({ srcChain: ok.srcChain, dstChain: ok.dstChain })).toEqual([]);
    });
  });

  if (name === 'postgres') {
    it('keeps its tables in its own schema', async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        const r = await c.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema]);
        expect(r.rows.map((x) => x.table_name)).toEqual(
          expect.arrayContaining(['attestations', 'batches', 'chains', 'checkpoints', 'lane_nonces', 'messages', 'nonce_gaps', 'transitions']),
        );
      } finally {
        await c.end();
      }
    });
  }
});

describe('openIndex', () => {
  it('persists PGlite across close and reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-index-'));
    try {
      const src = freshChain();
      const [a] = records(src, freshChain(), 1);
      const first = await openIndex({ dataDir: join(dir, 'index') });
      await first.recordSent(src, [a!]);
      await first.transition([a!.id], 'verified', { chain: src });
      await first.setCheckpoint(src, 123n);
      await first.close();
      await first.close(); // twice is harmless
      await expect(first.getCheckpoint(src)).rejects.toThrow();

      const second = await openIndex({ dataDir: join(dir, 'index') });
      try {
        expect(await second.getMessage(a!.id)).toMatchObject({ status: 'verified' });
        expect((await second.timeline(a!.id)).map((t) => t.status)).toEqual(['sent', 'verified']);
        expect(await second.getCheckpoint(src)).toBe(123n);
        expect(await second.recordSent(src, [a!])).toEqual([]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad schema name and reports an unreachable server', async () => {
    expect(await validationField(openIndex({ schema: 'x; drop table y' }))).toBe('schema');
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
      });
    });
    await expect(openIndex({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/test` })).rejects.toSatisfy(
      (e: unknown) => e instanceof QiaoError && e.code === 'index_open_failed' && e.cause !== undefined,
    );
  });
});
