import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { statusRank } from '../../src/domain/status.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { deployBulkSender, onChainDeliveries, receivedCount, sendBulk, timesReceived, type DemoEnd } from '../helpers/relay-chaos.ts';
import { until } from '../helpers/services.ts';

/** Room for a reorg inside the finality window at 1 s blocks (the demo default is 2). */
const FINALITY_DEPTH = 8;
const ORPHANED = 5;
const RESENT = 3;

/**
 * A source chain reorganises within its finality depth (`anvil_reorg`): the
 * blocks that held some sends are replaced by blocks without them. The
 * relayer only moves messages at finality, so the orphaned messages must never
 * be delivered (the destination chain says so) nor shown verified or further by
 * the index; a message sent after the reorg is delivered exactly once.
 */
describe('anvil_reorg on a source chain within the finality depth', () => {
  let t: TestHub;
  const ends: DemoEnd[] = [];

  beforeAll(async () => {
    t = await startTestHub({ config: { demo: { enabled: true, blockTime: 1, finalityDepth: FINALITY_DEPTH }, relayer: { pollIntervalMs: 100, batchDelayMs: 50 } } });
    for (const c of t.hub.demo!.chains) ends.push({ chainId: c.chainId, port: c.port, receiver: c.receiver, provider: makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 }) });
  }, 120_000);

  afterAll(async () => {
    for (const e of ends) e.provider.destroy();
    await t?.stop();
  });

  it('never delivers messages from orphaned blocks; a re-send after the reorg is delivered once', async () => {
    const artifacts = await portArtifacts();
    const [a, b] = ends as [DemoEnd, DemoEnd];
    const base = await receivedCount(artifacts, b);
    const bulk = await deployBulkSender(a.provider);
    // Past the deployment's block, so the reorg below cannot take the sender contract away.
    const deployedAt = await a.provider.getBlockNumber();
    await until(async () => (await a.provider.getBlockNumber()) > deployedAt + 1, { timeoutMs: 20_000, intervalMs: 100, what: 'two blocks after the deployment' });

    const orphaned = await sendBulk(bulk, a, b, ORPHANED, { perTx: ORPHANED, firstSeq: 1 });
    const sentIn = orphaned[0]!.block;
    // Deeper than the demo's usual finality depth (2), inside this hub's (8): only the depth setting keeps these unrelayed.
    await until(async () => (await a.provider.getBlockNumber()) >= sentIn + 2, { timeoutMs: 20_000, intervalMs: 50, what: 'two blocks on top of the sends' });
    // The watcher is live and caught up with the finalized head, so a relayer that took unfinal blocks would have these now.
    await until(async () => {
      const cp = await t.hub.index.getCheckpoint(a.chainId);
      return cp !== null && cp >= BigInt((await a.provider.getBlockNumber()) - FINALITY_DEPTH);
    }, { timeoutMs: 20_000, intervalMs: 50, what: 'the watcher at the finalized head' });
    const head = await a.provider.getBlockNumber();
    // One block of margin: a block may be mined between this read and the reorg, which counts from the head it sees.
    const depth = head - sentIn + 2;
    // Still inside the finality window: the relayer must not have taken these as final.
    expect(depth).toBeLessThan(FINALITY_DEPTH);
    const hashBefore = (await a.provider.getBlock(sentIn))!.hash;
    // anvil_reorg(depth, tx_block_pairs): rewinds `depth` blocks and mines as many again, here empty.
    await a.provider.send('anvil_reorg', [depth, []]);
    // The block that held the sends is replaced, and the sends are gone from the chain.
    const replaced = await a.provider.getBlock(sentIn);
    expect(replaced?.hash).not.toBe(hashBefore);
    const sentTopic = (await a.provider.getLogs({ address: a.port, fromBlock: sentIn, toBlock: 'latest' })).map((l) => l.topics[1]!.toLowerCase());
    for (const o of orphaned) expect(sentTopic).not.toContain(o.id);

    // Watch the index while the relayer runs on: an orphaned id must never reach `verified`.
    const ids: Hex[] = orphaned.map((o) => o.id);
    const seen = new Map<string, string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const m of await t.hub.index.getMessages(ids)) if (statusRank(m.status) >= statusRank('verified')) seen.set(m.id, m.status);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    try {
      const resent = await sendBulk(bulk, a, b, RESENT, { perTx: RESENT, firstSeq: 1_000 });
      const resentIds = resent.map((r) => r.id);
      for (const r of resentIds) expect(ids).not.toContain(r);
      await until(async () => (await receivedCount(artifacts, b)) - base >= RESENT, { timeoutMs: 90_000, intervalMs: 250, what: 'the re-sent messages delivered' });
      // The relayer has gone past the orphaned heights (the re-sends are later); give it a further finality window.
      const past = (await a.provider.getBlockNumber()) + FINALITY_DEPTH;
      await until(async () => (await a.provider.getBlockNumber()) > past, { timeoutMs: 60_000, intervalMs: 250, what: 'a further finality window' });
      await until(async () => {
        const rows = await t.hub.index.getMessages(resentIds);
        return rows.length === RESENT && rows.every((m) => m.status === 'delivered' || m.status === 'acknowledged');
      }, { timeoutMs: 30_000, what: 'the index showing the re-sends delivered' });

      const chain = await onChainDeliveries(artifacts, b);
      expect(chain.failed).toEqual([]);
      expect(chain.received - base).toBe(RESENT);
      for (const id of ids) expect(chain.perId.has(id), `orphaned ${id} delivered`).toBe(false);
      for (const id of resentIds) expect(chain.perId.get(id)).toBe(1);
      expect([...(await timesReceived(artifacts, b, ids)).values()]).toEqual(ids.map(() => 0));
      expect([...(await timesReceived(artifacts, b, resentIds)).values()]).toEqual(resentIds.map(() => 1));
    } finally {
      watching = false;
      await watch;
    }
    expect(Object.fromEntries(seen)).toEqual({});
    const rows = await t.hub.index.getMessages(ids);
    console.info(`[reorg] reorg depth ${depth} (finality ${FINALITY_DEPTH}); orphaned ids in the index: ${rows.map((r) => r.status).join(', ') || 'none'}`);
  }, 240_000);
});
