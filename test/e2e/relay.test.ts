import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract, Interface, Wallet, getAddress, type JsonRpcProvider } from 'ethers';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';

const N = 100;

/**
 * The spine end to end: two anvil member chains and the hub, 100 messages,
 * exactly 100 delivered once each, asserted from the destination chains
 * (port events and the receivers' own counters) and from the index.
 */
describe.each([
  { queue: 'memory', index: 'pglite', batchSize: undefined },
  { queue: 'bullmq', index: 'postgres', batchSize: undefined },
  // Batches of 8: a commit job commits several one after the other, each closed while the next is sent.
  { queue: 'bullmq', index: 'postgres', batchSize: 8 },
] as const)('relay end to end ($queue queue, $index index, batches of $batchSize)', ({ queue, index, batchSize }) => {
  let t: TestHub;
  let artifacts: PortArtifacts;
  let chains: { chainId: string; url: string; port: string; receiver: string; provider: JsonRpcProvider; user: TxSender }[];

  beforeAll(async () => {
    t = await startTestHub({ queue, index, ...(batchSize ? { config: { relayer: { batchSize } } } : {}) });
    artifacts = await portArtifacts();
    chains = [];
    for (const c of t.hub.demo!.chains) {
      const provider = makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 });
      const wallet = Wallet.createRandom();
      await provider.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
      chains.push({ chainId: c.chainId, url: c.url, port: c.port, receiver: c.receiver, provider, user: new TxSender(wallet.privateKey, provider) });
    }
  });

  afterAll(async () => {
    for (const c of chains ?? []) c.provider.destroy();
    await t?.stop();
  });

  it(`relays ${N} messages, each delivered exactly once`, async () => {
    const [a, b] = chains as [(typeof chains)[0], (typeof chains)[0]];
    const portIface = new Interface(artifacts.QiaoPort.abi as never);
    const sends: Promise<{ id: Hex; to: typeof a }>[] = [];
    for (let i = 0; i < N; i++) {
      const [from, to] = i % 5 < 3 ? [a, b] : [b, a];
      const data = portIface.encodeFunctionData('send', [to.chainId, to.port, to.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(`e2e #${i}`)]);
      // Sent back to back (local nonces), mined together: the test does not wait a block per message.
      const tx = await from.user.signer.sendTransaction({ to: from.port, data, gasLimit: 500_000n });
      sends.push(
        tx.wait().then((r) => {
          if (!r) throw new Error('no receipt');
          const log = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
          const id = messageId(log.args[3] as Hex);
          expect(id).toBe((log.args[0] as string).toLowerCase());
          return { id, to };
        }),
      );
    }
    const sent = await Promise.all(sends);
    const ids = new Set(sent.map((s) => s.id));
    expect(ids.size).toBe(N);

    // Done when both receivers have counted every message meant for them (read from the chains).
    const expected = new Map(chains.map((c) => [c.chainId, sent.filter((s) => s.to.chainId === c.chainId).length]));
    await until(
      async () => {
        for (const c of chains) {
          const r = new Contract(c.receiver, artifacts.DemoReceiver.abi as never, c.provider);
          if (Number(await r.getFunction('received')()) < expected.get(c.chainId)!) return false;
        }
        return true;
      },
      { timeoutMs: 150_000, intervalMs: 500, what: 'all messages delivered on chain' },
    );

    // Exactly once, from the destination chains: one successful MessageDelivered per id, counters equal.
    const deliveredTopic = portIface.getEvent('MessageDelivered')!.topicHash;
    for (const c of chains) {
      const logs = await c.provider.getLogs({ address: c.port, topics: [deliveredTopic], fromBlock: 0n, toBlock: 'latest' });
      const perId = new Map<string, number>();
      for (const l of logs) {
        const p = portIface.parseLog(l)!;
        expect(p.args[1]).toBe(true);
        const id = (p.args[0] as string).toLowerCase();
        perId.set(id, (perId.get(id) ?? 0) + 1);
      }
      const mine = sent.filter((s) => s.to.chainId === c.chainId);
      expect(perId.size).toBe(mine.length);
      for (const s of mine) expect(perId.get(s.id)).toBe(1);
      const r = new Contract(c.receiver, artifacts.DemoReceiver.abi as never, c.provider);
      expect(Number(await r.getFunction('received')())).toBe(mine.length);
      for (const s of mine.slice(0, 10)) expect(Number(await r.getFunction('timesReceived')(s.id))).toBe(1);
    }

    // Every batch on the governance chain, one number after the other, is the batch the index holds: same root,
    // same ids in the same order, and every message in exactly one of them.
    const gov = t.hub.relayer.ctx.gov;
    const batched = new Map<string, bigint>();
    const last = (await gov.nextBatchNo()) - 1n;
    for (let no = 1n; no <= last; no++) {
      const onChain = (await gov.batch(no))!;
      const logged = (await gov.batchIds(no, onChain.blockNumber))!;
      const row = (await t.hub.index.getBatch(no))!;
      expect(row.root).toBe(onChain.root);
      expect(logged.ids.map((x) => x.toLowerCase())).toEqual(row.ids);
      if (batchSize) expect(row.ids.length).toBeLessThanOrEqual(batchSize);
      for (const id of row.ids) {
        expect(batched.has(id)).toBe(false);
        batched.set(id, no);
      }
    }
    for (const s of sent) expect(batched.has(s.id)).toBe(true);
    if (batchSize) expect(last).toBeGreaterThanOrEqual(BigInt(Math.ceil(N / batchSize)));

    // The index agrees, with full timelines and the proofs behind them.
    await until(async () => (await t.hub.index.countByStatus()).delivered === N, { timeoutMs: 30_000, what: 'index shows all delivered' });
    for (const s of [...sent].slice(0, 20)) {
      const m = await t.hub.index.getMessage(s.id);
      expect(m?.status).toBe('delivered');
      expect(m?.dstTxHash).toMatch(/^0x[0-9a-f]{64}$/);
      const tl = await t.hub.index.timeline(s.id);
      expect(tl.map((x) => x.status)).toEqual(['sent', 'verified', 'committed', 'attested', 'delivered']);
      const verified = tl[1]!.proof as { kind: string; accountProof: unknown[] };
      expect(verified.kind).toBe('evm-mpt');
      expect(verified.accountProof.length).toBeGreaterThan(0);
      expect((tl[3]!.proof as { signatures: unknown[] }).signatures.length).toBeGreaterThanOrEqual(1);
      expect(tl[4]!.txHash).toBe(m!.dstTxHash);
      expect(getAddress(m!.receiver)).toBe(getAddress(s.to.receiver));
    }
  });
});
