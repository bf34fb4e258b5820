import type { Logger } from 'pino';
import type { ChainRegistration } from '../domain/chain.ts';
import type { GovernanceClient } from '../governance/client.ts';

export interface RegistryFollowerOptions {
  gov: GovernanceClient;
  /** Applies the registry's chains (the relayer connects approved chains, disconnects the others). */
  sync(chains: ChainRegistration[]): Promise<void>;
  logger: Logger;
  /** How often the governance chain is asked for new blocks. */
  pollMs?: number;
  /** A full re-read however quiet the logs look: the safety net for a missed log or a failed sync. */
  fullSyncMs?: number;
  /** Widest log range asked for at once (a long pause must not ask for everything in one call). */
  maxLogRange?: number;
}

/**
 * Follows the ChainRegistry without a restart. Every `pollMs` it asks for new
 * governance blocks and, only when one holds a ChainRegistry event (submit,
 * status change, endpoints, trust root), re-reads every chain and hands them
 * to `sync`. A full re-read also runs every `fullSyncMs`, and after any
 * failure the range is read again, so nothing is skipped.
 */
export class RegistryFollower {
  private running = true;
  private wake: (() => void) | null = null;
  private readonly loop: Promise<void>;
  /** Highest governance block whose registry events were applied. */
  private seen: bigint;
  private lastFull = Date.now();

  private constructor(
    private readonly o: Required<Omit<RegistryFollowerOptions, 'logger'>> & { logger: Logger },
    head: bigint,
  ) {
    this.seen = head;
    this.loop = this.run();
  }

  /** Syncs once (so the caller starts with every approved chain connected), then follows. */
  static async start({ pollMs = 250, fullSyncMs = 5_000, maxLogRange = 5_000, ...rest }: RegistryFollowerOptions): Promise<RegistryFollower> {
    const head = BigInt(await rest.gov.provider.getBlockNumber());
    await rest.sync(await rest.gov.chains());
    return new RegistryFollower({ pollMs, fullSyncMs, maxLogRange, ...rest }, head);
  }

  private async fullSync(): Promise<void> {
    await this.o.sync(await this.o.gov.chains());
    this.lastFull = Date.now();
  }

  /** One step: true when the registry changed and was applied. */
  private async step(): Promise<boolean> {
    const { gov } = this.o;
    const head = BigInt(await gov.provider.getBlockNumber());
    if (head < this.seen) {
      // The governance chain went back (a restarted dev chain): trust nothing remembered.
      this.o.logger.warn({ head: head.toString(), seen: this.seen.toString() }, 'governance chain head went back; re-reading the registry');
      await this.fullSync();
      this.seen = head;
      return true;
    }
    if (head > this.seen) {
      const to = head - this.seen > BigInt(this.o.maxLogRange) ? this.seen + BigInt(this.o.maxLogRange) : head;
      const logs = await gov.provider.getLogs({ address: gov.addresses.chainRegistry, fromBlock: this.seen + 1n, toBlock: to });
      if (logs.length) {
        await this.fullSync();
        this.seen = to;
        return true;
      }
      this.seen = to;
    }
    if (Date.now() - this.lastFull >= this.o.fullSyncMs) await this.fullSync();
    return false;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (await this.step()) this.o.logger.debug({ block: this.seen.toString() }, 'registry changed; chains re-synced');
        failures = 0;
      } catch (err) {
        failures++;
        this.o.logger.warn({ err, failures }, 'registry follow step failed; retrying');
      }
      if (!this.running) break;
      const wait = failures ? Math.min(10_000, this.o.pollMs * 2 ** Math.min(failures, 5)) : this.o.pollMs;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }
}
