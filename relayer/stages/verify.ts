import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { NotReadyError, QiaoError } from '../../src/errors.ts';
import type { StageContext } from '../context.ts';
import { parseJob, VerifyJob } from '../jobs.ts';
import type { Job } from '../queue/types.ts';
import { narrowSourceProof } from '../narrow-proof.ts';
import { checkSourceCommitments, type SourceCheck } from '../source-check.ts';
import { requestCommit } from './commit.ts';

/**
 * Proves that the source port committed these messages at this height. A proof
 * that fails is fetched again from the other endpoints (one bad endpoint must
 * not censor a message); one that fails at every endpoint that answered is
 * quarantined, never retried into success.
 */
export async function verifyJob(ctx: StageContext, job: Job<unknown>): Promise<void> {
  const { chainId, height: h, ids } = parseJob(VerifyJob, job.data, 'verify');
  const height = BigInt(h);
  const chain = ctx.chains.get(chainId);
  if (!chain) throw new NotReadyError(`chain ${chainId} is not connected (suspended or not approved)`, 5000);
  const rows = await ctx.index.getMessages(ids as Hex[]);
  const pending: Hex[] = [];
  for (const r of rows) {
    // The index is not trusted either: the id must be the hash of the stored bytes.
    if (messageId(r.encoded) !== r.id) throw new QiaoError('index_corrupt', `stored bytes of ${r.id} do not hash to its id`);
    if (r.status === 'sent') pending.push(r.id);
  }
  if (pending.length === 0) return;
  const check = await checkSourceCommitments(chain, height, pending, { allowLocalDev: ctx.allowLocalDev(chainId), logger: ctx.logger });
  if (!check.ok && check.kind === 'wait') throw check.error;
  if (!check.ok && check.kind === 'refused' && pending.length > 1 && !check.reason.startsWith('header_invalid:')) {
    // One message whose proof fails (a forged or invalid transaction in the same block) must not take the others down with it:
    // each is checked on its own, and only those that fail alone are quarantined.
    for (const id of pending) {
      const one = await checkSourceCommitments(chain, height, [id], { allowLocalDev: ctx.allowLocalDev(chainId), logger: ctx.logger });
      if (!one.ok && one.kind === 'wait') throw one.error;
      await record(ctx, chainId, height, [id], one);
    }
  } else {
    await record(ctx, chainId, height, pending, check);
  }
  await requestCommit(ctx, 'verified');
}

/** Moves `ids` to `verified` with their proof, or to `quarantined` with the refusal. */
async function record(ctx: StageContext, chainId: string, height: bigint, ids: Hex[], check: Exclude<SourceCheck, { kind: 'wait' }>): Promise<void> {
  const h = height.toString();
  if (!check.ok) {
    await ctx.index.transition(ids, 'quarantined', { chain: chainId, height, reason: check.reason, proof: check.proof });
    ctx.logger.error(
      { chain: chainId, height: h, ids, reason: check.reason, detail: check.detail },
      check.reason.startsWith('header_invalid:') ? 'messages quarantined: the light client refused the header' : 'messages quarantined: their proof failed at every endpoint',
    );
    return;
  }
  const { proof, anchor, failures } = check;
  const extra = { lightClient: check.lightClient, endpoint: check.endpoint, ...(anchor ? { anchor } : {}) };
  const own = narrowSourceProof(proof, ids);
  const moved = await ctx.index.transition(ids, 'verified', {
    chain: chainId,
    height,
    proof: { ...proof, ...extra },
    ...(own ? { proofs: new Map([...own].map(([id, p]) => [id, { ...p, ...extra }])) } : {}),
  });
  ctx.logger.debug({ chain: chainId, height: h, verified: moved.length }, 'verified');
  if (failures.length) ctx.logger.warn({ chain: chainId, failures }, 'an endpoint served a proof that did not verify; another endpoint served a valid one');
}
