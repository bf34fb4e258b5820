/** Signing domains and roots (compute_domain, compute_signing_root, compute_fork_digest). */
import { forkAtSlot, type BeaconChainConfig, FORK_ORDER, type ForkName } from './config.ts';
import { BeaconBlockHeaderType, ForkDataType, SigningDataType } from './ssz.ts';
import type { BeaconBlockHeader } from './types.ts';

export const DOMAIN_SYNC_COMMITTEE = Uint8Array.from([7, 0, 0, 0]);

export function forkDataRoot(version: Uint8Array, genesisValidatorsRoot: Uint8Array): Uint8Array {
  return ForkDataType.hashTreeRoot({ current_version: version, genesis_validators_root: genesisValidatorsRoot });
}

export function computeDomain(domainType: Uint8Array, version: Uint8Array, genesisValidatorsRoot: Uint8Array): Uint8Array {
  const d = new Uint8Array(32);
  d.set(domainType, 0);
  d.set(forkDataRoot(version, genesisValidatorsRoot).subarray(0, 28), 4);
  return d;
}

/** The root the sync committee signs for an update signed at `signatureSlot` (fork of the slot before it). */
export function syncCommitteeSigningRoot(cfg: BeaconChainConfig, attested: BeaconBlockHeader, signatureSlot: number): Uint8Array {
  const fork = forkAtSlot(cfg, Math.max(signatureSlot, 1) - 1);
  const domain = computeDomain(DOMAIN_SYNC_COMMITTEE, cfg.forks[fork].version, cfg.genesisValidatorsRoot);
  return SigningDataType.hashTreeRoot({ object_root: BeaconBlockHeaderType.hashTreeRoot(attested), domain });
}

/**
 * The fork whose digest (first 4 bytes of the fork data root) is `digest`; null
 * if none. Fulu digests also mix in the blob schedule (not modelled): a Fulu
 * digest is not recognised here.
 */
export function forkOfDigest(cfg: BeaconChainConfig, digest: Uint8Array): ForkName | null {
  for (const f of [...FORK_ORDER].reverse()) {
    if (cfg.forks[f].epoch === Infinity) continue;
    const r = forkDataRoot(cfg.forks[f].version, cfg.genesisValidatorsRoot);
    if (r[0] === digest[0] && r[1] === digest[1] && r[2] === digest[2] && r[3] === digest[3]) return f;
  }
  return null;
}
