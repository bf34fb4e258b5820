import type { DeliveryItem, DeliveryOutcome } from '../../src/domain/adapter.ts';
import type { MessageRow, TransitionEvidence } from '../../src/index/types.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { ContractRevertError, NotReadyError, UnrecoverableError, findCause } from '../../src/errors.ts';
import type { StageContext } from '../context.ts';
import { DeliverJob, parseJob } from '../jobs.ts';
import { currentSignatures } from './attest.ts';
import type { Job } from '../queue/types.ts';
import { signaturesForPort, type SignedBy } from '../roots/signatures.ts';
import { ackTarget, queueAcks } from './ack.ts';
import type { ConnectedChain } from '../context.ts';
import { laneFeeGuard, LANE_FEE_WAIT } from '../fees.ts';

/** How soon a deliver job whose lanes are held by their fee looks at the price again. */
const LANE_FEE_RECHECK_MS = 3000;
import { ORDERED_HEAD, ORDERED_SKIP, orderedHeadJob, orderedSkipJob, recordBlockedHeads } from './ordered.ts';

/** The reject reason of a message that is not its ordered lane's head yet: it waits, it has not failed. */
const OUT_OF_ORDER = 'out_of_order';
/** How soon a batch with messages waiting behind an ordered lane's head looks again (no attempt is spent). */
const OUT_OF_ORDER_RETRY_MS = 1000;

/** Trees kept for the deliver jobs of recent batches (one job per destination, plus retries). */
const TREE_CACHE_SIZE = 8;
const trees = new Map<string, { tree: MessageTree; proofs: Map<Hex, Hex[]> }>();

/**
 * A batch's tree and the proofs already taken from it. Every destination of a
 * batch, and every retry, needed the same tree again; building one over 256
 * ids and taking its proofs costs ~0.4 ms of CPU per message. The key is the
 * ids themselves, so a cached tree is the one `MessageTree.of` would build.
 */
function batchTree(ids: readonly Hex[]): { proof(id: Hex): Hex[] } {
  const key = ids.join(',');
  let entry = trees.get(key);
  if (entry) trees.delete(key);
  else entry = { tree: MessageTree.of(ids), proofs: new Map() };
  trees.set(key, entry);
  if (trees.size > TREE_CACHE_SIZE) trees.delete(trees.keys().next().value!);
  const { tree, proofs } = entry;
  return {
    proof(id: Hex): Hex[] {
      let p = proofs.get(id);
      if (!p) proofs.set(id, (p = tree.proof(id)));
      return [...p];
    },
  };
}

/**
 * Acks first (they close messages already delivered elsewhere, DESIGN.md step 6),
 * then each lane (srcChain, srcPort) in nonce order, so one delivery passes an
 * ordered lane's messages in the order the port takes them. An ack shares its
 * lane's nonces, so a lane with an ack goes first as a whole.
 */
