import { FORK_ORDER, MAINNET_PRESET, type ForkName } from '../../proofs/beacon/config.ts';
import { initializeStore } from '../../proofs/beacon/index.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ValidationError } from '../../src/errors.ts';
import { BeaconApiClient, type BeaconApiOptions } from './beacon-api.ts';
import { beaconChainConfig, parseBeaconTrustRoot, type BeaconTrustRoot } from './beacon-trust.ts';

/** FAR_FUTURE_EPOCH: a fork the node's config does not schedule. */
const FAR_FUTURE = 18446744073709551615n;

/**
 * A trust root proposal from a beacon node's own answers: its genesis, its
 * chain config and its current finalized block root (checked to bootstrap a
 * light client). The node is believed here, which is why the result is only
 * a proposal: governance approves it after comparing the root with other
 * sources (another node, a checkpoint-sync provider).
 */
export async function beaconTrustRootFromNode(url: string, opts: BeaconApiOptions = {}): Promise<BeaconTrustRoot> {
  // The preset only matters for decoding light-client objects, which the probe does not ask for.
  const probe = new BeaconApiClient(url, MAINNET_PRESET, opts);
  const [genesis, spec, finalized] = await Promise.all([probe.genesis(), probe.spec(), probe.header('finalized')]);
  const num = (v: unknown, field: string): number => {
    const n = typeof v === 'string' && /^\d{1,20}$/.test(v) ? BigInt(v) : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : null;
    if (n === null || n > BigInt(Number.MAX_SAFE_INTEGER)) throw new ValidationError(field, `${probe.name} answered ${JSON.stringify(v)}, not a decimal integer`);
    return Number(n);
  };
  const epoch = (v: unknown, field: string): number | null => {
    if (v === undefined) return null;
    if ((typeof v === 'string' && /^\d{1,20}$/.test(v) && BigInt(v) >= FAR_FUTURE) || v === Number.MAX_SAFE_INTEGER) return null;
    return num(v, field);
  };
  const forks = {} as Record<ForkName, { version: Hex; epoch: number | null }>;
  for (const f of FORK_ORDER) {
    const key = f === 'phase0' ? 'GENESIS' : f.toUpperCase();
    const version = spec[`${key}_FORK_VERSION`];
    if (version === undefined && f !== 'phase0') {
      forks[f] = { version: '0x00000000' as Hex, epoch: null };
      continue;
    }
    forks[f] = { version: String(version).toLowerCase() as Hex, epoch: f === 'phase0' ? 0 : epoch(spec[`${key}_FORK_EPOCH`], `spec.${key}_FORK_EPOCH`) };
  }
  const trust = parseBeaconTrustRoot(
    {
      preset: spec.PRESET_BASE,
      genesisValidatorsRoot: String(genesis.genesis_validators_root).toLowerCase(),
      genesisTime: num(genesis.genesis_time, 'genesis.genesis_time'),
      secondsPerSlot: num(spec.SECONDS_PER_SLOT, 'spec.SECONDS_PER_SLOT'),
      forks,
      trustedBlockRoot: String(finalized.root).toLowerCase(),
      beaconEndpoints: [url],
    },
    'beacon',
  );
  const cfg = beaconChainConfig(trust);
  const bootstrap = await new BeaconApiClient(url, cfg.preset, opts).bootstrap(trust.trustedBlockRoot);
  const init = initializeStore(cfg, bootstrap, Uint8Array.from(Buffer.from(trust.trustedBlockRoot.slice(2), 'hex')));
  if (!init.ok) throw new ValidationError('beacon', `the node's bootstrap for its finalized root ${trust.trustedBlockRoot} does not verify: ${init.reason}: ${init.detail}`);
  return trust;
}
