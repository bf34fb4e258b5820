import { ValidationError } from '../../src/errors.ts';
import type { DeadLetterOptions, JobOptions } from './types.ts';

export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 500;
/** BullMQ's priority limit (2^21 - 1); the in-process queue enforces the same so both accept the same jobs. */
export const MAX_PRIORITY = 2 ** 21 - 1;
const MAX_ID_LENGTH = 512;

/** Job options after validation and defaults: what both backends store with a job. */
export interface ResolvedJobOptions {
  jobId: string;
  delayMs: number;
  priority: number;
  attempts: number;
  backoffMs: number;
}

/**
 * Queue names become Redis key segments, so both backends accept the same
 * conservative set (no `:`, which BullMQ reserves as its key separator).
 */
export function checkQueueName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(name)) {
    throw new ValidationError('queue', 'must be 1-128 characters of A-Z a-z 0-9 . _ -');
  }
  return name;
}

export function checkJobName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_ID_LENGTH) {
    throw new ValidationError('name', `must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return name;
}

/**
 * Jobs cross the queue as JSON in BullMQ; the in-process queue keeps the same
 * JSON text and parses it for every run, so a processor sees identical data on
 * either backend and cannot leak mutations into its own retry.
 */
export function toJsonText(data: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (err) {
    throw new ValidationError('data', 'must be JSON-serialisable', { cause: err });
  }
  if (text === undefined) throw new ValidationError('data', 'must be JSON-serialisable (got undefined or a function)');
  return text;
}

function nonNegative(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValidationError(field, 'must be a finite number >= 0');
  }
  return value;
}

/** Validates caller options; `newId` supplies an id when the caller gave none (both backends use random ids, never counters). */
export function resolveJobOptions(opts: JobOptions | undefined, newId: () => string): ResolvedJobOptions {
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw new ValidationError('opts', 'must be an object');
  const { jobId, delayMs, priority, attempts, backoffMs } = opts ?? {};
  if (jobId !== undefined && (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > MAX_ID_LENGTH)) {
    throw new ValidationError('jobId', `must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  if (priority !== undefined && (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY)) {
    throw new ValidationError('priority', `must be an integer from 0 to ${MAX_PRIORITY}`);
  }
  if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < 1)) {
    throw new ValidationError('attempts', 'must be an integer >= 1');
  }
  return {
    jobId: jobId ?? newId(),
    delayMs: nonNegative('delayMs', delayMs, 0),
    priority: priority ?? 0,
    attempts: attempts ?? DEFAULT_ATTEMPTS,
    backoffMs: nonNegative('backoffMs', backoffMs, DEFAULT_BACKOFF_MS),
  };
}

/** Validates `addDead` options the same way in both backends. */
export function resolveDeadLetterOptions(opts: DeadLetterOptions): { job: ResolvedJobOptions; reason: string; errorCode: string } {
  if (typeof opts !== 'object' || opts === null) throw new ValidationError('opts', 'must be an object');
  if (typeof opts.jobId !== 'string') throw new ValidationError('jobId', 'is required for a dead letter');
  if (typeof opts.reason !== 'string' || opts.reason.length === 0 || opts.reason.length > 2000) throw new ValidationError('reason', 'must be 1-2000 characters');
  const errorCode = opts.errorCode ?? 'operator_decision';
  if (typeof errorCode !== 'string' || !/^[a-z0-9_]{1,64}$/.test(errorCode)) throw new ValidationError('errorCode', 'must be 1-64 characters of a-z 0-9 _');
  const job = resolveJobOptions({ jobId: opts.jobId, ...(opts.priority !== undefined ? { priority: opts.priority } : {}), ...(opts.attempts !== undefined ? { attempts: opts.attempts } : {}), ...(opts.backoffMs !== undefined ? { backoffMs: opts.backoffMs } : {}) }, () => opts.jobId);
  return { job, reason: opts.reason, errorCode };
}

export function checkConcurrency(concurrency: unknown = 1, field = 'concurrency'): number {
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1) {
    throw new ValidationError(field, 'must be an integer >= 1');
  }
  return concurrency;
}

/** Validates `process()` options the same way in both backends. */
export function resolveProcessOptions(opts: unknown): { concurrency: number; globalConcurrency: number | undefined } {
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw new ValidationError('opts', 'must be an object');
  const { concurrency, globalConcurrency } = (opts ?? {}) as { concurrency?: unknown; globalConcurrency?: unknown };
  return {
    concurrency: checkConcurrency(concurrency),
    globalConcurrency: globalConcurrency === undefined ? undefined : checkConcurrency(globalConcurrency, 'globalConcurrency'),
  };
}

export function checkLimit(limit: unknown = 100): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) {
    throw new ValidationError('limit', 'must be an integer >= 0');
  }
  return limit;
}
