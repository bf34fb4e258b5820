/**
 * One error base class for the whole project. Subclasses carry data, never
 * meaning encoded in message text: callers branch on `instanceof` or `code`.
 */
export class QiaoError extends Error {
  readonly code: string;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.data = Object.freeze({ ...(options.data ?? {}) });
  }
}

/** A configuration value is wrong; `field` is the dotted path of the bad field. */
export class ConfigError extends QiaoError {
  constructor(readonly field: string, message: string, options: { cause?: unknown } = {}) {
    super('config_invalid', `config ${field}: ${message}`, { ...options, data: { field } });
  }
}

/** Input at a boundary (HTTP, CLI, queue payload, chain data) is malformed. */
export class ValidationError extends QiaoError {
  constructor(readonly field: string, message: string, options: { cause?: unknown } = {}) {
    super('invalid_input', `${field}: ${message}`, { ...options, data: { field } });
  }
}

/** A proof did not verify. Never retried into success: the queue dead-letters it. */
export class InvalidProofError extends QiaoError {
  constructor(readonly reason: string, message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('invalid_proof', message, { ...options, data: { reason, ...(options.data ?? {}) } });
  }
}

/** The thing asked for is not final yet; try again later without counting an attempt. */
export class NotReadyError extends QiaoError {
  constructor(message: string, readonly retryAfterMs = 1000, options: { cause?: unknown } = {}) {
    super('not_ready', message, { ...options, data: { retryAfterMs } });
  }
}

/** A remote endpoint failed (timeout, 5xx, connection refused): retryable. */
export class RpcError extends QiaoError {
  constructor(readonly endpoint: string, message: string, options: { cause?: unknown } = {}) {
    super('rpc_failed', `${redactUrl(endpoint)}: ${message}`, { ...options, data: { endpoint: redactUrl(endpoint) } });
  }
}

/** An on-chain call reverted with a known custom error (e.g. AlreadyDelivered). */
export class ContractRevertError extends QiaoError {
  constructor(readonly errorName: string, message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('contract_revert', message, { ...options, data: { errorName, ...(options.data ?? {}) } });
  }
}

/** An attestor refused to sign (a different root at a signed batch, a rollback). */
export class AttestorRefusalError extends QiaoError {
  constructor(readonly reason: 'conflicting_root' | 'rollback' | 'not_final' | 'halted' | 'root_mismatch', message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('attestor_refused', message, { ...options, data: { reason, ...(options.data ?? {}) } });
  }
}

/** A job payload or a stage's precondition means the job can never succeed. */
export class UnrecoverableError extends QiaoError {
  constructor(message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('unrecoverable', message, options);
  }
}

/** Strips credentials and query strings from an endpoint URL before it is logged or shown. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    if (u.search) u.search = '?***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Walks a cause chain, e.g. to find the first QiaoError below a library error. */
export function* causeChain(err: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  let cur: unknown = err;
  while (cur !== undefined && cur !== null && !seen.has(cur)) {
    seen.add(cur);
    yield cur;
    cur = cur instanceof Error ? (cur as Error & { cause?: unknown }).cause : undefined;
  }
}

export function findCause<T>(err: unknown, ctor: abstract new (...args: never[]) => T): T | undefined {
  for (const e of causeChain(err)) if (e instanceof ctor) return e as T;
  return undefined;
}
