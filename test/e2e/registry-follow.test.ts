import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Interface, Wallet, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { deployDemoApps, deployPort } from '../../adapters/evm/deploy.ts';
import { evmChainId } from '../../src/domain/caip.ts';
import type { ChainStatus } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import type { HubKeys } from '../../src/governance/keys.ts';
import { cleanEnv, runCli, type CliResult } from '../helpers/cli.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';

interface Member {
  chainId: string;
  port: string;
  receiver: string;
  provider: JsonRpcProvider;
  user: TxSender;
}

const C_NUMERIC = 778_001n;
const C = evmChainId(C_NUMERIC);

/**
 * A chain registered and approved through the CLI on a running hub is picked
 * up by the relayer without a restart, and dropped as fast when suspended.
 */
describe('the relayer follows the ChainRegistry', () => {
  let t: TestHub;
  let anvilC: AnvilProcess;
  let portIface: Interface;
  let a: Member;
  let b: Member;
  let c: Member;
  let genesisC: Hex;
  let operatorKey: Hex;
  const figures: Record<string, number> = {};

  const cli = async (args: string[], env: Record<string, string> = {}): Promise<CliResult> => {
    const r = await runCli([...args, '--data-dir', t.dataDir], { env: cleanEnv(env) });
    if (r.code !== 0) throw new Error(`qiao ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r;
  };

  async function member(chainId: string, url: string, numericId: bigint, port: string, receiver: string): Promise<Member> {
    const provider = makeProvider(url, numericId, { pollingMs: 100 });
    const wallet = Wallet.createRandom();
    await provider.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
    return { chainId, port, receiver, provider, user: new TxSender(wallet.privateKey, provider) };
  }

  async function send(from: Member, to: Member, payload: string): Promise<Hex> {
    const data = portIface.encodeFunctionData('send', [to.chainId, to.port, to.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(payload)]);
    const r = await from.user.send({ to: from.port, data });
    const log = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
    return messageId(log.args[3] as Hex);
  }

  /** Read on the destination chain itself: the port's MessageDelivered events for `id`. */
  async function deliveredOn(m: Member, id: Hex): Promise<boolean[]> {
    const logs = await m.provider.getLogs({ address: m.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
    return logs.map((l) => portIface.parseLog(l)!.args[1] as boolean);
  }

  /**
   * Runs `action` while two tight pollers watch, in-process: when the registry
   * shows `status` (the transaction is mined) and when the relayer's connection
   * state flips. Returns the milliseconds between the two, as an upper bound:
   * "mined" is taken as the start of the last read that did not see it yet.
   */
  async function pickUpDelay(status: ChainStatus, connected: boolean, action: () => Promise<unknown>): Promise<number> {
    const gov = t.hub.governance.client;
    const STATUS_INDEX: Record<string, number> = { pending: 1, approved: 2, suspended: 3, frozen: 4, retired: 5 };
    let minedAfter = 0;
    let seen = false;
    let flippedAt = 0;
    let watching = true;
    const watchMined = (async () => {
      while (watching && !seen) {
        const startedAt = Date.now();
        const c = (await gov.registry.getFunction('get')(C)) as { status: bigint };
        if (Number(c.status) === STATUS_INDEX[status]) seen = true;
        else minedAfter = startedAt;
      }
    })();
    const watchRelayer = (async () => {
      while (watching && !flippedAt) {
        if (t.hub.relayer.connectedChains().includes(C) === connected) flippedAt = Date.now();
        else await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      await action();
      await until(async () => seen && flippedAt, { timeoutMs: 30_000, intervalMs: 50, what: `${C} ${status} and ${connected ? 'connected' : 'disconnected'}` });
    } finally {
      watching = false;
      await Promise.all([watchMined, watchRelayer]);
    }
    return flippedAt - minedAfter;
  }

  beforeAll(async () => {
    // --dev: the third chain uses local-dev header trust like the demo chains.
    t = await startTestHub({ config: { dev: true } });
    const artifacts = await portArtifacts();
    portIface = new Interface(artifacts.QiaoPort.abi as never);
    const keys = JSON.parse(await readFile(join(t.dataDir, 'keys.json'), 'utf8')) as HubKeys;
    const [da, db] = t.hub.demo!.chains as [NonNullable<TestHub['hub']['demo']>['chains'][0], NonNullable<TestHub['hub']['demo']>['chains'][0]];
    a = await member(da.chainId, da.url, BigInt(da.numericId), da.port, da.receiver);
    b = await member(db.chainId, db.url, BigInt(db.numericId), db.port, db.receiver);

    anvilC = await startAnvil({ chainId: C_NUMERIC, blockTime: 1 });
    const pc = makeProvider(anvilC.url, C_NUMERIC, { pollingMs: 100 });
    const deployer = Wallet.createRandom();
    await pc.send('anvil_setBalance', [deployer.address, '0x3635C9ADC5DEA00000']);
    await pc.send('anvil_setBalance', [new Wallet(keys.relayer).address, '0x3635C9ADC5DEA00000']);
    const gov = t.hub.governance.client;
    const set = await gov.attestors();
    const dep = new TxSender(deployer.privateKey, pc);
    const portC = await deployPort(dep, artifacts, { chainId: C, govChainId: gov.chainId, messageLog: gov.addresses.messageLog, attestors: set.members, threshold: set.threshold, setId: set.setId });
    const appsC = await deployDemoApps(dep, artifacts, portC);
    genesisC = (await pc.getBlock(0))!.hash as Hex;
    pc.destroy();
    c = await member(C, anvilC.url, C_NUMERIC, portC, appsC.receiver);

    // The operator of chain C is not the governor: it registers with its own key, paid on the governance chain.
    const operator = Wallet.createRandom();
    operatorKey = operator.privateKey as Hex;
    await gov.provider.send('anvil_setBalance', [operator.address, '0x3635C9ADC5DEA00000']);
  });

  afterAll(async () => {
    for (const m of [a, b, c]) m?.provider.destroy();
    await t?.stop();
    await anvilC?.stop();
    if (Object.keys(figures).length) console.log(`registry pick-up delays (ms): ${JSON.stringify(figures)}`);
  });

  it('registers the chain with the operator key; a pending chain is not connected', async () => {
    const r = await cli(['chains', 'register', '--chain-id', C, '--genesis-hash', genesisC, '--port', c.port, '--rpc', anvilC.url, '--finality-depth', '2', '--json'], { QIAO_GOVERNANCE_KEY: operatorKey });
    expect(JSON.parse(r.stdout)).toMatchObject({ chainId: C, status: 'pending' });
    const reg = (await t.hub.governance.client.chains()).find((x) => x.chainId === C)!;
    expect(reg.status).toBe('pending');
    expect(t.hub.relayer.connectedChains()).not.toContain(C);
  });

  it('the operator key cannot approve its own chain: it is not a council member', async () => {
    const r = await runCli(['chains', 'approve', C, '--data-dir', t.dataDir], { env: cleanEnv({ QIAO_GOVERNANCE_KEY: operatorKey }) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('NotMember');
    expect((await t.hub.governance.client.chains()).find((x) => x.chainId === C)!.status).toBe('pending');
  });

  it('approving through the council connects the chain without a restart, and its messages are delivered', async () => {
    let out: CliResult | undefined;
    const relayer = t.hub.relayer;
    figures.approvedToConnected = await pickUpDelay('approved', true, async () => (out = await cli(['chains', 'approve', C, '--json'])));
    expect(t.hub.relayer).toBe(relayer);
    const res = JSON.parse(out!.stdout) as { executed: boolean; proposalId: string };
    expect(res.executed).toBe(true);
    expect(Number(res.proposalId)).toBeGreaterThan(0);

    const id = await send(c, a, 'from the chain approved at run time');
    await until(async () => (await deliveredOn(a, id)).length > 0, { timeoutMs: 90_000, what: `${id} delivered on ${a.chainId}` });
    expect(await deliveredOn(a, id)).toEqual([true]);
    await until(async () => (await t.hub.index.getMessage(id))?.status === 'delivered', { timeoutMs: 30_000, what: `${id} delivered in the index` });
  });

  it('suspending through the emergency path disconnects the chain; its new messages are not relayed', async () => {
    let out: CliResult | undefined;
    figures.suspendedToDisconnected = await pickUpDelay('suspended', false, async () => (out = await cli(['chains', 'suspend', C, '--emergency', '--json'])));
    expect(JSON.parse(out!.stdout)).toMatchObject({ chainId: C, action: 'suspend', executed: true });

    const blocked = await send(c, a, 'from a suspended chain');
    // A message on a lane that still flows, sent after: once it is delivered, the suspended chain's would have been seen.
    const barrier = await send(b, a, 'barrier after the suspension');
    await until(async () => (await deliveredOn(a, barrier)).length > 0, { timeoutMs: 90_000, what: 'the barrier message delivered' });
    expect(await deliveredOn(a, blocked)).toEqual([]);
    expect(await t.hub.index.getMessage(blocked)).toBeNull();
    expect(t.hub.relayer.connectedChains()).not.toContain(C);
  });

  it('lists the council proposals with their state, and names what is wrong', async () => {
    const before = await t.hub.governance.council.proposalCount();
    // Independent commands run side by side (each CLI start is slow on a busy machine).
    const [listed, again] = await Promise.all([
      cli(['governance', 'proposals', '--json']),
      runCli(['chains', 'suspend', C, '--data-dir', t.dataDir], { env: cleanEnv() }),
    ]);
    const list = JSON.parse(listed.stdout) as { threshold: number; proposals: { state: string; contract: string; call: string; emergency: boolean }[] };
    expect(list.threshold).toBe(1);
    expect(list.proposals.slice(0, 2)).toEqual([
      expect.objectContaining({ state: 'executed', contract: 'ChainRegistry', call: `suspend(${C})`, emergency: true }),
      expect.objectContaining({ state: 'executed', contract: 'ChainRegistry', call: `approve(${C})`, emergency: false }),
    ]);
    // Suspending a suspended chain: refused with the registry's own error, before any proposal is made.
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('BadTransition');
    expect(await t.hub.governance.council.proposalCount()).toBe(before);
  });

  it('re-anchoring through the CLI brings the suspended chain back, with its new trust root', async () => {
    let out: CliResult | undefined;
    figures.reanchoredToConnected = await pickUpDelay('approved', true, async () => (out = await cli(['chains', 'reanchor', C, '--trust-root', '0xc0ffee', '--json'])));
    expect(JSON.parse(out!.stdout)).toMatchObject({ chainId: C, action: 'reanchor', executed: true });
    const reg = (await t.hub.governance.client.chains()).find((x) => x.chainId === C)!;
    expect(reg).toMatchObject({ status: 'approved', trustRoot: '0xc0ffee' });
    await until(async () => t.hub.relayer.ctx.chains.get(C)?.registration.trustRoot === '0xc0ffee', { timeoutMs: 10_000, what: 'the relayer holds the new trust root' });
  });
});
