import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { Hex } from '../../src/domain/hex.ts';
import { keccak256, parseBytes, toHex } from '../evm/bytes.ts';
import { fail, ok, type VerifyResult } from '../result.ts';
import type { BftVariant } from './extra-data.ts';
import { parseBftHeader } from './hash.ts';

export type BftHeaderResult = VerifyResult<{
  hash: Hex;
  number: bigint;
  stateRoot: Hex;
  /** The set this header names for its children (lowercase 0x addresses; empty in contract mode). */
  validators: string[];
  /** The distinct validators whose seals were counted. */
  signers: string[];
}>;

/** Besu BftHelpers.calculateRequiredValidatorQuorum: ceil(2n/3). */
export function bftQuorum(n: number): number {
  return Math.ceil((2 * n) / 3);
}

/** The address whose key made a 65-byte r || s || recId seal over `digest`; a string says why none. */
export function recoverSealer(seal: Uint8Array, digest: Uint8Array): string | { address: string } {
  if (seal.length !== 65) return `seal has ${seal.length} bytes, not 65`;
  const recId = seal[64]!;
  if (recId > 1) return `seal recovery id ${recId} is not 0 or 1`;
  try {
    const pub = secp256k1.Signature.fromBytes(seal.subarray(0, 64), 'compact').addRecoveryBit(recId).recoverPublicKey(digest).toBytes(false);
    return { address: toHex(keccak256(pub.subarray(1)).subarray(12)) };
  } catch (cause) {
    return `seal does not recover a key: ${(cause as Error).message}`;
  }
}

/** Lowercase, unique, 20-byte addresses; a string says what is wrong. */
export function normalizeValidators(list: unknown, field: string): string[] | string {
  if (!Array.isArray(list) || list.length === 0) return `${field} must be a non-empty array of addresses`;
  const out: string[] = [];
  for (const [i, v] of list.entries()) {
    if (!parseBytes(v, 20)) return `${field}[${i}] must be a 20-byte 0x address`;
    const a = (v as string).toLowerCase();
    if (out.includes(a)) return `${field}[${i}] ${a} is listed twice`;
    out.push(a);
  }
  return out;
}

export interface VerifyBftOptions {
  /** Test hook: recompute the seal hash with this round instead of the header's. */
  sealRound?: number;
}

/**
 * Finality of one Besu/Quorum QBFT or IBFT 2.0 block: at least ceil(2n/3)
 * committed seals, from distinct members of the parent's validator set
 * (`trustedValidators`, from the parent's extraData or, in contract mode,
 * from validatorsFromContractProof), over the seal hash. Like Besu's
 * BftCommitSealsValidationRule, a seal from a non-member or a second seal
 * from one member rejects the header outright.
 */
export function verifyBftHeader(
  header: Record<string, unknown>,
  trustedValidators: string[],
  variant: BftVariant,
  { sealRound }: VerifyBftOptions = {},
): BftHeaderResult {
  if (variant !== 'qbft' && variant !== 'ibft2') return fail('expectation_invalid', `variant must be 'qbft' or 'ibft2', got ${String(variant)}`);
  const trusted = normalizeValidators(trustedValidators, 'trustedValidators');
  if (typeof trusted === 'string') return fail('expectation_invalid', trusted);
  const parsed = parseBftHeader(header, variant, sealRound);
  if (!parsed.ok) return parsed;
  const { header: h, extra, hash, sealHash } = parsed;
  if (h.number === 0n) return fail('header_malformed', 'the genesis block carries no seals: trust it by hash');
  if (typeof header.hash === 'string' && header.hash.toLowerCase() !== hash) {
    return fail('header_hash_mismatch', `header hashes to ${hash} (Besu ${variant} on-chain hash), its hash field says ${header.hash}`);
  }
  const validators = extra.validators.map((v) => toHex(v) as string);
  if (new Set(validators).size !== validators.length) return fail('bft_extra_data_malformed', 'extraData lists a validator twice');

  const quorum = bftQuorum(trusted.length);
  if (extra.seals.length < quorum) return fail('insufficient_signatures', `${extra.seals.length} committed seals, quorum of ${trusted.length} validators is ${quorum}`);
  const members = new Set(trusted);
  const signers: string[] = [];
  for (const [i, seal] of extra.seals.entries()) {
    const rec = recoverSealer(seal, sealHash);
    if (typeof rec === 'string') return fail('signature_invalid', `seal ${i}: ${rec}`);
    if (!members.has(rec.address)) return fail('bft_unknown_signer', `seal ${i} is by ${rec.address}, not a validator of the parent`);
    if (signers.includes(rec.address)) return fail('bft_duplicate_seal', `seal ${i} repeats validator ${rec.address}`);
    signers.push(rec.address);
  }
  return ok({ hash, number: h.number, stateRoot: h.stateRoot, validators, signers });
}

export interface VerifyBftChainOptions {
  variant?: BftVariant;
  /** When set, the first header's parentHash must be this (the trusted block the validators come from). */
  trustedParentHash?: Hex;
  /**
   * Contract mode: the validator set for headers[i + 1] from the state of
   * headers[i] (e.g. validatorsFromContractProof against its stateRoot).
   * Without it, each header's extraData names the next set. Not called
   * after the last header: the result's `validators` is then the extraData's.
   */
  validatorsAfter?: (verified: { hash: Hex; number: bigint; stateRoot: Hex; validators: string[] }, index: number) => VerifyResult<{ validators: string[] }>;
}

/** Walks consecutive headers from a trusted validator set: links, heights, seals and validator hand-offs. */
export function verifyBftChain(
  trustedValidators: string[],
  headers: Record<string, unknown>[],
  { variant = 'qbft', trustedParentHash, validatorsAfter }: VerifyBftChainOptions = {},
): VerifyResult<{ hash: Hex; number: bigint; stateRoot: Hex; validators: string[]; verified: number }> {
  if (!Array.isArray(headers) || headers.length === 0) return fail('expectation_invalid', 'headers must be a non-empty array');
  let validators = trustedValidators;
  let prev: { hash: Hex; number: bigint; stateRoot: Hex; validators: string[] } | null = null;
  for (const [i, header] of headers.entries()) {
    const r = verifyBftHeader(header, validators, variant);
    if (!r.ok) return fail(r.reason, `header ${i}: ${r.detail}`);
    const parentHash = typeof header.parentHash === 'string' ? header.parentHash.toLowerCase() : '';
    const expectedParent = prev ? prev.hash : trustedParentHash?.toLowerCase();
    if (expectedParent !== undefined && parentHash !== expectedParent) return fail('bft_chain_broken', `header ${i} (#${r.number}) names parent ${parentHash}, expected ${expectedParent}`);
    if (prev && r.number !== prev.number + 1n) return fail('bft_chain_broken', `header ${i} is #${r.number}, expected #${prev.number + 1n}`);
    prev = { hash: r.hash, number: r.number, stateRoot: r.stateRoot, validators: r.validators };
    if (validatorsAfter && i < headers.length - 1) {
      const next = validatorsAfter(prev, i);
      if (!next.ok) return fail(next.reason, `validators after header ${i}: ${next.detail}`);
      validators = next.validators;
    } else if (i < headers.length - 1 && r.validators.length === 0) {
      return fail('bft_extra_data_malformed', `header ${i} names no validators for its children (contract mode needs validatorsAfter)`);
    } else {
      validators = r.validators;
    }
  }
  return ok({ ...prev!, validators, verified: headers.length });
}
