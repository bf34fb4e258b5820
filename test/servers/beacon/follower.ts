/**
 * Follows the upstream execution head: each slot in which anvil's head has
 * moved gets a beacon block carrying that head. Polls rather than subscribes,
 * so any JSON-RPC endpoint works.
 */
import type { Logger } from 'pino';
import type { BeaconChain } from './chain.ts';
import { parseBlock, rpcCall } from './execution.ts';

export class Follower {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastHash: string | null = null;
  private failures = 0;

  constructor(private readonly chain: BeaconChain, private readonly upstream: string, private readonly log: Logger, private readonly intervalMs = 200) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One step: at most one block, in the current slot. Exposed so start-up can wait on it. */
  async tick(): Promise<void> {
    const slot = this.chain.currentSlot();
    const head = this.chain.head();
    if (slot < 1 || (head && slot <= head.slot)) return;
    const latest = parseBlock(await rpcCall(this.upstream, 'eth_getBlockByNumber', ['latest', false]), 'upstream latest block');
    if (latest.hash === this.lastHash) return;
    // The slot may have ended while the block was fetched; the block still goes in the slot it was seen in.
    this.chain.produce(slot, latest);
    this.lastHash = latest.hash;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick()
        .then(() => (this.failures = 0))
        .catch((err: unknown) => {
          // Upstream hiccups leave empty slots, as a beacon node without its execution client would.
          if (this.failures++ % 25 === 0) this.log.warn({ err, failures: this.failures }, 'beacon facade: could not follow the upstream head');
        })
        .finally(() => this.schedule(this.intervalMs));
    }, ms);
  }
}
