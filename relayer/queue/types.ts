import type { LeaseStore } from '../lease.ts';

/**
 * One queue interface, implemented twice (in-process and BullMQ) with the same
 * semantics; `test/conformance/queue.test.ts` runs against both.
 *
 * Error semantics (errors drive retries, as in BullMQ):
 * - a processor that resolves completes the job;
 * - `UnrecoverableError` or `InvalidProofError` (src/errors.ts) anywhere in the
 *   cause chain sends the job straight to the dead-letter queue with the reason;
 * - `NotReadyError` re-schedules the job after `retryAfterMs` without counting an attempt;
 * - any other error counts an attempt and retries with exponential backoff plus
 *   jitter, then dead-letters after `attempts`.
 */
export interface JobOptions {
  /** Dedupe key: adding a job whose id is waiting, delayed or active is a no-op. */
  jobId?: string;
  delayMs?: number;
  /** Lower runs first (BullMQ convention); default 0 = highest. */
  priority?: number;
  /** Total tries before dead-lettering (default 5). */
  attempts?: number;
  /** Base delay of exponential backoff (default 500 ms). */
  backoffMs?: number;
}

export interface Job<T> {
  id: string;
  name: string;
  data: T;
  /** Failed tries so far (0 on the first run). */
  attemptsMade: number;
}

/** A dead letter recorded directly (`addDead`): work that needs an operator's decision before it runs. */
export interface DeadLetterOptions extends Pick<JobOptions, 'priority' | 'attempts' | 'backoffMs'> {
  /** Required: the letter's id, and the job's id once `retryDead` runs it. */
  jobId: string;
  /** Why it waits for an operator (shown by `qiao dlq list`). */
  reason: string;
  /** Default `operator_decision`. */
  errorCode?: string;
}

export interface DeadLetter<T = unknown> {
  id: string;
  name: string;
  data: T;
  reason: string;
  errorCode: string;
  attemptsMade: number;
  failedAt: number;
}

export interface QueueCounts {
  waiting: number;
  delayed: number;
  active: number;
  dead: number;
}

export type Processor<T> = (job: Job<T>) => Promise<void>;

export interface ProcessOptions {
  /** Jobs this worker runs at once (default 1). */
  concurrency?: number;
  /**
   * Jobs of this queue that run at once across every worker of every process (a stage whose jobs must not
   * overlap, such as commit, where each job takes the next batch number). It is the queue's, not the worker's:
   * with BullMQ it is stored in Redis, the last value set holds, and a worker that gives none leaves it as it is.
   * The worker takes no job before the limit is in force.
   */
  globalConcurrency?: number;
}

export interface WorkerHandle {
  /** Stops taking jobs; resolves once in-flight jobs finish (or are handed back). */
  close(): Promise<void>;
}

export interface JobQueue<T> {
  readonly name: string;
  add(name: string, data: T, opts?: JobOptions): Promise<{ id: string; added: boolean }>;
  addBulk(jobs: { name: string; data: T; opts?: JobOptions }[]): Promise<{ id: string; added: boolean }[]>;
  process(processor: Processor<T>, opts?: ProcessOptions): WorkerHandle;
  counts(): Promise<QueueCounts>;
  deadLetters(limit?: number): Promise<DeadLetter<T>[]>;
  /** Moves a dead letter back to waiting with a fresh attempt count. */
  retryDead(id: string): Promise<boolean>;
  /** Removes a dead letter (operator skip). */
  removeDead(id: string): Promise<boolean>;
  /**
   * Records a dead letter without running anything (an ordered lane's failed head waits for an operator);
   * `retryDead` then runs it as a job of `name` with `data`. Returns false, changing nothing, when a letter
   * or a live job with that id exists already (so a replayed stage records it once).
   */
  addDead(name: string, data: T, opts: DeadLetterOptions): Promise<boolean>;
  /** Resolves when nothing is waiting, delayed or active (tests and shutdown). */
  drained(): Promise<boolean>;
  close(): Promise<void>;
}

export interface QueueBackend {
  readonly kind: 'memory' | 'bullmq';
  /** Leases shared by every process on this backend (in-process for memory, Redis for BullMQ). */
  readonly leases: LeaseStore;
  queue<T>(name: string): JobQueue<T>;
  close(): Promise<void>;
}