function deliveryOrder(rows: MessageRow[]): MessageRow[] {
  const laneOf = (r: MessageRow) => `${r.message.srcChain}|${r.message.srcPort.toLowerCase()}`;
  const withAcks = new Set(rows.filter((r) => ackTarget(r.message) !== null).map(laneOf));
  return [...rows].sort((a, b) => {
    const la = laneOf(a);
    const lb = laneOf(b);
    const acks = Number(withAcks.has(lb)) - Number(withAcks.has(la));
    if (acks !== 0) return acks;
    if (la !== lb) return la < lb ? -1 : 1;
    const na = BigInt(a.nonce);
    const nb = BigInt(b.nonce);
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
}

/**
 * Port errors that no retry can fix. WrongSetId is not among them: the port may
 * still wait for a hand-over, or a grace window may just have closed (the next
 * try picks the signatures the port accepts then).
 */
const FATAL_REVERTS = new Set(['NotEnoughSignatures', 'LengthMismatch']);

/**
 * The signatures the destination port accepts now. When it accepts none of the
 * stored ones, either the port still waits for a set hand-over (the roots loop
 * carries it) or the batch was signed by a set the port no longer takes: the
 * attest stage is asked to collect the current set's signatures.
 */
export async function signaturesFor(ctx: StageContext, chain: ConnectedChain, batchNo: bigint): Promise<SignedBy> {
  const rows = await ctx.index.attestations(batchNo, 1);
  const state = await chain.adapter.deliverer.attestorState?.();
  const set = await ctx.gov.attestors();
  if (!state) {
    // A port without hand-over support: the governance chain's current set only.
    return { setId: set.setId, signatures: (await currentSignatures(ctx, batchNo, set)).map((a) => a.signature as Hex) };
  }
  const picked = signaturesForPort(rows, state);
  if (picked) return picked;
  if (state.setId < set.setId) throw new NotReadyError(`the port on ${chain.registration.chainId} holds attestor set ${state.setId}; waiting for the hand-over to set ${set.setId}`, 1000);
  await ctx.queues.attest.add('attest', { batchNo: batchNo.toString() }, { jobId: `attest:${batchNo}:set:${set.setId}`, attempts: ctx.settings.attempts });
  throw new NotReadyError(`batch ${batchNo} needs signatures of attestor set ${set.setId} for ${chain.registration.chainId}`, 1000);
}

/**
 * Delivers a batch's messages for one destination chain. The port refuses
 * duplicates on chain; the adapter first reads receipts, so a job replayed after
 * a crash records the earlier delivery instead of sending again.
 */
export async function deliverJob(ctx: StageContext, job: Job<unknown>): Promise<void> {
  // An ordered lane's blocked head, put back (retry) or given up (skip) by an operator.
  if (job.name === ORDERED_HEAD) return orderedHeadJob(ctx, job);
  if (job.name === ORDERED_SKIP) return orderedSkipJob(ctx, job);
  const { batchNo: bn, dstChain } = parseJob(DeliverJob, job.data, 'deliver');
  const batchNo = BigInt(bn);
  const chain = ctx.chains.get(dstChain);
  if (!chain) throw new NotReadyError(`destination ${dstChain} is not connected`, 5000);
  const batch = await ctx.index.getBatch(batchNo);
  if (!batch || batch.status !== 'attested') throw new NotReadyError(`batch ${bn} is not attested yet`, 1000);
  const forDst = (await ctx.index.getMessages(batch.ids)).filter((r) => r.dstChain === dstChain);
  const fees = laneFeeGuard(ctx);
  fees.forget(forDst.filter((r) => r.status !== 'attested').map((r) => r.id));
  const attested = forDst.filter((r) => r.status === 'attested');
  // Lanes whose fee no longer covers the destination's gas wait (still attested); the rest goes now.
  const rows = deliveryOrder(await fees.deliverable(chain, attested));
  const heldBack = attested.length - rows.length;
  if (rows.length === 0) {
    if (heldBack > 0) throw new NotReadyError(`${LANE_FEE_WAIT}: ${heldBack} message(s) of batch ${bn} for ${dstChain} wait for their lane fee to cover the gas price`, LANE_FEE_RECHECK_MS);
    return;
  }
  const signed = await signaturesFor(ctx, chain, batchNo);
  const tree = batchTree(batch.ids);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const chunks: DeliveryItem[][] = [];
  for (let i = 0; i < rows.length; i += ctx.settings.deliverChunk) {
    chunks.push(rows.slice(i, i + ctx.settings.deliverChunk).map((r) => ({ id: r.id, encoded: r.encoded, proof: tree.proof(r.id) })));
  }
  // Chunks go out together (the sender orders nonces), so a large batch waits for one block, not one per chunk.
  // Acks sort first, so they are in the first chunk, and no chunk depends on another.
  const results = await Promise.allSettled(chunks.map((items) => deliverChunk(ctx, chain, { setId: signed.setId, batchNo, root: batch.root, signatures: signed.signatures }, items, byId)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const waiting = results.reduce((n, r) => n + (r.status === 'fulfilled' ? r.value : 0), 0);
  // The others are recorded; these stay `attested` and the job comes back without spending an attempt.
  if (waiting > 0) throw new NotReadyError(`batch ${bn}: ${waiting} message(s) to ${dstChain} wait behind the head of their ordered lane`, OUT_OF_ORDER_RETRY_MS);
  if (heldBack > 0) throw new NotReadyError(`${LANE_FEE_WAIT}: ${heldBack} message(s) of batch ${bn} for ${dstChain} wait for their lane fee to cover the gas price`, LANE_FEE_RECHECK_MS);
}

async function deliverChunk(
  ctx: StageContext,
  chain: ConnectedChain,
  signed: { setId: bigint; batchNo: bigint; root: Hex; signatures: Hex[] },
  items: DeliveryItem[],
  byId: ReadonlyMap<Hex, MessageRow>,
): Promise<number> {
  const dstChain = chain.registration.chainId;
  const bn = signed.batchNo.toString();
  let outcomes: DeliveryOutcome[];
  try {
    outcomes = await chain.adapter.deliverer.deliver({ rootType: 1, ...signed, items });
  } catch (err) {
    const revert = findCause(err, ContractRevertError);
    if (revert && FATAL_REVERTS.has(revert.errorName)) throw new UnrecoverableError(`the port on ${dstChain} refused batch ${bn}: ${revert.errorName}`, { cause: err });
    // The port's set moved between the read and the call (a hand-over, a grace window closing).
    if (revert?.errorName === 'WrongSetId') throw new NotReadyError(`the port on ${dstChain} no longer takes set ${signed.setId} for batch ${bn}`, 500, { cause: err });
    throw err;
  }
  // Queued before the index moves: a crash in between replays the delivery, which finds the receipts and queues again.
  await queueAcks(ctx, dstChain, outcomes.flatMap((o) => (o.status === 'delivered' ? (byId.get(o.id) ?? []) : [])));
  // Not failures: the port takes them once they are their lane's head.
  const waiting = outcomes.filter((o) => o.status === 'rejected' && o.reason === OUT_OF_ORDER).length;
  // One index write per (outcome, transaction): a chunk's deliveries share one transaction, so this is one or two writes, not one per message.
  const groups = new Map<string, { ids: Hex[]; evidence: TransitionEvidence; to: 'delivered' | 'failed' }>();
  for (const o of outcomes) {
    // A cancel marker is the timeout stage's to record (`timed_out`, with the marker's transaction): a delivery that
    // raced it records nothing, or the timeline would differ with the order in which the two stages ran.
    if (o.status === 'rejected' && (o.reason === 'cancelled' || o.reason === OUT_OF_ORDER)) continue;
    const key = o.status === 'rejected' ? `r|${o.reason}` : `${o.status}|${o.txHash}|${o.height}|${o.status === 'failed' ? o.reason : ''}`;
    let g = groups.get(key);
    if (!g) {
      const evidence: TransitionEvidence =
        o.status === 'delivered'
          ? { chain: dstChain, height: o.height, txHash: o.txHash, dstTxHash: o.txHash }
          : o.status === 'failed'
            ? { chain: dstChain, height: o.height, txHash: o.txHash, dstTxHash: o.txHash, reason: o.reason }
            : { chain: dstChain, reason: `refused_by_port:${o.reason}` };
      groups.set(key, (g = { ids: [], evidence, to: o.status === 'delivered' ? 'delivered' : 'failed' }));
    }
    g.ids.push(o.id);
  }
  for (const g of groups.values()) await ctx.index.transition(g.ids, g.to, g.evidence);
  // A failed head of an ordered lane blocks it: into the dead letters, for an operator to retry or skip.
  const blocked = outcomes.flatMap((o) => {
    const row = byId.get(o.id);
    if (!row) return [];
    if (o.status === 'failed') return [{ row, reason: o.reason }];
    return o.status === 'rejected' && o.reason === 'bad_receiver' ? [{ row, reason: `refused_by_port:${o.reason}` }] : [];
  });
  await recordBlockedHeads(ctx, chain, blocked);
  const delivered = outcomes.filter((o) => o.status === 'delivered').length;
  ctx.logger.info({ batchNo: bn, dstChain, delivered, waiting, other: outcomes.length - delivered - waiting }, 'delivered');
  return waiting;
}

