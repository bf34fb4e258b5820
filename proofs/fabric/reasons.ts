/** Failure codes of the fabric verifiers (part of the closed set in proofs/result.ts). */
export const FABRIC_FAILURES = [
  /** A block's data_hash is not SHA-256 of its envelopes. */
  'fabric_data_hash_mismatch',
  /** A block's previous_hash is not the header hash of the block before it (or numbers do not follow). */
  'fabric_hash_chain_broken',
  /** The trusted block is not a config block, or a config block's config does not parse. */
  'fabric_config_invalid',
  /** A certificate does not chain to a root of its MSP, is revoked, expired, or names an unknown MSP. */
  'fabric_identity_invalid',
  /** The envelope creator is valid but does not satisfy the channel's Writers policy. */
  'fabric_creator_unauthorized',
  /** The endorsements of a valid transaction do not satisfy the policy that governs its writes. */
  'fabric_endorsement_policy_unsatisfied',
  /** The caller required every endorsement policy to be known, and one is not (chaincode defined before the trusted block). */
  'fabric_policy_unknown',
  /** The endorsed proposal hash is not the hash of this transaction's header and proposal. */
  'fabric_proposal_hash_mismatch',
  /** A transaction id is not hex(SHA-256(nonce || creator)). */
  'fabric_txid_mismatch',
  /** An envelope names another channel than the trusted config. */
  'fabric_wrong_channel',
  /** A signed validation answer says the transaction is not valid. */
  'fabric_tx_invalid',
  /** A validation answer is about another transaction than the one asked for. */
  'fabric_answer_mismatch',
  /** A construct this verifier does not evaluate (BFT identifier headers, idemix identities). */
  'fabric_unsupported',
] as const;
