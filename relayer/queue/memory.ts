import { randomUUID } from 'node:crypto';
import { QiaoError, ValidationError } from '../../src/errors.ts';
import { MemoryLeaseStore } from '../lease.ts';
import type { Logger } from '../../src/logging.ts';
import { backoffDelay } from './backoff.ts';
import { classifyFailure } from './failure.ts';
import { checkJobName, checkLimit, checkQueueName, resolveDeadLetterOptions, resolveJobOptions, resolveProcessOptions, toJsonText, type ResolvedJobOptions } from './options.ts';
import { PriorityHeap } from './priority-heap.ts';
import type { DeadLetter, DeadLetterOptions, Job, JobOptions, JobQueue, ProcessOptions, Processor, QueueBackend, QueueCounts, WorkerHandle } from './types.ts';

interface Entry {
  id: string;
  name: string;
  dataJson: string;
  opts: ResolvedJobOptions;
  attemptsMade: number;
  state: 'waiting' | 'delayed' | 'active';
  priority: number;
  seq: number;
  timer?: NodeJS.Timeout;
}

interface StoredDeadLetter {
  letter: Omit<DeadLetter, 'data'>;
  dataJson: string;
  opts: ResolvedJobOptions;
}

interface MemoryWorker<T> {
  processor: Processor<T>;
  concurrency: number;
  active: number;
  closing: boolean;
  idleWaiters: (() => void)[];
}

const closedError = (name: string) => new QiaoError('queue_closed', `queue ${name} is closed`);

/**
 * The embedded default: one process, no Redis. Live jobs (waiting, delayed,
 * active) sit in one map keyed by job id, which is what makes dedupe exact.
 */
