import type { PortClock } from '../../src/domain/adapter.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { messageFromJson, type MessageJson } from '../../src/domain/message.ts';
import { ContractRevertError, findCause, NotReadyError, UnrecoverableError } from '../../src/errors.ts';
import type { StageContext } from '../context.ts';
import { parseJob, TimeoutJob } from '../jobs.ts';
import type { MessageRow } from '../../src/index/types.ts';
import type { Job } from '../queue/types.ts';
import { signaturesFor } from './deliver.ts';

/**
 * Timeouts (DESIGN.md step 6). A refund happens only against an attested proof
 * that the message can no longer be delivered: the destination port's cancel
 * marker (QiaoPort.cancel, receipts[id] = 3), which the port writes only for a
 * message of an attested root past its timeout on its own clock and without a
 * delivered receipt. Writing it makes the port send a cancel ack back; the ack
 * stage marks the original `refunded` once the source port has refunded.
 */

/** How many attested or failed messages with a timeout one scan looks at per status. */
const SCAN_LIMIT = 1000;
/** The shortest time between two scans (a longer poll interval is kept). */
export const TIMEOUT_SCAN_MS = 1000;

/** Past its timeout at the latest block (so also in the next one, where the cancel lands). */
export function isPastTimeout(m: Pick<MessageJson, 'timeoutHeight' | 'timeoutUnixSeconds'>, clock: PortClock): boolean {
  const h = BigInt(m.timeoutHeight);
  const t = BigInt(m.timeoutUnixSeconds);
  return (h !== 0n && clock.height >= h) || (t !== 0n && clock.time >= t);
}

/**
 * Finds attested (never delivered) and failed messages past their timeout at a
 * connected destination whose port writes cancel markers, and queues one
 * timeout job each, ahead of other work.
 */
export async function scanTimeouts(ctx: StageContext): Promise<void> {
  const queue = ctx.queues.timeout;
  if (!queue) return;
  const due = new Map<string, MessageRow[]>();
  for (const status of ['attested', 'failed'] as const) {
    // Only messages with a timeout, filtered by the index: at saturation thousands of attested messages without
    // one came back on every scan (full rows, every poll interval), and any timed-out message behind the first
    // thousand of them was never seen.
    for (const r of await ctx.index.messagesByStatus(status, SCAN_LIMIT, { withTimeout: true })) {
      const rows = due.get(r.dstChain) ?? [];
      rows.push(r);
      due.set(r.dstChain, rows);
    }
  }
  for (const [dstChain, rows] of due) {
    const d = ctx.chains.get(dstChain)?.adapter.deliverer;
    if (!d?.clock || !d.cancel) continue;
    const clock = await d.clock();
    const past = rows.filter((r) => isPastTimeout(r.message, clock));
    if (past.length === 0) continue;
    await queue.addBulk(past.map((r) => ({ name: 'timeout', data: { id: r.id }, opts: { jobId: `timeout:${r.id}`, priority: 0, attempts: ctx.settings.attempts } })));
    ctx.logger.info({ dstChain, messages: past.length }, 'messages past their timeout: writing cancel markers');
  }
}

/** Writes the cancel marker of one message and marks it `timed_out` (a replay finds the marker and records it). */
export async function timeoutJob(ctx: StageContext, job: Job<unknown>): Promise<void> {
  const { id: raw } = parseJob(TimeoutJob, job.data, 'timeout');
  const id = raw.toLowerCase() as Hex;
  const [row] = await ctx.index.getMessages([id]);
  if (!row || (row.status !== 'attested' && row.status !== 'failed')) return;
  const dstChain = row.dstChain;
  const chain = ctx.chains.get(dstChain);
  if (!chain) throw new NotReadyError(`destination ${dstChain} is not connected`, 5000);
  const d = chain.adapter.deliverer;
  if (!d.cancel || !d.clock) return;

  const settle = async (): Promise<boolean> => {
    const r = await d.receiptOf(id);
    // Skipped by an operator (an ordered lane's head): the skip job recorded it, the refund follows with the ack.
    if (r?.status === 'cancelled' && r.skipped) return true;
    if (r?.status === 'cancelled') {
      await ctx.index.transition([id], 'timed_out', { chain: dstChain, height: r.height, txHash: r.txHash, reason: 'cancel_marker', proof: { cancelMarker: true, port: chain.registration.port } });
      return true;
    }
    if (r?.status === 'delivered') {
      // Delivered before its timeout after all (the index had not seen it yet): never cancelled.
      await ctx.index.setDstTx(id, r.txHash);
      await ctx.index.transition([id], 'delivered', { chain: dstChain, height: r.height, txHash: r.txHash });
      return true;
    }
    return false;
  };
  if (await settle()) return;
  if (!isPastTimeout(row.message, await d.clock())) throw new NotReadyError(`message ${id} is not past its timeout on ${dstChain} yet`, 2000);
  if (row.batchNo === null) throw new NotReadyError(`message ${id} has no batch yet`, 1000);
  const batchNo = BigInt(row.batchNo);
  const batch = await ctx.index.getBatch(batchNo);
  if (!batch || batch.status !== 'attested') throw new NotReadyError(`batch ${row.batchNo} is not attested yet`, 1000);
  const signed = await signaturesFor(ctx, chain, batchNo);
  const item = { id, encoded: row.encoded, proof: MessageTree.of(batch.ids).proof(id) };
  try {
    // Validated again from the stored bytes before anything is sent.
    messageFromJson(row.message);
    const tx = await d.cancel({ setId: signed.setId, batchNo, root: batch.root, signatures: signed.signatures, item });
    await ctx.index.transition([id], 'timed_out', {
      chain: dstChain,
      height: tx.height,
      txHash: tx.txHash,
      reason: 'cancel_marker',
      proof: { cancelMarker: true, port: chain.registration.port, batchNo: row.batchNo, root: batch.root },
    });
    ctx.logger.info({ id, dstChain, txHash: tx.txHash }, 'cancel marker written');
  } catch (err) {
    const revert = findCause(err, ContractRevertError);
    if (revert?.errorName === 'NotTimedOut') throw new NotReadyError(`the port on ${dstChain} says ${id} is not past its timeout yet`, 2000, { cause: err });
    if (revert?.errorName === 'WrongSetId') throw new NotReadyError(`the port on ${dstChain} no longer takes set ${signed.setId}`, 500, { cause: err });
    // Another relayer wrote the marker, or delivered it first: the chain says which.
    if (revert?.errorName === 'CannotCancel' && (await settle())) return;
    // On an ordered lane only the head can be cancelled (code 9, out of order): it waits for its turn.
    const code = (revert?.data.args as string[] | undefined)?.[1];
    if (revert?.errorName === 'CannotCancel' && code === '9') throw new NotReadyError(`${id} waits behind the head of its ordered lane on ${dstChain}`, 2000, { cause: err });
    if (revert) throw new UnrecoverableError(`the port on ${dstChain} refused to cancel ${id}: ${revert.errorName}`, { cause: err });
    throw err;
  }
}
