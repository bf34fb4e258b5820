/** Failure codes of the substrate verifiers (part of the closed set in proofs/result.ts). */
export const SUBSTRATE_FAILURES = [
  /** A precommit is signed by a key outside the authority set (rejected, as pallet-bridge-grandpa does). */
  'grandpa_unknown_authority',
  /** A precommit target is not the commit target or a descendant proven by votes_ancestries, or an ancestry header is unused. */
  'grandpa_ancestry_invalid',
  /** A supermajority precommitted to a descendant: the commit target is not the precommit GHOST. */
  'grandpa_ghost_mismatch',
  /** A forced authority-set change: the light client halts until governance registers a new trust root. */
  'grandpa_forced_change',
  /** A scheduled change this light client cannot follow safely (non-zero delay, several in one header). */
  'grandpa_unsupported_change',
  /** No trusted GRANDPA authority set (or BEEFY validator set) was supplied for the proof. */
  'substrate_trust_missing',
] as const;
