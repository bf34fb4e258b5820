import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { createBullmqBackend } from '../../relayer/queue/bullmq.ts';
import type { QueueBackend } from '../../relayer/queue/types.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { openIndex } from '../../src/index/open.ts';
import type { HubState } from '../../src/main/state.ts';
import { addressOf, loadOrCreateKeys, relayerSenderAddresses } from '../../src/governance/keys.ts';
import { cleanEnv } from '../helpers/cli.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { deployBulkSender, onChainDeliveries, receivedCount, seededRandom, sendBulk, spawnRelayerWorker, timesReceived, type DemoEnd, type WorkerProc } from '../helpers/relay-chaos.ts';
import { REDIS_URL, until } from '../helpers/services.ts';

const N = Number(process.env.QIAO_CHAOS_N ?? 2000);
const PER_TX = 100;
const SEED = process.env.QIAO_SEED ? Number(process.env.QIAO_SEED) : randomInt(1, 2 ** 31 - 1);
/**
 * Kills timed on a stage's in-flight jobs (twice each: the hub in the test
 * process may hold the job, not the victim) and random ones: six in all.
 */
const PLAN = ['commit', 'deliver', 'random', 'commit', 'deliver', 'random'] as const;

interface Kill {
  phase: (typeof PLAN)[number];
  pid: number;
  at: number;
  /** Jobs active in the targeted stage's queue at the kill whose lock was alive (held by a live process). */
  active: string[];
  deliveredBefore: number;
  signal: NodeJS.Signals | null;
  /** Set when BullMQ later reported one of those jobs stalled: the killed worker held it. */
  stalledJob?: string;
}

/**
 * Exactly once under SIGKILL: a hub on BullMQ + PostgreSQL and two
 * `qiao relayer start` processes share the stages while 2,000 messages flow
 * (100 per source transaction, both directions); worker processes are
 * SIGKILLed at seeded-random moments, two of them while a commit or a delivery
 * job is active, and restarted. The destination chains must show every id
 * delivered once (port events and receiver counters), and the index agrees.
 */
