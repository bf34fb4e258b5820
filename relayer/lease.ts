import type { Redis } from 'ioredis';
import { QiaoError, ValidationError } from '../src/errors.ts';
import type { Logger } from '../src/logging.ts';

/**
 * Leases: one holder at a time per key (here: per member chain's watcher),
 * across every relayer process sharing a queue backend.
 *
 * A lease alone cannot make "exactly one" true: a holder paused past its TTL
 * (GC, a frozen VM) still believes it holds it. So every grant carries a
 * fencing token that only grows, and the guarded resource checks it itself
 * (the checkpoint write `WHERE fence <= $token`): a stale holder's write
 * changes nothing, and the holder stops.
 */
export interface LeaseGrant {
  key: string;
  holder: string;
  /** Fencing token: larger for every later grant of the same key. */
  fence: bigint;
}

export interface LeaseHolderInfo extends LeaseGrant {
  /** Milliseconds until the lease expires unless renewed. */
  ttlMs: number;
}

export interface LeaseStore {
  readonly kind: 'memory' | 'redis';
  /** Takes the lease if nobody holds it; null when someone does. */
  acquire(key: string, holder: string, ttlMs: number): Promise<LeaseGrant | null>;
  /** Extends a lease still held by this grant; false once it was lost (expired or taken over). */
  renew(grant: LeaseGrant, ttlMs: number): Promise<boolean>;
  /** Gives the lease back if this grant still holds it. */
  release(grant: LeaseGrant): Promise<boolean>;
  /** Current holders, by key. */
  holders(): Promise<LeaseHolderInfo[]>;
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || !/^[A-Za-z0-9._:/-]{1,200}$/.test(key)) throw new ValidationError('lease.key', 'must be 1-200 characters of A-Z a-z 0-9 . _ : / -');
  return key;
}

function checkHolder(holder: unknown): string {
  if (typeof holder !== 'string' || !/^[A-Za-z0-9._:@/-]{1,200}$/.test(holder)) throw new ValidationError('lease.holder', 'must be 1-200 characters of A-Z a-z 0-9 . _ : @ / -');
  return holder;
}

function checkTtl(ttlMs: unknown): number {
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < 10 || ttlMs > 3_600_000) throw new ValidationError('lease.ttlMs', 'must be an integer from 10 to 3600000');
  return ttlMs;
}

/**
 * Fencing tokens are the larger of "previous + 1" and the current time in
 * milliseconds. The guarded rows outlive the counter (a PGlite index survives a
 * hub restart, a PostgreSQL index survives a Redis flush), so a counter that
 * restarted at 1 would be refused forever; a clock-based floor keeps new grants
 * above every older one while the clock does not run backwards by more than
 * the time since the last grant.
 */
const nextFence = (previous: bigint, nowMs: number): bigint => (BigInt(nowMs) > previous ? BigInt(nowMs) : previous + 1n);

/** The embedded default: leases in this process, same semantics (the hub is then the only process). */
export class MemoryLeaseStore implements LeaseStore {
  readonly kind = 'memory';
  readonly #held = new Map<string, { holder: string; fence: bigint; expiresAt: number }>();
  readonly #fences = new Map<string, bigint>();

  constructor(private readonly now: () => number = Date.now) {}

