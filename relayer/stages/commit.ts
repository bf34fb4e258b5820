import { setTimeout as sleep } from 'node:timers/promises';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { UnrecoverableError } from '../../src/errors.ts';
import type { BatchRow, MessageRow } from '../../src/index/types.ts';
import type { StageContext } from '../context.ts';
import { CommitJob, parseJob } from '../jobs.ts';
import type { Job } from '../queue/types.ts';

/** The batching window (ms): requests within one window make one commit job. */
const windowMs = (ctx: StageContext) => Math.max(50, ctx.settings.batchDelayMs);

/**
 * Asks for a commit soon. The job id is bucketed by time (one window), so a
 * burst of verified blocks makes one commit, and the job waits out the window
 * before it reads (commitJob), so a request that dedupe folded into it is
 * covered. Not a delayed job: with the queue-wide limit of one commit, a
 * worker that takes a delayed job's wake-up while another's commit runs finds
 * the queue full, and no worker looks again until the next request arrives
 * (BullMQ 6; seen as commits waiting up to ~1 s with two workers).
 */
export async function requestCommit(ctx: StageContext, reason: string): Promise<void> {
  const bucket = Math.floor(Date.now() / windowMs(ctx));
  await ctx.queues.commit.add('commit', { reason }, { jobId: `commit:${bucket}`, attempts: ctx.settings.attempts });
}

async function finish(ctx: StageContext, batch: { batchNo: bigint; root: Hex; ids: Hex[] }, txHash: Hex, height: bigint): Promise<void> {
  await ctx.index.markBatch(batch.batchNo, 'committed', { txHash, height });
  await ctx.index.transition(batch.ids, 'committed', {
    chain: `eip155:${ctx.gov.chainId}`,
    height,
    txHash,
    batchNo: batch.batchNo,
    proof: { messageLog: ctx.gov.addresses.messageLog, batchNo: batch.batchNo.toString(), root: batch.root },
  });
  await ctx.queues.attest.add('attest', { batchNo: batch.batchNo.toString() }, { jobId: `attest:${batch.batchNo}`, attempts: ctx.settings.attempts });
  ctx.logger.info({ batchNo: String(batch.batchNo), messages: batch.ids.length, root: batch.root }, 'batch committed');
}

async function submit(ctx: StageContext, b: { batchNo: bigint; root: Hex; ids: Hex[] }): Promise<void> {
  const receipt = await ctx.gov.commitBatch(ctx.committer, b.batchNo, b.root, b.ids);
  await finish(ctx, b, receipt.hash.toLowerCase() as Hex, BigInt(receipt.blockNumber));
}

/**
 * Batches written ahead in the index but not finished (a crash between the
 * write and the transaction, or after it) are completed first, with the same
 * number, ids and root, so an attestor is never asked for a second root.
 */
async function reconcile(ctx: StageContext, pending: BatchRow[]): Promise<void> {
  for (const row of pending.sort((a, b) => Number(BigInt(a.batchNo) - BigInt(b.batchNo)))) {
    const b = { batchNo: BigInt(row.batchNo), root: row.root, ids: row.ids };
    const next = await ctx.gov.nextBatchNo();
    if (b.batchNo < next) {
      const onChain = await ctx.gov.batch(b.batchNo);
      if (!onChain || onChain.root !== b.root) {
        throw new UnrecoverableError(`batch ${b.batchNo} on the governance chain has root ${onChain?.root ?? 'none'}, the index wrote ${b.root} ahead`, {
          data: { batchNo: row.batchNo },
        });
      }
      const logged = await ctx.gov.batchIds(b.batchNo, onChain.blockNumber);
      await finish(ctx, b, (logged?.txHash ?? '0x') as Hex, onChain.blockNumber);
    } else if (b.batchNo === next) {
      await submit(ctx, b);
    } else {
      throw new UnrecoverableError(`batch ${b.batchNo} is ahead of the governance chain's next batch ${next}`);
    }
  }
}

