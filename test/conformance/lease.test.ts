import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepLease, MemoryLeaseStore, RedisLeaseStore, type LeaseStore } from '../../relayer/lease.ts';
import { createBullmqBackend } from '../../relayer/queue/bullmq.ts';
import { createMemoryBackend } from '../../relayer/queue/memory.ts';
import { openIndex } from '../../src/index/open.ts';
import type { KyselyIndex } from '../../src/index/kysely-index.ts';
import { clearRedisPrefix, REDIS_URL, until } from '../helpers/services.ts';

let redis: Redis;
let index: KyselyIndex;
const prefixes: string[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  await redis.ping();
  index = await openIndex();
});

afterAll(async () => {
  for (const p of prefixes) await clearRedisPrefix(p);
  redis.disconnect();
  await index.close();
});

interface Fixture {
  store: LeaseStore;
  /** Makes the current holder of `key` lose it (time passes, or the key vanishes as after a failover). */
  expire(key: string): Promise<void>;
}

/** Memory: a clock the test moves; Redis: real expiry, with the lease key deleted to model "the TTL passed". */
const fixtures: { kind: string; create(): Fixture }[] = [
  {
    kind: 'memory',
    create() {
      let t = 1_000_000;
      const store = new MemoryLeaseStore(() => t);
      return { store, expire: async () => void (t += 60_000) };
    },
  },
  {
    kind: 'redis',
    create() {
      const prefix = `qiao-test-lease-${randomUUID()}`;
      prefixes.push(prefix);
      return { store: new RedisLeaseStore(redis, prefix), expire: async (key) => void (await redis.del(`${prefix}:lease:${key}`)) };
    },
  },
];

describe.each(fixtures)('leases ($kind)', ({ create }) => {
  it('has one holder at a time, even when many ask at once', async () => {
    const { store } = create();
    const grants = await Promise.all(Array.from({ length: 12 }, (_, i) => store.acquire('watch:eip155:1', `p${i}`, 10_000)));
    const won = grants.filter((g) => g !== null);
    expect(won).toHaveLength(1);
    expect(await store.acquire('watch:eip155:1', 'late', 10_000)).toBeNull();
    // Another key is independent.
    expect(await store.acquire('watch:eip155:2', 'late', 10_000)).not.toBeNull();
    const holders = await store.holders();
    expect(holders.map((h) => [h.key, h.holder, h.fence])).toEqual([
      ['watch:eip155:1', won[0]!.holder, won[0]!.fence],
      ['watch:eip155:2', 'late', expect.any(BigInt)],
    ]);
    expect(holders[0]!.ttlMs).toBeGreaterThan(0);
  });

  it('hands over on expiry with a larger fence; the old grant can neither renew nor release', async () => {
    const { store, expire } = create();
    const a = (await store.acquire('watch:x:1', 'a', 10_000))!;
    expect(await store.renew(a, 10_000)).toBe(true);
    await expire('watch:x:1');
    const b = (await store.acquire('watch:x:1', 'b', 10_000))!;
    expect(b).not.toBeNull();
    expect(b.fence).toBeGreaterThan(a.fence);
    expect(await store.renew(a, 10_000)).toBe(false);
    expect(await store.release(a)).toBe(false);
    expect((await store.holders()).map((h) => h.holder)).toEqual(['b']);
    // Release frees the key; the next grant is larger again.
    expect(await store.release(b)).toBe(true);
    const c = (await store.acquire('watch:x:1', 'a', 10_000))!;
    expect(c.fence).toBeGreaterThan(b.fence);
  });

  it("refuses a stale holder's fenced checkpoint write", async () => {
    const { store, expire } = create();
    const chain = `eip155:${Math.floor(Math.random() * 1e9)}`;
    const a = (await store.acquire(`watch:${chain}`, 'a', 10_000))!;
    expect(await index.setCheckpointFenced(chain, 10n, a.fence)).toBe(true);
    await expire(`watch:${chain}`);
    const b = (await store.acquire(`watch:${chain}`, 'b', 10_000))!;
    expect(await index.setCheckpointFenced(chain, 12n, b.fence)).toBe(true);
    // The stale holder (paused past its TTL) wakes up and writes: nothing changes.
    expect(await index.setCheckpointFenced(chain, 50n, a.fence)).toBe(false);
    expect(await index.getCheckpoint(chain)).toBe(12n);
    // The holder's own writes go on, and never move the height back.
    expect(await index.setCheckpointFenced(chain, 11n, b.fence)).toBe(true);
    expect(await index.getCheckpoint(chain)).toBe(12n);
    expect(await index.setCheckpointFenced(chain, 20n, b.fence)).toBe(true);
    expect(await index.getCheckpoint(chain)).toBe(20n);
  });

  it('keepLease renews inside the TTL and reports a lost lease at once', async () => {
    const { store, expire } = create();
    const grant = (await store.acquire('watch:k:1', 'keeper', 10_000))!;
    let lostCalls = 0;
    const kept = keepLease(store, grant, { ttlMs: 10_000, renewEveryMs: 20, onLost: () => lostCalls++ });
    expect(kept.held).toBe(true);
    await expire('watch:k:1');
    const thief = await store.acquire('watch:k:1', 'thief', 10_000);
    expect(thief).not.toBeNull();
    await kept.lost;
    expect(kept.held).toBe(false);
    expect(lostCalls).toBe(1);
    // Releasing a lost lease leaves the new holder alone.
    await kept.release();
    expect((await store.holders()).find((h) => h.key === 'watch:k:1')?.holder).toBe('thief');
  });

  it('rejects bad keys, holders and TTLs', async () => {
    const { store } = create();
    await expect(store.acquire('bad key', 'a', 1000)).rejects.toMatchObject({ field: 'lease.key' });
    await expect(store.acquire('k', 'a|b', 1000)).rejects.toMatchObject({ field: 'lease.holder' });
    await expect(store.acquire('k', 'a', 0)).rejects.toMatchObject({ field: 'lease.ttlMs' });
  });
});

