import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract, ContractFactory, Interface, Wallet, type JsonRpcProvider } from 'ethers';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import { parseConfig } from '../../src/config.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { silentLogger } from '../../src/logging.ts';
import { startHub, type RunningHub } from '../../src/main/hub.ts';
import { loadState } from '../../src/main/state.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';
import { join } from 'node:path';

interface Side {
  chainId: string;
  port: string;
  receiver: string;
  provider: JsonRpcProvider;
  user: TxSender;
}

/**
 * The governance chain as a member chain (settlement rides on it): a message
 * from a demo chain to a receiver on the governance chain and one back are each
 * delivered exactly once, as the two chains' ports and receivers say; a restart
 * on the same data folder reuses the port and keeps relaying.
 */
describe('governance chain as a member chain', () => {
  let t: TestHub;
  let hub: RunningHub;
  let artifacts: PortArtifacts;
  let portIface: Interface;
  let demo: Side;
  let govSide: Side;
  const providers: JsonRpcProvider[] = [];

  async function side(url: string, numericId: bigint, chainId: string, port: string, receiver?: string): Promise<Side> {
    const provider = makeProvider(url, numericId, { pollingMs: 100 });
    providers.push(provider);
    const wallet = Wallet.createRandom();
    await provider.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
    const user = new TxSender(wallet.privateKey, provider);
    if (!receiver) {
      const r = await new ContractFactory(artifacts.DemoReceiver.abi as never, artifacts.DemoReceiver.bytecode, user.signer).deploy(port);
      await r.waitForDeployment();
      receiver = await r.getAddress();
    }
    return { chainId, port, receiver, provider, user };
  }

  async function send(from: Side, to: Side, text: string): Promise<Hex> {
    const data = portIface.encodeFunctionData('send', [to.chainId, to.port, to.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(text)]);
    const r = await from.user.send({ to: from.port, data, gasLimit: 500_000n });
    const log = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
    return messageId(log.args[3] as Hex);
  }

  const received = (s: Side) => new Contract(s.receiver, artifacts.DemoReceiver.abi as never, s.provider);

  /** Successful deliveries per message id, from the destination port's events. */
  async function deliveries(s: Side): Promise<Map<string, number>> {
    const topic = portIface.getEvent('MessageDelivered')!.topicHash;
    const logs = await s.provider.getLogs({ address: s.port, topics: [topic], fromBlock: 0n, toBlock: 'latest' });
    const per = new Map<string, number>();
    for (const l of logs) {
      const p = portIface.parseLog(l)!;
      expect(p.args[1]).toBe(true);
      const id = (p.args[0] as string).toLowerCase();
      per.set(id, (per.get(id) ?? 0) + 1);
    }
    return per;
  }

  beforeAll(async () => {
    // Stopped through hub.stop() (not t.stop()): the folder is reused by the restart below and removed in afterAll.
    t = await startTestHub({ settlement: true });
    hub = t.hub;
    artifacts = await portArtifacts();
    portIface = new Interface(artifacts.QiaoPort.abi as never);
    const a = hub.demo!.chains[0]!;
    demo = await side(a.url, BigInt(a.numericId), a.chainId, a.port, a.receiver);
    const m = hub.governanceMember!;
    govSide = await side(hub.governance.url, hub.governance.chainId, m.chainId, m.port);
  }, 120_000);

  afterAll(async () => {
    for (const p of providers) p.destroy();
    await hub?.stop();
    if (t) await rm(t.dataDir, { recursive: true, force: true });
  });

  it('registers the governance chain, approved, with its port, and connects it', async () => {
    const m = hub.governanceMember!;
    expect(m.chainId).toBe(`eip155:${hub.governance.chainId}`);
    const reg = (await hub.governance.client.chains()).find((c) => c.chainId === m.chainId);
    expect(reg?.status).toBe('approved');
    expect(reg?.lightClient).toBe('local-dev');
    expect(reg?.port.toLowerCase()).toBe(m.port.toLowerCase());
    expect(await govSide.provider.getCode(m.port)).not.toBe('0x');
    await until(async () => hub.relayer.connectedChains().includes(m.chainId), { timeoutMs: 30_000, what: 'governance chain connected' });
    // Saved in the data folder, so a restart reuses the port.
    expect((await loadState(join(t.dataDir, 'hub.json'))).governanceMember).toEqual(m);
  });

  it('delivers demo chain -> governance chain -> demo chain, each exactly once (on chain)', async () => {
    const there = await send(demo, govSide, 'to governance');
    await until(async () => Number(await received(govSide).getFunction('received')()) >= 1, { timeoutMs: 60_000, what: 'delivered on the governance chain' });
    const back = await send(govSide, demo, 'from governance');
    await until(async () => Number(await received(demo).getFunction('timesReceived')(back)) >= 1, { timeoutMs: 60_000, what: 'delivered back on the demo chain' });
    // Let any duplicate delivery surface before counting (the relayer has had a further batch cycle).
    await until(async () => (await hub.index.getMessage(back))?.status === 'delivered', { timeoutMs: 30_000, what: 'index shows the return delivered' });
    expect(Number(await received(govSide).getFunction('received')())).toBe(1);
    expect(Number(await received(govSide).getFunction('timesReceived')(there))).toBe(1);
    expect(Number(await received(demo).getFunction('timesReceived')(back))).toBe(1);
    expect((await deliveries(govSide)).get(there)).toBe(1);
    expect((await deliveries(govSide)).size).toBe(1);
    expect((await deliveries(demo)).get(back)).toBe(1);
  }, 150_000);

  it('reuses the port after a restart on the same data folder and keeps relaying', async () => {
    const before = hub.governanceMember!;
    const settlementBefore = hub.settlement?.deployment.state;
    expect(settlementBefore?.corridors.length).toBe(2);
    await hub.stop();
    const cfg = parseConfig({
      dataDir: t.dataDir,
      api: { port: 0 },
      demo: { enabled: true, blockTime: 1, finalityDepth: 2 },
      relayer: { pollIntervalMs: 200, batchDelayMs: 100 },
      settlement: { enabled: true },
    });
    hub = await startHub(cfg, { logger: silentLogger(), trafficIntervalMs: 0 });
    expect(hub.governanceMember).toEqual(before);
    // Settlement's contracts are reused too (no second deployment on a restart).
    expect(hub.settlement?.deployment.state).toEqual(settlementBefore);
    for (const p of providers) p.destroy();
    providers.length = 0;
    const a = hub.demo!.chains[0]!;
    const demo2 = await side(a.url, BigInt(a.numericId), a.chainId, a.port, a.receiver);
    const gov2 = await side(hub.governance.url, hub.governance.chainId, before.chainId, before.port, govSide.receiver);
    const id = await send(demo2, gov2, 'after restart');
    await until(async () => Number(await received(gov2).getFunction('timesReceived')(id)) >= 1, { timeoutMs: 90_000, what: 'delivered on the governance chain after the restart' });
    const per = await deliveries(gov2);
    expect(per.size).toBe(2);
    for (const n of per.values()) expect(n).toBe(1);
    expect(Number(await received(gov2).getFunction('received')())).toBe(2);
  }, 180_000);
});
