import type { Hex } from '../domain/hex.ts';

/** A block to read at; named tags are pinned to one block number before a list reads several values. */
export type RegistryBlockTag = bigint | number | 'latest' | 'safe' | 'finalized';

export const KEY_TYPES = { secp256k1: 1, ed25519: 2 } as const;
export type KeyType = keyof typeof KEY_TYPES;
/** Public key lengths per type: secp256k1 compressed (0x02/0x03 prefix), ed25519 raw. */
export const KEY_LENGTHS: Record<KeyType, number> = { secp256k1: 33, ed25519: 32 };

export interface VerificationKey {
  /** The DID URL fragment, without '#'. */
  id: string;
  type: KeyType;
  publicKey: Hex;
}

export interface ServiceEndpoint {
  id: string;
  type: string;
  endpoint: string;
}

export interface Identity {
  did: string;
  didHash: Hex;
  controller: string;
  documentHash: Hex;
  keys: VerificationKey[];
  services: ServiceEndpoint[];
  active: boolean;
  /** Unix seconds. */
  createdAt: bigint;
  updatedAt: bigint;
  versionId: bigint;
}

export type AccreditationStatus = 'active' | 'revoked' | 'expired';

export interface Accreditation {
  issuerDid: string;
  issuerDidHash: Hex;
  schemaId: Hex;
  status: AccreditationStatus;
  since: bigint;
  /** 0n = no expiry. */
  expiresAt: bigint;
  /** The latest revocation (kept across a re-accreditation); 0n = never revoked. */
  revokedAt: bigint;
}

export interface Schema {
  schemaId: Hex;
  name: string;
  /** Solidity ABI "type name" strings, e.g. "string grade". */
  publicFields: string[];
  revocable: boolean;
  negative: boolean;
  retentionSeconds: bigint;
  disputeWindowSeconds: bigint;
  registeredAt: bigint;
}

export type AttestationStatus = 'valid' | 'revoked' | 'expired' | 'disputed' | 'flagged';
export const ATTESTATION_STATUSES: readonly (AttestationStatus | 'none')[] = ['none', 'valid', 'revoked', 'expired', 'disputed', 'flagged'];

export type DisputeOutcome = 'open' | 'upheld' | 'withdrawn' | 'lapsed';
export const DISPUTE_OUTCOMES: readonly DisputeOutcome[] = ['open', 'upheld', 'withdrawn', 'lapsed'];

export interface Dispute {
  statementHash: Hex;
  openedAt: bigint;
  deadline: bigint;
  /** Effective at the read block: an open dispute past its deadline is `lapsed`. */
  outcome: DisputeOutcome;
  /** null while open or lapsed. */
  responseHash: Hex | null;
}

export interface CreditAttestation {
  uid: Hex;
  schemaId: Hex;
  subjectDid: string;
  subjectDidHash: Hex;
  issuerDid: string;
  issuerDidHash: Hex;
  dataCommitment: Hex;
  issuedAt: bigint;
  /** 0n = none. */
  expiresAt: bigint;
  revocable: boolean;
  /** 0n = not revoked (a withdrawn dispute sets it too). */
  revokedAt: bigint;
  publicData: Hex;
  status: AttestationStatus;
  /** expiresAt, or for a negative schema min(expiresAt, issuedAt + retention); 0n = none. */
  validUntil: bigint;
  dispute: Dispute | null;
}

export interface RegistryAddresses {
  identityRegistry: string;
  issuerRegistry: string;
  creditRegistry: string;
  /** Lane fees (LaneFeeRegistry): leaves of the same snapshot tree; without it a snapshot has none. */
  laneFeeRegistry?: string;
}
