import type { ChainRegistration } from '../../src/domain/chain.ts';
import { TxSender } from '../../src/evm/signer.ts';
import type { HubKeys } from '../../src/governance/keys.ts';
import type { TestHub } from './hub.ts';
import { until } from './services.ts';

/** Registers a member chain through governance with the hub's governor key, approves it, and waits until the relayer has connected it. */
export async function registerMember(t: TestHub, keys: HubKeys, chain: Omit<ChainRegistration, 'status'>): Promise<void> {
  const gov = t.hub.governance.client;
  await gov.submitChain(new TxSender(keys.governor, gov.provider), chain);
  await gov.setChainStatus(t.hub.governance.path, chain.chainId, 'approve');
  await until(async () => t.hub.relayer.connectedChains().includes(chain.chainId), { timeoutMs: 30_000, what: `${chain.family} chain ${chain.chainId} connected` });
}
