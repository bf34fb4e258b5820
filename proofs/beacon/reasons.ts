/** Failure codes of the beacon verifiers (part of the closed set in proofs/result.ts). */
export const BEACON_FAILURES = [
  /** current_slot >= signature_slot > attested slot >= finalized slot does not hold. */
  'beacon_slot_order',
  /** The update brings nothing newer than the store already has. */
  'beacon_update_not_newer',
  /** The update is signed in the next period but the store does not know that period's committee yet. */
  'beacon_sync_committee_unknown',
  /** The finality branch does not lead from the finalized header to the attested state root. */
  'beacon_finality_branch_invalid',
  /** A sync-committee branch does not lead to the state root (bootstrap or update). */
  'beacon_sync_committee_branch_invalid',
  /** The execution branch does not lead from the execution payload header to the beacon body root. */
  'beacon_execution_branch_invalid',
  /** The update carries a next sync committee that differs from the one the store already holds. */
  'beacon_next_sync_committee_mismatch',
  /** A fork digest or fork version that the chain config does not know. */
  'beacon_unknown_fork',
] as const;
