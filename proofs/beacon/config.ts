/**
 * Beacon-chain presets and fork schedules. The light client picks the fork of
 * a slot from the chain config it is given, never from a hard-coded fork.
 */
/**
 * Fulu (mainnet epoch 411392) changes no light-client container or gindex, but
 * it has its own fork version, which the sync committee signs: without it a
 * client would reject every mainnet update since December 2025.
 */
export type ForkName = 'phase0' | 'altair' | 'bellatrix' | 'capella' | 'deneb' | 'electra' | 'fulu';

/** Forks in activation order. */
export const FORK_ORDER: readonly ForkName[] = ['phase0', 'altair', 'bellatrix', 'capella', 'deneb', 'electra', 'fulu'];

export interface Preset {
  name: 'mainnet' | 'minimal';
  syncCommitteeSize: number;
  slotsPerEpoch: number;
  epochsPerSyncCommitteePeriod: number;
}

export const MAINNET_PRESET: Preset = { name: 'mainnet', syncCommitteeSize: 512, slotsPerEpoch: 32, epochsPerSyncCommitteePeriod: 256 };
export const MINIMAL_PRESET: Preset = { name: 'minimal', syncCommitteeSize: 32, slotsPerEpoch: 8, epochsPerSyncCommitteePeriod: 8 };

export interface ForkSpec {
  /** 4 bytes. */
  version: Uint8Array;
  /** Activation epoch; Infinity when not scheduled. */
  epoch: number;
}

export interface BeaconChainConfig {
  preset: Preset;
  /** 32 bytes. */
  genesisValidatorsRoot: Uint8Array;
  forks: Record<ForkName, ForkSpec>;
}

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/^0x/, ''), 'hex'));
}

/**
 * Ethereum mainnet. Fork versions and epochs from ethereum/consensus-specs
 * `configs/mainnet.yaml` (ALTAIR_FORK_EPOCH 74240 … ELECTRA_FORK_EPOCH 364032,
 * FULU_FORK_EPOCH 411392);
 * genesis_validators_root is the root of the mainnet genesis state (beacon API
 * `/eth/v1/beacon/genesis`). The helios mainnet vectors verify only with these
 * values (their BLS signatures commit to the domain).
 */
export const MAINNET_CONFIG: BeaconChainConfig = {
  preset: MAINNET_PRESET,
  genesisValidatorsRoot: hex('4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95'),
  forks: {
    phase0: { version: hex('00000000'), epoch: 0 },
    altair: { version: hex('01000000'), epoch: 74240 },
    bellatrix: { version: hex('02000000'), epoch: 144896 },
    capella: { version: hex('03000000'), epoch: 194048 },
    deneb: { version: hex('04000000'), epoch: 269568 },
    electra: { version: hex('05000000'), epoch: 364032 },
    fulu: { version: hex('06000000'), epoch: 411392 },
  },
};

const FAR_FUTURE = 2 ** 64 - 1;

/**
 * A config from a consensus-specs `config.yaml` object (GENESIS_FORK_VERSION,
 * ALTAIR_FORK_VERSION/EPOCH, …) plus the genesis validators root, which the
 * config file does not carry. Unscheduled forks get an infinite epoch.
 */
export function configFromSpecYaml(y: Record<string, unknown>, genesisValidatorsRoot: Uint8Array): BeaconChainConfig {
  const preset = y.PRESET_BASE === 'minimal' ? MINIMAL_PRESET : MAINNET_PRESET;
  const version = (k: string): Uint8Array => {
    const v = y[k];
    if (typeof v === 'number') return hex(v.toString(16).padStart(8, '0'));
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{8}$/.test(v)) throw new TypeError(`${k}: expected a 4-byte hex fork version`);
    return hex(v);
  };
  const epoch = (k: string): number => {
    const v = y[k];
    if (v === undefined) return Infinity;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new TypeError(`${k}: expected an epoch`);
    return n >= FAR_FUTURE ? Infinity : n;
  };
  const fork = (name: string): ForkSpec =>
    y[`${name}_FORK_VERSION`] === undefined ? { version: new Uint8Array(4), epoch: Infinity } : { version: version(`${name}_FORK_VERSION`), epoch: epoch(`${name}_FORK_EPOCH`) };
  return {
    preset,
    genesisValidatorsRoot,
    forks: {
      phase0: { version: version('GENESIS_FORK_VERSION'), epoch: 0 },
      altair: fork('ALTAIR'),
      bellatrix: fork('BELLATRIX'),
      capella: fork('CAPELLA'),
      deneb: fork('DENEB'),
      electra: fork('ELECTRA'),
      fulu: fork('FULU'),
    },
  };
}

export function epochAtSlot(cfg: BeaconChainConfig, slot: number): number {
  return Math.floor(slot / cfg.preset.slotsPerEpoch);
}

export function periodAtSlot(cfg: BeaconChainConfig, slot: number): number {
  return Math.floor(epochAtSlot(cfg, slot) / cfg.preset.epochsPerSyncCommitteePeriod);
}

/** Slots after the finalized header before a forced update may apply (UPDATE_TIMEOUT). */
export function updateTimeout(cfg: BeaconChainConfig): number {
  return cfg.preset.slotsPerEpoch * cfg.preset.epochsPerSyncCommitteePeriod;
}

export function forkAtEpoch(cfg: BeaconChainConfig, epoch: number): ForkName {
  for (let i = FORK_ORDER.length - 1; i > 0; i--) {
    const f = FORK_ORDER[i]!;
    if (epoch >= cfg.forks[f].epoch) return f;
  }
  return 'phase0';
}

export function forkAtSlot(cfg: BeaconChainConfig, slot: number): ForkName {
  return forkAtEpoch(cfg, epochAtSlot(cfg, slot));
}

export function forkAtLeast(f: ForkName, min: ForkName): boolean {
  return FORK_ORDER.indexOf(f) >= FORK_ORDER.indexOf(min);
}
