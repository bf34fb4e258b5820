import type { CancelRequest, DeliveryOutcome, MessageDeliverer } from '../../src/domain/adapter.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { ContractRevertError, findCause, NotReadyError, UnrecoverableError, ValidationError } from '../../src/errors.ts';
import type { MessageRow } from '../../src/index/types.ts';
import type { ConnectedChain, StageContext } from '../context.ts';
import { OrderedHeadJob, OrderedSkipJob, parseJob } from '../jobs.ts';
import type { DeadLetter, Job, JobQueue } from '../queue/types.ts';
import { queueAcks } from './ack.ts';
import { signaturesFor } from './deliver.ts';

/**
 * Ordered lanes (issue 5), enforced by the destination port: on an ordered lane
 * the port delivers only the lane's head (the message whose nonce is next). A
 * head whose receiver reverts blocks the lane, visibly: the deliver stage records
 * it straight into the dead letters (no head-of-line deadlock hidden in retries),
 * and an operator decides:
 * - `qiao dlq retry <id>` runs the letter's 'ordered-head' job: the message is
 *   delivered again (deliverer.retry); delivered, the lane moves on; failed again,
 *   it is back in the dead letters with the receiver's new reason;
 * - `qiao dlq skip <id> --reason R` re-queues it as an 'ordered-skip' job: the
 *   port admin skips it on chain (never delivered afterwards, the lane moves on)
 *   and the port answers it like a cancel, with R, so a refundable send is
 *   refunded at the source: the error acknowledgement of an ordered lane.
 * The followers wait meanwhile: their deliver job sees them `out_of_order` and
 * comes back later without spending attempts.
 */

export const ORDERED_HEAD = 'ordered-head';
export const ORDERED_SKIP = 'ordered-skip';
export const orderedHeadJobId = (id: Hex) => `${ORDERED_HEAD}:${id}`;
const orderedSkipJobId = (id: Hex) => `${ORDERED_SKIP}:${id}`;

/** The deliver queue carries these jobs next to the batches' (deliverJob dispatches them by name). */
type OrderedQueue = JobQueue<OrderedHeadJob | OrderedSkipJob>;
const deliverQueue = (ctx: StageContext) => ctx.queues.deliver as unknown as OrderedQueue;

const laneName = (row: MessageRow) => `${row.message.srcChain}/${row.message.srcPort}→${row.dstChain}`;

/** Why an ordered lane stands still, as `qiao dlq list` shows it. */
export const blockedReason = (row: MessageRow, why: string) => `ordered lane ${laneName(row)} blocked at nonce ${row.nonce}: ${why}`;

/**
 * Records the failed heads among `failed` (messages on their destination `chain`
 * whose receiver reverted, or that the port refused) as dead letters, once each.
 * Only the current head of an ordered lane blocks it: anything else stays an
 * ordinary failed message.
 */
export async function recordBlockedHeads(ctx: StageContext, chain: ConnectedChain, failed: readonly { row: MessageRow; reason: string }[]): Promise<void> {
  const lane = chain.adapter.deliverer.lane?.bind(chain.adapter.deliverer);
  if (!lane || failed.length === 0) return;
  const states = new Map<string, Promise<{ ordered: boolean; next: bigint }>>();
  for (const { row, reason } of failed) {
    const key = `${row.message.srcChain}|${row.message.srcPort.toLowerCase()}`;
    let state = states.get(key);
    if (!state) states.set(key, (state = lane(row.message.srcChain, row.message.srcPort as Hex)));
    const { ordered, next } = await state;
    if (!ordered || next !== BigInt(row.nonce)) continue;
    const added = await deliverQueue(ctx).addDead(ORDERED_HEAD, { id: row.id, dstChain: row.dstChain }, { jobId: orderedHeadJobId(row.id), reason: blockedReason(row, reason), errorCode: 'ordered_lane_blocked', attempts: ctx.settings.attempts });
    if (added) ctx.logger.warn({ id: row.id, lane: laneName(row), nonce: row.nonce, reason }, 'ordered lane blocked by a failed message: in the dead letters for an operator (qiao dlq retry|skip)');
  }
}

/**
 * The operator's skip of an ordered lane's failed head: the dead letter becomes
 * an 'ordered-skip' job (the skip happens on chain, with the port admin's key)
 * and is removed. Both queue backends take the same path (QueueOps for BullMQ).
 */
export async function skipBlockedHead(queue: JobQueue<unknown>, letter: Pick<DeadLetter, 'id' | 'name' | 'data'>, reason: string): Promise<{ jobId: string; id: Hex }> {
  if (letter.name !== ORDERED_HEAD) throw new ValidationError('id', `dead letter ${letter.id} is not an ordered lane's head`);
  const { id, dstChain } = parseJob(OrderedHeadJob, letter.data, 'deadLetter');
  if (typeof reason !== 'string' || reason.trim().length === 0 || Buffer.byteLength(reason, 'utf8') > 256) throw new ValidationError('reason', 'must be 1-256 bytes of text (the port keeps it on chain)');
  const jobId = orderedSkipJobId(id as Hex);
  await queue.add(ORDERED_SKIP, { id, dstChain, reason } satisfies OrderedSkipJob, { jobId, priority: 0 });
  // After the add: a crash in between leaves the letter, and skipping it again adds nothing twice.
  await queue.removeDead(letter.id);
  return { jobId, id: id as Hex };
}

async function load(ctx: StageContext, id: Hex, dstChain: string): Promise<{ row: MessageRow; chain: ConnectedChain; d: MessageDeliverer }> {
  const [row] = await ctx.index.getMessages([id]);
  if (!row) throw new UnrecoverableError(`message ${id} is not in the index`);
  if (row.dstChain !== dstChain) throw new UnrecoverableError(`message ${id} goes to ${row.dstChain}, not ${dstChain}`);
  const chain = ctx.chains.get(dstChain);
  if (!chain) throw new NotReadyError(`destination ${dstChain} is not connected`, 5000);
  return { row, chain, d: chain.adapter.deliverer };
}

