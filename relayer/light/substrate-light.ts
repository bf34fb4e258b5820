import type { Logger } from 'pino';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import { GrandpaLightClient, type GrandpaBlockSource, type SubstrateLightClient } from './grandpa-client.ts';
import { decodeSubstrateTrustRoot } from './grandpa-trust.ts';
import { ParachainLightClient } from './parachain-client.ts';
import { SubstrateRpcSource } from './substrate-rpc-source.ts';

/**
 * The light client a Substrate registration's trust root calls for: GRANDPA
 * of the chain itself (solo), or GRANDPA of the relay chain plus
 * `Paras::Heads` (parachain; it connects to the relay endpoints the root
 * names, on first use). `blocks` reads the chain's own blocks (the adapter's
 * primary endpoint). Throws ConfigError on a bad trust root.
 */
export function substrateLightClientFor(reg: ChainRegistration, blocks: GrandpaBlockSource, logger: Logger): SubstrateLightClient {
  const t = decodeSubstrateTrustRoot(reg.trustRoot, reg.chainId);
  if (t.kind === 'solo') return new GrandpaLightClient(t.root, blocks, logger.child({ light: 'grandpa' }));
  const relay = new SubstrateRpcSource(t.root.relay.endpoints);
  return new ParachainLightClient(t.root, { relay, para: blocks }, logger.child({ light: 'parachain', paraId: t.root.paraId }));
}
