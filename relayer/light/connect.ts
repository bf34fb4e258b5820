import type { Logger } from 'pino';
import type { ChainAdapter } from '../../src/domain/adapter.ts';
import type { ChainRegistration, LightClientType } from '../../src/domain/chain.ts';
import { ConfigError } from '../../src/errors.ts';
import type { MisbehaviourEvidence } from '../../src/index/types.ts';
import type { SubstrateAdapter } from '../../adapters/substrate/adapter.ts';
import type { ConnectedChain } from '../context.ts';
import { beaconLightClientFor } from './beacon-client.ts';
import { BftLightClient } from './bft-client.ts';
import { decodeBftTrustRoot } from './bft-trust.ts';
import { cometLightClientFor } from './cometbft-client.ts';
import { fabricLightClientFor } from './fabric-client.ts';
import { substrateLightClientFor } from './substrate-light.ts';

export type ChainLightClients = Pick<ConnectedChain, 'light' | 'grandpa' | 'comet' | 'fabric' | 'beacon'>;

export interface LightClientOptions {
  logger: Logger;
  /**
   * Where evidence of two validly signed conflicting headers goes (the live relayer freezes the chain). Without it
   * the clients that cross-check witnesses (QBFT/IBFT 2.0) do not, and the others only halt.
   */
  onMisbehaviour?: (e: MisbehaviourEvidence) => Promise<void> | void;
}

type Factory = (reg: ChainRegistration, adapter: ChainAdapter, o: LightClientOptions) => ChainLightClients;

function bft(reg: ChainRegistration, adapter: ChainAdapter, o: LightClientOptions): ChainLightClients {
  const variant = reg.lightClient === 'ibft2' ? 'ibft2' : 'qbft';
  const rawHeaders = adapter.watcher.rawHeaders?.bind(adapter.watcher);
  if (!rawHeaders) throw new ConfigError(`chains.${reg.chainId}.lightClient`, `the ${reg.family} adapter cannot serve headers for a ${variant} light client`);
  const witness = o.onMisbehaviour ? { chainId: reg.chainId, endpoints: reg.endpoints, onMisbehaviour: o.onMisbehaviour } : undefined;
  return { light: new BftLightClient(decodeBftTrustRoot(reg.trustRoot, reg.chainId), variant, rawHeaders, o.logger.child({ light: variant }), witness) };
}

/** One entry per light-client type: adding a type breaks compilation here until it is wired. */
const FACTORIES: Record<LightClientType, Factory> = {
  'local-dev': () => ({}),
  qbft: bft,
  ibft2: bft,
  // A Substrate chain's client reads blocks through its adapter; a parachain's relay and a Frontier chain's Substrate side over their own connections.
  grandpa: (reg, adapter, o) => ({ grandpa: substrateLightClientFor(reg, (adapter as Partial<SubstrateAdapter>).grandpa, o.logger) }),
  tendermint: (reg, adapter, o) => ({ comet: cometLightClientFor(reg, adapter, { logger: o.logger, ...(o.onMisbehaviour ? { onMisbehaviour: o.onMisbehaviour } : {}) }) }),
  fabric: (reg, adapter, o) => ({ fabric: fabricLightClientFor(reg, adapter, { logger: o.logger, ...(o.onMisbehaviour ? { onMisbehaviour: o.onMisbehaviour } : {}) }) }),
  'eth-sync-committee': (reg, adapter, o) => ({ beacon: beaconLightClientFor(reg, adapter, { logger: o.logger }) }),
};

/**
 * The light client a registration names, over the chain's adapter: what the live relayer, the attestor processes and
 * the index rebuild each connect with. Throws (ConfigError) on a trust root or adapter that cannot serve it; the
 * caller then closes the adapter.
 */
export function lightClientsFor(reg: ChainRegistration, adapter: ChainAdapter, o: LightClientOptions): ChainLightClients {
  return FACTORIES[reg.lightClient](reg, adapter, o);
}

/** Closes what a chain's light clients hold open themselves (a parachain's relay or a Frontier chain's Substrate connections). */
export async function closeLightClients(c: ChainLightClients): Promise<void> {
  await c.grandpa?.close?.().catch(() => undefined);
}
