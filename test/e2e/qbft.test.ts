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

const C = 'eip155:777002';

/**
 * A QBFT member chain registered with a real trust root (a block hash and its
 * validator set): the relayer verifies every header's committed seals with
 * proofs/qbft before it trusts a state root, and refuses a chain whose blocks
 * are sealed by keys outside the set.
 */
describe('QBFT source chain verified by its light client', () => {
  let t: TestHub;
  let artifacts: PortArtifacts;
  let portIface: Interface;
  let anvil: AnvilProcess;
  let honest: Awaited<ReturnType<typeof startQbftFacade>>;
  let forged: Awaited<ReturnType<typeof startQbftFacade>>;
  let keys: HubKeys;
  let user: TxSender;
  let portC: string;
  let dest: { chainId: string; port: string; receiver: string; url: string; numericId: string };
  const validators = makeValidators(4, 'e2e');

  async function send(payload: string): Promise<Hex> {
    const data = portIface.encodeFunctionData('send', [dest.chainId, dest.port, dest.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(payload)]);
    const r = await user.send({ to: portC, data });
    const log = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
    return messageId(log.args[3] as Hex);
  }

  beforeAll(async () => {
    t = await startTestHub();
    artifacts = await portArtifacts();
    portIface = new Interface(artifacts.QiaoPort.abi as never);
    keys = JSON.parse(await readFile(join(t.dataDir, 'keys.json'), 'utf8')) as HubKeys;
    dest = t.hub.demo!.chains[0]!;
    anvil = await startAnvil({ chainId: 777_002, blockTime: 1 });
    const addrs = validators.map((v) => v.address);
    honest = await startQbftFacade({ upstream: anvil.url, validators: addrs, sealers: validators.slice(0, 3).map((v) => v.key) });
    forged = await startQbftFacade({ upstream: anvil.url, validators: addrs, sealers: makeValidators(3, 'outsiders').map((v) => v.key) });
    const provider = makeProvider(anvil.url, 777_002n, { pollingMs: 100 });
    const w = Wallet.createRandom();
    await provider.send('anvil_setBalance', [w.address, '0x3635C9ADC5DEA00000']);
    await provider.send('anvil_setBalance', [new Wallet(keys.relayer).address, '0x3635C9ADC5DEA00000']);
    user = new TxSender(w.privateKey, provider);
    const gov = t.hub.governance.client;
    const set = await gov.attestors();
    portC = await deployPort(user, artifacts, { chainId: C as ChainId, govChainId: gov.chainId, messageLog: gov.addresses.messageLog, attestors: set.members, threshold: set.threshold, setId: set.setId });
    await deployDemoApps(user, artifacts, portC);
    const governor = new TxSender(keys.governor, gov.provider);
    await gov.submitChain(governor, {
      chainId: C as ChainId,
      family: 'evm',
      genesisHash: honest.genesisHash as Hex,
      port: portC.toLowerCase() as Hex,
      lightClient: 'qbft',
      trustRoot: encodeBftTrustRoot({ height: 0n, hash: honest.genesisHash as Hex, validators: addrs }),
      finality: { kind: 'instant' },
      endpoints: [honest.url],
    });
    await gov.setChainStatus(t.hub.governance.path, C, 'approve');
    await until(async () => t.hub.relayer.connectedChains().includes(C), { timeoutMs: 20_000, what: 'QBFT chain connected' });
  });

  afterAll(async () => {
    user?.provider.destroy();
    await t?.stop();
    await honest?.close();
    await forged?.close();
    await anvil?.stop();
  });

  it('delivers a message whose source block is sealed by a quorum of the trusted validators', async () => {
    const id = await send('from a QBFT chain');
    await until(async () => (await t.hub.index.getMessage(id))?.status === 'delivered', { timeoutMs: 60_000, what: 'delivered' });
    const tl = await t.hub.index.timeline(id);
    const verified = tl.find((x) => x.status === 'verified')!.proof as { lightClient: string; anchor: { kind: string; stateRoot: string } };
    expect(verified.lightClient).toBe('qbft');
    expect(verified.anchor.kind).toBe('state-root');
    // The destination chain itself shows the delivery.
    const dp = makeProvider(dest.url, BigInt(dest.numericId));
    const logs = await dp.getLogs({ address: dest.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
    dp.destroy();
    expect(logs).toHaveLength(1);
  });

  it('quarantines messages from blocks sealed by keys outside the validator set', async () => {
    const gov = t.hub.governance.client;
    await gov.updateEndpoints(new TxSender(keys.governor, gov.provider), C, [forged.url]);
    await until(async () => t.hub.relayer.ctx.chains.get(C)?.registration.endpoints[0] === forged.url, { timeoutMs: 20_000, what: 'reconnected to the forged endpoint' });
    const id = await send('sealed by outsiders');
    await until(async () => (await t.hub.index.getMessage(id))?.status === 'quarantined', { timeoutMs: 60_000, what: 'quarantined' });
    expect((await t.hub.index.getMessage(id))!.reason).toBe('header_invalid:bft_unknown_signer');
    const dp = makeProvider(dest.url, BigInt(dest.numericId));
    const logs = await dp.getLogs({ address: dest.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
    dp.destroy();
    expect(logs).toHaveLength(0);
  });
});
