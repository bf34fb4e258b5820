/**
 * JSON-safe inputs, exactly as CometBFT RPC serves them (snake_case):
 * a light block is `result.signed_header` of `/commit` plus `result.validators`
 * of `/validators` at the same height (and, optionally, at height + 1).
 * Heights and powers are decimal strings (numbers accepted), hashes upper- or
 * lower-case hex, signatures and public keys base64, times RFC 3339 with up to
 * nanosecond precision. Both `part_set_header` (v0.34+) and `parts` (older RPC)
 * are accepted for block ids; `voting_power` or `power` (genesis) for powers.
 */
export interface PartSetHeaderJson {
  total: number | string;
  hash: string;
}

export interface BlockIdJson {
  hash: string;
  part_set_header?: PartSetHeaderJson;
  parts?: PartSetHeaderJson;
}

export interface HeaderJson {
  version: { block: string | number; app?: string | number };
  chain_id: string;
  height: string | number;
  time: string;
  last_block_id: BlockIdJson | null;
  last_commit_hash: string;
  data_hash: string;
  validators_hash: string;
  next_validators_hash: string;
  consensus_hash: string;
  app_hash: string;
  last_results_hash: string;
  evidence_hash: string;
  proposer_address: string;
}

export interface CommitSigJson {
  /** 1 absent, 2 commit, 3 nil (the string names BLOCK_ID_FLAG_* are accepted too). */
  block_id_flag: number | string;
  validator_address: string;
  timestamp: string;
  signature: string | null;
}

export interface CommitJson {
  height: string | number;
  round: number | string;
  block_id: BlockIdJson;
  signatures: CommitSigJson[];
}

export interface SignedHeaderJson {
  header: HeaderJson;
  commit: CommitJson;
}

export interface ValidatorJson {
  address: string;
  pub_key: { type: string; value: string };
  voting_power?: string | number;
  power?: string | number;
  proposer_priority?: string | number;
}

export interface ValidatorSetJson {
  validators: ValidatorJson[];
}

/** `/commit` + `/validators` at H (+ `/validators` at H+1 when the block is to be trusted for skipping). */
export interface LightBlockJson {
  signed_header: SignedHeaderJson;
  validator_set: ValidatorSetJson;
  next_validator_set?: ValidatorSetJson;
}

/**
 * What the light client trusts: a header and at least one validator set it
 * commits to. Skipping verification counts trust against `next_validator_set`
 * when given (the spec's NextV), else against `validator_set` (as CometBFT's
 * Go light client does); both are checked against the trusted header's hashes.
 */
export interface TrustedStateJson {
  signed_header: SignedHeaderJson;
  validator_set?: ValidatorSetJson;
  next_validator_set?: ValidatorSetJson;
}

export interface Fraction {
  numerator: number | string;
  denominator: number | string;
}

export interface VerifyOptions {
  /** The caller's clock: a Date or an RFC 3339 string (nanoseconds kept). */
  now: Date | string;
  /** How long a trusted header stays usable, in seconds (e.g. two thirds of the unbonding period). */
  trustingPeriodSeconds: number;
  /** Allowed clock drift for headers from the future, in seconds. Default 10. */
  clockDriftSeconds?: number;
  /** Share of the trusted validator set that must sign a skipped-to header. Default 1/3; must be in [1/3, 1]. */
  trustLevel?: Fraction;
}

/** Decoded forms (bytes, bigints, nanosecond times) used inside the verifiers. */
export interface Time {
  seconds: bigint;
  nanos: number;
  /** seconds * 1e9 + nanos, for comparisons. */
  ns: bigint;
}

export interface BlockId {
  hash: Uint8Array;
  partSetHeader: { total: number; hash: Uint8Array };
}

export interface Header {
  versionBlock: bigint;
  versionApp: bigint;
  chainId: string;
  height: bigint;
  time: Time;
  lastBlockId: BlockId;
  lastCommitHash: Uint8Array;
  dataHash: Uint8Array;
  validatorsHash: Uint8Array;
  nextValidatorsHash: Uint8Array;
  consensusHash: Uint8Array;
  appHash: Uint8Array;
  lastResultsHash: Uint8Array;
  evidenceHash: Uint8Array;
  proposerAddress: Uint8Array;
}

export const BLOCK_ID_FLAG_ABSENT = 1;
export const BLOCK_ID_FLAG_COMMIT = 2;
export const BLOCK_ID_FLAG_NIL = 3;

export interface CommitSig {
  flag: 1 | 2 | 3;
  validatorAddress: Uint8Array;
  timestamp: Time;
  signature: Uint8Array;
}

export interface Commit {
  height: bigint;
  round: bigint;
  blockId: BlockId;
  signatures: CommitSig[];
}

export interface Validator {
  address: Uint8Array;
  /** Lower-case hex of the address, for lookups. */
  addressHex: string;
  pubKey: Uint8Array;
  power: bigint;
}

export interface ValidatorSet {
  /** In CometBFT's canonical order (power descending, then address ascending). */
  validators: Validator[];
  totalPower: bigint;
  byAddress: Map<string, Validator>;
}

export interface SignedHeader {
  header: Header;
  commit: Commit;
}

export interface LightBlock {
  signedHeader: SignedHeader;
  validatorSet: ValidatorSet;
  nextValidatorSet?: ValidatorSet;
}
