import type { Logger } from 'pino';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import { ConfigError } from '../../src/errors.ts';
import { GrandpaLightClient, type GrandpaBlockSource, type GrandpaTrusted, type SubstrateLightClient } from './grandpa-client.ts';
import { decodeSubstrateTrustRoot, type FrontierTrustRoot } from './grandpa-trust.ts';
import { ParachainLightClient } from './parachain-client.ts';
import { SubstrateRpcSource } from './substrate-rpc-source.ts';

/**
 * The light client a GRANDPA registration's trust root calls for: GRANDPA of
 * the chain itself (solo), GRANDPA of the relay chain plus `Paras::Heads`
 * (parachain; it connects to the relay endpoints the root names, on first
 * use), or, for an EVM chain with the Solidity port on Frontier, GRANDPA of
 * the chain's Substrate blocks read over its own connection to the root's
 * `substrateEndpoints`. `blocks` reads the chain's own blocks (a Substrate
 * adapter's primary endpoint; an EVM adapter has none). Throws ConfigError on
 * a bad trust root, or one that does not fit the chain's family.
 */
export function substrateLightClientFor(reg: ChainRegistration, blocks: GrandpaBlockSource | undefined, logger: Logger): SubstrateLightClient {
  const field = `chains.${reg.chainId}.trustRoot`;
  const t = decodeSubstrateTrustRoot(reg.trustRoot, reg.chainId);
  if (t.kind === 'frontier') {
    if (reg.family !== 'evm') throw new ConfigError(field, `a Frontier trust root anchors an EVM chain's Solidity port, not a ${reg.family} chain`);
    return frontierLightClient(t.root, logger.child({ light: 'grandpa-frontier' }));
  }
  if (reg.family !== 'substrate') throw new ConfigError(field, `an EVM chain under GRANDPA (Frontier) needs a Frontier trust root naming its substrateEndpoints, not a ${t.kind === 'para' ? 'parachain' : 'solo Substrate'} one`);
  if (!blocks) throw new ConfigError(`chains.${reg.chainId}.lightClient`, `the ${reg.family} adapter cannot serve blocks for a GRANDPA light client`);
  if (t.kind === 'solo') return new GrandpaLightClient(t.root, blocks, logger.child({ light: 'grandpa' }));
  const relay = new SubstrateRpcSource(t.root.relay.endpoints);
  return new ParachainLightClient(t.root, { relay, para: blocks }, logger.child({ light: 'parachain', paraId: t.root.paraId }));
}

/** GRANDPA over its own Substrate connection; no runtime is pinned (nothing is decoded), so `runtime()` refuses. */
function frontierLightClient(root: FrontierTrustRoot, logger: Logger): SubstrateLightClient {
  const { substrateEndpoints, ...anchor } = root;
  const source = new SubstrateRpcSource(substrateEndpoints);
  const client = new GrandpaLightClient(anchor, source, logger);
  return {
    get halted() {
      return client.halted;
    },
    get height() {
      return client.height;
    },
    trustedAt: (height: bigint): Promise<GrandpaTrusted> => client.trustedAt(height),
    runtime: () => client.runtime(),
    close: () => source.close(),
  };
}
