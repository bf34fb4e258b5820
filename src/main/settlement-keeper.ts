import type { Logger } from 'pino';
import { ContractRevertError } from '../errors.ts';
import type { TxSender } from '../evm/signer.ts';
import { SettlementRejected, uetrToBytes16, type SettlementHubClient } from '../settlement/index.ts';

/** Enough for abort's REFUND sends (one port.send per locked leg, at most 4 legs). */
const ABORT_GAS = 3_000_000n;

/**
 * Aborts open payments whose deadline has passed, so every leg that locked is
 * refunded: SettlementHub.abort is open to anyone once the governance chain's
 * block time is past the deadline; the hub does it so no sender has to.
 */
export class SettlementKeeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Payments this keeper aborted (for logs and tests). */
  aborted = 0;

  constructor(
    private readonly hub: SettlementHubClient,
    private readonly sender: TxSender,
    private readonly logger: Logger,
  ) {}

  /** One pass: every open payment past its deadline is aborted. */
  async tick(): Promise<number> {
    const latest = await this.hub.provider.getBlock('latest');
    if (!latest) return 0;
    const chainNow = BigInt(latest.timestamp);
    // An idle automining chain's latest block can be old: a deadline already past by
    // the wall clock is tried too, and the contract (the next block's time) decides.
    const wallNow = BigInt(Math.floor(Date.now() / 1000));
    let n = 0;
    for (const uetr of await this.hub.openUetrs()) {
      const p = await this.hub.payment(uetr);
      if (!p || p.state !== 'open') continue;
      if (p.deadline >= chainNow && p.deadline >= wallNow) continue;
      try {
        if (p.deadline < chainNow) await this.hub.abort(this.sender, uetr);
        // Past by the wall clock only: a preflight (eth_call) would see the idle chain's old
        // block time and refuse, so the call goes straight into a new block, whose time decides.
        else await this.sender.send({ to: this.hub.address, data: this.hub.iface.encodeFunctionData('abort', [uetrToBytes16(uetr)]), gasLimit: ABORT_GAS });
        n++;
        this.logger.info({ uetr, deadline: p.deadline.toString() }, 'payment aborted past its deadline');
      } catch (err) {
        // Decided meanwhile (the last lock arrived, or another keeper aborted), or not yet past by chain time.
        if (err instanceof SettlementRejected && (err.code === 'not_open' || err.code === 'deadline_not_passed')) continue;
        if (err instanceof ContractRevertError && p.deadline >= chainNow) {
          // The direct send reverted (decided meanwhile, or the clocks disagree): checked again next pass.
          this.logger.debug({ err, uetr }, 'abort by wall-clock deadline reverted');
          continue;
        }
        this.logger.warn({ err, uetr }, 'aborting a payment failed; retrying on the next pass');
      }
    }
    this.aborted += n;
    return n;
  }

  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.warn({ err }, 'settlement keeper pass failed'))
        .finally(() => {
          this.running = null;
        });
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
