import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainAdapter, SourceProof } from '../../src/domain/adapter.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { until } from '../helpers/services.ts';

/** One family's chain, ready for the suite: an adapter, a way to make its port emit, and the family's verify step. */
export interface AdapterHarness {
  adapter: ChainAdapter;
  /** Makes the chain's port emit one outbound message; resolves with its id once it is in a block. */
  emit(payload: string): Promise<{ id: Hex }>;
  /** The relayer's verify step for this family (light client / trusted anchor + verifySourceProof) on a served proof. */
  verify(height: bigint, ids: readonly Hex[], proof: SourceProof): Promise<{ ok: boolean; reason?: string }>;
  close(): Promise<void>;
}

/**
 * What every source adapter must do, whatever the family: heads with a final
 * height, messages found in chain order at final heights with ids recomputed
 * from the bytes, the primary's block hash, proofs that verify for the ids the
 * block holds and fail for one it does not, endpoint bounds.
 */
export function adapterConformance(family: string, setup: () => Promise<AdapterHarness>, { timeoutMs = 60_000 } = {}): void {
  describe(`ChainAdapter conformance: ${family}`, () => {
    let h: AdapterHarness;
    const sent: { id: Hex; height: bigint }[] = [];

    beforeAll(async () => {
      h = await setup();
    }, 120_000);

    afterAll(async () => {
      await h?.close();
    });

    async function findFinal(id: Hex): Promise<bigint> {
      return until(
        async () => {
          const { finalized } = await h.adapter.watcher.heads();
          const from = finalized > 20n ? finalized - 20n : 0n;
          const found = await h.adapter.watcher.messagesIn(from, finalized);
          return found.find((m) => m.id === id)?.height;
        },
        { timeoutMs, what: `message ${id} at a final height` },
      );
    }

    it('reports heads: finalized <= head', async () => {
      const { head, finalized } = await h.adapter.watcher.heads();
      expect(finalized <= head).toBe(true);
      expect(h.adapter.prover.endpointCount()).toBeGreaterThanOrEqual(1);
    });

    it('finds emitted messages at final heights, in chain order, ids recomputed from the bytes', async () => {
      const a = await h.emit('conformance one');
      const b = await h.emit('conformance two');
      const ha = await findFinal(a.id);
      const hb = await findFinal(b.id);
      sent.push({ id: a.id, height: ha }, { id: b.id, height: hb });
      const found = await h.adapter.watcher.messagesIn(ha, hb);
      const ids = found.map((m) => m.id);
      expect(ids.indexOf(a.id)).toBeGreaterThanOrEqual(0);
      expect(ids.indexOf(a.id)).toBeLessThan(ids.indexOf(b.id));
      for (const m of found) {
        expect(messageId(m.encoded)).toBe(m.id);
        expect(m.message.srcChain).toBe(h.adapter.chainId);
        expect(m.blockHash).toBe(await h.adapter.watcher.blockHashAt(m.height));
      }
      // Heights are in order.
      for (let i = 1; i < found.length; i++) expect(found[i]!.height >= found[i - 1]!.height).toBe(true);
    }, timeoutMs * 3);

    it('serves proofs that verify for the block\'s ids, and fail for an id it does not hold', async () => {
      const { id, height } = sent[0]!;
      const proof = await h.adapter.prover.proveCommitments(height, [id], 0);
      expect(proof.height).toBe(height.toString());
      expect(typeof proof.kind).toBe('string');
      expect(JSON.parse(JSON.stringify(proof))).toEqual(proof);
      expect((await h.verify(height, [id], proof)).ok).toBe(true);
      const foreign = `0x${'ab'.repeat(32)}` as Hex;
      const bad = await h.adapter.prover.proveCommitments(height, [foreign], 0).then(
        (p) => h.verify(height, [foreign], p),
        () => ({ ok: false }),
      );
      expect(bad.ok).toBe(false);
    }, timeoutMs);

    it('returns nothing for a range without messages, and refuses an endpoint it does not have', async () => {
      expect(await h.adapter.watcher.messagesIn(0n, 0n)).toEqual([]);
      await expect(h.adapter.prover.proveCommitments(sent[0]!.height, [sent[0]!.id], h.adapter.prover.endpointCount())).rejects.toThrow();
    });
  });
}
