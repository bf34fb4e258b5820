import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { NotReadyError, QiaoError, RpcError, findCause } from '../../src/errors.ts';
import type { StageContext } from '../context.ts';
import { parseJob, VerifyJob } from '../jobs.ts';
import type { Job } from '../queue/types.ts';
import { verifySourceProof, type TrustedAnchor } from '../verify-source.ts';
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
  let anchor: TrustedAnchor | null = null;
  if (chain.light) {
    const t = await chain.light.trustedAt(height);
    if (t.ok) anchor = { kind: 'state-root', hash: t.hash, stateRoot: t.stateRoot };
    else {
      // The header chain itself failed: no endpoint's proof can be trusted at this height.
      await ctx.index.transition(pending, 'quarantined', { chain: chainId, height, reason: `header_invalid:${t.reason}`, proof: { lightClient: chain.registration.lightClient, detail: t.detail } });
      ctx.logger.error({ chain: chainId, height: h, reason: t.reason, detail: t.detail }, 'messages quarantined: the light client refused the header');
      return;
    }
  } else if (chain.registration.lightClient === 'local-dev') {
    const hash = await chain.adapter.watcher.blockHashAt(height);
    if (hash) anchor = { kind: 'block-hash', hash };
  }
  const failures: { endpoint: number; reason: string; detail: string }[] = [];
  let transient: unknown = null;
  for (let ep = 0; ep < chain.adapter.prover.endpointCount(); ep++) {
    let proof;
    try {
      proof = await chain.adapter.prover.proveCommitments(height, pending, ep);
    } catch (err) {
      if (!findCause(err, RpcError)) throw err;
      transient = err;
      continue;
    }
    const verdict = verifySourceProof(chain.registration, proof, { height, ids: pending, anchor }, { allowLocalDev: ctx.allowLocalDev(chainId) });
    if (verdict.ok) {
      const moved = await ctx.index.transition(pending, 'verified', { chain: chainId, height, proof: { ...proof, lightClient: verdict.lightClient, endpoint: ep, ...(anchor ? { anchor } : {}) } });
      ctx.logger.debug({ chain: chainId, height: h, verified: moved.length }, 'verified');
      if (failures.length) ctx.logger.warn({ chain: chainId, failures }, 'an endpoint served a proof that did not verify; another endpoint served a valid one');
      await requestCommit(ctx, 'verified');
      return;
    }
    failures.push({ endpoint: ep, reason: verdict.reason, detail: verdict.detail });
    ctx.logger.warn({ chain: chainId, height: h, endpoint: ep, reason: verdict.reason, detail: verdict.detail }, 'proof rejected; endpoint flagged');
  }
  if (failures.length === 0 && transient) throw transient;
  if (failures.length === 0) throw new NotReadyError('no endpoint answered', 1000);
  const reason = `proof_invalid:${failures[0]!.reason}`;
  await ctx.index.transition(pending, 'quarantined', { chain: chainId, height, reason, proof: { failures } });
  ctx.logger.error({ chain: chainId, height: h, ids: pending, failures }, 'messages quarantined: their proof failed at every endpoint');
}
