import type { Hex } from '../../src/domain/hex.ts';
import type { AttestationRow } from '../../src/index/types.ts';
import { NotReadyError } from '../../src/errors.ts';
import type { StageContext } from '../context.ts';
import { AttestJob, parseJob } from '../jobs.ts';
import type { Job } from '../queue/types.ts';

/** Collects k-of-n signatures over a committed batch root, then queues deliveries per destination. */
export async function attestJob(ctx: StageContext, job: Job<unknown>): Promise<void> {
  const { batchNo: bn } = parseJob(AttestJob, job.data, 'attest');
  const batchNo = BigInt(bn);
  const batch = await ctx.index.getBatch(batchNo);
  if (!batch) throw new NotReadyError(`batch ${bn} is not in the index yet`, 1000);
  const set = await ctx.gov.attestors();
  const members = new Set(set.members.map((m) => m.toLowerCase()));
  const have = new Set((await ctx.index.attestations(batchNo, 1)).filter((a) => a.setId === set.setId.toString()).map((a) => a.attestor.toLowerCase()));
  for (const a of ctx.attestors) {
    if (have.has(a.address.toLowerCase()) || !members.has(a.address.toLowerCase())) continue;
    const sig = await a.attestMessages(batchNo);
    if (sig.root !== batch.root) throw new NotReadyError(`attestor signed root ${sig.root} but the index has ${batch.root}`, 1000);
    await ctx.index.addAttestation({ batchNo, rootType: 1, setId: sig.setId, attestor: sig.attestor, signature: sig.signature });
  }
  const sigs = await currentSignatures(ctx, batchNo, set);
  if (sigs.length < set.threshold) throw new NotReadyError(`batch ${bn}: ${sigs.length} of ${set.threshold} signatures so far`, 1000);
  // Messages first, batch second, and the messages' transition on every run (it moves only rows not
  // yet there): a process killed between the two writes left the batch `attested` with its messages
  // still `committed`, which no rerun or startup sweep moved again (found by test/e2e/chaos-workers).
  await ctx.index.transition(batch.ids, 'attested', {
    chain: `eip155:${ctx.gov.chainId}`,
    batchNo,
    proof: { setId: set.setId.toString(), threshold: set.threshold, root: batch.root, signatures: sigs.map((s) => ({ attestor: s.attestor, signature: s.signature })) },
  });
  if (batch.status !== 'attested') await ctx.index.markBatch(batchNo, 'attested');
  await queueDeliveries(ctx, batchNo, batch.ids);
}

export async function queueDeliveries(ctx: StageContext, batchNo: bigint, ids: Hex[]): Promise<void> {
  const rows = await ctx.index.getMessages(ids);
  const dsts = new Set(rows.filter((r) => r.status === 'attested').map((r) => r.dstChain));
  if (dsts.size === 0) return;
  await ctx.queues.deliver.addBulk(
    [...dsts].map((dstChain) => ({
      name: 'deliver',
      data: { batchNo: batchNo.toString(), dstChain },
      opts: { jobId: `deliver:${batchNo}:${dstChain}`, attempts: ctx.settings.attempts },
    })),
  );
}

/** Signatures over a messages batch by members of the current attestor set. */
export async function currentSignatures(ctx: StageContext, batchNo: bigint, set: { setId: bigint; members: string[] }): Promise<AttestationRow[]> {
  const members = new Set(set.members.map((m) => m.toLowerCase()));
  return (await ctx.index.attestations(batchNo, 1)).filter((a) => a.setId === set.setId.toString() && members.has(a.attestor.toLowerCase()));
}
