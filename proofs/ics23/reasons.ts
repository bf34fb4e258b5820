/** Failure codes of the ics23 verifiers (part of the closed set in proofs/result.ts). */
export const ICS23_FAILURES = [
  /** The proof's leaf or inner ops do not have the shape the pinned proof spec requires (hash ops, prefixes, depth, IAVL varints). */
  'ics23_spec_mismatch',
  /** The ops could not be applied (empty key or value, an unsupported hash or length op). */
  'ics23_calculation_failed',
  /** The proof hashes to another root than the trusted one. */
  'ics23_root_mismatch',
  /** The proof is about another key than the one asked for. */
  'ics23_key_mismatch',
  /** The proof proves another value than the one expected. */
  'ics23_value_mismatch',
  /** An existence proof where absence was asked for, or the reverse. */
  'ics23_wrong_proof_type',
  /** Non-existence: the key does not lie strictly between the left and right neighbours. */
  'ics23_key_not_in_range',
  /** Non-existence: the left and right proofs are not adjacent leaves (or a lone neighbour is not the left- or right-most leaf). */
  'ics23_not_neighbours',
  /** The multistore proof is for another store name than the one asked for. */
  'ics23_store_mismatch',
  /** Our checks accepted but the reference library (@confio/ics23) rejected: treated as invalid. */
  'ics23_library_disagrees',
] as const;
