import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interface, Wallet } from 'ethers';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { deployDemoApps, deployPort } from '../../adapters/evm/deploy.ts';
import { encodeFrontierTrustRoot } from '../../relayer/light/grandpa-trust.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY } from '../../src/governance/anvil.ts';
import type { HubKeys } from '../../src/governance/keys.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { registerMember } from '../helpers/member-chain.ts';
import { until } from '../helpers/services.ts';
import { startFrontierTestServer, type FrontierTestServer } from '../servers/frontier/index.ts';

const CHAIN_ID = 777_303;
const C = `eip155:${CHAIN_ID}` as ChainId;

/**
 * A Frontier chain (the model: anvil for the EVM, a GRANDPA Substrate server
 * mirroring the port's storage as EVM::AccountStorages) registered with the
 * Solidity port, finality {kind:'grandpa'} and a Frontier trust root: its
 * messages reach the demo EVM chain once their commitments are proven under
 * GRANDPA, messages to it arrive through the ordinary EVM deliverer, and with
 * the Substrate node serving forged storage proofs nothing from it is
 * delivered. Every outcome is asserted on the chains themselves.
 */
describe('Frontier (EVM pallet) chain: Solidity port, GRANDPA, EVM::AccountStorages proofs', () => {
  let t: TestHub;
  let f: FrontierTestServer;
  let iface: Interface;
  let user: TxSender;
  let port: Hex;
  let receiver: string;
  let dest: { chainId: string; port: string; receiver: string; url: string; numericId: string };

  const status = async (id: Hex) => (await t.hub.index.getMessage(id))?.status;

  async function sendFromFrontier(payload: string): Promise<Hex> {
    const data = iface.encodeFunctionData('send', [dest.chainId, dest.port, dest.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(payload)]);
    const r = await user.send({ to: port, data });
    const log = r.logs.map((l) => iface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
    return messageId(log.args[3] as Hex);
  }

  async function deliveredOn(url: string, numericId: bigint, at: string, id: Hex): Promise<number> {
    const p = makeProvider(url, numericId);
    try {
      return (await p.getLogs({ address: at, topics: [iface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' })).length;
    } finally {
      p.destroy();
    }
  }

  beforeAll(async () => {
    t = await startTestHub();
    const artifacts = await portArtifacts();
    iface = new Interface(artifacts.QiaoPort.abi as never);
    const keys = JSON.parse(await readFile(join(t.dataDir, 'keys.json'), 'utf8')) as HubKeys;
    dest = t.hub.demo!.chains[0]!;
    f = await startFrontierTestServer({ chainId: CHAIN_ID });
    const provider = makeProvider(f.ethUrl, BigInt(CHAIN_ID), { pollingMs: 100 });
    await provider.send('anvil_setBalance', [new Wallet(keys.relayer).address, '0x3635C9ADC5DEA00000']);
    user = new TxSender(ANVIL_DEV_KEY, provider);
    const gov = t.hub.governance.client;
    const set = await gov.attestors();
    port = (await deployPort(user, artifacts, { chainId: C, govChainId: gov.chainId, messageLog: gov.addresses.messageLog, attestors: set.members, threshold: set.threshold, setId: set.setId })).toLowerCase() as Hex;
    receiver = (await deployDemoApps(user, artifacts, port)).receiver;
    f.mirror(port);
    await f.synced();
    await registerMember(t, keys, {
      chainId: C,
      family: 'evm',
      genesisHash: f.ethGenesisHash as Hex,
      port,
      lightClient: 'grandpa',
      trustRoot: encodeFrontierTrustRoot({ ...f.anchor(), substrateEndpoints: [f.substrateUrl] }),
      finality: { kind: 'grandpa' },
      endpoints: [f.ethUrl],
    });
  }, 90_000);

  afterAll(async () => {
    user?.provider.destroy();
    await t?.stop();
    await f?.close();
  });

  it('Frontier -> EVM: delivered once its commitment is proven in EVM::AccountStorages under GRANDPA', async () => {
    const id = await sendFromFrontier('hello from frontier');
    await until(async () => (await status(id)) === 'delivered', { timeoutMs: 60_000, what: 'delivered' });
    const verified = (await t.hub.index.timeline(id)).find((x) => x.status === 'verified')!.proof as { lightClient: string; kind: string; anchor: { kind: string } };
    expect(verified).toMatchObject({ lightClient: 'grandpa', kind: 'frontier-storage', anchor: { kind: 'state-root' } });
    expect(await deliveredOn(dest.url, BigInt(dest.numericId), dest.port, id)).toBe(1);
  }, 90_000);

  it('EVM -> Frontier: delivered through the ordinary EVM deliverer', async () => {
    const dp = makeProvider(dest.url, BigInt(dest.numericId), { pollingMs: 100 });
    try {
      const wallet = Wallet.createRandom();
      await dp.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
      const sender = new TxSender(wallet.privateKey, dp);
      const data = iface.encodeFunctionData('send', [C, port, receiver, 200_000n, 0n, 0n, new TextEncoder().encode('hello frontier')]);
      const r = await sender.send({ to: dest.port, data });
      const log = r.logs.filter((l) => l.address.toLowerCase() === dest.port.toLowerCase()).map((l) => iface.parseLog(l)!).find((e) => e.name === 'MessageSent')!;
      const id = messageId(log.args[3] as Hex);
      await until(async () => (await status(id)) === 'delivered', { timeoutMs: 60_000, what: 'delivered to Frontier' });
      // On the Frontier chain itself.
      expect(await deliveredOn(f.ethUrl, BigInt(CHAIN_ID), port, id)).toBe(1);
    } finally {
      dp.destroy();
    }
  }, 90_000);

  it('quarantines a message whose storage proof is forged, and delivers nothing of it', async () => {
    f.faults.forgeStorage = true;
    try {
      const id = await sendFromFrontier('forged storage');
      await until(async () => (await status(id)) === 'quarantined', { timeoutMs: 60_000, what: 'quarantined' });
      expect((await t.hub.index.getMessage(id))!.reason).toBe('proof_invalid:storage_proof_invalid');
      expect(await deliveredOn(dest.url, BigInt(dest.numericId), dest.port, id)).toBe(0);
    } finally {
      f.faults.forgeStorage = false;
    }
  }, 90_000);
});
