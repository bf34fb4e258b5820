import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay, MAX_BACKOFF_MS } from '../../relayer/queue/backoff.ts';
import { createBullmqBackend } from '../../relayer/queue/bullmq.ts';
import { createQueueBackend } from '../../relayer/queue/index.ts';
import { createMemoryBackend } from '../../relayer/queue/memory.ts';
import type { Job, QueueBackend } from '../../relayer/queue/types.ts';
import { InvalidProofError, NotReadyError, RpcError, UnrecoverableError, ValidationError } from '../../src/errors.ts';

const REDIS_URL = process.env.QIAO_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const EMPTY = { waiting: 0, delayed: 0, active: 0, dead: 0 };

let admin: Redis;

beforeAll(async () => {
  admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    await admin.ping();
  } catch (err) {
    throw new Error(`the BullMQ half of this suite needs Redis at ${REDIS_URL} (set QIAO_TEST_REDIS_URL)`, { cause: err });
  }
});

afterAll(async () => {
  await admin.quit();
});

async function deleteKeys(prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
}

/** Polls `probe` until it returns something truthy; fails at the deadline. */
async function waitFor<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Checks that `probe` stays true for a while: room for a wrong implementation to show itself, never synchronisation. */
async function holds(probe: () => boolean | Promise<boolean>, what: string, ms = 300): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    expect(await probe(), what).toBe(true);
    await sleep(10);
  }
}

/** Every latch is released after each test, so a failed test cannot leave close() waiting on a job forever. */
const latches: (() => void)[] = [];
function latch(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  latches.push(release);
  return { promise, release };
}

interface Fixture {
  backend: QueueBackend;
  /** A second backend over the same store, where the store outlives the process (Redis). */
  reopen?: () => QueueBackend;
  cleanup: () => Promise<void>;
}

const backends: { kind: string; create: () => Fixture }[] = [
  { kind: 'memory', create: () => ({ backend: createMemoryBackend(), cleanup: async () => {} }) },
  {
    kind: 'bullmq',
    create: () => {
      const prefix = `qiao-test-${randomUUID()}`;
      return {
        backend: createBullmqBackend({ connection: REDIS_URL, prefix }),
        reopen: () => createBullmqBackend({ connection: REDIS_URL, prefix }),
        cleanup: () => deleteKeys(prefix),
      };
    },
  },
];

type Data = { n: number };

