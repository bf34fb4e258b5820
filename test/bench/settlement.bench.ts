import { hopOutput } from '../../src/settlement/index.ts';
import { startSettlementFixture, UNIT, type Fixture } from '../e2e/settlement-fixture.ts';
import type { BenchRow } from './proofs.bench.ts';
import { percentile, progress } from './stats.ts';

/**
 * Settlements end to end between two anvil chains through the embedded hub: a
 * payment is opened on the governance chain, its sender locks dUSD on chain A,
 * the LP's dEUR leg is reserved on chain B, the decision is taken and both legs
 * are released, all through verified, attested Qiao messages. One payment
 * alone first (its latency), then N at once (throughput). Every payment counts
 * only once both escrows say released and the receiver's balance on chain B
 * grew by exactly the quoted output.
 */
export async function benchSettlement(n = 20): Promise<BenchRow[]> {
  const fx = await startSettlementFixture();
  try {
    const corridorId = (await fx.hub.corridors()).find((c) => c.corridor.srcChain === fx.a.chainId && c.corridor.dstChain === fx.b.chainId && c.status === 'approved')!.id;
    const single = await runPayments(fx, corridorId, 1, 'settlement (one payment)');
    const many = await runPayments(fx, corridorId, n, `settlement (${n} at once)`);
    const rate = (n * 1000) / many.totalMs;
    const alone = 1000 / single.totalMs;
    return [
      {
        name: `settlement end to end, two anvil chains, ${n} payments at once (embedded hub)`,
        figure: `${rate.toFixed(2)} payments/s (${n} committed, every leg released, receivers paid on chain)`,
        baseline: `one payment alone: ${(single.totalMs / 1000).toFixed(1)} s (${alone.toFixed(2)}/s)`,
        ratio: (rate / alone).toFixed(2),
        note: `open to both legs released: p50 ${(percentile(many.latencies, 50) / 1000).toFixed(1)} s, p99 ${(percentile(many.latencies, 99) / 1000).toFixed(1)} s; about 4 relayed messages per payment (LOCKED, RESERVE→LOCKED, 2 × RELEASE)`,
      },
    ];
  } finally {
    await fx.stop();
  }
}

async function runPayments(fx: Fixture, corridorId: number, n: number, label: string): Promise<{ totalMs: number; latencies: number[] }> {
  const c = (await fx.hub.corridor(corridorId))!;
  const amount = 10n * UNIT;
  const out = hopOutput(amount, c.corridor, c.rate).out;
  const people = await Promise.all(Array.from({ length: n }, async () => ({ sender: await fx.account(), receiver: await fx.account() })));
  for (const p of people) await fx.mint(fx.a, p.sender.address, amount);
  const t0 = Date.now();
  let done = 0;
  const latencies = await Promise.all(
    people.map(async ({ sender, receiver }) => {
      const uetr = fx.newUetr();
      const start = Date.now();
      await fx.hub.open(fx.operator, { uetr, corridorIds: [corridorId], amount, sender: sender.address, receiver: receiver.address, deadline: (await fx.govNow()) + 600n, minOut: out });
      const tx = sender.on.get(fx.a.chainId)!;
      await fx.a.client.approve(tx, fx.a.token, amount);
      await fx.a.client.lock(tx, { uetr, token: fx.a.token, amount, to: fx.lp });
      const p = await fx.settled(uetr, 600_000);
      if (p.state !== 'committed') throw new Error(`payment ${uetr} ended ${p.state}`);
      const got = await fx.b.client.balanceOf(fx.b.token, receiver.address);
      if (got !== out) throw new Error(`receiver of ${uetr} holds ${got}, expected ${out}`);
      progress(label, ++done, n);
      return Date.now() - start;
    }),
  );
  latencies.sort((x, y) => x - y);
  return { totalMs: Date.now() - t0, latencies };
}
