import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, ContractFactory, keccak256, toUtf8Bytes } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { parseConfig } from '../../src/config.ts';
import { ContractRevertError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { startAnvil } from '../../src/governance/anvil.ts';
import { governanceArtifacts } from '../../src/governance/artifacts.ts';
import { GovernanceClient, type GovernanceAddresses } from '../../src/governance/client.ts';
import { directGovernance } from '../../src/governance/govern.ts';
import { addressOf, loadOrCreateKeys, type HubKeys } from '../../src/governance/keys.ts';
import { silentLogger } from '../../src/logging.ts';
import { fundFromDev } from '../../src/main/demo.ts';
import { startHub, type RunningHub } from '../../src/main/hub.ts';
import { loadState, saveState } from '../../src/main/state.ts';

const GOV_CHAIN_ID = 1_357_911n;
const CHAIN = 'eip155:565656' as ChainId;

/**
 * A data folder from before the council: ChainRegistry, AttestorSet and
 * MessageLog governed by the hub's governor key. Starting the hub deploys the
 * council and the registries and hands the old contracts over.
 */
describe('a data folder from before the council', () => {
  let dataDir: string;
  let keys: HubKeys;
  let old: GovernanceAddresses;
  let hub: RunningHub | undefined;

  const start = () => startHub(parseConfig({ dataDir, api: { port: 0 } }), { logger: silentLogger() });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'qiao-migrate-'));
    keys = (await loadOrCreateKeys(join(dataDir, 'keys.json'))).keys;
    const anvil = await startAnvil({ chainId: GOV_CHAIN_ID, stateFile: join(dataDir, 'governance', 'state.json') });
    try {
      await fundFromDev(anvil.url, GOV_CHAIN_ID, [addressOf(keys.governor), addressOf(keys.relayer)]);
      const provider = makeProvider(anvil.url, GOV_CHAIN_ID, { pollingMs: 50 });
      const governor = new TxSender(keys.governor, provider);
      const artifacts = await governanceArtifacts();
      // The deployment of the hub before the council: every contract governed by the key itself.
      const deploy = async (name: 'ChainRegistry' | 'AttestorSet' | 'MessageLog', args: unknown[]) => {
        const c = await new ContractFactory(artifacts[name].abi as never, artifacts[name].bytecode, governor.signer).deploy(...args);
        await c.waitForDeployment();
        return c.getAddress();
      };
      old = {
        chainRegistry: await deploy('ChainRegistry', [governor.address]),
        attestorSet: await deploy('AttestorSet', [governor.address, [addressOf(keys.attestor)], 1]),
        messageLog: await deploy('MessageLog', [governor.address]),
      };
      const gov = new GovernanceClient(provider, GOV_CHAIN_ID, old, artifacts);
      const direct = directGovernance(governor);
      await gov.setCommitter(direct, addressOf(keys.relayer), true);
      await gov.submitChain(governor, {
        chainId: CHAIN,
        family: 'evm',
        genesisHash: keccak256(toUtf8Bytes(CHAIN)) as Hex,
        port: addressOf(keys.relayer).toLowerCase() as Hex,
        lightClient: 'local-dev',
        trustRoot: '0x',
        finality: { kind: 'depth', depth: 2 },
        endpoints: ['http://127.0.0.1:9'],
      });
      provider.destroy();
      await saveState(join(dataDir, 'hub.json'), { version: 1, governance: { chainId: GOV_CHAIN_ID.toString(), contracts: old, external: false } });
    } finally {
      // SIGTERM: anvil writes its state file, as a hub stopping would.
      await anvil.stop();
    }
    hub = await start();
  });

  afterAll(async () => {
    await hub?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('gets a council and the registries, recorded in the data folder', async () => {
    const c = hub!.governance.contracts;
    expect(c).toMatchObject(old);
    for (const k of ['council', 'identityRegistry', 'issuerRegistry', 'creditRegistry'] as const) {
      expect(c[k]).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect(await hub!.governance.client.provider.getCode(c[k])).not.toBe('0x');
    }
    expect((await loadState(join(dataDir, 'hub.json'))).governance!.contracts).toEqual(c);
    const cfg = await hub!.governance.council.config();
    expect(cfg).toMatchObject({ members: [addressOf(keys.governor)], threshold: 1, emergencyThreshold: 1, delaySeconds: 0n });
  });

  it('hands every existing contract, and the new registries, to the council', async () => {
    const c = hub!.governance.contracts;
    expect(await hub!.governance.client.governors()).toEqual({ chainRegistry: c.council, attestorSet: c.council, messageLog: c.council });
    const artifacts = await import('../../src/registries/artifacts.ts').then((m) => m.registryArtifacts());
    for (const k of ['identityRegistry', 'issuerRegistry', 'creditRegistry'] as const) {
      const name = ({ identityRegistry: 'IdentityRegistry', issuerRegistry: 'IssuerRegistry', creditRegistry: 'CreditRegistry' } as const)[k];
      const reg = new Contract(c[k], artifacts[name].abi as never, hub!.governance.client.provider);
      expect(await reg.getFunction('governor')()).toBe(c.council);
    }
    // The registry's contents survive, and the relayer key still commits.
    expect((await hub!.governance.client.chains()).map((x) => [x.chainId, x.status])).toEqual([[CHAIN, 'pending']]);
    expect(await hub!.governance.client.messageLog.getFunction('isCommitter')(addressOf(keys.relayer))).toBe(true);
  });

  it('the old governor key no longer governs directly; through the council it does', async () => {
    const gov = hub!.governance.client;
    const direct = directGovernance(new TxSender(keys.governor, gov.provider));
    const err = await gov.setChainStatus(direct, CHAIN, 'retire').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContractRevertError);
    expect((err as ContractRevertError).errorName).toBe('NotGovernor');
    const res = await gov.setChainStatus(hub!.governance.path, CHAIN, 'retire');
    expect(res.executed).toBe(true);
    expect(res.proposalId).toBeGreaterThan(0n);
    expect((await gov.chains())[0]!.status).toBe('retired');
  });

  it('a second start changes nothing', async () => {
    const before = hub!.governance.contracts;
    await hub!.stop();
    hub = undefined;
    hub = await start();
    expect(hub.governance.contracts).toEqual(before);
    expect((await hub.governance.client.chains())[0]!.status).toBe('retired');
  });
});
