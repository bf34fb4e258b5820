import type { Redis } from 'ioredis';
import { QiaoError } from '../../src/errors.ts';
import type { ResolvedJobOptions } from './options.ts';
import type { DeadLetter } from './types.ts';

/** A dead letter plus what is needed to run the job again. */
export interface DeadLetterRecord extends DeadLetter {
  opts: Pick<ResolvedJobOptions, 'priority' | 'attempts' | 'backoffMs'>;
}

/**
 * The BullMQ backend's dead-letter list: a hash (id → record JSON) and a sorted
 * set (failedAt → id) for oldest-first listing. Keys live under the queue's own
 * BullMQ namespace (`<prefix>:<queue>:dlq:…`); job ids never contain `:` (see
 * bullmq-ids.ts), so they cannot collide with a job's key.
 */
export class RedisDeadLetters {
  readonly #entries: string;
  readonly #order: string;

  constructor(
    private readonly redis: Redis,
    { prefix, queue }: { prefix: string; queue: string },
  ) {
    this.#entries = `${prefix}:${queue}:dlq:entries`;
    this.#order = `${prefix}:${queue}:dlq:order`;
  }

  /** Idempotent: a job dead-lettered twice (a crash before BullMQ recorded the failure) keeps one record. */
  async put(record: DeadLetterRecord): Promise<void> {
    await exec(this.redis.multi().hset(this.#entries, record.id, JSON.stringify(record)).zadd(this.#order, record.failedAt, record.id));
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    const raw = await this.redis.hget(this.#entries, id);
    return raw === null ? undefined : (JSON.parse(raw) as DeadLetterRecord);
  }

  async list(limit: number): Promise<DeadLetterRecord[]> {
    if (limit === 0) return [];
    const ids = await this.redis.zrange(this.#order, 0, limit - 1);
    if (ids.length === 0) return [];
    const raws = await this.redis.hmget(this.#entries, ...ids);
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as DeadLetterRecord);
  }

  async remove(id: string): Promise<boolean> {
    const [removed] = await exec(this.redis.multi().hdel(this.#entries, id).zrem(this.#order, id));
    return removed === 1;
  }

  async count(): Promise<number> {
    return this.redis.hlen(this.#entries);
  }
}

async function exec(multi: ReturnType<Redis['multi']>): Promise<unknown[]> {
  const results = await multi.exec();
  if (results === null) throw new QiaoError('redis_failed', 'dead-letter transaction was aborted');
  return results.map(([err, value]) => {
    if (err) throw new QiaoError('redis_failed', 'dead-letter transaction failed', { cause: err });
    return value;
  });
}