class MemoryQueue<T> implements JobQueue<T> {
  readonly #live = new Map<string, Entry>();
  readonly #waiting = new PriorityHeap<Entry>();
  readonly #dead = new Map<string, StoredDeadLetter>();
  readonly #workers = new Set<MemoryWorker<T>>();
  #drainWaiters: ((drained: boolean) => void)[] = [];
  #seq = 0;
  /** Jobs running over all workers, and the queue-wide cap on them (one process: every worker is here). */
  #active = 0;
  #globalConcurrency: number | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly logger: Logger | undefined,
  ) {}

  async add(name: string, data: T, opts?: JobOptions): Promise<{ id: string; added: boolean }> {
    const [result] = await this.addBulk([{ name, data, opts }]);
    return result!;
  }

  async addBulk(jobs: { name: string; data: T; opts?: JobOptions }[]): Promise<{ id: string; added: boolean }[]> {
    if (this.#closing) throw closedError(this.name);
    if (!Array.isArray(jobs)) throw new ValidationError('jobs', 'must be an array');
    // Validate everything first so a bad job adds nothing, as BullMQ's bulk add does.
    const checked = jobs.map((j) => ({ name: checkJobName(j.name), dataJson: toJsonText(j.data), opts: resolveJobOptions(j.opts, randomUUID) }));
    const results = checked.map(({ name, dataJson, opts }) => {
      if (this.#live.has(opts.jobId)) return { id: opts.jobId, added: false };
      this.#insert({ id: opts.jobId, name, dataJson, opts, attemptsMade: 0, state: 'waiting', priority: opts.priority, seq: 0 }, opts.delayMs);
      return { id: opts.jobId, added: true };
    });
    this.#pump();
    return results;
  }

  process(processor: Processor<T>, opts?: ProcessOptions): WorkerHandle {
    if (this.#closing) throw closedError(this.name);
    if (typeof processor !== 'function') throw new ValidationError('processor', 'must be a function');
    const { concurrency, globalConcurrency } = resolveProcessOptions(opts);
    if (globalConcurrency !== undefined) this.#globalConcurrency = globalConcurrency;
    const worker: MemoryWorker<T> = { processor, concurrency, active: 0, closing: false, idleWaiters: [] };
    this.#workers.add(worker);
    this.#pump();
    return { close: () => this.#closeWorker(worker) };
  }

  async counts(): Promise<QueueCounts> {
    const counts = { waiting: 0, delayed: 0, active: 0, dead: this.#dead.size };
    for (const entry of this.#live.values()) counts[entry.state] += 1;
    return counts;
  }

  async deadLetters(limit?: number): Promise<DeadLetter<T>[]> {
    const n = checkLimit(limit);
    return [...this.#dead.values()].slice(0, n).map((d) => ({ ...d.letter, data: JSON.parse(d.dataJson) as T }));
  }

  async retryDead(id: string): Promise<boolean> {
    if (this.#closing) throw closedError(this.name);
    const stored = this.#dead.get(id);
    // A live job with the same id was added since: leave the letter for the operator.
    if (!stored || this.#live.has(id)) return false;
    this.#dead.delete(id);
    const opts = { ...stored.opts, delayMs: 0 };
    this.#insert({ id, name: stored.letter.name, dataJson: stored.dataJson, opts, attemptsMade: 0, state: 'waiting', priority: opts.priority, seq: 0 }, 0);
    this.#pump();
    return true;
  }

  async removeDead(id: string): Promise<boolean> {
    return this.#dead.delete(id);
  }

  async addDead(name: string, data: T, opts: DeadLetterOptions): Promise<boolean> {
    if (this.#closing) throw closedError(this.name);
    const checkedName = checkJobName(name);
    const dataJson = toJsonText(data);
    const { job, reason, errorCode } = resolveDeadLetterOptions(opts);
    if (this.#live.has(job.jobId) || this.#dead.has(job.jobId)) return false;
    this.#dead.set(job.jobId, { letter: { id: job.jobId, name: checkedName, reason, errorCode, attemptsMade: 0, failedAt: Date.now() }, dataJson, opts: job });
    this.logger?.warn({ jobId: job.jobId, job: checkedName, errorCode, reason }, 'dead letter recorded for an operator');
    return true;
  }

  drained(): Promise<boolean> {
    if (this.#live.size === 0) return Promise.resolve(true);
    if (this.#closing) return Promise.resolve(false);
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const entry of this.#live.values()) clearTimeout(entry.timer);
    this.#waiting.clear();
    this.#resolveDrainWaiters(false);
    await Promise.all([...this.#workers].map((w) => this.#closeWorker(w)));
  }

  #closeWorker(worker: MemoryWorker<T>): Promise<void> {
    worker.closing = true;
    this.#workers.delete(worker);
    if (worker.active === 0) return Promise.resolve();
    return new Promise((resolve) => worker.idleWaiters.push(resolve));
  }

  #insert(entry: Entry, delayMs: number): void {
    this.#live.set(entry.id, entry);
    if (delayMs > 0) this.#delay(entry, delayMs);
    else this.#enqueue(entry);
  }

  #enqueue(entry: Entry): void {
    entry.state = 'waiting';
    entry.timer = undefined;
    entry.seq = ++this.#seq;
    this.#waiting.push(entry);
  }

  #delay(entry: Entry, ms: number): void {
    entry.state = 'delayed';
    // unref: a parked retry must never be what keeps the process alive.
    entry.timer = setTimeout(() => {
      this.#enqueue(entry);
      this.#pump();
    }, ms).unref();
  }

  #pump(): void {
    if (this.#closing) return;
    for (const worker of this.#workers) {
      while (!worker.closing && worker.active < worker.concurrency) {
        if (this.#globalConcurrency !== undefined && this.#active >= this.#globalConcurrency) return;
        const entry = this.#waiting.pop();
        if (!entry) return;
        void this.#run(worker, entry);
      }
    }
  }

  async #run(worker: MemoryWorker<T>, entry: Entry): Promise<void> {
    entry.state = 'active';
    worker.active += 1;
    this.#active += 1;
    const job: Job<T> = { id: entry.id, name: entry.name, data: JSON.parse(entry.dataJson) as T, attemptsMade: entry.attemptsMade };
    try {
      // A fresh microtask, so a processor that throws synchronously is a failure like any other.
      await Promise.resolve().then(() => worker.processor(job));
      this.#live.delete(entry.id);
    } catch (err) {
      this.#fail(entry, err);
    } finally {
      worker.active -= 1;
      this.#active -= 1;
      if (worker.active === 0) for (const resolve of worker.idleWaiters.splice(0)) resolve();
      if (this.#live.size === 0) this.#resolveDrainWaiters(true);
      this.#pump();
    }
  }

  #fail(entry: Entry, err: unknown): void {
    const failures = entry.attemptsMade + 1;
    const outcome = classifyFailure(err, { failures, attempts: entry.opts.attempts });
    if (outcome.kind === 'dead') {
      this.#live.delete(entry.id);
      this.#dead.delete(entry.id);
      this.#dead.set(entry.id, {
        letter: { id: entry.id, name: entry.name, reason: outcome.reason, errorCode: outcome.errorCode, attemptsMade: failures, failedAt: Date.now() },
        dataJson: entry.dataJson,
        opts: entry.opts,
      });
      this.logger?.warn({ jobId: entry.id, job: entry.name, errorCode: outcome.errorCode, reason: outcome.reason, attemptsMade: failures }, 'job dead-lettered');
      return;
    }
    // After close nothing is rescheduled: the in-process state ends with the queue.
    if (this.#closing) {
      this.#live.delete(entry.id);
      return;
    }
    if (outcome.kind === 'not_ready') {
      this.logger?.debug({ jobId: entry.id, job: entry.name, retryAfterMs: outcome.retryAfterMs }, 'job not ready, re-delayed');
      this.#delay(entry, outcome.retryAfterMs);
      return;
    }
    entry.attemptsMade = failures;
    const delayMs = backoffDelay(failures, entry.opts.backoffMs);
    this.logger?.info({ jobId: entry.id, job: entry.name, errorCode: outcome.errorCode, reason: outcome.reason, attemptsMade: failures, delayMs }, 'job failed, will retry');
    this.#delay(entry, delayMs);
  }

  #resolveDrainWaiters(drained: boolean): void {
    for (const resolve of this.#drainWaiters.splice(0)) resolve(drained);
  }
}

/** The in-process queue backend (the embedded default). */
export function createMemoryBackend({ logger }: { logger?: Logger } = {}): QueueBackend {
  const queues = new Map<string, MemoryQueue<unknown>>();
  let closed = false;
  return {
    kind: 'memory',
    leases: new MemoryLeaseStore(),
    queue<T>(name: string): JobQueue<T> {
      if (closed) throw new QiaoError('queue_closed', 'queue backend is closed');
      const checked = checkQueueName(name);
      let queue = queues.get(checked);
      if (!queue) {
        queue = new MemoryQueue<unknown>(checked, logger?.child({ queue: checked }));
        queues.set(checked, queue);
      }
      return queue as JobQueue<T>;
    },
    async close(): Promise<void> {
      closed = true;
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
