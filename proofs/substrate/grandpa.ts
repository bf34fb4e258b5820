import { ed25519 } from '@noble/curves/ed25519.js';
import { ScaleError, asBytes, toHex } from './bytes.ts';
import { decodeJustification, precommitSigningPayload, type GrandpaJustification } from './justification.ts';
import { fail, ok, type Failure, type VerifyResult } from '../result.ts';
import type { Hex } from '../../src/domain/hex.ts';

export interface AuthorityInput {
  /** ed25519 public key, 32 bytes (hex or bytes). */
  publicKey: Hex | Uint8Array;
  weight: bigint | number;
}

export interface AuthoritySetInput {
  setId: bigint | number;
  authorities: AuthorityInput[];
}

export interface ExpectedTarget {
  hash: Hex | Uint8Array;
  number?: number;
}

export interface FinalizedTarget {
  hash: Hex;
  number: number;
  round: bigint;
  /** Total weight of the distinct authorities whose precommits were counted. */
  signedWeight: bigint;
  threshold: bigint;
  /** Authorities that precommitted twice with different votes (counted for every block, as GRANDPA does). */
  equivocators: Hex[];
}

interface Voter {
  weight: bigint;
  key: Uint8Array;
}

/** A checked authority set, keyed by lower-case hex public key. */
export interface AuthoritySet {
  setId: bigint;
  voters: Map<string, Voter>;
  totalWeight: bigint;
  threshold: bigint;
}

/** W − ⌊(W − 1)/3⌋: the least weight that makes a supermajority (finality-grandpa's `threshold`). */
export function grandpaThreshold(totalWeight: bigint): bigint {
  return totalWeight - (totalWeight - 1n) / 3n;
}

export function checkAuthoritySet(set: AuthoritySetInput): { ok: true; set: AuthoritySet } | Failure {
  if (!set || typeof set !== 'object' || !Array.isArray(set.authorities)) return fail('expectation_invalid', 'authority set must have setId and authorities[]');
  let setId: bigint;
  try {
    setId = BigInt(set.setId);
  } catch {
    return fail('expectation_invalid', 'setId is not an integer');
  }
  if (setId < 0n || setId >= 1n << 64n) return fail('expectation_invalid', 'setId is outside u64');
  if (set.authorities.length === 0) return fail('expectation_invalid', 'authority set is empty');
  const voters = new Map<string, Voter>();
  let totalWeight = 0n;
  for (const [i, a] of set.authorities.entries()) {
    const key = asBytes(a?.publicKey, 32);
    if (!key) return fail('expectation_invalid', `authorities[${i}].publicKey is not 32 bytes`);
    let weight: bigint;
    try {
      weight = BigInt(a.weight);
    } catch {
      return fail('expectation_invalid', `authorities[${i}].weight is not an integer`);
    }
    if (weight <= 0n || weight >= 1n << 64n) return fail('expectation_invalid', `authorities[${i}].weight must be in 1..2^64-1`);
    const hex = toHex(key);
    if (voters.has(hex)) return fail('expectation_invalid', `authorities[${i}] repeats key ${hex}`);
    voters.set(hex, { weight, key });
    totalWeight += weight;
  }
  return { ok: true, set: { setId, voters, totalWeight, threshold: grandpaThreshold(totalWeight) } };
}

/**
 * Verifies a GRANDPA justification against a trusted authority set, following
 * sc-consensus-grandpa's `GrandpaJustification::verify_with_voter_set` and
 * finality-grandpa's `validate_commit`, with the stricter rules a bridge light
 * client (pallet-bridge-grandpa) uses:
 *  - every precommit signature must verify: ed25519 with ZIP-215 rules, because
 *    sp_core::ed25519 verifies with ed25519-zebra; the payload is SCALE
 *    `(Message::Precommit{target_hash, target_number}, round: u64, set_id: u64)`;
 *  - a signer outside the set is refused (the node would ignore it);
 *  - each precommit target is the commit target or a descendant, proven by a
 *    parent-hash path through votes_ancestries with consistent block numbers,
 *    and every ancestry header lies on such a path (no unused headers);
 *  - the weight of distinct signers reaches W − ⌊(W−1)/3⌋; an identical
 *    repeated precommit counts once; an authority that signed two different
 *    precommits (an equivocation) counts, as GRANDPA counts equivocators, for
 *    every block; a third precommit by one authority is refused;
 *  - the commit target is the precommit GHOST: no child of the target gathers
 *    a supermajority (otherwise the commit names the wrong block).
 * Cheap structural checks run before any signature.
 */
