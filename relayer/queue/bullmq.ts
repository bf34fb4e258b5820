import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, Queue, UnrecoverableError as BullmqUnrecoverableError, Worker, type Job as BullmqJob, type MinimalJob } from 'bullmq';
import { Redis } from 'ioredis';
import { QiaoError, redactUrl, ValidationError } from '../../src/errors.ts';
import type { Logger } from '../../src/logging.ts';
import { RedisLeaseStore } from '../lease.ts';
import { backoffDelay } from './backoff.ts';
import { fromBullmqId, toBullmqId } from './bullmq-ids.ts';
import { classifyFailure } from './failure.ts';
import { checkJobName, checkLimit, checkQueueName, DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, resolveDeadLetterOptions, resolveJobOptions, resolveProcessOptions, toJsonText, type ResolvedJobOptions } from './options.ts';
import { RedisDeadLetters, type DeadLetterRecord } from './redis-dead-letters.ts';
import type { DeadLetter, DeadLetterOptions, Job, JobOptions, JobQueue, ProcessOptions, Processor, QueueBackend, QueueCounts, WorkerHandle } from './types.ts';

/** Our backoff is computed by `backoffStrategy` below; BullMQ only needs a name it does not know. */
const BACKOFF_TYPE = 'qiao-exponential-jitter';
const DRAIN_POLL_MS = 50;
const DEAD_LETTER_RETRY_MS = 5_000;
const GLOBAL_CONCURRENCY_RETRY_MS = 1_000;

/**
 * Stored job data: the caller's payload plus the token of the add that stored
 * it. BullMQ's add silently keeps an existing job with the same id, so reading
 * the token back is how `add` tells "added" from "deduplicated".
 */
interface Envelope {
  payload: unknown;
  token: string;
}

/**
 * Worker settings for relayer work, where a job must never be dropped:
 * - lockDuration 10 s: a killed worker's lock expires within 10 s (BullMQ renews
 *   it every 5 s while the processor runs, so slow jobs keep theirs);
 * - stalledInterval 5 s: any live worker checks for expired locks that often, so
 *   an orphaned job is back in `wait` within ~15 s;
 * - maxStalledCount effectively unlimited: BullMQ's default (1) fails a job the
 *   second time its worker dies, which for us would silently lose a message.
 *   The price is that a job that crashes its process every time keeps being
 *   retried; that shows as restarts, not as a lost message.
 */
const WORKER_SETTINGS = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: Number.MAX_SAFE_INTEGER } as const;

const backoffBase = (backoff: MinimalJob['opts']['backoff']) => (typeof backoff === 'number' ? backoff : (backoff?.delay ?? DEFAULT_BACKOFF_MS));

function backoffStrategy(attemptsMade: number, _type?: string, _err?: Error, job?: MinimalJob): number {
  return backoffDelay(attemptsMade, backoffBase(job?.opts.backoff));
}

interface Context {
  connection: string;
  prefix: string;
  redis: Redis;
  logger: Logger | undefined;
}

