import { compactToU8a, hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a, secp256k1PairFromSeed } from '@polkadot/util-crypto';
import type { Hex } from '../../src/domain/hex.ts';
import { ValidationError } from '../../src/errors.ts';

/**
 * The attestors' account on a Substrate chain. Attestor keys are secp256k1, so
 * each is used as it is as a Substrate ECDSA account (MultiSignature::Ecdsa,
 * AccountId32 = blake2_256(compressed public key)): no new key material. The
 * set's account is pallet-multisig's `multi_account_id`:
 * blake2_256(SCALE(b"modlpy/utilisuba", sorted signatories: Vec<AccountId32>, threshold: u16))
 * — what `createKeyMulti` in @polkadot/util-crypto computes (cross-checked in
 * test/unit/substrate-inbound-multisig.test.ts).
 */
const MULTISIG_PREFIX = new TextEncoder().encode('modlpy/utilisuba');

/** The ECDSA account of a secp256k1 public key (33-byte compressed or 65-byte uncompressed). */
export function ecdsaAccountOfPublicKey(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 33) throw new ValidationError('publicKey', 'an ECDSA account is derived from the 33-byte compressed key');
  return blake2AsU8a(publicKey, 256);
}

/** The ECDSA account (AccountId32) of a secp256k1 private key. */
export function ecdsaAccountOfKey(privateKey: Hex): Uint8Array {
  const seed = hexToU8a(privateKey);
  if (seed.length !== 32) throw new ValidationError('attestorKey', 'a secp256k1 private key is 32 bytes');
  return ecdsaAccountOfPublicKey(secp256k1PairFromSeed(seed).publicKey);
}

export function sortAccounts(accounts: readonly Uint8Array[]): Uint8Array[] {
  return [...accounts].sort((a, b) => (u8aToHex(a) < u8aToHex(b) ? -1 : u8aToHex(a) > u8aToHex(b) ? 1 : 0));
}

/** pallet-multisig's account of `threshold` of `signatories` (order does not matter). */
export function multisigAccount(signatories: readonly Uint8Array[], threshold: number): Uint8Array {
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > 0xffff) throw new ValidationError('threshold', `${threshold} is not a u16 threshold`);
  if (signatories.some((s) => s.length !== 32)) throw new ValidationError('signatories', 'signatories are 32-byte account ids');
  const sorted = sortAccounts(signatories);
  for (let i = 1; i < sorted.length; i++) if (u8aToHex(sorted[i - 1]!) === u8aToHex(sorted[i]!)) throw new ValidationError('signatories', 'a signatory appears twice');
  return blake2AsU8a(u8aConcat(MULTISIG_PREFIX, compactToU8a(sorted.length), ...sorted, Uint8Array.of(threshold & 0xff, threshold >> 8)), 256);
}

/**
 * The port account of an attestor set on Substrate. pallet-multisig has no
 * 1-of-1 (as_multi_threshold_1 needs another signatory), so a set of ONE key is
 * that key's own ECDSA account, dispatching directly; any larger set is its
 * k-of-n multisig account.
 */
export function attestorPortAccount(members: readonly Uint8Array[], threshold: number): Uint8Array {
  if (members.length === 0) throw new ValidationError('members', 'an attestor set has at least one member');
  if (threshold > members.length) throw new ValidationError('threshold', `${threshold} of ${members.length} members`);
  return members.length === 1 ? members[0]! : multisigAccount(members, threshold);
}
