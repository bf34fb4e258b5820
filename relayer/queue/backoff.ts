/** Upper bound of one retry delay, so a job with many attempts is not parked for days. */
export const MAX_BACKOFF_MS = 10 * 60_000;
export const JITTER = 0.2;

/**
 * Exponential backoff with ±20% jitter: `failures` counts failed tries including
 * the one that just happened (1 after the first failure), so the first retry
 * waits about `baseMs`. Jitter spreads retries of jobs that failed together
 * (one RPC outage) so they do not hit the endpoint again in lockstep.
 */
export function backoffDelay(failures: number, baseMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(baseMs * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS);
  const factor = 1 - JITTER + 2 * JITTER * random();
  return Math.max(0, Math.round(exponential * factor));
}
