import { AbiCoder } from 'ethers';
import type { Hex } from '../../src/domain/hex.ts';
import type { MessageJson } from '../../src/domain/message.ts';
import { NotReadyError } from '../../src/errors.ts';
import type { MessageRow } from '../../src/index/types.ts';
import type { StageContext } from '../context.ts';
import { AckJob, parseJob } from '../jobs.ts';
import type { Job } from '../queue/types.ts';

/**
 * Acknowledgements (DESIGN.md step 6). A destination port answers a message that
 * has a timeout with an ordinary Qiao message of its own (see QiaoPort.sol):
 * sender = srcPort = the destination port, receiver = dstPort = the source port,
 * payload = abi.encode(uint8 outcome, bytes32 originalId, bytes reason). It
 * travels the verified path like any message; once it is delivered to the source
 * port, this stage reads what that port recorded (`acks`, and the refund) and
 * moves the original: delivered → `acknowledged`, cancelled → `refunded`. The
 * chain is the evidence, never the ack's own payload.
 */

const ACK_PAYLOAD = ['uint8', 'bytes32', 'bytes'];
const coder = AbiCoder.defaultAbiCoder();

/** The original id an ack message answers, or null for any other message. */
export function ackTarget(m: MessageJson): Hex | null {
  if (m.sender.toLowerCase() !== m.srcPort.toLowerCase() || m.receiver.toLowerCase() !== m.dstPort.toLowerCase()) return null;
  try {
    const [outcome, original] = coder.decode(ACK_PAYLOAD, m.payload);
    return Number(outcome) >= 1 && Number(outcome) <= 3 ? ((original as string).toLowerCase() as Hex) : null;
  } catch {
    return null;
  }
}

/** Queues the ack job for ack messages just delivered on `chainId` (acks run before new sends). */
export async function queueAcks(ctx: StageContext, chainId: string, delivered: readonly MessageRow[]): Promise<void> {
  const ids = delivered.filter((r) => ackTarget(r.message) !== null).map((r) => r.id);
  if (ids.length === 0 || !ctx.queues.ack) return;
  await ctx.queues.ack.add('ack', { chainId, ids }, { jobId: `ack:${chainId}:${ids[0]}:${ids.length}`, priority: 0, attempts: ctx.settings.attempts });
}

export async function ackJob(ctx: StageContext, job: Job<unknown>): Promise<void> {
  const { chainId, ids } = parseJob(AckJob, job.data, 'ack');
  const chain = ctx.chains.get(chainId);
  if (!chain) throw new NotReadyError(`chain ${chainId} is not connected`, 5000);
  const ackOf = chain.adapter.deliverer.ackOf?.bind(chain.adapter.deliverer);
  if (!ackOf) return;
  for (const row of await ctx.index.getMessages(ids as Hex[])) {
    const original = ackTarget(row.message);
    if (!original) continue;
    const [orig] = await ctx.index.getMessages([original]);
    if (!orig) {
      ctx.logger.warn({ ack: row.id, original, chain: chainId }, 'an ack answers a message this index does not hold');
      continue;
    }
    const state = await ackOf(original);
    const evidence = { chain: chainId, ...(state.txHash ? { txHash: state.txHash } : {}), ...(state.height !== undefined ? { height: state.height } : {}) };
    const proof = { ack: row.id, outcome: state.outcome, port: orig.message.srcPort };
    if (state.outcome === 'delivered') {
      // The destination's one receipt slot excludes a cancel once delivered; an index that says otherwise is an alarm.
      if (orig.status === 'timed_out' || orig.status === 'refunded') ctx.logger.error({ id: original, status: orig.status }, 'the source port acknowledged delivery of a message the index holds as timed out');
      else await ctx.index.transition([original], 'acknowledged', { ...evidence, proof });
    } else if (state.outcome === 'cancelled') {
      if (orig.status === 'delivered' || orig.status === 'acknowledged') {
        ctx.logger.error({ id: original, status: orig.status }, 'the source port refunded a message the index holds as delivered');
        continue;
      }
      const refund = state.refund ? { sender: state.refund.sender, value: state.refund.value.toString(), paid: state.refund.paid } : null;
      await ctx.index.transition([original], 'refunded', { ...evidence, proof: { ...proof, refund } });
    } else if (state.outcome === 'none') {
      // The source port refused the ack (wrong port, not expected): its failed receipt says why.
      ctx.logger.warn({ ack: row.id, original, chain: chainId }, 'an ack message was delivered but the source port recorded nothing');
    }
    // 'failed': an error ack; the original stays failed (retryable until its timeout, then refunded).
  }
}
