import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { startOwnRedis, type OwnRedis } from '../helpers/own-redis.ts';
import { deployBulkSender, onChainDeliveries, receivedCount, sendBulk, timesReceived, type DemoEnd } from '../helpers/relay-chaos.ts';
import { until } from '../helpers/services.ts';

const FIRST = 300;
const WHILE_DOWN = 200;

/**
 * Redis is where BullMQ keeps every stage's jobs. The test runs its own
 * redis-server (append-only file, fsync on every write), a hub on it
 * (BullMQ + PostgreSQL), SIGKILLs Redis while messages are between stages,
 * sends more while it is down, and restarts it on the same port and folder:
 * the destination chains must show every message delivered, none twice.
 */
describe('SIGKILL of Redis mid-run (appendonly yes)', () => {
  let dir: string;
  let redis: OwnRedis;
  let t: TestHub;
  const ends: DemoEnd[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-redis-kill-'));
    redis = await startOwnRedis(dir);
    t = await startTestHub({ queue: 'bullmq', index: 'postgres', config: { redisUrl: redis.url, relayer: { pollIntervalMs: 100, batchDelayMs: 50 } } });
    for (const c of t.hub.demo!.chains) ends.push({ chainId: c.chainId, port: c.port, receiver: c.receiver, provider: makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 }) });
  }, 120_000);

  afterAll(async () => {
    for (const e of ends) e.provider.destroy();
    await t?.stop();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loses nothing and duplicates nothing across a Redis SIGKILL and restart', async () => {
    const artifacts = await portArtifacts();
    const [a, b] = ends as [DemoEnd, DemoEnd];
    const base = [await receivedCount(artifacts, a), await receivedCount(artifacts, b)] as const;
    const [bulkA, bulkB] = await Promise.all([deployBulkSender(a.provider), deployBulkSender(b.provider)]);
    const t0 = Date.now();
    const first = await sendBulk(bulkA, a, b, FIRST);
    // Kill while messages sit between stages (committed or attested: their next jobs live only in Redis).
    const atKillIndex = await until(async () => {
      const c = await t.hub.index.countByStatus();
      return (c.committed ?? 0) + (c.attested ?? 0) > 0 ? c : null;
    }, { timeoutMs: 90_000, intervalMs: 25, what: 'messages between commit and delivery' });
    const atKill = (await receivedCount(artifacts, b)) - base[1];
    const oldPid = redis.pid();
    await redis.kill();
    const killedAt = Date.now();
    // Sources keep sending while the queues are gone.
    const down = await Promise.all([sendBulk(bulkA, a, b, WHILE_DOWN, { firstSeq: FIRST }), sendBulk(bulkB, b, a, WHILE_DOWN, { firstSeq: 10_000 })]);
    // Stay down until those sends are final at the sources (depth 2) and then some: the watchers found them with no queue to put them in.
    for (const [e, sends] of [[a, down[0]], [b, down[1]]] as const) {
      const last = Math.max(...sends.map((s) => s.block));
      await until(async () => (await e.provider.getBlockNumber()) >= last + 4, { timeoutMs: 30_000, intervalMs: 200, what: 'the down-time sends final' });
    }
    const deliveredWhileDown = (await receivedCount(artifacts, b)) - base[1] - atKill;
    await redis.restart();
    const downMs = Date.now() - killedAt;
    expect(redis.pid()).not.toBe(oldPid);
    expect((await readdir(dir)).some((f) => f.startsWith('appendonly'))).toBe(true);

    const toB: Hex[] = [...first, ...down[0]].map((s) => s.id);
    const toA: Hex[] = down[1].map((s) => s.id);
    expect(atKill).toBeLessThan(toB.length);
    await until(async () => (await receivedCount(artifacts, b)) - base[1] >= toB.length && (await receivedCount(artifacts, a)) - base[0] >= toA.length, {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: `all ${toA.length + toB.length} delivered after the restart (index: ${JSON.stringify(await t.hub.index.countByStatus().catch(() => null))})`,
    });
    const allMs = Date.now() - t0;

    for (const [dst, ids, before] of [[b, toB, base[1]], [a, toA, base[0]]] as [DemoEnd, Hex[], number][]) {
      const chain = await onChainDeliveries(artifacts, dst);
      expect(chain.failed).toEqual([]);
      expect(chain.received - before).toBe(ids.length);
      expect([...chain.perId].filter(([, n]) => n !== 1)).toEqual([]);
      for (const id of ids) expect(chain.perId.get(id), id).toBe(1);
      const times = await timesReceived(artifacts, dst, ids);
      expect([...times.values()].filter((n) => n !== 1)).toEqual([]);
    }
    const rows = await until(async () => {
      const r = await t.hub.index.getMessages([...toB, ...toA]);
      return r.length === toA.length + toB.length && r.every((m) => m.status === 'delivered' || m.status === 'acknowledged') ? r : null;
    }, { timeoutMs: 30_000, what: 'the index showing every message delivered' });
    expect(rows).toHaveLength(toA.length + toB.length);
    console.info(`[redis-kill] killed Redis with the index at ${JSON.stringify(atKillIndex)}, ${atKill} of ${FIRST} delivered; ${deliveredWhileDown} more landed while it was down (${(downMs / 1000).toFixed(1)} s); all ${toA.length + toB.length} delivered once in ${(allMs / 1000).toFixed(1)} s`);
  }, 300_000);
});