describe('relayer worker processes under seeded SIGKILLs', () => {
  let t: TestHub;
  let env: NodeJS.ProcessEnv;
  const slots: WorkerProc[] = [];
  const everyWorker: WorkerProc[] = [];
  let queues: QueueBackend;
  let redis: Redis;
  let prefix: string;
  const ends: DemoEnd[] = [];

  beforeAll(async () => {
    console.info(`[chaos-workers] seed ${SEED} (replay with QIAO_SEED=${SEED}), ${N} messages`);
    t = await startTestHub({ queue: 'bullmq', index: 'postgres', config: { relayer: { pollIntervalMs: 100, batchDelayMs: 50 } } });
    const state = JSON.parse(await readFile(join(t.dataDir, 'hub.json'), 'utf8')) as HubState;
    prefix = `qiao-${state.governance!.chainId}`;
    env = cleanEnv({ DATABASE_URL: t.databaseUrl!, REDIS_URL });
    for (let i = 0; i < 2; i++) {
      const w = spawnRelayerWorker(t.dataDir, env);
      slots.push(w);
      everyWorker.push(w);
    }
    await Promise.all(slots.map((w) => w.ready));
    queues = createBullmqBackend({ connection: REDIS_URL, prefix });
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    for (const c of t.hub.demo!.chains) ends.push({ chainId: c.chainId, port: c.port, receiver: c.receiver, provider: makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 }) });
  }, 180_000);

  afterAll(async () => {
    for (const w of everyWorker) await w.kill();
    for (const e of ends) e.provider.destroy();
    redis?.disconnect();
    await queues?.close();
    await t?.stop();
  });

  it(`delivers ${N} messages exactly once through ${PLAN.length} worker SIGKILLs`, async () => {
    const rng = seededRandom(SEED);
    const artifacts = await portArtifacts();
    const [a, b] = ends as [DemoEnd, DemoEnd];
    const before = [await receivedCount(artifacts, a), await receivedCount(artifacts, b)];
    const [bulkA, bulkB] = await Promise.all([deployBulkSender(a.provider), deployBulkSender(b.provider)]);
    const t0 = Date.now();
    // Traffic comes in one wave per kill, each sent as its kill is prepared: a
    // relayer fast enough to finish all N before the later kills must still
    // have a commit or a delivery in flight when one is awaited.
    const waves = splitWaves(N / 2, PLAN.length, PER_TX);
    let sentSoFar = 0;
    let sending: Promise<[{ id: Hex }[], { id: Hex }[]][]> = Promise.resolve([]);
    const sendWave = (w: number) => {
      const first = sentSoFar;
      sentSoFar += waves[w]!;
      const previous = sending;
      // One wave after another: each bulk sender's nonces are read from the chain when its wave starts.
      sending = previous.then(async (done) => [
        ...done,
        await Promise.all([sendBulk(bulkA, a, b, waves[w]!, { perTx: PER_TX, firstSeq: first }), sendBulk(bulkB, b, a, waves[w]!, { perTx: PER_TX, firstSeq: N + first })]),
      ]);
      sending.catch(() => {});
    };
    const delivered = async () => (await receivedCount(artifacts, a)) - before[0]! + (await receivedCount(artifacts, b)) - before[1]!;

    // ------------------------------------------------------------ the chaos
    const kills: Kill[] = [];
    const confirmations: Promise<void>[] = [];
    // What a stuck run needs to be understood: where the messages are, what the queues hold, what the kills were.
    const explain = async (what: string) => {
      const queueCounts: Record<string, unknown> = {};
      for (const q of ['verify', 'commit', 'attest', 'deliver']) queueCounts[q] = await queues.queue(q).counts();
      const dead = await Promise.all(['verify', 'commit', 'attest', 'deliver'].map(async (q) => (await queues.queue(q).deadLetters(5)).map((d) => ({ q, id: d.id, reason: d.reason }))));
      console.error(`[chaos-workers] STUCK (${what}) at ${await delivered()} of ${N} delivered, ${sentSoFar * 2} sent; index ${JSON.stringify(await t.hub.index.countByStatus())}; queues ${JSON.stringify(queueCounts)}; dead ${JSON.stringify(dead.flat())}`);
      for (const k of kills) console.error(`[chaos-workers] kill ${JSON.stringify(k)}`);
      for (const w of slots) console.error(`[chaos-workers] worker ${w.pid} output tail:\n${w.output().slice(-3000)}`);
      console.error(`[chaos-workers] hub log tail:\n${t.logTail().slice(-6000)}`);
      console.error(`[chaos-workers] chains now:\n${await t.chainsNow()}`);
    };
    for (const [w, phase] of PLAN.entries()) {
      sendWave(w);
      const slot = await until(async () => {
        const ready = slots.map((w, i) => (w.isReady() ? i : -1)).filter((i) => i >= 0);
        return ready.length ? { i: ready[Math.floor(rng() * ready.length)]! } : null;
      }, { timeoutMs: 90_000, intervalMs: 50, what: 'a ready worker to kill' });
      let active: string[] = [];
      if (phase === 'random') {
        // The schedule, not a wait for a condition: where in the pipeline this lands is the random part.
        await new Promise((r) => setTimeout(r, 300 + Math.floor(rng() * 2500)));
      } else {
        // The bound is generous: on a starved machine (CI runs three files at once on two cores) a wave's way to its
        // commit and delivery can take long; it is there to end a stuck run with its explanation (seen once in CI:
        // no delivery job for 90 s, with no explanation printed).
        active = await until(async () => {
          // Only jobs whose lock is alive: a job of an earlier victim stays in the active list until its lock expires.
          const ids = await redis.lrange(`${prefix}:${phase}:active`, 0, -1);
          const held = [];
          for (const id of ids) if (await redis.exists(`${prefix}:${phase}:${id}:lock`)) held.push(id);
          return held.length ? held : null;
        }, { timeoutMs: 240_000, intervalMs: 10, what: `an active ${phase} job` }).catch(async (err: unknown) => {
          await explain(`no active ${phase} job before kill ${w}`);
          throw err;
        });
      }
      const victim = slots[slot.i]!;
      const at = Date.now();
      const deliveredBefore = await delivered();
      await victim.kill();
      const kill: Kill = { phase, pid: victim.pid, at, active, deliveredBefore, signal: (await victim.exited).signal };
      kills.push(kill);
      if (active.length) {
        // BullMQ says "stalled" for a job whose lock holder died: that proves the victim held it mid-stage.
        const stream = `${prefix}:${phase}:events`;
        confirmations.push(
          until(async () => {
            const entries = await redis.xrange(stream, `${at}-0`, '+');
            for (const [, fields] of entries) {
              const f = new Map<string, string>();
              for (let k = 0; k + 1 < fields.length; k += 2) f.set(fields[k]!, fields[k + 1]!);
              if (f.get('event') === 'stalled' && active.includes(f.get('jobId') ?? '')) return (kill.stalledJob = f.get('jobId')!);
            }
            return null;
          }, { timeoutMs: 40_000, intervalMs: 500, what: 'a stalled event' }).then(() => undefined, () => undefined),
        );
      }
      const fresh = spawnRelayerWorker(t.dataDir, env);
      slots[slot.i] = fresh;
      everyWorker.push(fresh);
    }

    const sent = await sending;
    const sentMs = Date.now() - t0;
    const toB = sent.flatMap(([ab]) => ab.map((s) => s.id));
    const toA = sent.flatMap(([, ba]) => ba.map((s) => s.id));
    expect(toB.length + toA.length).toBe(N);
    try {
      await until(async () => (await delivered()) >= N, { timeoutMs: 180_000, intervalMs: 500, what: `all ${N} delivered` });
    } catch (err) {
      await explain('not all delivered');
      throw err;
    }
    const allMs = Date.now() - t0;
    await Promise.all(confirmations);

    // ------------------------------------------- exactly once, from the chains
    const { keys } = await loadOrCreateKeys(join(t.dataDir, 'keys.json'));
    const slotAddresses = relayerSenderAddresses(keys.relayer, 4);
    const senders = new Set<string>();
    for (const [dst, ids, base] of [[b, toB, before[1]!], [a, toA, before[0]!]] as [DemoEnd, Hex[], number][]) {
      const chain = await onChainDeliveries(artifacts, dst);
      for (const x of chain.senders) senders.add(x);
      expect(chain.failed).toEqual([]);
      expect(chain.received - base).toBe(ids.length);
      const dupes = [...chain.perId].filter(([, n]) => n !== 1);
      expect(dupes).toEqual([]);
      for (const id of ids) expect(chain.perId.get(id), id).toBe(1);
      expect(chain.perId.size).toBe(ids.length + base);
      const times = await timesReceived(artifacts, dst, ids);
      expect([...times.values()].filter((n) => n !== 1)).toEqual([]);
    }

    // The hub delivers from the relayer key, the workers from their sender slots' keys (funded by the hub on its
    // demo chains), never from anything else. Which process took the delivery jobs is BullMQ's choice: once the
    // index was faster, a CI run had the hub's own relayer take every one while the workers were being killed and
    // restarted, so that is reported, not required (the kills above show the workers held commit and delivery jobs).
    expect([...senders].filter((x) => x !== addressOf(keys.relayer) && !slotAddresses.includes(x))).toEqual([]);
    console.info(`[chaos-workers] delivery transactions sent from: ${[...senders].map((x) => (x === addressOf(keys.relayer) ? 'the relayer key (hub)' : `sender slot ${slotAddresses.indexOf(x)} (a worker)`)).join(', ')}`);

    // ------------------------------------------------------- the index agrees
    const index = await openIndex({ databaseUrl: t.databaseUrl! });
    try {
      const rows = await until(async () => {
        const r = await index.getMessages([...toB, ...toA]);
        return r.length === N && r.every((m) => m.status === 'delivered' || m.status === 'acknowledged') ? r : null;
      }, { timeoutMs: 30_000, what: 'the index showing every message delivered' });
      expect(rows).toHaveLength(N);
    } finally {
      await index.close();
    }
    let dead = 0;
    for (const q of ['verify', 'commit', 'attest', 'deliver']) dead += (await queues.queue(q).counts()).dead;
    expect(dead).toBe(0);

    // ----------------------------------------------------------- the kills
    expect(kills.length).toBeGreaterThanOrEqual(5);
    for (const k of kills) expect(k.signal).toBe('SIGKILL');
    expect(kills.filter((k) => k.phase === 'commit' && k.active.length > 0)).toHaveLength(2);
    expect(kills.filter((k) => k.phase === 'deliver' && k.active.length > 0)).toHaveLength(2);
    // Kills landed while traffic was in flight, not after the run.
    expect(kills.filter((k) => k.deliveredBefore < N).length).toBeGreaterThanOrEqual(5);
    for (const k of kills) console.info(`[chaos-workers] kill ${k.phase} pid ${k.pid} at +${((k.at - t0) / 1000).toFixed(1)} s, ${k.deliveredBefore} delivered, active ${k.active.length}${k.stalledJob ? `, victim held job ${k.stalledJob} (stalled)` : k.active.length ? ', job not the victim\'s (no stall seen)' : ''}`);
    const held = (p: string) => kills.filter((k) => k.phase === p && k.stalledJob).length;
    console.info(`[chaos-workers] seed ${SEED}: ${N} messages, sent in ${(sentMs / 1000).toFixed(1)} s, all delivered in ${(allMs / 1000).toFixed(1)} s (${((N * 1000) / allMs).toFixed(1)} msgs/s) through ${kills.length} SIGKILLs; the victim held the active job (BullMQ stalled event) in ${held('commit')}/2 commit and ${held('deliver')}/2 delivery kills`);
  }, 900_000);
});

/** `total` split into `parts` waves, each a whole number of `unit`s (the last ones take the remainder). */
function splitWaves(total: number, parts: number, unit: number): number[] {
  const units = Math.floor(total / unit);
  if (units < parts || units * unit !== total) throw new Error(`${total} messages per direction cannot be sent as ${parts} waves of whole ${unit}-message transactions`);
  return Array.from({ length: parts }, (_, i) => (Math.floor(units / parts) + (i < units % parts ? 1 : 0)) * unit);
}
