import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Contract, ContractFactory, Wallet } from 'ethers';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { compileSolidity } from '../../src/governance/solc.ts';
import { startTestHub } from '../helpers/hub.ts';
import type { BenchRow } from './proofs.bench.ts';
import { progress } from './stats.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const PER_TX = Number(process.env.QIAO_BENCH_PER_TX ?? 100);

/**
 * Relayer capacity: N messages sent PER_TX to a transaction (so the source
 * chain's transaction rate is not what is measured), first send to last
 * delivery, every delivery counted by the destination receiver. Compared with
 * the rate the source chain took the messages in.
 */
export async function benchRelayCapacity(n: number, backend: { queue: 'memory' | 'bullmq'; index: 'pglite' | 'postgres' }): Promise<BenchRow[]> {
  const t = await startTestHub({ ...backend, config: { relayer: { pollIntervalMs: 100, batchDelayMs: 50 } } });
  try {
    const [artifacts, bulk] = await Promise.all([portArtifacts(), compileSolidity([join(HERE, 'contracts', 'BulkSender.sol')])]);
    const [a, b] = t.hub.demo!.chains as [NonNullable<typeof t.hub.demo>['chains'][0], NonNullable<typeof t.hub.demo>['chains'][0]];
    const pa = makeProvider(a.url, BigInt(a.numericId), { pollingMs: 50 });
    const pb = makeProvider(b.url, BigInt(b.numericId), { pollingMs: 50 });
    const w = Wallet.createRandom().connect(pa);
    await pa.send('anvil_setBalance', [w.address, '0x3635C9ADC5DEA00000']);
    const B = bulk.BulkSender!;
    const sender = await new ContractFactory(B.abi as never, B.bytecode, w).deploy();
    await sender.waitForDeployment();
    const receiver = new Contract(b.receiver, artifacts.DemoReceiver.abi as never, pb);
    const before = Number(await receiver.getFunction('received')());
    const label = `relay capacity ${backend.queue}/${backend.index}`;
    const t0 = Date.now();
    const waits: Promise<unknown>[] = [];
    let nonce = await pa.getTransactionCount(w.address);
    for (let i = 0; i < n; i += PER_TX) {
      const count = Math.min(PER_TX, n - i);
      const tx = await sender.getFunction('sendMany')(a.port, b.chainId, b.port, b.receiver, 100_000n, count, i, { gasLimit: 25_000_000n, nonce: nonce++ });
      waits.push(tx.wait().then((r: { status: number } | null) => {
        if (r?.status !== 1) throw new Error(`bulk send ${i} reverted`);
      }));
    }
    await Promise.all(waits);
    const sentMs = Date.now() - t0;
    let done = 0;
    while (done < n) {
      done = Number(await receiver.getFunction('received')()) - before;
      progress(label, Math.min(done, n), n);
      if (Date.now() - t0 > Number(process.env.QIAO_BENCH_TIMEOUT_MS ?? 600_000)) {
        const counts = await t.hub.index.countByStatus().catch(() => null);
        throw new Error(`only ${done} of ${n} delivered after 10 minutes (index: ${JSON.stringify(counts)})`);
      }
      if (done < n) await new Promise((r) => setTimeout(r, 250));
    }
    const totalMs = Date.now() - t0;
    // Exactly n, counted on chain (the port refuses a second delivery of an id).
    if (done !== n) throw new Error(`expected ${n} deliveries, the receiver counted ${done}`);
    pa.destroy();
    pb.destroy();
    const rate = (n * 1000) / totalMs;
    return [
      {
        name: `relayer capacity, ${n} messages (${PER_TX} per source tx), ${backend.queue} queue + ${backend.index} index`,
        figure: `${rate.toFixed(1)} msgs/s (first sent to last delivered, ${done} counted on chain)`,
        baseline: `goal 1,000 msgs/s; the source chain took the messages at ${((n * 1000) / sentMs).toFixed(0)} msgs/s`,
        ratio: (rate / 1000).toFixed(3),
        note: `${(totalMs / 1000).toFixed(1)} s in all, of which ${(sentMs / 1000).toFixed(1)} s sending`,
      },
    ];
  } finally {
    await t.stop();
  }
}