describe('leases over real time', () => {
  it('a Redis lease expires by itself and keepLease keeps a short one alive', async () => {
    const prefix = `qiao-test-lease-${randomUUID()}`;
    prefixes.push(prefix);
    const store = new RedisLeaseStore(redis, prefix);
    const a = (await store.acquire('watch:t:1', 'a', 300))!;
    const kept = keepLease(store, (await store.acquire('watch:t:2', 'k', 300))!, { ttlMs: 300 });
    const b = await until(() => store.acquire('watch:t:1', 'b', 300), { timeoutMs: 5_000, intervalMs: 20, what: 'expiry of a' });
    expect(b.fence).toBeGreaterThan(a.fence);
    // Three TTLs later the kept lease is still held: renewals arrive in time.
    await until(async () => Date.now() - Number(b.fence) > 900 || null, { timeoutMs: 5_000, intervalMs: 50 });
    expect(kept.held).toBe(true);
    expect(await store.acquire('watch:t:2', 'other', 300)).toBeNull();
    await kept.release();
    expect(await store.acquire('watch:t:2', 'other', 300)).not.toBeNull();
  });

  it('both queue backends carry their lease store', async () => {
    const prefix = `qiao-test-lease-${randomUUID()}`;
    prefixes.push(prefix);
    const mem = createMemoryBackend();
    const bull = createBullmqBackend({ connection: REDIS_URL, prefix });
    try {
      expect(mem.leases.kind).toBe('memory');
      expect(bull.leases.kind).toBe('redis');
      const g = await bull.leases.acquire('watch:eip155:5', 'x', 5_000);
      expect((await redis.get(`${prefix}:lease:watch:eip155:5`))?.startsWith('x|')).toBe(true);
      expect(await bull.leases.release(g!)).toBe(true);
    } finally {
      await mem.close();
      await bull.close();
    }
  });
});
