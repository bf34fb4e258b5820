/**
 * ICS-23 membership and non-membership against a pinned proof spec.
 *
 * Our own checks (check.ts, ops.ts: cosmos/ics23 Go semantics, precise
 * failure reasons) run first; for the IAVL and Tendermint specs the proof is
 * then also put through @confio/ics23's verifier, wrapped so that nothing it
 * throws escapes, and a proof is accepted only if both accept it. The library
 * is not consulted for sparse-tree specs: 0.6.8 predates hashed-key ordering
 * and empty-child placeholders, so it rejects valid SMT proofs.
 */
import { iavlSpec as libIavlSpec, tendermintSpec as libTendermintSpec, verifyMembership as libVerifyMembership, verifyNonMembership as libVerifyNonMembership } from '@confio/ics23';
import type { ics23 } from '@confio/ics23';
import { fail, ok, type VerifyResult } from '../result.ts';
import { checkAgainstSpec, isLeftMost, isLeftNeighbor, isRightMost } from './check.ts';
import { decodeCommitmentProof, toLibraryProof } from './codec.ts';
import { bytesEqual, calculateExistenceRoot, compareBytes, doHash, type Hashed } from './ops.ts';
import { iavlSpec, specEquals, tendermintSpec } from './specs.ts';
import { HashOp, type CommitmentProof, type ExistenceProof, type NonExistenceProof, type ProofSpec } from './types.ts';

/** Protobuf bytes of a CommitmentProof, or one already decoded. */
export type ProofInput = Uint8Array | CommitmentProof;

export interface VerifyOptions {
  /** Also require @confio/ics23 to accept (IAVL and Tendermint specs only). Default true. */
  crossCheck?: boolean;
}

function toProof(input: ProofInput): VerifyResult<{ proof: CommitmentProof }> {
  if (input instanceof Uint8Array) return decodeCommitmentProof(input);
  if (input && typeof input === 'object' && ('exist' in input || 'nonexist' in input || 'batch' in input)) return ok({ proof: input });
  return fail('proof_malformed', 'proof is neither CommitmentProof bytes nor a decoded CommitmentProof');
}

function checkExpectation(root: unknown, key: unknown): VerifyResult {
  if (!(root instanceof Uint8Array) || root.length === 0) return fail('expectation_invalid', 'root must be non-empty bytes');
  if (!(key instanceof Uint8Array) || key.length === 0) return fail('expectation_invalid', 'key must be non-empty bytes');
  return ok();
}

/** An existence proof links key and value to root under spec. */
export function verifyExistence(proof: ExistenceProof, spec: ProofSpec, root: Uint8Array, key: Uint8Array, value: Uint8Array): VerifyResult<{ root: Uint8Array }> {
  const c = checkAgainstSpec(proof, spec);
  if (!c.ok) return c;
  if (!bytesEqual(key, proof.key)) return fail('ics23_key_mismatch', "the proof's key is not the key asked for");
  if (!bytesEqual(value, proof.value)) return fail('ics23_value_mismatch', 'the proven value differs from the expected value');
  const calc = calculateExistenceRoot(proof, spec);
  if (!calc.ok) return calc;
  if (!bytesEqual(calc.hash, root)) return fail('ics23_root_mismatch', `proof hashes to ${hex(calc.hash)}, trusted root is ${hex(root)}`);
  return ok({ root });
}

function keyForComparison(spec: ProofSpec, key: Uint8Array): Uint8Array {
  if (!spec.prehashKeyBeforeComparison || spec.leafSpec.prehashKey === HashOp.NO_HASH) return key;
  const h = doHash(spec.leafSpec.prehashKey, key);
  return h.ok ? h.hash : key;
}

