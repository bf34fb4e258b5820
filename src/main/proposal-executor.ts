import type { Logger } from 'pino';
import type { CouncilClient } from '../governance/council.ts';
import type { TxSender } from '../evm/signer.ts';

/** A proposal that failed to run is tried again after this long (its target may change its mind). */
const RETRY_AFTER_MS = 60_000;

/**
 * Runs council proposals whose approvals are in and whose timelock has passed,
 * so a timelocked decision takes effect without someone remembering to type
 * `qiao governance execute`. Anyone on the council may execute; the hub does it
 * with its governor key when that key is a member.
 */
export class ProposalExecutor {
  private readonly failedAt = new Map<bigint, number>();

  constructor(
    private readonly council: CouncilClient,
    private readonly sender: TxSender,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Executes every ready proposal among the newest `scan`; returns the ids it ran. */
  async tick({ scan = 50 }: { scan?: number } = {}): Promise<bigint[]> {
    if (!(await this.council.isMember(this.sender.address))) return [];
    const ran: bigint[] = [];
    for (const p of await this.council.proposals({ limit: scan })) {
      if (p.state !== 'ready') continue;
      const failed = this.failedAt.get(p.id);
      if (failed !== undefined && this.now() - failed < RETRY_AFTER_MS) continue;
      try {
        const r = await this.council.execute(this.sender, p.id);
        this.failedAt.delete(p.id);
        ran.push(p.id);
        this.logger.info({ proposal: p.id.toString(), description: p.description, txHash: r.hash }, 'council proposal executed after its timelock');
      } catch (err) {
        this.failedAt.set(p.id, this.now());
        this.logger.warn({ err, proposal: p.id.toString() }, 'a ready council proposal failed to execute; trying again later');
      }
    }
    return ran;
  }
}
