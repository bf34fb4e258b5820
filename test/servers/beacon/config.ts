/**
 * The model chain's constants: presets, the fork schedule it announces and the
 * slot arithmetic. Written here (not imported from proofs/beacon) so the
 * server stays an independent implementation of the same spec.
 */
import { sha256 } from '@noble/hashes/sha2.js';

export type PresetName = 'minimal' | 'mainnet';
export type TopFork = 'deneb' | 'electra';
export type ForkName = 'phase0' | 'altair' | 'bellatrix' | 'capella' | 'deneb' | 'electra' | 'fulu';

export const FORKS: readonly ForkName[] = ['phase0', 'altair', 'bellatrix', 'capella', 'deneb', 'electra', 'fulu'];

export interface PresetSpec {
  name: PresetName;
  syncCommitteeSize: number;
  slotsPerEpoch: number;
  epochsPerSyncCommitteePeriod: number;
}

export const PRESETS: Readonly<Record<PresetName, PresetSpec>> = {
  minimal: { name: 'minimal', syncCommitteeSize: 32, slotsPerEpoch: 8, epochsPerSyncCommitteePeriod: 8 },
  mainnet: { name: 'mainnet', syncCommitteeSize: 512, slotsPerEpoch: 32, epochsPerSyncCommitteePeriod: 256 },
};

/** FAR_FUTURE_EPOCH as the config endpoint prints it. */
export const FAR_FUTURE_EPOCH = '18446744073709551615';

export interface ChainSpec {
  preset: PresetSpec;
  /** The newest scheduled fork: it and every fork before it are active from epoch 0. */
  fork: TopFork;
  genesisTime: number;
  secondsPerSlot: number;
  genesisValidatorsRoot: Uint8Array;
  /** 4-byte versions, `0x0N000001` (N = fork index), so the model never collides with mainnet's domains. */
  versions: Readonly<Record<ForkName, Uint8Array>>;
}

export function makeChainSpec(o: { preset: PresetName; fork: TopFork; genesisTime: number; secondsPerSlot: number; seed: string }): ChainSpec {
  const versions = Object.fromEntries(FORKS.map((f, i) => [f, Uint8Array.from([i, 0, 0, 1])])) as Record<ForkName, Uint8Array>;
  return {
    preset: PRESETS[o.preset],
    fork: o.fork,
    genesisTime: o.genesisTime,
    secondsPerSlot: o.secondsPerSlot,
    genesisValidatorsRoot: sha256(new TextEncoder().encode(`${o.seed}/genesis_validators_root`)),
    versions,
  };
}

/** null: the fork is not scheduled. */
export function forkEpoch(spec: ChainSpec, f: ForkName): number | null {
  return FORKS.indexOf(f) <= FORKS.indexOf(spec.fork) ? 0 : null;
}

export function slotsPerPeriod(spec: ChainSpec): number {
  return spec.preset.slotsPerEpoch * spec.preset.epochsPerSyncCommitteePeriod;
}

export function epochOf(spec: ChainSpec, slot: number): number {
  return Math.floor(slot / spec.preset.slotsPerEpoch);
}

export function periodOf(spec: ChainSpec, slot: number): number {
  return Math.floor(slot / slotsPerPeriod(spec));
}

export function slotAt(spec: ChainSpec, unixMs: number): number {
  return Math.max(0, Math.floor((unixMs / 1000 - spec.genesisTime) / spec.secondsPerSlot));
}

/**
 * Every scheduled fork starts at epoch 0, so every slot is in the top fork;
 * the function is kept so the signing code reads as the spec does.
 */
export function forkAtSlot(spec: ChainSpec, _slot: number): TopFork {
  return spec.fork;
}

export const hex = (b: Uint8Array): `0x${string}` => `0x${Buffer.from(b).toString('hex')}`;

export function label(s: string): Uint8Array {
  return sha256(new TextEncoder().encode(s));
}