class BullmqQueue<T> implements JobQueue<T> {
  readonly #queue: Queue;
  readonly #dead: RedisDeadLetters;
  readonly #workers = new Set<Worker>();
  #closing: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly ctx: Context,
  ) {
    this.#queue = new Queue(name, { connection: { url: ctx.connection }, prefix: ctx.prefix });
    this.#queue.on('error', (err) => ctx.logger?.error({ err }, 'queue connection error'));
    this.#dead = new RedisDeadLetters(ctx.redis, { prefix: ctx.prefix, queue: name });
  }

  async add(name: string, data: T, opts?: JobOptions): Promise<{ id: string; added: boolean }> {
    const [result] = await this.addBulk([{ name, data, opts }]);
    return result!;
  }

  async addBulk(jobs: { name: string; data: T; opts?: JobOptions }[]): Promise<{ id: string; added: boolean }[]> {
    this.#checkOpen();
    if (!Array.isArray(jobs)) throw new ValidationError('jobs', 'must be an array');
    const checked = jobs.map((j) => {
      toJsonText(j.data);
      return { name: checkJobName(j.name), data: j.data, opts: resolveJobOptions(j.opts, randomUUID), token: randomUUID() };
    });
    if (checked.length === 0) return [];
    await this.#queue.addBulk(checked.map((c) => ({ name: c.name, data: { payload: c.data, token: c.token } satisfies Envelope, opts: bullmqOptions(c.opts) })));
    return Promise.all(
      checked.map(async ({ opts, token }) => {
        const stored = await this.#queue.getJob(toBullmqId(opts.jobId));
        // Gone already means it ran and was removed in the meantime: ours, in all likelihood.
        const added = stored === undefined || (stored.data as Partial<Envelope> | undefined)?.token === token;
        return { id: opts.jobId, added };
      }),
    );
  }

  process(processor: Processor<T>, opts?: ProcessOptions): WorkerHandle {
    this.#checkOpen();
    if (typeof processor !== 'function') throw new ValidationError('processor', 'must be a function');
    const { concurrency, globalConcurrency } = resolveProcessOptions(opts);
    const worker = new Worker(this.name, (job, token) => this.#run(processor, job, token), {
      connection: { url: this.ctx.connection },
      prefix: this.ctx.prefix,
      concurrency,
      ...WORKER_SETTINGS,
      settings: { backoffStrategy },
      // With a queue-wide limit the worker starts only once the limit is stored (#runLimited).
      autorun: globalConcurrency === undefined,
    });
    worker.on('error', (err) => this.ctx.logger?.error({ err }, 'worker error'));
    this.#workers.add(worker);
    let closed = false;
    if (globalConcurrency !== undefined) void this.#runLimited(worker, globalConcurrency, () => closed);
    return {
      close: async () => {
        closed = true;
        await worker.close();
        this.#workers.delete(worker);
      },
    };
  }

  /**
   * BullMQ keeps the queue-wide limit in the queue's Redis metadata and checks it in the same script that
   * moves a job to active, so it holds across processes. Until it is stored this worker takes nothing: running
   * unlimited meanwhile would bring back the overlap the limit is there to prevent.
   */
  async #runLimited(worker: Worker, limit: number, closed: () => boolean): Promise<void> {
    for (let failures = 1; ; failures++) {
      if (closed() || this.#closing) return;
      try {
        await this.#queue.setGlobalConcurrency(limit);
        break;
      } catch (err) {
        if (closed() || this.#closing) return;
        this.ctx.logger?.error({ err, globalConcurrency: limit, failures }, 'could not set the queue-wide concurrency; the worker waits for it');
        await sleep(GLOBAL_CONCURRENCY_RETRY_MS, undefined, { ref: false });
      }
    }
    // run() returns at once when the worker closed in the meantime.
    worker.run().catch((err: unknown) => this.ctx.logger?.error({ err }, 'worker error'));
  }

  async counts(): Promise<QueueCounts> {
    const [live, dead] = await Promise.all([this.#liveCounts(), this.#dead.count()]);
    return { ...live, dead };
  }

  async deadLetters(limit?: number): Promise<DeadLetter<T>[]> {
    const records = await this.#dead.list(checkLimit(limit));
    return records.map(({ opts: _opts, ...letter }) => ({ ...letter, data: letter.data as T }));
  }

  async retryDead(id: string): Promise<boolean> {
    this.#checkOpen();
    const record = await this.#dead.get(id);
    if (!record) return false;
    const { added } = await this.add(record.name, record.data as T, { jobId: id, ...record.opts });
    // A live job with the same id was added since: leave the letter for the operator.
    if (!added) return false;
    await this.#dead.remove(id);
    return true;
  }

  async removeDead(id: string): Promise<boolean> {
    return this.#dead.remove(id);
  }

  async addDead(name: string, data: T, opts: DeadLetterOptions): Promise<boolean> {
    this.#checkOpen();
    const checkedName = checkJobName(name);
    toJsonText(data);
    const { job, reason, errorCode } = resolveDeadLetterOptions(opts);
    if ((await this.#dead.get(job.jobId)) || (await this.#queue.getJob(toBullmqId(job.jobId)))) return false;
    const record: DeadLetterRecord = { id: job.jobId, name: checkedName, data, reason, errorCode, attemptsMade: 0, failedAt: Date.now(), opts: { priority: job.priority, attempts: job.attempts, backoffMs: job.backoffMs } };
    await this.#dead.put(record);
    this.ctx.logger?.warn({ jobId: job.jobId, job: checkedName, errorCode, reason }, 'dead letter recorded for an operator');
    return true;
  }

  async drained(): Promise<boolean> {
    while (!this.#closing) {
      try {
        const c = await this.#liveCounts();
        if (c.waiting + c.delayed + c.active === 0) return true;
      } catch (err) {
        if (this.#closing) return false;
        throw err;
      }
      await sleep(DRAIN_POLL_MS, undefined, { ref: false });
    }
    return false;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#workers].map((w) => w.close()));
      this.#workers.clear();
      await this.#queue.close();
    })();
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closing) throw new QiaoError('queue_closed', `queue ${this.name} is closed`);
  }

  async #liveCounts(): Promise<Omit<QueueCounts, 'dead'>> {
    const c = await this.#queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), delayed: c.delayed ?? 0, active: c.active ?? 0 };
  }

  /** Runs one job and turns its failure into the BullMQ outcome the shared semantics ask for. */
  async #run(processor: Processor<T>, bullJob: BullmqJob, token: string | undefined): Promise<void> {
    const envelope = bullJob.data as Envelope;
    const id = fromBullmqId(bullJob.id ?? '');
    const job: Job<T> = { id, name: bullJob.name, data: envelope.payload as T, attemptsMade: bullJob.attemptsMade };
    try {
      await processor(job);
      return;
    } catch (err) {
      const failures = bullJob.attemptsMade + 1;
      const attempts = bullJob.opts.attempts ?? DEFAULT_ATTEMPTS;
      const outcome = classifyFailure(err, { failures, attempts });
      const log = { jobId: id, job: bullJob.name };
      if (outcome.kind === 'not_ready') {
        this.ctx.logger?.debug({ ...log, retryAfterMs: outcome.retryAfterMs }, 'job not ready, re-delayed');
        return park(bullJob, token, outcome.retryAfterMs, err);
      }
      if (outcome.kind === 'dead') {
        // Recorded before BullMQ removes the job: a crash in between re-runs the
        // job (its lock expires) rather than losing the letter.
        const record = { id, name: bullJob.name, data: envelope.payload, reason: outcome.reason, errorCode: outcome.errorCode, attemptsMade: failures, failedAt: Date.now(), opts: storedOptions(bullJob) };
        try {
          await this.#dead.put(record);
        } catch (putErr) {
          // Failing the job now would remove it with no letter: park it and decide again later.
          this.ctx.logger?.error({ ...log, err: putErr }, 'could not record dead letter; job parked for another try');
          return park(bullJob, token, DEAD_LETTER_RETRY_MS, err);
        }
        this.ctx.logger?.warn({ ...log, errorCode: outcome.errorCode, reason: outcome.reason, attemptsMade: failures }, 'job dead-lettered');
        throw new BullmqUnrecoverableError(outcome.reason);
      }
      this.ctx.logger?.info({ ...log, errorCode: outcome.errorCode, reason: outcome.reason, attemptsMade: failures }, 'job failed, will retry');
      // Always our own error: BullMQ gives special meaning to some error names and
      // messages, and a thrown non-Error would break its failure handling.
      throw new QiaoError('job_failed', outcome.reason, { cause: err });
    }
  }
}