/** The attested batch item of one message, with the signatures its port takes now. */
async function requestFor(ctx: StageContext, chain: ConnectedChain, row: MessageRow): Promise<CancelRequest> {
  if (row.batchNo === null) throw new UnrecoverableError(`message ${row.id} was never committed in a batch`);
  const batchNo = BigInt(row.batchNo);
  const batch = await ctx.index.getBatch(batchNo);
  if (!batch || batch.status !== 'attested') throw new NotReadyError(`batch ${row.batchNo} is not attested yet`, 1000);
  const signed = await signaturesFor(ctx, chain, batchNo);
  return { setId: signed.setId, batchNo, root: batch.root, signatures: signed.signatures, item: { id: row.id, encoded: row.encoded, proof: MessageTree.of(batch.ids).proof(row.id) } };
}

/** Port refusals that only mean "not now". */
function notYet(err: unknown, what: string): NotReadyError | null {
  const revert = findCause(err, ContractRevertError);
  if (revert?.errorName === 'OutOfOrder') return new NotReadyError(`${what}: not the head of its ordered lane (yet)`, 2000, { cause: err });
  if (revert?.errorName === 'WrongSetId') return new NotReadyError(`${what}: the port's attestor set moved`, 500, { cause: err });
  return null;
}

/** An operator's retry of a blocked head (the dead letter put back): delivers it again. */
export async function orderedHeadJob(ctx: StageContext, job: Job<unknown>): Promise<void> {
  const { id: raw, dstChain } = parseJob(OrderedHeadJob, job.data, 'deliver');
  const { row, chain, d } = await load(ctx, raw.toLowerCase() as Hex, dstChain);
  // Delivered, cancelled at its timeout or refunded meanwhile: nothing is blocked by it any more.
  if (row.status !== 'failed' && row.status !== 'attested') return;
  if (!d.retry) throw new UnrecoverableError(`the ${chain.registration.family} deliverer of ${dstChain} cannot re-deliver a message`);
  let outcome: DeliveryOutcome;
  try {
    outcome = await d.retry(await requestFor(ctx, chain, row));
  } catch (err) {
    const later = notYet(err, `retry of ${row.id}`);
    if (later) throw later;
    if (findCause(err, ContractRevertError)) throw new UnrecoverableError(blockedReason(row, `the port refused the retry`), { cause: err });
    throw err;
  }
  if (outcome.status === 'delivered') {
    await queueAcks(ctx, dstChain, [row]);
    await ctx.index.transition([row.id], 'delivered', { chain: dstChain, height: outcome.height, txHash: outcome.txHash, dstTxHash: outcome.txHash });
    ctx.logger.info({ id: row.id, lane: laneName(row), nonce: row.nonce, txHash: outcome.txHash }, 'ordered lane unblocked: its head was delivered on retry');
    return;
  }
  // The port cancelled it meanwhile (its timeout): the timeout stage records that, the lane has moved.
  if (outcome.status === 'rejected' && outcome.reason === 'cancelled') return;
  // Back to the dead letters, with what the receiver (or the port) said this time.
  throw new UnrecoverableError(blockedReason(row, outcome.reason));
}

/** An operator's skip of a blocked head: the port admin skips it on chain, and the index marks it failed. */
export async function orderedSkipJob(ctx: StageContext, job: Job<unknown>): Promise<void> {
  const { id: raw, dstChain, reason } = parseJob(OrderedSkipJob, job.data, 'deliver');
  const { row, chain, d } = await load(ctx, raw.toLowerCase() as Hex, dstChain);
  if (!d.skip) throw new UnrecoverableError(`the port on ${dstChain} has no ordered lanes to skip on`);
  const evidence = (tx: { txHash: Hex; height: bigint }) => ({ chain: dstChain, height: tx.height, txHash: tx.txHash, reason: `skipped_by_operator:${reason}`, proof: { skipped: true, port: chain.registration.port } });
  const settled = async (): Promise<boolean> => {
    const r = await d.receiptOf(row.id);
    if (r?.status === 'delivered') {
      // Delivered before the skip landed (an operator's retry, say): it stays delivered.
      ctx.logger.warn({ id: row.id }, 'skip not needed: the message was delivered');
      await ctx.index.transition([row.id], 'delivered', { chain: dstChain, height: r.height, txHash: r.txHash, dstTxHash: r.txHash });
      return true;
    }
    if (r?.status === 'cancelled') {
      if (r.skipped) await ctx.index.transition([row.id], 'failed', evidence(r));
      return true;
    }
    return false;
  };
  if (await settled()) return;
  try {
    const tx = await d.skip(await requestFor(ctx, chain, row), reason);
    // Already `failed` (its receiver reverted) it stays as it is: the skip is on chain (MessageSkipped), the refund follows with the ack.
    await ctx.index.transition([row.id], 'failed', evidence(tx));
    ctx.logger.info({ id: row.id, lane: laneName(row), nonce: row.nonce, txHash: tx.txHash, reason }, 'ordered lane head skipped by the operator');
  } catch (err) {
    const later = notYet(err, `skip of ${row.id}`);
    if (later) throw later;
    const revert = findCause(err, ContractRevertError);
    if (revert?.errorName === 'CannotSkip' && (await settled())) return;
    if (revert) throw new UnrecoverableError(`the port on ${dstChain} refused to skip ${row.id}: ${revert.errorName}`, { cause: err });
    throw err;
  }
}
