import { messageToJson } from '../../src/domain/message.ts';
import type { ConnectedChain, StageContext } from '../context.ts';

/**
 * One step of a chain's watcher: reads MessageSent logs from the persisted
 * checkpoint up to the finalized height (bounded ranges), records them, checks
 * lane nonces for gaps, queues one verify job per block, and only then moves the
 * checkpoint, so a crash re-reads rather than skips. Returns true when behind.
 */
export async function observeOnce(ctx: StageContext, chain: ConnectedChain): Promise<boolean> {
  const { adapter, registration } = chain;
  const chainId = registration.chainId;
  const { finalized } = await adapter.watcher.heads();
  if (finalized < 0n) return false;
  const cp = await ctx.index.getCheckpoint(chainId);
  const from = cp === null ? 0n : cp + 1n;
  if (from > finalized) return false;
  let to = from + BigInt(ctx.settings.maxLogRange) - 1n;
  if (to > finalized) to = finalized;
  const found = await adapter.watcher.messagesIn(from, to);
  if (found.length) {
    await ctx.index.recordSent(
      chainId,
      found.map((m) => ({ id: m.id, encoded: m.encoded, message: messageToJson(m.message), height: m.height, txHash: m.txHash, blockHash: m.blockHash, logIndex: m.logIndex })),
    );
    const gaps = await ctx.index.recordLaneNonces(found.map((m) => ({ srcChain: chainId, srcPort: m.message.srcPort, dstChain: m.message.dstChain, nonce: m.message.nonce })));
    for (const g of gaps) ctx.logger.error({ chain: chainId, gap: g }, 'lane nonce gap: a message was skipped or a log is missing');
    const byHeight = new Map<bigint, string[]>();
    for (const m of found) {
      const ids = byHeight.get(m.height) ?? [];
      ids.push(m.id);
      byHeight.set(m.height, ids);
    }
    await ctx.queues.verify.addBulk(
      [...byHeight].map(([height, ids]) => ({
        name: 'verify',
        data: { chainId, height: height.toString(), ids },
        opts: { jobId: `verify:${chainId}:${height}`, attempts: ctx.settings.attempts },
      })),
    );
    ctx.logger.debug({ chain: chainId, from: String(from), to: String(to), messages: found.length }, 'observed');
  }
  await ctx.index.setCheckpoint(chainId, to);
  return to < finalized;
}
