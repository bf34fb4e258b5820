import type { DeliveryItem } from '../../src/domain/adapter.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { ContractRevertError, NotReadyError, UnrecoverableError, findCause } from '../../src/errors.ts';
import type { StageContext } from '../context.ts';
import { DeliverJob, parseJob } from '../jobs.ts';
import { currentSignatures } from './attest.ts';
import type { Job } from '../queue/types.ts';

/** Port errors that no retry can fix: the attestation does not match the port's attestor set. */
const FATAL_REVERTS = new Set(['NotEnoughSignatures', 'WrongSetId', 'LengthMismatch']);

/**
 * Delivers a batch's messages for one destination chain. The port refuses
 * duplicates on chain; the adapter first reads receipts, so a job replayed after
 * a crash records the earlier delivery instead of sending again.
 */
export async function deliverJob(ctx: StageContext, job: Job<unknown>): Promise<void> {
  const { batchNo: bn, dstChain } = parseJob(DeliverJob, job.data, 'deliver');
  const batchNo = BigInt(bn);
  const chain = ctx.chains.get(dstChain);
  if (!chain) throw new NotReadyError(`destination ${dstChain} is not connected`, 5000);
  const batch = await ctx.index.getBatch(batchNo);
  if (!batch || batch.status !== 'attested') throw new NotReadyError(`batch ${bn} is not attested yet`, 1000);
  const set = await ctx.gov.attestors();
  const signatures = (await currentSignatures(ctx, batchNo, set)).map((a) => a.signature);
  const rows = (await ctx.index.getMessages(batch.ids)).filter((r) => r.dstChain === dstChain && r.status === 'attested');
  if (rows.length === 0) return;
  const tree = MessageTree.of(batch.ids);
  for (let i = 0; i < rows.length; i += ctx.settings.deliverChunk) {
    const items: DeliveryItem[] = rows.slice(i, i + ctx.settings.deliverChunk).map((r) => ({ id: r.id, encoded: r.encoded, proof: tree.proof(r.id) }));
    let outcomes;
    try {
      outcomes = await chain.adapter.deliverer.deliver({ rootType: 1, setId: set.setId, batchNo, root: batch.root, signatures, items });
    } catch (err) {
      const revert = findCause(err, ContractRevertError);
      if (revert && FATAL_REVERTS.has(revert.errorName)) throw new UnrecoverableError(`the port on ${dstChain} refused batch ${bn}: ${revert.errorName}`, { cause: err });
      throw err;
    }
    for (const o of outcomes) {
      if (o.status === 'delivered') {
        await ctx.index.setDstTx(o.id, o.txHash);
        await ctx.index.transition([o.id], 'delivered', { chain: dstChain, height: o.height, txHash: o.txHash });
      } else if (o.status === 'failed') {
        await ctx.index.setDstTx(o.id, o.txHash);
        await ctx.index.transition([o.id], 'failed', { chain: dstChain, height: o.height, txHash: o.txHash, reason: o.reason });
      } else {
        await ctx.index.transition([o.id], 'failed', { chain: dstChain, reason: `refused_by_port:${o.reason}` });
      }
    }
    const delivered = outcomes.filter((o) => o.status === 'delivered').length;
    ctx.logger.info({ batchNo: bn, dstChain, delivered, other: outcomes.length - delivered }, 'delivered');
  }
}

