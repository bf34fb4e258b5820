import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract, Interface, Wallet, type JsonRpcProvider } from 'ethers';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import { deployDemoApps, deployPort } from '../../adapters/evm/deploy.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import type { HubKeys } from '../../src/governance/keys.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { startRpcProxy, tamperStorageProof } from '../helpers/rpc-proxy.ts';
import { until } from '../helpers/services.ts';

interface Member {
  chainId: string;
  url: string;
  port: string;
  receiver: string;
  provider: JsonRpcProvider;
  user: TxSender;
}

/** Faults on real anvil chains: a forged proof, a reverting receiver, a port that refuses, a replay. */
describe('faults end to end', () => {
  let t: TestHub;
  let artifacts: PortArtifacts;
  let portIface: Interface;
  let a: Member;
  let b: Member;
  let c: Member;
  let anvilC: AnvilProcess;
  let proxy: Awaited<ReturnType<typeof startRpcProxy>>;
  let keys: HubKeys;

  async function member(chainId: string, url: string, numericId: bigint, port: string, receiver: string): Promise<Member> {
    const provider = makeProvider(url, numericId, { pollingMs: 100 });
    const wallet = Wallet.createRandom();
    await provider.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
    return { chainId, url, port, receiver, provider, user: new TxSender(wallet.privateKey, provider) };
  }

  async function send(from: Member, to: { chainId: string; port: string; receiver: string }, payload: string, gasLimit = 200_000n): Promise<Hex> {
    const data = portIface.encodeFunctionData('send', [to.chainId, to.port, to.receiver, gasLimit, 0n, 0n, new TextEncoder().encode(payload)]);
    const r = await from.user.send({ to: from.port, data });
    const log = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
    return messageId(log.args[3] as Hex);
  }

  async function deliveredEvents(m: Member, id: Hex): Promise<boolean[]> {
    const logs = await m.provider.getLogs({ address: m.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
    return logs.map((l) => portIface.parseLog(l)!.args[1] as boolean);
  }

  const status = (id: Hex, want: string) => until(async () => (await t.hub.index.getMessage(id))?.status === want, { timeoutMs: 60_000, what: `${id} ${want}` });

  beforeAll(async () => {
    t = await startTestHub({ config: { dev: true } });
    artifacts = await portArtifacts();
    portIface = new Interface(artifacts.QiaoPort.abi as never);
    keys = JSON.parse(await readFile(join(t.dataDir, 'keys.json'), 'utf8')) as HubKeys;
    const [da, db] = t.hub.demo!.chains as [NonNullable<TestHub['hub']['demo']>['chains'][0], NonNullable<TestHub['hub']['demo']>['chains'][0]];
    a = await member(da.chainId, da.url, BigInt(da.numericId), da.port, da.receiver);
    b = await member(db.chainId, db.url, BigInt(db.numericId), db.port, db.receiver);

    // A third chain, registered at run time, whose only endpoint forges storage proofs.
    anvilC = await startAnvil({ chainId: 777_001, blockTime: 1 });
    const pc = makeProvider(anvilC.url, 777_001n, { pollingMs: 100 });
    const deployer = Wallet.createRandom();
    await pc.send('anvil_setBalance', [deployer.address, '0x3635C9ADC5DEA00000']);
    await pc.send('anvil_setBalance', [new Wallet(keys.relayer).address, '0x3635C9ADC5DEA00000']);
    const gov = t.hub.governance.client;
    const set = await gov.attestors();
    const dep = new TxSender(deployer.privateKey, pc);
    const portC = await deployPort(dep, artifacts, { chainId: 'eip155:777001' as ChainId, govChainId: gov.chainId, messageLog: gov.addresses.messageLog, attestors: set.members, threshold: set.threshold, setId: set.setId });
    const appsC = await deployDemoApps(dep, artifacts, portC);
    pc.destroy();
    proxy = await startRpcProxy(anvilC.url, tamperStorageProof);
    c = await member('eip155:777001', anvilC.url, 777_001n, portC, appsC.receiver);
    const governor = new TxSender(keys.governor, gov.provider);
    const genesis = (await c.provider.getBlock(0))!.hash as Hex;
    await gov.submitChain(governor, {
      chainId: 'eip155:777001' as ChainId,
      family: 'evm',
      genesisHash: genesis,
      port: portC.toLowerCase() as Hex,
      lightClient: 'local-dev',
      trustRoot: '0x',
      finality: { kind: 'depth', depth: 2 },
      endpoints: [proxy.url],
    });
    await gov.setChainStatus(t.hub.governance.path, 'eip155:777001', 'approve');
    await until(async () => t.hub.relayer.connectedChains().includes('eip155:777001'), { timeoutMs: 20_000, what: 'chain C connected without a restart' });
  });

  afterAll(async () => {
    for (const m of [a, b, c]) m?.provider.destroy();
    await t?.stop();
    await proxy?.close();
    await anvilC?.stop();
  });

  it('quarantines a message whose storage proof was tampered with, and never delivers it', async () => {
    const id = await send(c, a, 'forged proof path');
    await status(id, 'quarantined');
    const m = await t.hub.index.getMessage(id);
    expect(m!.reason).toMatch(/^proof_invalid:/);
    expect(proxy.calls.get('eth_getProof')).toBeGreaterThan(0);
    // Read the destination chain, not the index: nothing arrived.
    const portA = new Contract(a.port, portIface, a.provider);
    expect(Number(await portA.getFunction('receipts')(id))).toBe(0);
    expect(await deliveredEvents(a, id)).toEqual([]);
  });

  it('uses an honest endpoint when one endpoint lies', async () => {
    const gov = t.hub.governance.client;
    await gov.updateEndpoints(new TxSender(keys.governor, gov.provider), 'eip155:777001', [proxy.url, anvilC.url]);
    await until(async () => t.hub.relayer.ctx.chains.get('eip155:777001')?.registration.endpoints.length === 2, { timeoutMs: 20_000, what: 'reconnected with two endpoints' });
    const id = await send(c, a, 'honest endpoint path');
    await status(id, 'delivered');
    expect(await deliveredEvents(a, id)).toEqual([true]);
    const tl = await t.hub.index.timeline(id);
    expect((tl.find((x) => x.status === 'verified')!.proof as { endpoint: number }).endpoint).toBe(1);
  });

  it('records a reverting receiver as failed with its reason, and the lane keeps flowing', async () => {
    const bad = await send(a, b, 'fail: please revert');
    const good = await send(a, b, 'after the failure');
    await status(bad, 'failed');
    await status(good, 'delivered');
    expect((await t.hub.index.getMessage(bad))!.reason).toMatch(/demo receiver refuses/);
    const portB = new Contract(b.port, portIface, b.provider);
    expect(Number(await portB.getFunction('receipts')(bad))).toBe(2);
    expect(await deliveredEvents(b, bad)).toEqual([false]);
    expect(await deliveredEvents(b, good)).toEqual([true]);
  });

  it('a message aimed at another port is refused by the destination port', async () => {
    // dstPort is B's receiver, not its port: the port refuses it and nothing is called.
    const id = await send(a, { chainId: b.chainId, port: b.receiver, receiver: b.receiver }, 'wrong port');
    await status(id, 'failed');
    expect((await t.hub.index.getMessage(id))!.reason).toBe('refused_by_port:wrong_port');
    expect(await deliveredEvents(b, id)).toEqual([]);
  });

  it('replaying a delivery reverts on the port, and a message for another chain is refused', async () => {
    const id = await send(a, b, 'replay me');
    await status(id, 'delivered');
    const row = (await t.hub.index.getMessage(id))!;
    const batch = (await t.hub.index.getBatch(BigInt(row.batchNo!)))!;
    const tree = MessageTree.of(batch.ids);
    const sigs = (await t.hub.index.attestations(BigInt(row.batchNo!), 1)).map((s) => s.signature);
    const portB = new Contract(b.port, portIface, b.user.signer);
    const err = await portB.getFunction('deliver').staticCall(batch.root, row.encoded, tree.proof(id)).then(
      () => null,
      (e: { data?: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(portIface.parseError((err as { data: string }).data)?.name).toBe('AlreadyDelivered');
    const before = await deliveredEvents(b, id);
    const tx = await b.user.send({ to: b.port, data: portIface.encodeFunctionData('deliverBatch', [1n, BigInt(row.batchNo!), batch.root, sigs, [row.encoded], [tree.proof(id)]]) });
    const rejected = tx.logs.map((l) => portIface.parseLog(l)).filter((p) => p?.name === 'MessageRejected');
    expect(rejected.map((p) => Number(p!.args[1]))).toEqual([6]);
    expect(await deliveredEvents(b, id)).toEqual(before);

    // The same attested message pushed to chain A's port: not its destination.
    const txA = await a.user.send({ to: a.port, data: portIface.encodeFunctionData('deliverBatch', [1n, BigInt(row.batchNo!), batch.root, sigs, [row.encoded], [tree.proof(id)]]) });
    const rejA = txA.logs.map((l) => portIface.parseLog(l)).filter((p) => p?.name === 'MessageRejected');
    expect(rejA.map((p) => Number(p!.args[1]))).toEqual([3]);
    expect(await deliveredEvents(a, id)).toEqual([]);
  });
});
