import { AbiCoder, keccak256 } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import { validateAddress } from '../registries/validate.ts';
import { didHash } from '../registries/did.ts';

/**
 * The key of a sender's per-entity limit bucket, as SettlementHub computes it: the subject
 * DID hash of the sender's attestation when one is given, else keccak256(abi.encode(sender)).
 */
export function entityOfAddress(sender: string): Hex {
  return keccak256(AbiCoder.defaultAbiCoder().encode(['address'], [validateAddress(sender, 'sender')])) as Hex;
}

export function entityOfDid(did: string): Hex {
  return didHash(did);
}
