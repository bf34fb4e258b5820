import { getBytes, hexlify, toUtf8Bytes, toUtf8String } from 'ethers';
import { z } from 'zod';
import { FORK_ORDER, MAINNET_PRESET, MINIMAL_PRESET, type BeaconChainConfig, type ForkName } from '../../proofs/beacon/config.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError } from '../../src/errors.ts';

/**
 * The trust root an Ethereum chain verified by the sync-committee light
 * client registers: a finalized beacon block root to bootstrap from, the
 * chain config the committee signs under (genesis validators root, fork
 * schedule) and the Beacon API endpoints governance approved as its consensus
 * data source. Nothing those endpoints serve is trusted unverified. Stored in
 * the registry as the UTF-8 bytes of this JSON.
 */
export interface BeaconTrustRoot {
  preset: 'minimal' | 'mainnet';
  genesisValidatorsRoot: Hex;
  /** Unix seconds. */
  genesisTime: number;
  secondsPerSlot: number;
  /** Every fork; `epoch: null` is not scheduled. */
  forks: Record<ForkName, { version: Hex; epoch: number | null }>;
  trustedBlockRoot: Hex;
  beaconEndpoints: string[];
}

const H256 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 32 bytes of 0x-hex');
const Fork = z
  .object({
    version: z.string().regex(/^0x[0-9a-fA-F]{8}$/, 'must be 4 bytes of 0x-hex'),
    epoch: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable(),
  })
  .strict();

const Schema = z
  .object({
    preset: z.enum(['minimal', 'mainnet']),
    genesisValidatorsRoot: H256,
    genesisTime: z.number().int().nonnegative().max(2 ** 40),
    secondsPerSlot: z.number().int().positive().max(3600),
    forks: z.object(Object.fromEntries(FORK_ORDER.map((f) => [f, Fork])) as Record<ForkName, typeof Fork>).strict(),
    trustedBlockRoot: H256,
    beaconEndpoints: z
      .array(z.string().url().regex(/^https?:\/\//, 'must be an http(s) URL'))
      .min(1)
      .max(16),
  })
  .strict();

export function encodeBeaconTrustRoot(t: BeaconTrustRoot): Hex {
  const json = {
    preset: t.preset,
    genesisValidatorsRoot: t.genesisValidatorsRoot.toLowerCase(),
    genesisTime: t.genesisTime,
    secondsPerSlot: t.secondsPerSlot,
    forks: Object.fromEntries(FORK_ORDER.map((f) => [f, { version: t.forks[f].version.toLowerCase(), epoch: t.forks[f].epoch }])),
    trustedBlockRoot: t.trustedBlockRoot.toLowerCase(),
    beaconEndpoints: t.beaconEndpoints,
  };
  return hexlify(toUtf8Bytes(JSON.stringify(json))) as Hex;
}

export function decodeBeaconTrustRoot(bytes: Hex, chainId: string): BeaconTrustRoot {
  const field = `chains.${chainId}.trustRoot`;
  let raw: unknown;
  try {
    raw = JSON.parse(toUtf8String(getBytes(bytes)));
  } catch (cause) {
    throw new ConfigError(field, 'a beacon trust root is the UTF-8 JSON {preset, genesisValidatorsRoot, genesisTime, secondsPerSlot, forks, trustedBlockRoot, beaconEndpoints}', { cause });
  }
  return parseBeaconTrustRoot(raw, field);
}

/** The trust root from its JSON object (as `decodeBeaconTrustRoot`, for callers that hold the JSON already). */
export function parseBeaconTrustRoot(raw: unknown, field = 'trustRoot'): BeaconTrustRoot {
  const r = Schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError([field, ...issue.path].join('.'), issue.message, { cause: r.error });
  }
  const d = r.data;
  // Forks activate in order: a later fork scheduled before an earlier one (or without it) is a config error, not a chain.
  let prev = 0;
  for (const f of FORK_ORDER) {
    const e = d.forks[f].epoch;
    if (f === 'phase0' && e !== 0) throw new ConfigError(`${field}.forks.phase0.epoch`, 'phase0 starts at epoch 0');
    if (e === null) {
      prev = Infinity;
      continue;
    }
    if (e < prev) throw new ConfigError(`${field}.forks.${f}.epoch`, `is scheduled before the fork preceding it`);
    prev = e;
  }
  // The light client anchors execution blocks only from Capella on; a chain where it never activates cannot be followed.
  if (d.forks.capella.epoch === null) throw new ConfigError(`${field}.forks.capella.epoch`, 'the sync-committee light client needs Capella (execution payload headers) scheduled');
  return {
    preset: d.preset,
    genesisValidatorsRoot: d.genesisValidatorsRoot.toLowerCase() as Hex,
    genesisTime: d.genesisTime,
    secondsPerSlot: d.secondsPerSlot,
    forks: Object.fromEntries(FORK_ORDER.map((f) => [f, { version: d.forks[f].version.toLowerCase() as Hex, epoch: d.forks[f].epoch }])) as BeaconTrustRoot['forks'],
    trustedBlockRoot: d.trustedBlockRoot.toLowerCase() as Hex,
    beaconEndpoints: [...d.beaconEndpoints],
  };
}

/** proofs/beacon's chain config for a trust root (an unscheduled fork never activates). */
export function beaconChainConfig(t: BeaconTrustRoot): BeaconChainConfig {
  return {
    preset: t.preset === 'minimal' ? MINIMAL_PRESET : MAINNET_PRESET,
    genesisValidatorsRoot: getBytes(t.genesisValidatorsRoot),
    forks: Object.fromEntries(FORK_ORDER.map((f) => [f, { version: getBytes(t.forks[f].version), epoch: t.forks[f].epoch ?? Infinity }])) as BeaconChainConfig['forks'],
  };
}
