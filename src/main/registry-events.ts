import type { JsonRpcProvider } from 'ethers';
import type { Logger } from 'pino';
import { readRegistryEvents, type RegistrySource } from '../governance/registry-events.ts';
import type { MessageIndex } from '../index/types.ts';

/** Checkpoint key under which the index remembers how far the registry logs were read. */
export const REGISTRY_EVENTS_CHECKPOINT = 'governance:registry-events';
const MAX_RANGE = 2000n;

/**
 * Copies the registries' logs into the index (a chain's status history and
 * the like), from a persisted checkpoint, in bounded ranges, idempotently: a
 * crash between the write and the checkpoint re-reads, never skips.
 */
export class RegistryEventRecorder {
  constructor(
    private readonly index: MessageIndex,
    private readonly provider: JsonRpcProvider,
    private readonly sources: () => readonly RegistrySource[],
    private readonly logger: Logger,
  ) {}

  /** Reads up to `head` (the governance chain's final height); returns how many events were new. */
  async catchUp(head: bigint): Promise<number> {
    const cp = await this.index.getCheckpoint(REGISTRY_EVENTS_CHECKPOINT);
    let from = cp === null ? 0n : cp + 1n;
    let added = 0;
    while (from <= head) {
      const to = from + MAX_RANGE - 1n < head ? from + MAX_RANGE - 1n : head;
      const events = await readRegistryEvents(this.provider, this.sources(), from, to);
      if (events.length) added += await this.index.recordRegistryEvents(events);
      await this.index.setCheckpoint(REGISTRY_EVENTS_CHECKPOINT, to);
      from = to + 1n;
    }
    if (added) this.logger.debug({ added, head: head.toString() }, 'registry events recorded');
    return added;
  }
}