/** BullMQ's manual-delay pattern: back to `delayed` without spending an attempt (moveToDelayed skips it). */
async function park(job: BullmqJob, token: string | undefined, ms: number, cause: unknown): Promise<never> {
  if (token === undefined) throw new QiaoError('queue_internal', 'worker gave no lock token', { cause });
  await job.moveToDelayed(Date.now() + ms, token);
  throw new DelayedError();
}

/** What retryDead needs to add the job again as it was first added. */
function storedOptions(job: BullmqJob): DeadLetterRecord['opts'] {
  return { priority: job.opts.priority ?? 0, attempts: job.opts.attempts ?? DEFAULT_ATTEMPTS, backoffMs: backoffBase(job.opts.backoff) };
}

function bullmqOptions(opts: ResolvedJobOptions) {
  return {
    jobId: toBullmqId(opts.jobId),
    delay: opts.delayMs,
    priority: opts.priority,
    attempts: opts.attempts,
    backoff: { type: BACKOFF_TYPE, delay: opts.backoffMs },
    // Finished jobs leave BullMQ so their id can be added again; failures live in our dead-letter list.
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** The Redis-backed queue backend for running several relayer processes. */
export function createBullmqBackend({ connection, prefix = 'qiao', logger }: { connection: string; prefix?: string; logger?: Logger }): QueueBackend {
  let url: URL;
  try {
    url = new URL(connection);
  } catch (err) {
    throw new ValidationError('connection', 'must be a redis:// or rediss:// URL', { cause: err });
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ValidationError('connection', 'must be a redis:// or rediss:// URL');
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(prefix)) {
    throw new ValidationError('prefix', 'must be 1-128 characters of A-Z a-z 0-9 . _ : -');
  }
  const redis = new Redis(connection);
  redis.on('error', (err) => logger?.error({ err, redis: redactUrl(connection) }, 'redis connection error'));
  const ctx: Context = { connection, prefix, redis, logger };
  const queues = new Map<string, BullmqQueue<unknown>>();
  let closing: Promise<void> | undefined;
  return {
    kind: 'bullmq',
    leases: new RedisLeaseStore(redis, prefix),
    queue<T>(name: string): JobQueue<T> {
      if (closing) throw new QiaoError('queue_closed', 'queue backend is closed');
      const checked = checkQueueName(name);
      let queue = queues.get(checked);
      if (!queue) {
        queue = new BullmqQueue<unknown>(checked, { ...ctx, logger: logger?.child({ queue: checked }) });
        queues.set(checked, queue);
      }
      return queue as JobQueue<T>;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        await Promise.all([...queues.values()].map((q) => q.close()));
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
