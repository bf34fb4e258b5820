import { randomBytes } from 'node:crypto';
import { keccak256, toUtf8Bytes } from 'ethers';
import { ValidationError } from '../errors.ts';
import type { Hex } from '../domain/hex.ts';

/** `did:qiao:<id>`, id = [a-zA-Z0-9._-]{1,64}: the same grammar IdentityRegistry enforces. */
export const DID_PATTERN = /^did:qiao:[a-zA-Z0-9._-]{1,64}$/;
/** Key and service ids (the DID URL fragment, without '#') use the DID id alphabet. */
export const ID_PATTERN = /^[a-zA-Z0-9._-]{1,64}$/;

export function parseDid(v: unknown, field = 'did'): string {
  if (typeof v !== 'string' || !DID_PATTERN.test(v)) throw new ValidationError(field, 'must be did:qiao:<id> with id of 1-64 characters from [a-zA-Z0-9._-]');
  return v;
}

export function didHash(did: string): Hex {
  return keccak256(toUtf8Bytes(did)) as Hex;
}

/**
 * A fresh pairwise DID: 16 random bytes, so the id says nothing about the person
 * and two relationships of one person cannot be linked through it.
 */
export function newPairwiseDid(): string {
  return `did:qiao:${randomBytes(16).toString('hex')}`;
}
