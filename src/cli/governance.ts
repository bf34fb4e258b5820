import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { makeProvider } from '../evm/provider.ts';
import { TxSender } from '../evm/signer.ts';
import { governanceArtifacts } from '../governance/artifacts.ts';
import { GovernanceClient } from '../governance/client.ts';
import { CouncilClient, councilGovernance } from '../governance/council.ts';
import { governedContracts, type GovernanceContracts, type GovernedContract } from '../governance/deploy.ts';
import type { GovernPath } from '../governance/govern.ts';
import { loadOrCreateKeys } from '../governance/keys.ts';
import { registryArtifacts } from '../registries/artifacts.ts';
import { connectRegistries, type Registries } from '../registries/index.ts';
import { loadState, type HubState } from '../main/state.ts';

export interface GovernanceConnection {
  client: GovernanceClient;
  /** Signs the caller's writes: QIAO_GOVERNANCE_KEY, or the hub's governor key. */
  sender: TxSender;
  council: CouncilClient;
  /** Governance writes as proposals of `sender` on the council (executed at once when one approval suffices). */
  path: GovernPath;
  registries: Registries;
  contracts: GovernanceContracts;
  /** Every contract on the governance chain, by name, with its interface (to read proposals). */
  targets: GovernedContract[];
  state: HubState;
  close(): void;
}

/** Connects to the governance chain of the hub that owns `dataDir`, with the key given or the hub's governor key. */
export async function governance(dataDir: string | undefined, rpc: string | undefined): Promise<GovernanceConnection> {
  const dir = resolve(dataDir ?? process.env.QIAO_DATA_DIR ?? '.qiao');
  const state = await loadState(join(dir, 'hub.json'));
  if (!state.governance) throw new ConfigError('dataDir', `${dir} holds no hub (start one with qiao start)`);
  const saved = state.governance.contracts;
  if (!saved.council || !saved.identityRegistry || !saved.issuerRegistry || !saved.creditRegistry) {
    throw new ConfigError('dataDir', `the hub of ${dir} was set up before the council and registries: start it once (qiao start) to deploy them`);
  }
  const contracts = saved as GovernanceContracts;
  const url = rpc ?? state.governanceUrl;
  if (!url) throw new ConfigError('governance.rpc', 'no governance RPC known: pass --governance-rpc');
  const chainId = BigInt(state.governance.chainId);
  const provider = makeProvider(url, chainId);
  const key = process.env.QIAO_GOVERNANCE_KEY ?? (await loadOrCreateKeys(join(dir, 'keys.json'))).keys.governor;
  const [govArtifacts, regArtifacts] = await Promise.all([governanceArtifacts(), registryArtifacts()]);
  const client = new GovernanceClient(provider, chainId, contracts, govArtifacts);
  const sender = new TxSender(key, provider);
  const targets = governedContracts(contracts, { ...govArtifacts, ...regArtifacts });
  const council = new CouncilClient(provider, contracts.council, govArtifacts.Council, { targets: targets.map((t) => t.iface) });
  return {
    client,
    sender,
    council,
    path: councilGovernance(council, sender),
    registries: connectRegistries(provider, contracts, regArtifacts),
    contracts,
    targets,
    state,
    close: () => provider.destroy(),
  };
}
