/**
 * ICS-23 proof structures as plain data (cosmos.ics23.v1 field for field),
 * independent of any protobuf runtime so the checks below can be read alone.
 * Enum values are the protobuf numbers.
 */
export const HashOp = {
  NO_HASH: 0,
  SHA256: 1,
  SHA512: 2,
  KECCAK256: 3,
  RIPEMD160: 4,
  BITCOIN: 5,
  SHA512_256: 6,
  BLAKE2B_512: 7,
  BLAKE2S_256: 8,
  BLAKE3: 9,
} as const;

export const LengthOp = {
  NO_PREFIX: 0,
  VAR_PROTO: 1,
  VAR_RLP: 2,
  FIXED32_BIG: 3,
  FIXED32_LITTLE: 4,
  FIXED64_BIG: 5,
  FIXED64_LITTLE: 6,
  REQUIRE_32_BYTES: 7,
  REQUIRE_64_BYTES: 8,
} as const;

export interface LeafOp {
  hash: number;
  prehashKey: number;
  prehashValue: number;
  length: number;
  prefix: Uint8Array;
}

export interface InnerOp {
  hash: number;
  prefix: Uint8Array;
  suffix: Uint8Array;
}

export interface ExistenceProof {
  key: Uint8Array;
  value: Uint8Array;
  /** Absent in malformed proofs; rejected by every check. */
  leaf?: LeafOp;
  path: InnerOp[];
}

export interface NonExistenceProof {
  key: Uint8Array;
  left?: ExistenceProof;
  right?: ExistenceProof;
}

/** Compressed batches are expanded when decoding, so only these three forms remain. */
export type CommitmentProof =
  | { exist: ExistenceProof }
  | { nonexist: NonExistenceProof }
  | { batch: ({ exist: ExistenceProof } | { nonexist: NonExistenceProof })[] };

export interface InnerSpec {
  childOrder: number[];
  childSize: number;
  minPrefixLength: number;
  maxPrefixLength: number;
  /** Placeholder hash of an empty subtree (sparse trees); empty when the tree has none. */
  emptyChild: Uint8Array;
  hash: number;
}

export interface ProofSpec {
  leafSpec: LeafOp;
  innerSpec: InnerSpec;
  /** 0: no explicit limit (the default limit of 128 applies). */
  maxDepth: number;
  minDepth: number;
  /** Sparse trees order leaves by the hashed key, so neighbours are compared on hashes. */
  prehashKeyBeforeComparison: boolean;
}