/**
 * Batches one commit job may commit one after the other. Each batch after the
 * first skips the recovery reads, and the index writes that close a batch
 * (`finish`) run while the next batch is read, written ahead and sent: at
 * saturation, commits one at a time were the relayer's narrowest step, with
 * `finish` the longest part of each (0.3-1 s of 0.6-2.5 s for 1,024 messages).
 * Bounded so that one job does not hold the commit queue for long.
 */
export const BATCHES_PER_COMMIT_JOB = 4;

/**
 * Runs one at a time across every relayer process (the commit queue's global concurrency is 1), so the batch
 * number read here is still the next one when the transaction lands. Should two runs overlap anyway (a job
 * whose lock expired under a live but stalled process is handed to another), the index's unique batch
 * number (`batch_conflict`) and the MessageLog (`WrongBatchNo`) refuse the second, and its retry reconciles.
 */
export async function commitJob(ctx: StageContext, job: Job<unknown>): Promise<void> {
  parseJob(CommitJob, job.data, 'commit');
  // To the end of the window this job started in: every request of an earlier window came before now, and a
  // request later in this one was either folded into this job (it reads after the window) or made its own.
  const w = windowMs(ctx);
  await sleep(w - (Date.now() % w));
  const next = await ctx.gov.nextBatchNo();
  const unfinished = await ctx.index.batchesWithStatus('pending');
  // Batches the index holds as committed or attested but the governance chain
  // lost (a rollback of an embedded chain killed before it saved its state) are
  // committed again, identically, from the index.
  // Only batches from `next` on: reading every attested batch of the hub's history made each commit slower than the last.
  for (const status of ['committed', 'attested'] as const) unfinished.push(...(await ctx.index.batchesWithStatus(status, 10_000, { fromBatchNo: next })));
  await reconcile(ctx, unfinished);
  // A process killed inside finish() after the messages moved to `committed` but before the attest job
  // was added leaves a committed batch with no job; the rerun of this (stalled) job must add it, not
  // only a later process start. Job ids dedupe, and attesting twice is harmless.
  for (const b of await ctx.index.batchesWithStatus('committed', 10_000)) {
    if (BigInt(b.batchNo) < next) await ctx.queues.attest.add('attest', { batchNo: b.batchNo }, { jobId: `attest:${b.batchNo}`, attempts: ctx.settings.attempts });
  }
  // The batch whose finish() is running: its messages are still `verified` with no batch number until it is done.
  type Closing = { ids: ReadonlySet<Hex>; done: Promise<void> };
  let closing = null as Closing | null;
  const closed = async () => {
    const c = closing;
    closing = null;
    await c?.done;
  };
  let full = false;
  try {
    for (let n = 0; n < BATCHES_PER_COMMIT_JOB; n++) {
      const skip: ReadonlySet<Hex> | undefined = closing?.ids;
      const read: MessageRow[] = await ctx.index.messagesByStatus('verified', ctx.settings.batchSize + (skip?.size ?? 0), { unbatched: true });
      const verified: MessageRow[] = (skip ? read.filter((m) => !skip.has(m.id)) : read).slice(0, ctx.settings.batchSize);
      full = verified.length === ctx.settings.batchSize;
      if (verified.length === 0) break;
      const ids = verified.map((m) => m.id);
      const tree = MessageTree.of(ids);
      const batch = { batchNo: await ctx.gov.nextBatchNo(), root: tree.root, ids };
      await ctx.index.createBatch(batch.batchNo, batch.root, ids);
      const receipt = await ctx.gov.commitBatch(ctx.committer, batch.batchNo, batch.root, ids);
      // Batches close in order, one at a time.
      await closed();
      const done = finish(ctx, batch, receipt.hash.toLowerCase() as Hex, BigInt(receipt.blockNumber));
      // Awaited below; a failure meanwhile must not count as unhandled.
      done.catch(() => undefined);
      closing = { ids: new Set(ids), done };
      if (!full) break;
    }
  } catch (err) {
    // The batch being closed is closed first when it can be; if it cannot, the retry's recovery closes it.
    await closed().catch(() => undefined);
    throw err;
  }
  await closed();
  if (full) await requestCommit(ctx, 'backlog');
}
