import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interface, Wallet } from 'ethers';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import { deployDemoApps, deployPort } from '../../adapters/evm/deploy.ts';
import { encodeBftTrustRoot } from '../../relayer/light/bft-trust.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import type { HubKeys } from '../../src/governance/keys.ts';
import { makeValidators } from '../proofs/fixtures/qbft/build.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { startQbftFacade } from '../helpers/qbft-facade.ts';
import { until } from '../helpers/services.ts';

type Facade = Awaited<ReturnType<typeof startQbftFacade>>;

/**
 * QBFT member chains registered with two endpoints. The relayer's light
 * client verifies the primary's headers and cross-checks every witness:
 *  - a witness whose conflicting blocks carry seals of keys outside the
 *    validator set is a lying endpoint: flagged, and messages still flow;
 *  - a witness whose conflicting blocks are sealed by the same validators
 *    (a double-signing validator set: the same keys over a second anvil) is
 *    misbehaviour: the evidence is stored, the chain is frozen in the
 *    ChainRegistry through the emergency path, and nothing is delivered.
 */
describe('BFT misbehaviour: conflicting validly sealed headers freeze the chain', () => {
  let t: TestHub;
  let artifacts: PortArtifacts;
  let portIface: Interface;
  let keys: HubKeys;
  let dest: { chainId: string; port: string; receiver: string; url: string; numericId: string };
  const anvils: AnvilProcess[] = [];
  const facades: Facade[] = [];
  const senders: TxSender[] = [];
  const validators = makeValidators(4, 'misbehaviour');
  const addrs = validators.map((v) => v.address);
  const quorum = validators.slice(0, 3).map((v) => v.key);

  /** A QBFT chain whose primary endpoint is an honest facade over its own anvil and whose witness is `witness` over a second anvil. */
  async function qbftChain(numericId: number, witnessSealers: typeof quorum) {
    const primaryAnvil = await startAnvil({ chainId: numericId });
    // The witness's own history: already ahead of the primary, so every height the light client walks is there to compare.
    const witnessAnvil = await startAnvil({ chainId: numericId });
    anvils.push(primaryAnvil, witnessAnvil);
    await fetch(witnessAnvil.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_mine', params: ['0x200'] }) });
    const primary = await startQbftFacade({ upstream: primaryAnvil.url, validators: addrs, sealers: quorum });
    const witness = await startQbftFacade({ upstream: witnessAnvil.url, validators: addrs, sealers: witnessSealers });
    facades.push(primary, witness);
    expect(witness.genesisHash).toBe(primary.genesisHash);

    const provider = makeProvider(primaryAnvil.url, BigInt(numericId), { pollingMs: 100 });
    const w = Wallet.createRandom();
    await provider.send('anvil_setBalance', [w.address, '0x3635C9ADC5DEA00000']);
    const user = new TxSender(w.privateKey, provider);
    senders.push(user);
    const gov = t.hub.governance.client;
    const set = await gov.attestors();
    const chainId = `eip155:${numericId}`;
    const port = await deployPort(user, artifacts, { chainId: chainId as ChainId, govChainId: gov.chainId, messageLog: gov.addresses.messageLog, attestors: set.members, threshold: set.threshold, setId: set.setId });
    await deployDemoApps(user, artifacts, port);
    await gov.submitChain(new TxSender(keys.governor, gov.provider), {
      chainId: chainId as ChainId,
      family: 'evm',
      genesisHash: primary.genesisHash as Hex,
      port: port.toLowerCase() as Hex,
      lightClient: 'qbft',
      trustRoot: encodeBftTrustRoot({ height: 0n, hash: primary.genesisHash as Hex, validators: addrs }),
      finality: { kind: 'instant' },
      endpoints: [primary.url, witness.url],
    });
    await gov.setChainStatus(t.hub.governance.path, chainId, 'approve');
    const send = async (payload: string): Promise<Hex> => {
      const data = portIface.encodeFunctionData('send', [dest.chainId, dest.port, dest.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(payload)]);
      const r = await user.send({ to: port, data });
      const log = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
      return messageId(log.args[3] as Hex);
    };
    return { chainId, primary, witness, send };
  }

  async function deliveredOnDestination(id: Hex): Promise<number> {
    const dp = makeProvider(dest.url, BigInt(dest.numericId));
    try {
      const logs = await dp.getLogs({ address: dest.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
      return logs.length;
    } finally {
      dp.destroy();
    }
  }

  async function registryStatus(chainId: string): Promise<string | undefined> {
    return (await t.hub.governance.client.chains()).find((c) => c.chainId === chainId)?.status;
  }

  beforeAll(async () => {
    t = await startTestHub();
    artifacts = await portArtifacts();
    portIface = new Interface(artifacts.QiaoPort.abi as never);
    keys = JSON.parse(await readFile(join(t.dataDir, 'keys.json'), 'utf8')) as HubKeys;
    dest = t.hub.demo!.chains[0]!;
  });

  afterAll(async () => {
    for (const s of senders) s.provider.destroy();
    await t?.stop();
    for (const f of facades) await f.close();
    for (const a of anvils) await a.stop();
  });

  it('a witness serving blocks sealed by outsiders is flagged; the chain stays approved and delivers', async () => {
    const c = await qbftChain(777_011, makeValidators(3, 'outsiders').map((v) => v.key));
    await until(async () => t.hub.relayer.connectedChains().includes(c.chainId), { timeoutMs: 20_000, what: 'chain connected' });
    const id = await c.send('witness lies, primary is honest');
    await until(async () => (await t.hub.index.getMessage(id))?.status === 'delivered', { timeoutMs: 45_000, what: 'delivered' });
    expect(await deliveredOnDestination(id)).toBe(1);
    expect(t.hub.relayer.ctx.chains.get(c.chainId)!.light!.flaggedWitnesses).toEqual([1]);
    expect(await t.hub.index.misbehaviour(c.chainId)).toEqual([]);
    expect(await registryStatus(c.chainId)).toBe('approved');
  });

  it('two blocks sealed by the same validators at one height: evidence stored, chain frozen, nothing delivered', async () => {
    const c = await qbftChain(777_012, quorum);
    await until(async () => t.hub.relayer.connectedChains().includes(c.chainId), { timeoutMs: 20_000, what: 'chain connected' });
    const id = await c.send('from a double-signing validator set');
    await until(async () => (await t.hub.index.misbehaviour(c.chainId)).some((r) => r.frozenTx !== null), { timeoutMs: 45_000, what: 'evidence stored and freeze sent' });
    const [row] = await t.hub.index.misbehaviour(c.chainId);
    // Both headers are the ones the two endpoints serve at that height, and they differ.
    const served = async (url: string) =>
      ((await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBlockByNumber', params: [`0x${BigInt(row!.height).toString(16)}`, false] }) })).json()) as { result: { hash: string } }).result.hash;
    expect(row!.evidence.headerA.hash).toBe(await served(c.primary.url));
    expect(row!.evidence.headerB.hash).toBe(await served(c.witness.url));
    expect(row!.evidence.headerA.hash).not.toBe(row!.evidence.headerB.hash);
    expect(row!.evidence.endpoints).toEqual([c.primary.url, c.witness.url]);
    // The ChainRegistry on the governance chain says frozen, and the relayer lets the chain go.
    expect(await registryStatus(c.chainId)).toBe('frozen');
    await until(async () => !t.hub.relayer.connectedChains().includes(c.chainId), { timeoutMs: 20_000, what: 'frozen chain disconnected' });
    expect((await t.hub.index.getMessage(id))!.status).toBe('quarantined');
    expect((await t.hub.index.getMessage(id))!.reason).toBe('header_invalid:bft_misbehaviour');
    expect(await deliveredOnDestination(id)).toBe(0);
  });
});