/** A non-existence proof: its neighbours exist under root, enclose key, and are adjacent. */
export function verifyNonExistence(proof: NonExistenceProof, spec: ProofSpec, root: Uint8Array, key: Uint8Array): VerifyResult<{ root: Uint8Array }> {
  const { left, right } = proof;
  if (!left && !right) return fail('proof_malformed', 'non-existence proof has neither a left nor a right neighbour');
  if (left) {
    const v = verifyExistence(left, spec, root, left.key, left.value);
    if (!v.ok) return { ...v, detail: `left neighbour: ${v.detail}` };
  }
  if (right) {
    const v = verifyExistence(right, spec, root, right.key, right.value);
    if (!v.ok) return { ...v, detail: `right neighbour: ${v.detail}` };
  }
  const k = keyForComparison(spec, key);
  if (right && compareBytes(k, keyForComparison(spec, right.key)) >= 0) return fail('ics23_key_not_in_range', 'key is not left of the right neighbour');
  if (left && compareBytes(k, keyForComparison(spec, left.key)) <= 0) return fail('ics23_key_not_in_range', 'key is not right of the left neighbour');
  if (!left) {
    if (!isLeftMost(spec.innerSpec, right!.path)) return fail('ics23_not_neighbours', 'no left neighbour, and the right one is not the left-most leaf');
  } else if (!right) {
    if (!isRightMost(spec.innerSpec, left.path)) return fail('ics23_not_neighbours', 'no right neighbour, and the left one is not the right-most leaf');
  } else if (!isLeftNeighbor(spec.innerSpec, left.path, right.path)) {
    return fail('ics23_not_neighbours', 'left and right neighbours are not adjacent leaves');
  }
  return ok({ root });
}

function findExist(proof: CommitmentProof, key: Uint8Array): ExistenceProof | VerifyResult<never> {
  if ('exist' in proof) return bytesEqual(proof.exist.key, key) ? proof.exist : fail('ics23_key_mismatch', "the existence proof's key is not the key asked for");
  if ('nonexist' in proof) return fail('ics23_wrong_proof_type', 'a non-existence proof where membership was asked for');
  const found = proof.batch.find((e) => 'exist' in e && bytesEqual(e.exist.key, key));
  return found && 'exist' in found ? found.exist : fail('ics23_key_mismatch', 'the batch holds no existence proof for this key');
}

function findNonExist(spec: ProofSpec, proof: CommitmentProof, key: Uint8Array): NonExistenceProof | VerifyResult<never> {
  if ('exist' in proof) return fail('ics23_wrong_proof_type', 'an existence proof where absence was asked for');
  if ('nonexist' in proof) return proof.nonexist;
  const k = keyForComparison(spec, key);
  const encloses = (n: NonExistenceProof) =>
    (!n.left || compareBytes(keyForComparison(spec, n.left.key), k) < 0) && (!n.right || compareBytes(k, keyForComparison(spec, n.right.key)) < 0);
  for (const e of proof.batch) if ('nonexist' in e && encloses(e.nonexist)) return e.nonexist;
  return fail('ics23_key_not_in_range', 'the batch holds no non-existence proof enclosing this key');
}

function isFailure(v: unknown): v is VerifyResult<never> & { ok: false } {
  return typeof v === 'object' && v !== null && 'ok' in v && (v as { ok: unknown }).ok === false;
}

/** The @confio/ics23 spec equal to ours, when the library can judge proofs of that spec. */
function librarySpec(spec: ProofSpec): ics23.IProofSpec | undefined {
  if (spec.prehashKeyBeforeComparison || spec.innerSpec.emptyChild.length > 0 || spec.minDepth !== 0 || spec.maxDepth !== 0) return undefined;
  if (specEquals(spec, iavlSpec) && bytesEqual(spec.leafSpec.prefix, iavlSpec.leafSpec.prefix)) return libIavlSpec;
  if (specEquals(spec, tendermintSpec) && bytesEqual(spec.leafSpec.prefix, tendermintSpec.leafSpec.prefix)) return libTendermintSpec;
  return undefined;
}

function libraryAgrees(judge: () => boolean): VerifyResult {
  let accepted: boolean;
  try {
    accepted = judge();
  } catch (err) {
    // 0.6.8 throws TypeErrors (and once a bare `true`) on some malformed paths.
    return fail('ics23_library_disagrees', `@confio/ics23 threw: ${err instanceof Error ? err.message : String(err)}`);
  }
  return accepted ? ok() : fail('ics23_library_disagrees', '@confio/ics23 rejects a proof our checks accept');
}

