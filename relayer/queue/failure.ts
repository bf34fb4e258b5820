import { causeChain, findCause, InvalidProofError, NotReadyError, QiaoError, UnrecoverableError } from '../../src/errors.ts';

const MAX_REASON_LENGTH = 2000;
const DEFAULT_NOT_READY_MS = 1000;

/** What a queue does with a job whose processor threw. */
export type FailureOutcome =
  | { kind: 'not_ready'; retryAfterMs: number }
  | { kind: 'dead'; reason: string; errorCode: string }
  | { kind: 'retry'; reason: string; errorCode: string };

/** Messages along the cause chain, outermost first ("deliver: rpc: connection refused"). */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  for (const e of causeChain(err)) {
    const text = e instanceof Error ? e.message : stringify(e);
    if (text && !parts.includes(text)) parts.push(text);
  }
  const reason = parts.join(': ') || (err instanceof Error ? err.name : 'unknown error');
  return reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}…` : reason;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The first project error code in the chain; non-project errors have none. */
function errorCodeOf(err: unknown): string {
  return findCause(err, QiaoError)?.code ?? 'unknown';
}

/**
 * Maps a processor failure to queue behaviour, the same way in both backends.
 * `failures` counts failed tries including this one; `attempts` is the job's total.
 */
export function classifyFailure(err: unknown, { failures, attempts }: { failures: number; attempts: number }): FailureOutcome {
  // The outermost deciding error names the code when both kinds are chained.
  const final = [...causeChain(err)].find((e): e is QiaoError => e instanceof InvalidProofError || e instanceof UnrecoverableError);
  if (final) return { kind: 'dead', reason: describeError(err), errorCode: final.code };
  const notReady = findCause(err, NotReadyError);
  if (notReady) {
    const ms = notReady.retryAfterMs;
    return { kind: 'not_ready', retryAfterMs: Number.isFinite(ms) && ms >= 0 ? ms : DEFAULT_NOT_READY_MS };
  }
  const reason = describeError(err);
  const errorCode = errorCodeOf(err);
  return failures >= attempts ? { kind: 'dead', reason, errorCode } : { kind: 'retry', reason, errorCode };
}