// A broken queue tends to hang in drained(); fail such a test in seconds, not at the global timeout.
describe.each(backends)('$kind queue backend', { timeout: 20_000 }, ({ create }) => {
  const open: Fixture[] = [];
  const setup = () => {
    const fixture = create();
    open.push(fixture);
    return fixture;
  };
  const queue = () => setup().backend.queue<Data>('jobs');

  afterEach(async () => {
    for (const release of latches.splice(0)) release();
    for (const f of open.splice(0)) {
      await f.backend.close();
      await f.cleanup();
    }
  });

  it('adds and processes jobs with their id, name and data', async () => {
    const q = queue();
    const a = await q.add('a', { n: 1 });
    expect(a.added).toBe(true);
    expect(a.id).toEqual(expect.any(String));
    const bulk = await q.addBulk([
      { name: 'b', data: { n: 2 } },
      { name: 'c', data: { n: 3 }, opts: { jobId: 'c-1' } },
    ]);
    expect(bulk.map((r) => r.added)).toEqual([true, true]);
    expect(bulk[1]!.id).toBe('c-1');
    const seen: Job<Data>[] = [];
    q.process(async (job) => {
      seen.push(job);
    });
    expect(await q.drained()).toBe(true);
    expect(seen.map((j) => [j.name, j.data.n, j.attemptsMade]).sort()).toEqual([
      ['a', 1, 0],
      ['b', 2, 0],
      ['c', 3, 0],
    ]);
    expect(seen.find((j) => j.name === 'a')!.id).toBe(a.id);
    expect(seen.find((j) => j.name === 'c')!.id).toBe('c-1');
    expect(await q.counts()).toEqual(EMPTY);
  });

  it('dedupes by jobId while waiting, and takes the id again once completed', async () => {
    const q = queue();
    // ids with `:` and integer-looking ids must work on both backends
    const ids = ['deliver:eip155:1:0xab', '42', '%3A'];
    for (const id of ids) {
      expect(await q.add('x', { n: 1 }, { jobId: id })).toEqual({ id, added: true });
      expect(await q.add('x', { n: 2 }, { jobId: id })).toEqual({ id, added: false });
    }
    expect(await q.addBulk([{ name: 'y', data: { n: 3 }, opts: { jobId: 'k' } }, { name: 'y', data: { n: 4 }, opts: { jobId: 'k' } }])).toEqual([
      { id: 'k', added: true },
      { id: 'k', added: false },
    ]);
    expect((await q.counts()).waiting).toBe(4);
    const runs: [string, number][] = [];
    q.process(async (job) => {
      runs.push([job.id, job.data.n]);
    });
    await q.drained();
    expect(runs.sort()).toEqual([...ids.map((id) => [id, 1]), ['k', 3]].sort());
    expect(await q.add('x', { n: 5 }, { jobId: ids[0] })).toEqual({ id: ids[0], added: true });
    await q.drained();
    expect(runs.filter(([id]) => id === ids[0])).toEqual([
      [ids[0], 1],
      [ids[0], 5],
    ]);
  });

  it('dedupes by jobId while the job is active', async () => {
    const q = queue();
    const gate = latch();
    let runs = 0;
    q.process(async () => {
      runs += 1;
      await gate.promise;
    });
    await q.add('x', { n: 1 }, { jobId: 'a' });
    await waitFor(() => runs === 1, 'the job to start');
    expect((await q.counts()).active).toBe(1);
    expect(await q.add('x', { n: 2 }, { jobId: 'a' })).toEqual({ id: 'a', added: false });
    gate.release();
    await q.drained();
    expect(runs).toBe(1);
  });

  it('runs lower priority numbers first, FIFO within a priority', async () => {
    const q = queue();
    await q.addBulk([
      { name: 'p5', data: { n: 0 }, opts: { priority: 5 } },
      { name: 'p1a', data: { n: 0 }, opts: { priority: 1 } },
      { name: 'p0a', data: { n: 0 } },
      { name: 'p3', data: { n: 0 }, opts: { priority: 3 } },
      { name: 'p1b', data: { n: 0 }, opts: { priority: 1 } },
      { name: 'p0b', data: { n: 0 }, opts: { priority: 0 } },
    ]);
    const order: string[] = [];
    q.process(async (job) => {
      order.push(job.name);
    }, { concurrency: 1 });
    await q.drained();
    expect(order).toEqual(['p0a', 'p0b', 'p1a', 'p1b', 'p3', 'p5']);
  });

  it('holds a delayed job back until its delay has passed', async () => {
    const q = queue();
    const delayMs = 1000;
    const addedAt = Date.now();
    await q.add('later', { n: 1 }, { delayMs });
    await q.add('now', { n: 2 });
    expect(await q.counts()).toMatchObject({ delayed: 1, waiting: 1 });
    const started = new Map<string, number>();
    q.process(async (job) => {
      started.set(job.name, Date.now());
    });
    await q.drained();
    expect([...started.keys()]).toEqual(['now', 'later']);
    // a few ms of slack for timer rounding
    expect(started.get('later')! - addedAt).toBeGreaterThanOrEqual(delayMs - 10);
  });

  it('retries a failing job through a delayed backoff, then succeeds', async () => {
    const q = queue();
    const seen: number[] = [];
    q.process(async (job) => {
      seen.push(job.attemptsMade);
      if (job.attemptsMade < 2) throw new RpcError('http://node.invalid', 'connection refused');
    });
    await q.add('flaky', { n: 1 }, { attempts: 5, backoffMs: 200 });
    await waitFor(async () => (await q.counts()).delayed === 1, 'the job to wait out its backoff');
    expect(await q.drained()).toBe(true);
    expect(seen).toEqual([0, 1, 2]);
    expect(await q.counts()).toEqual(EMPTY);
    expect(await q.deadLetters()).toEqual([]);
  });

  it('dead-letters a job with its reason once its attempts are used up', async () => {
    const q = queue();
    let runs = 0;
    q.process(async () => {
      runs += 1;
      throw new RpcError('http://node.invalid', 'connection refused');
    });
    await q.add('doomed', { n: 7 }, { jobId: 'd-1', attempts: 3, backoffMs: 20 });
    await q.drained();
    expect(runs).toBe(3);
    const letters = await q.deadLetters();
    expect(letters).toEqual([
      { id: 'd-1', name: 'doomed', data: { n: 7 }, reason: expect.stringContaining('connection refused'), errorCode: 'rpc_failed', attemptsMade: 3, failedAt: expect.any(Number) },
    ]);
    expect(await q.counts()).toEqual({ ...EMPTY, dead: 1 });
  });

  it.each([
    ['UnrecoverableError', () => new UnrecoverableError('payload can never be delivered'), 'unrecoverable'],
    ['InvalidProofError', () => new InvalidProofError('bad_state_proof', 'storage proof does not match the state root'), 'invalid_proof'],
    ['InvalidProofError as the cause of an RpcError', () => new RpcError('http://node.invalid', 'fetch', { cause: new InvalidProofError('bad_header', 'forged header') }), 'invalid_proof'],
    ['UnrecoverableError as the cause of a plain Error', () => new Error('stage failed', { cause: new UnrecoverableError('unknown lane') }), 'unrecoverable'],
  ])('dead-letters at once on %s', async (_label, makeError, errorCode) => {
    const q = queue();
    let runs = 0;
    q.process(async () => {
      runs += 1;
      throw makeError();
    });
    await q.add('bad', { n: 1 }, { jobId: 'bad-1', attempts: 5, backoffMs: 20 });
    await q.drained();
    expect(runs).toBe(1);
    const [letter] = await q.deadLetters();
    expect(letter).toMatchObject({ id: 'bad-1', errorCode, attemptsMade: 1 });
    expect(letter!.reason.length).toBeGreaterThan(0);
  });

  it('re-runs a NotReadyError job later without spending attempts', async () => {
    const q = queue();
    const seen: number[] = [];
    q.process(async (job) => {
      seen.push(job.attemptsMade);
      if (seen.length === 2) throw new Error('wrapped', { cause: new NotReadyError('height not final', 20) });
      if (seen.length <= 3) throw new NotReadyError('height not final', 20);
    });
    await q.add('wait', { n: 1 }, { attempts: 1 });
    await q.drained();
    expect(seen).toEqual([0, 0, 0, 0]);
    expect(await q.deadLetters()).toEqual([]);
  });

  it('never runs more jobs at once than the concurrency of a process() call', async () => {
    const q = queue();
    const gate = latch();
    let started = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    q.process(async () => {
      started += 1;
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await gate.promise;
      inFlight -= 1;
    }, { concurrency: 3 });
    await q.addBulk(Array.from({ length: 7 }, (_, n) => ({ name: 'c', data: { n } })));
    await waitFor(() => started === 3, 'three jobs to start');
    await holds(() => started === 3, 'no fourth job starts while three are in flight');
    expect(await q.counts()).toMatchObject({ active: 3, waiting: 4 });
    gate.release();
    await q.drained();
    expect(started).toBe(7);
    expect(maxInFlight).toBe(3);
  });

  it('gives each process() call its own concurrency', async () => {
    const q = queue();
    const gate = latch();
    const byWorker = [0, 0];
    for (const w of [0, 1]) {
      q.process(async () => {
        byWorker[w]! += 1;
        await gate.promise;
      }, { concurrency: 1 });
    }
    await q.addBulk(Array.from({ length: 3 }, (_, n) => ({ name: 'c', data: { n } })));
    await waitFor(() => byWorker[0] === 1 && byWorker[1] === 1, 'both workers to take a job');
    gate.release();
    await q.drained();
    expect(byWorker[0]! + byWorker[1]!).toBe(3);
  });

  it('runs one job at a time over every worker of the queue with globalConcurrency 1', async () => {
    const fixture = setup();
    // With BullMQ the second worker sits on a backend of its own, as a second process would.
    const other = fixture.reopen?.() ?? fixture.backend;
    if (other !== fixture.backend) open.push({ backend: other, cleanup: async () => {} });
    const queues = [fixture.backend.queue<Data>('jobs'), other.queue<Data>('jobs')];
    const JOBS = 12;
    // Everything waits before any worker starts: without the limit both workers would start 3 jobs at once.
    await queues[0]!.addBulk(Array.from({ length: JOBS }, (_, n) => ({ name: 'c', data: { n } })));
    let inFlight = 0;
    let maxInFlight = 0;
    const done: number[] = [];
    const activeSeen: number[] = [];
    for (const q of queues) {
      q.process(
        async (job) => {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          // A round trip to the store while the job runs: room for another worker to take a job, were it allowed.
          activeSeen.push((await q.counts()).active);
          done.push(job.data.n);
          inFlight -= 1;
        },
        { concurrency: 3, globalConcurrency: 1 },
      );
    }
    await waitFor(() => done.length === JOBS, 'every job to run', 15_000);
    await queues[0]!.drained();
    expect(maxInFlight).toBe(1);
    expect(activeSeen.every((n) => n === 1), `active counts seen from inside jobs: ${activeSeen.join(',')}`).toBe(true);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: JOBS }, (_, n) => n));
  });

  it('retries and removes dead letters', async () => {
    const q = queue();
    let fail = true;
    const runs: Job<Data>[] = [];
    const worker = q.process(async (job) => {
      runs.push(job);
      if (fail) throw new UnrecoverableError('receiver unknown');
    });
    await q.addBulk([
      { name: 'r', data: { n: 1 }, opts: { jobId: 'r-1', attempts: 2 } },
      { name: 's', data: { n: 2 }, opts: { jobId: 's-1' } },
    ]);
    await q.drained();
    expect((await q.deadLetters()).map((d) => d.id).sort()).toEqual(['r-1', 's-1']);
    expect(await q.deadLetters(1)).toHaveLength(1);
    expect(await q.deadLetters(0)).toEqual([]);

    fail = false;
    expect(await q.retryDead('r-1')).toBe(true);
    await q.drained();
    expect(runs.at(-1)).toMatchObject({ id: 'r-1', name: 'r', data: { n: 1 }, attemptsMade: 0 });
    expect(await q.retryDead('r-1')).toBe(false);
    expect(await q.retryDead('missing')).toBe(false);

    // A live job that took the dead id meanwhile wins; the letter stays for the operator.
    await worker.close();
    expect(await q.add('s', { n: 3 }, { jobId: 's-1' })).toEqual({ id: 's-1', added: true });
    expect(await q.retryDead('s-1')).toBe(false);
    expect((await q.deadLetters()).map((d) => d.id)).toEqual(['s-1']);
    expect(await q.removeDead('s-1')).toBe(true);
    expect(await q.removeDead('s-1')).toBe(false);
    expect(await q.counts()).toEqual({ ...EMPTY, waiting: 1 });
  });

  it('records a dead letter directly for an operator, once, and runs it only on retryDead', async () => {
    const q = queue();
    const runs: Job<Data>[] = [];
    const worker = q.process(async (job) => {
      runs.push(job);
    });
    expect(await q.addDead('head', { n: 1 }, { jobId: 'head-1', reason: 'lane blocked at nonce 4', attempts: 3 })).toBe(true);
    // Replayed: the first letter stays as it was.
    expect(await q.addDead('head', { n: 2 }, { jobId: 'head-1', reason: 'again' })).toBe(false);
    expect(await q.counts()).toEqual({ ...EMPTY, dead: 1 });
    const [letter] = await q.deadLetters();
    expect(letter).toMatchObject({ id: 'head-1', name: 'head', data: { n: 1 }, reason: 'lane blocked at nonce 4', errorCode: 'operator_decision', attemptsMade: 0 });
    await holds(() => runs.length === 0, 'a dead letter never runs by itself');

    // A live job holds the id: no letter for it.
    await worker.close();
    await q.add('live', { n: 3 }, { jobId: 'live-1' });
    expect(await q.addDead('head', { n: 3 }, { jobId: 'live-1', reason: 'x' })).toBe(false);
    const worker2 = q.process(async (job) => {
      runs.push(job);
    });
    await q.drained();
    expect(await q.retryDead('head-1')).toBe(true);
    await q.drained();
    expect(runs.map((r) => [r.id, r.name, r.data.n])).toEqual([
      ['live-1', 'live', 3],
      ['head-1', 'head', 1],
    ]);
    expect(await q.counts()).toEqual(EMPTY);
    await worker2.close();
    await expect(q.addDead('head', { n: 1 }, { jobId: 'x', reason: '' })).rejects.toBeInstanceOf(ValidationError);
    await expect(q.addDead('head', { n: 1 }, { reason: 'no id' } as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('drained() waits through retries and answers false when the queue closes first', async () => {
    const fixture = setup();
    const q = fixture.backend.queue<Data>('jobs');
    expect(await q.drained()).toBe(true);
    let completed = false;
    q.process(async (job) => {
      if (job.attemptsMade === 0) throw new Error('first try fails');
      completed = true;
    });
    await q.add('once', { n: 1 }, { backoffMs: 200 });
    expect(await q.drained()).toBe(true);
    expect(completed).toBe(true);

    const idle = fixture.backend.queue<Data>('idle');
    await idle.add('never', { n: 1 });
    const pending = idle.drained();
    await idle.close();
    expect(await pending).toBe(false);
  });

  it('close() waits for in-flight jobs and then refuses new work', async () => {
    const fixture = setup();
    const q = fixture.backend.queue<Data>('jobs');
    const gate = latch();
    let started = false;
    let finished = false;
    q.process(async () => {
      started = true;
      await gate.promise;
      finished = true;
    });
    await q.add('x', { n: 1 }, { jobId: 'inflight' });
    await waitFor(() => started, 'the job to start');
    let closed = false;
    const closing = fixture.backend.close().then(() => (closed = true));
    await holds(() => !closed, 'close() stays pending while a job runs');
    gate.release();
    await closing;
    expect(finished).toBe(true);
    await expect(q.add('y', { n: 2 })).rejects.toMatchObject({ code: 'queue_closed' });
    if (fixture.reopen) {
      // the job was completed, not handed back
      const again = fixture.reopen();
      open.push({ backend: again, cleanup: async () => {} });
      expect(await again.queue('jobs').counts()).toEqual(EMPTY);
    }
  });

  it('treats a thrown non-Error, or a synchronous throw, like any other failure', async () => {
    const q = queue();
    const runs = new Map<string, number>();
    q.process((job) => {
      runs.set(job.name, (runs.get(job.name) ?? 0) + 1);
      if (job.name === 'once' && job.attemptsMade === 0) throw 'boom';
      if (job.name === 'always') throw { weird: true };
      if (job.name === 'sync') throw new UnrecoverableError('thrown before any await');
      return Promise.resolve();
    });
    await q.addBulk([
      { name: 'once', data: { n: 1 }, opts: { attempts: 3, backoffMs: 20 } },
      { name: 'always', data: { n: 2 }, opts: { jobId: 'w', attempts: 2, backoffMs: 20 } },
      { name: 'sync', data: { n: 3 }, opts: { jobId: 'sync-1' } },
    ]);
    await q.drained();
    expect(Object.fromEntries(runs)).toEqual({ once: 2, always: 2, sync: 1 });
    const letters = (await q.deadLetters()).sort((a, b) => a.id.localeCompare(b.id));
    expect(letters).toMatchObject([
      { id: 'sync-1', errorCode: 'unrecoverable', attemptsMade: 1 },
      { id: 'w', errorCode: 'unknown', reason: '{"weird":true}', attemptsMade: 2 },
    ]);
  });

  it('rejects bad input naming the field, and adds nothing from a bad bulk', async () => {
    const fixture = setup();
    const q = fixture.backend.queue<unknown>('jobs');
    const cases: [() => Promise<unknown>, string][] = [
      [() => q.add('x', {}, { priority: -1 }), 'priority'],
      [() => q.add('x', {}, { priority: 1.5 }), 'priority'],
      [() => q.add('x', {}, { jobId: '' }), 'jobId'],
      [() => q.add('x', {}, { attempts: 0 }), 'attempts'],
      [() => q.add('x', {}, { delayMs: -5 }), 'delayMs'],
      [() => q.add('x', {}, { backoffMs: Number.NaN }), 'backoffMs'],
      [() => q.add('', {}), 'name'],
      [() => q.add('x', { n: 10n }), 'data'],
      [() => q.addBulk([{ name: 'ok', data: {} }, { name: 'x', data: {}, opts: { priority: -1 } }]), 'priority'],
      [() => q.deadLetters(-1), 'limit'],
    ];
    for (const [call, field] of cases) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
    }
    expect(() => q.process(async () => {}, { concurrency: 0 })).toThrow(ValidationError);
    expect(() => q.process(async () => {}, { globalConcurrency: 1.5 })).toThrow(expect.objectContaining({ field: 'globalConcurrency' }));
    expect(() => fixture.backend.queue('no spaces: or colons')).toThrow(ValidationError);
    expect(await q.counts()).toEqual(EMPTY);
  });
});

describe('bullmq backend, across processes', () => {
  // The in-process queue dies with its process by design; BullMQ must not lose the job.
  it('hands the job of a killed worker to another worker, without spending an attempt', { timeout: 45_000 }, async () => {
    const prefix = `qiao-test-${randomUUID()}`;
    const moduleUrl = pathToFileURL(resolve('relayer/queue/bullmq.ts')).href;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { createBullmqBackend } = await import(${JSON.stringify(moduleUrl)});
         const q = createBullmqBackend({ connection: ${JSON.stringify(REDIS_URL)}, prefix: ${JSON.stringify(prefix)} }).queue('jobs');
         q.process(async () => { process.stdout.write('active\\n'); await new Promise(() => {}); });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const backend = createBullmqBackend({ connection: REDIS_URL, prefix });
    try {
      const q = backend.queue<Data>('jobs');
      let childOutput = '';
      child.stdout.on('data', (chunk: Buffer) => (childOutput += chunk.toString()));
      await q.add('survivor', { n: 1 }, { jobId: 'survivor', attempts: 1 });
      await waitFor(() => childOutput.includes('active'), 'the child worker to take the job', 20_000);
      child.kill('SIGKILL');
      await once(child, 'exit');
      const seen: Job<Data>[] = [];
      q.process(async (job) => {
        seen.push(job);
      });
      await waitFor(() => seen.length > 0, 'the orphaned job to be picked up again', 30_000);
      await q.drained();
      expect(seen).toMatchObject([{ id: 'survivor', attemptsMade: 0 }]);
      expect(await q.counts()).toEqual(EMPTY);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await backend.close();
      await deleteKeys(prefix);
    }
  });
});

describe('createQueueBackend', () => {
  it('uses BullMQ when a Redis URL is given, the in-process queue otherwise', async () => {
    const memory = createQueueBackend();
    const prefix = `qiao-test-${randomUUID()}`;
    const bullmq = createQueueBackend({ redisUrl: REDIS_URL, prefix });
    try {
      expect(memory.kind).toBe('memory');
      expect(bullmq.kind).toBe('bullmq');
    } finally {
      await memory.close();
      await bullmq.close();
      await deleteKeys(prefix);
    }
  });

  it('refuses a connection that is not a Redis URL', () => {
    expect(() => createBullmqBackend({ connection: 'http://127.0.0.1:6379' })).toThrow(ValidationError);
  });
});

describe('backoffDelay', () => {
  it('doubles per failure within ±20% jitter, and is capped', () => {
    expect(backoffDelay(1, 100, () => 0.5)).toBe(100);
    expect(backoffDelay(3, 100, () => 0.5)).toBe(400);
    expect(backoffDelay(3, 100, () => 0)).toBe(320);
    expect(backoffDelay(3, 100, () => 0.999999)).toBe(480);
    expect(backoffDelay(60, 500, () => 0.5)).toBe(MAX_BACKOFF_MS);
  });
});
