import { ed25519 } from '@noble/curves/ed25519.js';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { compactToU8a, stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';

/**
 * GRANDPA as the finality gadget writes it (finality-grandpa + sc-consensus-
 * grandpa): ed25519 authorities, precommits signed over
 * SCALE(Message::Precommit(Precommit{hash, number}), round: u64, set_id: u64)
 * where Message::Precommit is enum index 1, and the justification
 * GrandpaJustification{round: u64, commit: Commit{target_hash, target_number:
 * u32, precommits: Vec<SignedPrecommit{precommit, signature, id}>},
 * votes_ancestries: Vec<Header>}. Authority changes travel in header digests
 * as DigestItem::Consensus(*b"FRNK", ConsensusLog) with ScheduledChange = 1,
 * ForcedChange = 2.
 */
export const FRNK = stringToU8a('FRNK');

export interface AuthorityKey {
  secret: Uint8Array | null; // null: a key given by the caller, whose secret the server does not hold
  publicKey: Uint8Array;
  weight: bigint;
}

export interface AuthoritySet {
  setId: bigint;
  keys: AuthorityKey[];
}

export function makeKeys(seed: string, generation: number, n: number): AuthorityKey[] {
  return Array.from({ length: n }, (_, i) => {
    const secret = blake2AsU8a(stringToU8a(`qiao-grandpa/${seed}/${generation}/${i}`), 256);
    return { secret, publicKey: ed25519.getPublicKey(secret), weight: 1n };
  });
}

export function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

export function u64le(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
}

export function precommitPayload(hash: Uint8Array, number: number, round: bigint, setId: bigint): Uint8Array {
  return u8aConcat(Uint8Array.of(1), hash, u32le(number), u64le(round), u64le(setId));
}

export interface SignedPrecommit {
  hash: Uint8Array;
  number: number;
  signature: Uint8Array;
  id: Uint8Array;
}

export interface Justification {
  round: bigint;
  setId: bigint;
  targetHash: Uint8Array;
  targetNumber: number;
  precommits: SignedPrecommit[];
}

/** Every authority whose secret we hold precommits the target (more than 2/3 when all keys are ours). */
export function makeJustification(set: AuthoritySet, targetHash: Uint8Array, targetNumber: number, round: bigint): Justification {
  const precommits = set.keys
    .filter((k) => k.secret)
    .map((k) => ({
      hash: targetHash,
      number: targetNumber,
      signature: ed25519.sign(precommitPayload(targetHash, targetNumber, round, set.setId), k.secret!),
      id: k.publicKey,
    }));
  return { round, setId: set.setId, targetHash, targetNumber, precommits };
}

/** SCALE GrandpaJustification; `forge` flips a bit in every signature (the forgeJustification fault). */
export function encodeJustification(j: Justification, forge: boolean): Uint8Array {
  const pcs = j.precommits.map((p) => {
    const sig = Uint8Array.from(p.signature);
    if (forge) sig[0] = sig[0]! ^ 0x01;
    return u8aConcat(p.hash, u32le(p.number), sig, p.id);
  });
  return u8aConcat(u64le(j.round), j.targetHash, u32le(j.targetNumber), compactToU8a(pcs.length), ...pcs, compactToU8a(0));
}

export function encodeAuthorities(keys: AuthorityKey[]): Uint8Array {
  return u8aConcat(compactToU8a(keys.length), ...keys.map((k) => u8aConcat(k.publicKey, u64le(k.weight))));
}

/** DigestItem::Consensus(FRNK, ScheduledChange{next_authorities, delay}). */
export function scheduledChangeDigest(next: AuthorityKey[], delay: number): Uint8Array {
  const log = u8aConcat(Uint8Array.of(1), encodeAuthorities(next), u32le(delay));
  return u8aConcat(Uint8Array.of(4), FRNK, compactToU8a(log.length), log);
}

/** DigestItem::Consensus(FRNK, ForcedChange(median_last_finalized, ScheduledChange)). */
export function forcedChangeDigest(medianLastFinalized: number, next: AuthorityKey[], delay: number): Uint8Array {
  const log = u8aConcat(Uint8Array.of(2), u32le(medianLastFinalized), encodeAuthorities(next), u32le(delay));
  return u8aConcat(Uint8Array.of(4), FRNK, compactToU8a(log.length), log);
}

export function keyHex(k: AuthorityKey): `0x${string}` {
  return u8aToHex(k.publicKey);
}
