import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { clearRedisPrefix } from '../helpers/services.ts';

export interface RawRate {
  jobs: number;
  jobsPerSec: number;
  ms: number;
}

/**
 * BullMQ with nothing of ours on top: `jobs` no-op jobs added (`inFlight`
 * adds at a time) and processed by one Worker with the settings our stage
 * workers use (relayer/queue/bullmq.ts: concurrency, lock 10 s, stall check
 * 5 s, unlimited stalls; jobs with an id, attempts, custom backoff, removed on
 * completion), first add to last completion. `payload` is each job's data.
 */
export async function rawBullmqRate({ url, jobs, payload, concurrency = 4, inFlight = 50 }: { url: string; jobs: number; payload: unknown; concurrency?: number; inFlight?: number }): Promise<RawRate> {
  const prefix = `qiao-bench-raw-${randomBytes(4).toString('hex')}`;
  const connection = { url };
  const queue = new Queue('raw', { connection, prefix });
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const worker = new Worker('raw', async () => undefined, {
    connection,
    prefix,
    concurrency,
    lockDuration: 10_000,
    stalledInterval: 5_000,
    maxStalledCount: Number.MAX_SAFE_INTEGER,
    settings: { backoffStrategy: () => 500 },
  });
  worker.on('completed', () => {
    if (++done === jobs) finish();
  });
  try {
    await worker.waitUntilReady();
    await queue.waitUntilReady();
    const t0 = performance.now();
    for (let i = 0; i < jobs; i += inFlight) {
      const part = Array.from({ length: Math.min(inFlight, jobs - i) }, (_, k) => i + k);
      await Promise.all(
        part.map((n) =>
          queue.add('noop', { payload, token: n }, { jobId: `raw-${n}`, priority: 0, attempts: 8, backoff: { type: 'qiao-exponential-jitter', delay: 500 }, removeOnComplete: true, removeOnFail: true }),
        ),
      );
    }
    await finished;
    const ms = performance.now() - t0;
    return { jobs, jobsPerSec: (jobs * 1000) / ms, ms };
  } finally {
    await worker.close();
    await queue.close();
    await clearRedisPrefix(prefix);
  }
}

/** Redis's own CPU seconds so far (INFO cpu: the server process, all threads). */
export async function redisCpuMs(url: string): Promise<number> {
  const r = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    const info = await r.info('cpu');
    const get = (k: string) => Number(new RegExp(`^${k}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
    return (get('used_cpu_user') + get('used_cpu_sys')) * 1000;
  } finally {
    r.disconnect();
  }
}
