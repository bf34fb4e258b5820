/** Failure codes of the qbft verifiers (part of the closed set in proofs/result.ts). */
export const QBFT_FAILURES = [
  /** extraData is not the RLP list Besu's QbftExtraDataCodec / IbftExtraDataCodec writes. */
  'bft_extra_data_malformed',
  /** Two committed seals recover to the same validator (Besu rejects the header). */
  'bft_duplicate_seal',
  /** A committed seal recovers to an address outside the parent's validator set (Besu rejects the header). */
  'bft_unknown_signer',
  /** A header does not name its predecessor's hash or is not the next height. */
  'bft_chain_broken',
  /** The validator contract's storage does not hold a well-formed address[] (contract mode). */
  'bft_validator_set_invalid',
] as const;