  async acquire(key: string, holder: string, ttlMs: number): Promise<LeaseGrant | null> {
    checkKey(key);
    checkHolder(holder);
    checkTtl(ttlMs);
    const t = this.now();
    const cur = this.#held.get(key);
    if (cur && cur.expiresAt > t) return null;
    const fence = nextFence(this.#fences.get(key) ?? 0n, t);
    this.#fences.set(key, fence);
    this.#held.set(key, { holder, fence, expiresAt: t + ttlMs });
    return { key, holder, fence };
  }

  async renew(grant: LeaseGrant, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const t = this.now();
    const cur = this.#held.get(grant.key);
    if (!cur || cur.expiresAt <= t || cur.holder !== grant.holder || cur.fence !== grant.fence) return false;
    cur.expiresAt = t + ttlMs;
    return true;
  }

  async release(grant: LeaseGrant): Promise<boolean> {
    const cur = this.#held.get(grant.key);
    if (!cur || cur.expiresAt <= this.now() || cur.holder !== grant.holder || cur.fence !== grant.fence) return false;
    this.#held.delete(grant.key);
    return true;
  }

  async holders(): Promise<LeaseHolderInfo[]> {
    const t = this.now();
    return [...this.#held]
      .filter(([, v]) => v.expiresAt > t)
      .map(([key, v]) => ({ key, holder: v.holder, fence: v.fence, ttlMs: v.expiresAt - t }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }
}

// KEYS[1] lease, KEYS[2] fence counter; ARGV[1] holder, ARGV[2] ttl ms.
// The counter is bumped only when the lease is free, with Redis's own clock as floor.
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local fence = prev + 1
if nowMs > prev then fence = nowMs end
redis.call('SET', KEYS[2], string.format('%d', fence))
local value = ARGV[1] .. '|' .. string.format('%d', fence)
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return string.format('%d', fence)
`;
// KEYS[1] lease; ARGV[1] "holder|fence", ARGV[2] ttl ms.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Leases in Redis: the lease is a key set with NX semantics (inside a script,
 * so the fencing counter moves in the same step) and a PX expiry; renew and
 * release are scripts that act only while the value is still this grant's
 * "holder|fence". Keys: `<prefix>:lease:<key>` and `<prefix>:lease-fence:<key>`.
 */
export class RedisLeaseStore implements LeaseStore {
  readonly kind = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  #leaseKey(key: string): string {
    return `${this.prefix}:lease:${key}`;
  }

  async acquire(key: string, holder: string, ttlMs: number): Promise<LeaseGrant | null> {
    checkKey(key);
    checkHolder(holder);
    checkTtl(ttlMs);
    const r = (await this.redis.eval(ACQUIRE, 2, this.#leaseKey(key), `${this.prefix}:lease-fence:${key}`, holder, ttlMs)) as string | null;
    return r === null ? null : { key, holder, fence: BigInt(r) };
  }

  async renew(grant: LeaseGrant, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return (await this.redis.eval(RENEW, 1, this.#leaseKey(grant.key), `${grant.holder}|${grant.fence}`, ttlMs)) === 1;
  }

  async release(grant: LeaseGrant): Promise<boolean> {
    return (await this.redis.eval(RELEASE, 1, this.#leaseKey(grant.key), `${grant.holder}|${grant.fence}`)) === 1;
  }

  async holders(): Promise<LeaseHolderInfo[]> {
    const out: LeaseHolderInfo[] = [];
    const head = `${this.prefix}:lease:`;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 500);
      cursor = next;
      for (const k of keys) {
        const [value, ttl] = await Promise.all([this.redis.get(k), this.redis.pttl(k)]);
        if (value === null || ttl < 0) continue;
        const bar = value.lastIndexOf('|');
        out.push({ key: k.slice(head.length), holder: value.slice(0, bar), fence: BigInt(value.slice(bar + 1)), ttlMs: ttl });
      }
    } while (cursor !== '0');
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }
}

export class LeaseLostError extends QiaoError {
  constructor(message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('lease_lost', message, options);
  }
}

export interface HeldLease {
  readonly grant: LeaseGrant;
  /** False from the moment a renewal failed or the lease could have expired unrenewed. */
  readonly held: boolean;
  /** Resolves when the lease is lost (never when it is released). */
  readonly lost: Promise<void>;
  /** Stops renewing and releases the lease. */
  release(): Promise<void>;
}

/**
 * Keeps a granted lease: renews every `renewEveryMs` (well inside the TTL),
 * and reports it lost at once when a renewal is refused or fails, or when the
 * last confirmed renewal is older than the TTL minus a margin (Redis hanging
 * must not let a holder run on past its lease).
 */
export function keepLease(
  store: LeaseStore,
  grant: LeaseGrant,
  { ttlMs, renewEveryMs = Math.max(5, Math.floor(ttlMs / 3)), logger, onLost }: { ttlMs: number; renewEveryMs?: number; logger?: Logger; onLost?: () => void },
): HeldLease {
  if (renewEveryMs * 2 > ttlMs) throw new ValidationError('lease.renewEveryMs', 'must be at most half the TTL');
  let held = true;
  let confirmedAt = Date.now();
  let resolveLost!: () => void;
  const lost = new Promise<void>((r) => (resolveLost = r));
  const lose = (why: string, err?: unknown) => {
    if (!held) return;
    held = false;
    clearInterval(timer);
    clearInterval(watchdog);
    logger?.warn({ lease: grant.key, fence: String(grant.fence), err }, `lease lost: ${why}`);
    resolveLost();
    onLost?.();
  };
  let renewing = false;
  const timer = setInterval(() => {
    if (renewing || !held) return;
    renewing = true;
    const started = Date.now();
    store
      .renew(grant, ttlMs)
      .then((ok) => {
        if (!ok) lose('renewal refused (expired or taken over)');
        else if (held) confirmedAt = started;
      })
      .catch((err: unknown) => lose('renewal failed', err))
      .finally(() => (renewing = false));
  }, renewEveryMs);
  // The lease may have expired by now if no renewal started before this margin was confirmed.
  const margin = Math.max(5, Math.floor(ttlMs / 10));
  const watchdog = setInterval(() => {
    if (Date.now() - confirmedAt > ttlMs - margin) lose('no renewal confirmed within the TTL');
  }, Math.max(5, Math.floor(margin / 2)));
  timer.unref();
  watchdog.unref();
  return {
    grant,
    get held() {
      return held;
    },
    lost,
    async release() {
      const was = held;
      held = false;
      clearInterval(timer);
      clearInterval(watchdog);
      if (!was) return;
      try {
        await store.release(grant);
      } catch (err) {
        // It expires by itself within the TTL.
        logger?.warn({ lease: grant.key, err }, 'could not release lease');
      }
    },
  };
}