export function verifyGrandpaJustification(
  justification: Uint8Array | Hex | GrandpaJustification,
  authoritySet: AuthoritySetInput | AuthoritySet,
  expectedTarget?: ExpectedTarget,
): VerifyResult<{ target: FinalizedTarget; justification: GrandpaJustification }> {
  let set: AuthoritySet;
  if ('voters' in authoritySet && authoritySet.voters instanceof Map) set = authoritySet;
  else {
    const c = checkAuthoritySet(authoritySet as AuthoritySetInput);
    if (!c.ok) return c;
    set = c.set;
  }
  let j: GrandpaJustification;
  if (justification instanceof Uint8Array || typeof justification === 'string') {
    const bytes = asBytes(justification);
    if (!bytes) return fail('proof_malformed', 'justification is not bytes or hex');
    try {
      j = decodeJustification(bytes);
    } catch (e) {
      if (e instanceof ScaleError) return fail('proof_malformed', `justification: ${e.message}`);
      throw e;
    }
  } else j = justification;

  const { commit } = j;
  if (expectedTarget) {
    const want = asBytes(expectedTarget.hash, 32);
    if (!want) return fail('expectation_invalid', 'expected target hash is not 32 bytes');
    if (toHex(want) !== commit.targetHash) return fail('untrusted_header', `justification finalizes ${commit.targetHash}, expected ${toHex(want)}`);
    if (expectedTarget.number !== undefined && expectedTarget.number !== commit.targetNumber) {
      return fail('height_mismatch', `justification finalizes #${commit.targetNumber}, expected #${expectedTarget.number}`);
    }
  }
  if (commit.precommits.length === 0) return fail('insufficient_signatures', 'commit has no precommits');
  if (commit.precommits.length > 2 * set.voters.size) {
    return fail('proof_malformed', `${commit.precommits.length} precommits for ${set.voters.size} authorities (at most two each)`);
  }

  const ancestry = new Map<string, { parent: Hex; number: number }>();
  for (const h of j.votesAncestries) ancestry.set(h.hash, { parent: h.parentHash, number: h.number });
  const visited = new Set<string>();
  /** For each precommit: the child of the commit target its vote lies under (null: the target itself). */
  const branchOf: (string | null)[] = [];
  for (const [i, s] of commit.precommits.entries()) {
    const p = s.precommit;
    if (!set.voters.has(s.id)) return fail('grandpa_unknown_authority', `precommit ${i} is signed by ${s.id}, not in set ${set.setId}`);
    if (p.targetHash === commit.targetHash) {
      if (p.targetNumber !== commit.targetNumber) return fail('grandpa_ancestry_invalid', `precommit ${i} names the target with number ${p.targetNumber}`);
      branchOf.push(null);
      continue;
    }
    if (p.targetNumber <= commit.targetNumber) return fail('grandpa_ancestry_invalid', `precommit ${i} (#${p.targetNumber}) is not above the commit target`);
    let cur = p.targetHash as string;
    let number = p.targetNumber;
    let child: string | null = null;
    const path: string[] = [];
    for (;;) {
      if (cur === commit.targetHash) break;
      const h = ancestry.get(cur);
      if (!h || h.number !== number || path.length > ancestry.size) {
        return fail('grandpa_ancestry_invalid', `precommit ${i} target ${p.targetHash} is not proven to descend from ${commit.targetHash}`);
      }
      path.push(cur);
      child = cur;
      cur = h.parent;
      number -= 1;
    }
    if (number !== commit.targetNumber) return fail('grandpa_ancestry_invalid', `precommit ${i}: block numbers along the ancestry do not match`);
    for (const x of path) visited.add(x);
    branchOf.push(child);
  }
  if (visited.size !== ancestry.size) return fail('grandpa_ancestry_invalid', `${ancestry.size - visited.size} votes_ancestries header(s) are on no precommit's path`);

  // Tally before verifying signatures, so a justification that could not pass anyway costs no ed25519 work.
  const first = new Map<string, number>();
  const equivocators = new Set<string>();
  const counted: number[] = [];
  for (const [i, s] of commit.precommits.entries()) {
    const prev = first.get(s.id);
    if (prev === undefined) {
      first.set(s.id, i);
      counted.push(i);
      continue;
    }
    const a = commit.precommits[prev]!;
    const sameVote = a.precommit.targetHash === s.precommit.targetHash && a.precommit.targetNumber === s.precommit.targetNumber;
    if (sameVote && equalSig(a.signature, s.signature)) continue;
    if (equivocators.has(s.id)) return fail('proof_malformed', `authority ${s.id} precommits more than twice`);
    equivocators.add(s.id);
  }
  let signedWeight = 0n;
  let equivocatorWeight = 0n;
  const branchWeight = new Map<string, bigint>();
  for (const id of first.keys()) {
    const w = set.voters.get(id)!.weight;
    signedWeight += w;
    if (equivocators.has(id)) equivocatorWeight += w;
  }
  for (const i of counted) {
    const s = commit.precommits[i]!;
    const b = branchOf[i];
    if (b == null || equivocators.has(s.id)) continue;
    branchWeight.set(b, (branchWeight.get(b) ?? 0n) + set.voters.get(s.id)!.weight);
  }
  if (signedWeight < set.threshold) {
    return fail('insufficient_signatures', `signed weight ${signedWeight} of ${set.totalWeight} is below the threshold ${set.threshold}`);
  }
  for (const [b, w] of branchWeight) {
    if (w + equivocatorWeight >= set.threshold) return fail('grandpa_ghost_mismatch', `descendant ${b} has a supermajority (${w + equivocatorWeight}); the commit target is not the GHOST`);
  }

  for (const [i, s] of commit.precommits.entries()) {
    const msg = precommitSigningPayload(s.precommit, j.round, set.setId);
    let good = false;
    try {
      good = ed25519.verify(s.signature, msg, set.voters.get(s.id)!.key, { zip215: true });
    } catch {
      good = false;
    }
    if (!good) return fail('signature_invalid', `precommit ${i} by ${s.id}: signature does not verify for round ${j.round}, set ${set.setId}`);
  }
  return ok({
    justification: j,
    target: { hash: commit.targetHash, number: commit.targetNumber, round: j.round, signedWeight, threshold: set.threshold, equivocators: [...equivocators] as Hex[] },
  });
}

function equalSig(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 64; i++) if (a[i] !== b[i]) return false;
  return true;
}
