import { Redis } from 'ioredis';
import { z } from 'zod';
import type { Hex } from '../../src/domain/hex.ts';
import { QiaoError, ValidationError } from '../../src/errors.ts';
import type { MessageIndex } from '../../src/index/types.ts';
import { RedisLeaseStore, type LeaseHolderInfo } from '../lease.ts';
import { ORDERED_HEAD, skipBlockedHead } from '../stages/ordered.ts';
import { createBullmqBackend } from './bullmq.ts';
import { RedisDeadLetters, type DeadLetterRecord } from './redis-dead-letters.ts';
import type { QueueBackend, QueueCounts } from './types.ts';

/**
 * Operator views over a hub's BullMQ queues in Redis (`qiao relayer status`,
 * `qiao dlq ...`), from any machine that reaches Redis; nothing here needs a
 * running relayer.
 */
export class QueueOps {
  readonly #redis: Redis;
  readonly #backend: QueueBackend;

  private constructor(
    readonly prefix: string,
    redisUrl: string,
  ) {
    this.#redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
    this.#backend = createBullmqBackend({ connection: redisUrl, prefix });
  }

  static open({ redisUrl, prefix }: { redisUrl: string; prefix: string }): QueueOps {
    return new QueueOps(prefix, redisUrl);
  }

  /** Queue names that exist under the prefix (stages added later show up without a change here). */
  async queueNames(): Promise<string[]> {
    const names = new Set<string>();
    const head = `${this.prefix}:`;
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const rest = k.slice(head.length);
        const [name, kind] = rest.split(':');
        // BullMQ's own keys (meta, id, events, ...) and our dead letters; leases are not queues.
        if (name && kind && name !== 'lease' && name !== 'lease-fence' && /^[A-Za-z0-9._-]+$/.test(name)) names.add(name);
      }
    } while (cursor !== '0');
    return [...names].sort();
  }

  async status(): Promise<{ prefix: string; queues: Record<string, QueueCounts>; leases: LeaseHolderInfo[]; deadLetters: number }> {
    const queues: Record<string, QueueCounts> = {};
    for (const name of await this.queueNames()) queues[name] = await this.#backend.queue(name).counts();
    const leases = await new RedisLeaseStore(this.#redis, this.prefix).holders();
    const deadLetters = Object.values(queues).reduce((n, c) => n + c.dead, 0);
    return { prefix: this.prefix, queues, leases, deadLetters };
  }

  async deadLetters(limit = 1000): Promise<(DeadLetterRecord & { queue: string })[]> {
    const out: (DeadLetterRecord & { queue: string })[] = [];
    for (const queue of await this.queueNames()) {
      for (const r of await this.#letters(queue).list(limit)) out.push({ ...r, queue });
    }
    return out.sort((a, b) => a.failedAt - b.failedAt).slice(0, limit);
  }

  /** Puts a dead letter back in its queue with fresh attempts. */
  async retry(id: string): Promise<{ queue: string; retried: boolean }> {
    const { queue } = await this.#find(id);
    return { queue, retried: await this.#backend.queue(queue).retryDead(id) };
  }

  /**
   * An operator gives up on a dead letter: its messages are marked `failed`
   * with reason `skipped_by_operator:<reason>` through the index's transition
   * (so only from statuses the rules allow: a delivered message stays
   * delivered), the skip is recorded next to the dead letters, and the letter
   * is removed.
   *
   * The head of a blocked ordered lane is skipped on chain as well: its letter
   * becomes an 'ordered-skip' job (`onChain`: its job id), which has the port's
   * admin skip the message (never delivered, the lane moves on, the source is
   * answered like a cancel with the reason) and then marks it failed.
   */
  async skip(id: string, reason: string, index: MessageIndex): Promise<{ queue: string; messages: Hex[]; failed: Hex[]; unchanged: Hex[]; onChain?: string }> {
    if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > 500) throw new ValidationError('reason', 'must be 1-500 characters');
    const { queue, record } = await this.#find(id);
    if (record.name === ORDERED_HEAD) {
      const r = await skipBlockedHead(this.#backend.queue(queue), record, reason);
      await this.#redis.hset(`${this.prefix}:${queue}:dlq:skipped`, id, JSON.stringify({ ...record, skip: { reason, at: Date.now(), onChain: r.jobId } }));
      return { queue, messages: [r.id], failed: [], unchanged: [], onChain: r.jobId };
    }
    const messages = await messagesOf(record, index);
    const failed = messages.length ? await index.transition(messages, 'failed', { reason: `skipped_by_operator:${reason}` }) : [];
    const moved = new Set(failed);
    const unchanged = messages.filter((m) => !moved.has(m));
    const skipped = { ...record, skip: { reason, at: Date.now(), failed, unchanged } };
    await this.#redis.hset(`${this.prefix}:${queue}:dlq:skipped`, id, JSON.stringify(skipped));
    await this.#letters(queue).remove(id);
    return { queue, messages, failed, unchanged };
  }

  async close(): Promise<void> {
    await this.#backend.close();
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  #letters(queue: string): RedisDeadLetters {
    return new RedisDeadLetters(this.#redis, { prefix: this.prefix, queue });
  }

  async #find(id: string): Promise<{ queue: string; record: DeadLetterRecord }> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 512) throw new ValidationError('id', 'must be a dead letter id');
    for (const queue of await this.queueNames()) {
      const record = await this.#letters(queue).get(id);
      if (record) return { queue, record };
    }
    throw new QiaoError('not_found', `no dead letter ${id} under ${this.prefix}`);
  }
}

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const withIds = z.object({ ids: z.array(hex32).min(1) }).passthrough();
const withBatch = z.object({ batchNo: z.string().regex(/^\d{1,20}$/), dstChain: z.string().optional() }).passthrough();

/** The messages a dead job was carrying: listed ids (verify), or its batch (attest; deliver: those for its destination). */
async function messagesOf(record: DeadLetterRecord, index: MessageIndex): Promise<Hex[]> {
  const ids = withIds.safeParse(record.data);
  if (ids.success) return ids.data.ids.map((i) => i.toLowerCase() as Hex);
  const batch = withBatch.safeParse(record.data);
  if (!batch.success) return [];
  const row = await index.getBatch(BigInt(batch.data.batchNo));
  if (!row) return [];
  if (batch.data.dstChain === undefined) return row.ids;
  const rows = await index.getMessages(row.ids);
  return rows.filter((m) => m.dstChain === batch.data.dstChain).map((m) => m.id);
}
