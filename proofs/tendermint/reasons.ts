/** Failure codes of the tendermint verifiers (part of the closed set in proofs/result.ts). */
export const TENDERMINT_FAILURES = [
  /** Skipping verification: the commit carries no more than the trust level of the trusted validator set (bisect). */
  'not_enough_trust',
  /** The header's validators_hash / next_validators_hash does not match the validator set served with it. */
  'validator_set_mismatch',
  /** Adjacent headers: the new header's validators are not the trusted header's next validators. */
  'tendermint_next_validators_mismatch',
  /** The header is not after the trusted one (height or BFT time does not increase). */
  'tendermint_non_monotonic',
  /** The header's time is later than now + the allowed clock drift. */
  'tendermint_header_from_future',
  /** The commit is for another block, chain or height than its header, or names a validator twice. */
  'tendermint_commit_mismatch',
  /** Two valid, conflicting headers at the same height: misbehaviour evidence. */
  'tendermint_fork_detected',
  /** The bisection driver could not get a light block it needed from its source. */
  'tendermint_block_unavailable',
] as const;
