import type { Logger } from '../../src/logging.ts';
import { createBullmqBackend } from './bullmq.ts';
import { createMemoryBackend } from './memory.ts';
import type { QueueBackend } from './types.ts';

export type * from './types.ts';
export { createBullmqBackend } from './bullmq.ts';
export { createMemoryBackend } from './memory.ts';

/** BullMQ on Redis when a Redis URL is configured; the in-process queue otherwise (the embedded default). */
export function createQueueBackend({ redisUrl, prefix, logger }: { redisUrl?: string; prefix?: string; logger?: Logger } = {}): QueueBackend {
  return redisUrl ? createBullmqBackend({ connection: redisUrl, prefix, logger }) : createMemoryBackend({ logger });
}
