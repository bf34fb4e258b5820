import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interface, Wallet, type JsonRpcProvider } from 'ethers';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { deployDemoApps, deployPort } from '../../adapters/evm/deploy.ts';
import { encodeBeaconTrustRoot, parseBeaconTrustRoot } from '../../relayer/light/beacon-trust.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import type { HubKeys } from '../../src/governance/keys.ts';
import { startBeaconFacade, type BeaconFacade } from '../servers/beacon/index.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { registerMember } from '../helpers/member-chain.ts';
import { until } from '../helpers/services.ts';

const C = 'eip155:777003';

/**
 * A proof-of-stake Ethereum member chain (anvil behind a model beacon node):
 * the relayer trusts a state root only once the sync committee's signed
 * finality proof vouches for the execution block (or a block it links to by
 * parent hashes), and refuses what a beacon endpoint serves with signatures
 * from keys outside the committee. Delivery is read on the destination chain.
 */
describe('Ethereum source chain verified by the sync-committee light client', () => {
  let t: TestHub;
  let anvil: AnvilProcess;
  let beacon: BeaconFacade;
  let user: TxSender;
  let portC: string;
  let dest: { chainId: string; port: string; receiver: string; url: string; numericId: string };
  let destProvider: JsonRpcProvider;
  let portIface: Interface;

  async function send(payload: string): Promise<{ id: Hex; height: bigint }> {
    const data = portIface.encodeFunctionData('send', [dest.chainId, dest.port, dest.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(payload)]);
    const r = await user.send({ to: portC, data });
    const log = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
    return { id: messageId(log.args[3] as Hex), height: BigInt(r.blockNumber) };
  }

  /** MessageDelivered events for `id` on the destination chain itself. */
  async function deliveredOnDestination(id: Hex): Promise<number> {
    const logs = await destProvider.getLogs({ address: dest.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
    return logs.length;
  }

  beforeAll(async () => {
    t = await startTestHub();
    const artifacts = await portArtifacts();
    portIface = new Interface(artifacts.QiaoPort.abi as never);
    const keys = JSON.parse(await readFile(join(t.dataDir, 'keys.json'), 'utf8')) as HubKeys;
    dest = t.hub.demo!.chains[0]!;
    destProvider = makeProvider(dest.url, BigInt(dest.numericId));
    anvil = await startAnvil({ chainId: 777_003, blockTime: 1 });
    // Slot 0 is 48 s ago: the chain enters sync period 1 (slot 64, minimal preset) while the test runs.
    beacon = await startBeaconFacade({ upstream: anvil.url, genesisTime: Math.floor(Date.now() / 1000) - 48 });
    const provider = makeProvider(anvil.url, 777_003n, { pollingMs: 100 });
    const w = Wallet.createRandom();
    await provider.send('anvil_setBalance', [w.address, '0x3635C9ADC5DEA00000']);
    await provider.send('anvil_setBalance', [new Wallet(keys.relayer).address, '0x3635C9ADC5DEA00000']);
    user = new TxSender(w.privateKey, provider);
    const gov = t.hub.governance.client;
    const set = await gov.attestors();
    portC = await deployPort(user, artifacts, { chainId: C as ChainId, govChainId: gov.chainId, messageLog: gov.addresses.messageLog, attestors: set.members, threshold: set.threshold, setId: set.setId });
    await deployDemoApps(user, artifacts, portC);
    const genesis = await provider.getBlock(0);
    await registerMember(t, keys, {
      chainId: C as ChainId,
      family: 'evm',
      genesisHash: genesis!.hash!.toLowerCase() as Hex,
      port: portC.toLowerCase() as Hex,
      lightClient: 'eth-sync-committee',
      trustRoot: encodeBeaconTrustRoot(parseBeaconTrustRoot(beacon.trustRoot())),
      finality: { kind: 'beacon-finalized' },
      endpoints: [beacon.rpcUrl],
    });
  }, 120_000);

  afterAll(async () => {
    user?.provider.destroy();
    destProvider?.destroy();
    await t?.stop();
    await beacon?.close();
    await anvil?.stop();
  });

  it('delivers a message once the sync committee has finalized its block', async () => {
    const { id, height } = await send('from a beacon-finalized chain');
    await until(async () => (await t.hub.index.getMessage(id))?.status === 'delivered', { timeoutMs: 60_000, what: 'delivered' });
    const verified = (await t.hub.index.timeline(id)).find((x) => x.status === 'verified')!.proof as { lightClient: string; anchor: { kind: string; stateRoot: string } };
    expect(verified.lightClient).toBe('eth-sync-committee');
    expect(verified.anchor.kind).toBe('state-root');
    // The anchor is the state root anvil itself has at that height.
    const block = (await user.provider.send('eth_getBlockByNumber', [`0x${height.toString(16)}`, false])) as { stateRoot: string };
    expect(verified.anchor.stateRoot).toBe(block.stateRoot.toLowerCase());
    expect(await deliveredOnDestination(id)).toBe(1);
  });

  it('refuses a message while the beacon endpoint serves updates signed outside the committee; delivers again once it stops', async () => {
    beacon.faults.forgeSignature = true;
    const forged = await send('while the beacon endpoint forges');
    await until(async () => (await t.hub.index.getMessage(forged.id))?.status === 'quarantined', { timeoutMs: 60_000, what: 'quarantined' });
    expect((await t.hub.index.getMessage(forged.id))!.reason).toBe('header_invalid:signature_invalid');
    beacon.faults.forgeSignature = false;
    // The next message is from sync period 1: the client must take the committee hand-over to vouch for it.
    await until(async () => beacon.currentSlot() >= 66, { timeoutMs: 30_000, what: 'sync period 1' });
    const honest = await send('after the beacon endpoint is honest again');
    await until(async () => (await t.hub.index.getMessage(honest.id))?.status === 'delivered', { timeoutMs: 60_000, what: 'delivered' });
    expect(await deliveredOnDestination(honest.id)).toBe(1);
    // The refused message never reached the destination, even after the client followed the chain past its block.
    const client = t.hub.relayer.ctx.chains.get(C)!.beacon!;
    expect(client.height).toBeGreaterThan(forged.height);
    // Its store finalized in period 1 or later: trust now runs to the start of period 3 at least.
    expect(client.trustExpiresAt()).toBeGreaterThanOrEqual(beacon.trustRoot().genesisTime + 3 * 64);
    expect(await deliveredOnDestination(forged.id)).toBe(0);
  });
});
