/** The light-client store, kept immutable: every step returns a new store. */
import { decodePubkey, type G1Point } from './bls.ts';
import type { LightClientHeader, LightClientUpdate, SyncCommittee } from './types.ts';

/** A sync committee with its public keys decoded once (null: a key that is not a valid G1 point). */
export interface TrustedCommittee {
  committee: SyncCommittee;
  points: readonly (G1Point | null)[];
}

export interface LightClientStore {
  finalizedHeader: LightClientHeader;
  currentSyncCommittee: TrustedCommittee;
  /** null until an update brings it. */
  nextSyncCommittee: TrustedCommittee | null;
  bestValidUpdate: LightClientUpdate | null;
  optimisticHeader: LightClientHeader;
  previousMaxActiveParticipants: number;
  currentMaxActiveParticipants: number;
  /**
   * True when the finalized header was set by a forced update (no finality
   * proof, possibly an attested header promoted after the update timeout).
   * Relaying code must not treat such a header as finalized.
   */
  finalizedByForce: boolean;
}

export function trustCommittee(committee: SyncCommittee): TrustedCommittee {
  return { committee, points: committee.pubkeys.map(decodePubkey) };
}
