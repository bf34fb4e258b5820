import { Contract, Interface, Wallet } from 'ethers';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { startTestHub } from '../helpers/hub.ts';
import type { BenchRow } from './proofs.bench.ts';
import { percentile, progress } from './stats.ts';

/**
 * End to end through the embedded hub (in-process queue, PGlite): N messages
 * from chain A to chain B, first sent to last delivered, every delivery counted
 * on the destination chain. Compared with the rate the source chain accepted
 * the sends, and latency measured from source finality (depth 2) to delivery.
 */
export async function benchRelay(n: number, backend: { queue: 'memory' | 'bullmq'; index: 'pglite' | 'postgres' }): Promise<BenchRow[]> {
  const t = await startTestHub({ ...backend, config: { relayer: { pollIntervalMs: 100, batchDelayMs: 50 } } });
  try {
    const artifacts = await portArtifacts();
    const portIface = new Interface(artifacts.QiaoPort.abi as never);
    const [a, b] = t.hub.demo!.chains as [NonNullable<typeof t.hub.demo>['chains'][0], NonNullable<typeof t.hub.demo>['chains'][0]];
    const pa = makeProvider(a.url, BigInt(a.numericId), { pollingMs: 50 });
    const pb = makeProvider(b.url, BigInt(b.numericId), { pollingMs: 50 });
    const w = Wallet.createRandom();
    await pa.send('anvil_setBalance', [w.address, '0x3635C9ADC5DEA00000']);
    const user = new TxSender(w.privateKey, pa);
    const receiver = new Contract(b.receiver, artifacts.DemoReceiver.abi as never, pb);
    const before = Number(await receiver.getFunction('received')());
    const t0 = Date.now();
    const waits: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const data = portIface.encodeFunctionData('send', [b.chainId, b.port, b.receiver, 100_000n, 0n, 0n, new TextEncoder().encode(`bench ${i}`)]);
      const tx = await user.signer.sendTransaction({ to: a.port, data, gasLimit: 400_000n });
      waits.push(tx.wait());
    }
    await Promise.all(waits);
    const sentMs = Date.now() - t0;
    let done = 0;
    while (done < n) {
      done = Number(await receiver.getFunction('received')()) - before;
      progress(`relay ${backend.queue}/${backend.index}`, Math.min(done, n), n);
      if (Date.now() - t0 > 600_000) throw new Error(`only ${done} of ${n} delivered after 10 minutes`);
      if (done < n) await new Promise((r) => setTimeout(r, 200));
    }
    const totalMs = Date.now() - t0;
    // Exactly n, counted on chain.
    if (done !== n) throw new Error(`expected ${n} deliveries, the receiver counted ${done}`);
    // Latency per message: delivered transition time minus the time its source block became final.
    const lat: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await t.hub.index.listMessages({ srcChain: a.chainId, status: 'delivered', limit: 500, cursor });
      for (const m of page.items) {
        const tl = await t.hub.index.timeline(m.id);
        const sent = tl.find((x) => x.status === 'sent')!;
        const delivered = tl.find((x) => x.status === 'delivered')!;
        const block = await pa.getBlock(Number(sent.height) + 2);
        if (block) lat.push(delivered.at.getTime() - block.timestamp * 1000);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    lat.sort((x, y) => x - y);
    pa.destroy();
    pb.destroy();
    return [
      {
        name: `end to end, ${n} messages, ${backend.queue} queue + ${backend.index} index`,
        figure: `${((n * 1000) / totalMs).toFixed(1)} msgs/s (first sent to last delivered, ${done} counted on chain)`,
        baseline: `source chain accepted the sends at ${((n * 1000) / sentMs).toFixed(1)} tx/s`,
        ratio: (sentMs / totalMs).toFixed(2),
        note: `added latency from source finality: p50 ${percentile(lat, 50)} ms, p99 ${percentile(lat, 99)} ms (block time 1 s, so ±1 s granularity)`,
      },
    ];
  } finally {
    await t.stop();
  }
}
