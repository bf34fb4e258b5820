/**
 * What every verifier in proofs/ returns. A failed proof is a value, never an
 * exception: the relayer branches on `reason` (a closed set, so a switch over
 * it is checked for exhaustiveness) and keeps `detail` for logs and evidence.
 */
import { BEACON_FAILURES } from './beacon/reasons.ts';
import { FABRIC_FAILURES } from './fabric/reasons.ts';
import { ICS23_FAILURES } from './ics23/reasons.ts';
import { QBFT_FAILURES } from './qbft/reasons.ts';
import { SUBSTRATE_FAILURES } from './substrate/reasons.ts';
import { TENDERMINT_FAILURES } from './tendermint/reasons.ts';

/** Reasons shared by every family, and those of the EVM state proofs. */
export const COMMON_FAILURES = [
  /** The proof object does not have the agreed shape (missing field, bad hex, wrong length). */
  'proof_malformed',
  /** The caller's own expectation is unusable (a bug in the caller, not a bad endpoint). */
  'expectation_invalid',
  /** The header fields cannot form a header of any known fork. */
  'header_malformed',
  /** The header does not hash to the block hash the proof claims. */
  'header_hash_mismatch',
  /** The header is self-consistent but is not the block the light client trusts. */
  'untrusted_header',
  /** The proof is for another height than the one asked for. */
  'height_mismatch',
  /** The proof is about another account than the port asked for. */
  'wrong_address',
  'account_proof_invalid',
  /** The account proof is valid and proves that the account does not exist. */
  'account_absent',
  'storage_proof_invalid',
  /** The proven storage value differs from the value the endpoint claimed. */
  'storage_value_mismatch',
  /** The storage proof is valid and proves that the commitment slot is zero. */
  'commitment_absent',
  /** A slot that had to be proven has no storage proof. */
  'missing_slot',
  /** The trusted state is too old (trusting period passed, sync period skipped): a new trust root is needed. */
  'trust_expired',
  /** Not enough voting power / weight / signatures for the rule in force. */
  'insufficient_signatures',
  /** A signature does not verify. */
  'signature_invalid',
] as const;

/** The closed set: each family adds its own codes in proofs/<family>/reasons.ts. */
export const PROOF_FAILURES = [
  ...COMMON_FAILURES,
  ...TENDERMINT_FAILURES,
  ...ICS23_FAILURES,
  ...QBFT_FAILURES,
  ...BEACON_FAILURES,
  ...SUBSTRATE_FAILURES,
  ...FABRIC_FAILURES,
] as const;

export type ProofFailure = (typeof PROOF_FAILURES)[number];

export type Failure = { ok: false; reason: ProofFailure; detail: string };

export type VerifyResult<T extends object = object> = ({ ok: true } & T) | Failure;

export function ok(): { ok: true };
export function ok<T extends object>(value: T): { ok: true } & T;
export function ok<T extends object>(value?: T): { ok: true } & T {
  return { ...(value as T), ok: true };
}

export function fail(reason: ProofFailure, detail: string): Failure {
  return { ok: false, reason, detail };
}

export function isProofFailure(v: unknown): v is ProofFailure {
  return typeof v === 'string' && (PROOF_FAILURES as readonly string[]).includes(v);
}