/**
 * Checks that `proof` proves `key` -> `value` under `spec` and returns the
 * root it commits to, without comparing it to a trusted root: for chained
 * proofs, where this root is what the next proof up must commit to. The
 * library cross-check is already done against the returned root.
 */
export function provenRoot(spec: ProofSpec, proof: ProofInput, key: Uint8Array, value: Uint8Array, { crossCheck = true }: VerifyOptions = {}): VerifyResult<{ root: Uint8Array }> {
  const e = checkExpectation(Uint8Array.of(0), key);
  if (!e.ok) return e;
  return membership(spec, undefined, proof, key, value, crossCheck);
}

function membership(spec: ProofSpec, root: Uint8Array | undefined, proof: ProofInput, key: Uint8Array, value: Uint8Array, crossCheck: boolean): VerifyResult<{ root: Uint8Array }> {
  if (!(value instanceof Uint8Array) || value.length === 0) return fail('expectation_invalid', 'value must be non-empty bytes (ICS-23 cannot prove an empty value; prove absence instead)');
  const p = toProof(proof);
  if (!p.ok) return p;
  const exist = findExist(p.proof, key);
  if (isFailure(exist)) return exist;
  const c = checkAgainstSpec(exist, spec);
  if (!c.ok) return c;
  if (!bytesEqual(value, exist.value)) return fail('ics23_value_mismatch', 'the proven value differs from the expected value');
  const calc = calculateExistenceRoot(exist, spec);
  if (!calc.ok) return calc;
  if (root && !bytesEqual(calc.hash, root)) return fail('ics23_root_mismatch', `proof hashes to ${hex(calc.hash)}, trusted root is ${hex(root)}`);
  const lib = crossCheck ? librarySpec(spec) : undefined;
  if (lib) {
    const agree = libraryAgrees(() => libVerifyMembership(toLibraryProof(p.proof), lib, calc.hash, key, value));
    if (!agree.ok) return agree;
  }
  return ok({ root: calc.hash });
}

/** Proves that `key` holds `value` in the tree with root `root`. */
export function verifyMembership(spec: ProofSpec, root: Uint8Array, proof: ProofInput, key: Uint8Array, value: Uint8Array, { crossCheck = true }: VerifyOptions = {}): VerifyResult<{ root: Uint8Array }> {
  const e = checkExpectation(root, key);
  if (!e.ok) return e;
  return membership(spec, root, proof, key, value, crossCheck);
}

/** Proves that `key` is absent from the tree with root `root`. */
export function verifyNonMembership(spec: ProofSpec, root: Uint8Array, proof: ProofInput, key: Uint8Array, { crossCheck = true }: VerifyOptions = {}): VerifyResult<{ root: Uint8Array }> {
  const e = checkExpectation(root, key);
  if (!e.ok) return e;
  const p = toProof(proof);
  if (!p.ok) return p;
  const non = findNonExist(spec, p.proof, key);
  if (isFailure(non)) return non;
  const v = verifyNonExistence(non, spec, root, key);
  if (!v.ok) return v;
  const lib = crossCheck ? librarySpec(spec) : undefined;
  if (lib) {
    const agree = libraryAgrees(() => libVerifyNonMembership(toLibraryProof(p.proof), lib, root, key));
    if (!agree.ok) return agree;
  }
  return v;
}

/**
 * The root a proof commits to (of its first existence proof), with no check:
 * the starting point of a chained proof, whose result must then be proven in
 * the next tree up.
 */
export function calculateRoot(proof: CommitmentProof): Hashed {
  if ('exist' in proof) return calculateExistenceRoot(proof.exist);
  if ('nonexist' in proof) {
    const side = proof.nonexist.left ?? proof.nonexist.right;
    return side ? calculateExistenceRoot(side) : fail('proof_malformed', 'non-existence proof has neither a left nor a right neighbour');
  }
  const first = proof.batch[0];
  if (!first) return fail('proof_malformed', 'empty batch proof');
  return calculateRoot(first);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
