import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { makeProvider } from '../evm/provider.ts';
import { TxSender } from '../evm/signer.ts';
import { governanceArtifacts } from '../governance/artifacts.ts';
import { GovernanceClient } from '../governance/client.ts';
import { loadOrCreateKeys } from '../governance/keys.ts';
import { loadState } from '../main/state.ts';

/** Connects to the governance chain of the hub that owns `dataDir`, with the key given or the hub's governor key. */
export async function governance(dataDir: string | undefined, rpc: string | undefined) {
  const dir = resolve(dataDir ?? process.env.QIAO_DATA_DIR ?? '.qiao');
  const state = await loadState(join(dir, 'hub.json'));
  if (!state.governance) throw new ConfigError('dataDir', `${dir} holds no hub (start one with qiao start)`);
  const url = rpc ?? state.governanceUrl;
  if (!url) throw new ConfigError('governance.rpc', 'no governance RPC known: pass --governance-rpc');
  const provider = makeProvider(url, BigInt(state.governance.chainId));
  const key = process.env.QIAO_GOVERNANCE_KEY ?? (await loadOrCreateKeys(join(dir, 'keys.json'))).keys.governor;
  const client = new GovernanceClient(provider, BigInt(state.governance.chainId), state.governance.contracts, await governanceArtifacts());
  return { client, sender: new TxSender(key, provider), state, close: () => provider.destroy() };
}

