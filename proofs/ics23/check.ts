/**
 * Conformance of a proof to a proof spec, and the neighbour tests of
 * non-existence proofs, with the semantics of cosmos/ics23 (Go) at the
 * upstream vector commit: IAVL prefix validation for IAVL-shaped specs (the
 * 2022 "dragonberry" hardening), a default depth limit of 128, suffixes that
 * are whole child slots, and empty-child placeholders for sparse trees.
 */
import { fail, ok, type Failure, type VerifyResult } from '../result.ts';
import { iavlSpec, specEquals } from './specs.ts';
import { bytesEqual, startsWith } from './ops.ts';
import type { ExistenceProof, InnerOp, InnerSpec, LeafOp, ProofSpec } from './types.ts';

export const DEFAULT_MAX_DEPTH = 128;

type Checked = VerifyResult;

const mismatch = (detail: string): Failure => fail('ics23_spec_mismatch', detail);

/** Go's binary.ReadVarint: a zig-zag signed varint of at most 10 bytes. */
function readVarint(bytes: Uint8Array, at: number): { value: bigint; next: number } | undefined {
  let x = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    const b = bytes[at + i];
    if (b === undefined) return undefined;
    if (i === 9 && b > 1) return undefined;
    x |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) {
      const v = x >> 1n;
      return { value: x & 1n ? ~v : v, next: at + i + 1 };
    }
    shift += 7n;
  }
  return undefined;
}

/**
 * An IAVL node prefix is varint(height) varint(size) varint(version), then
 * nothing for a leaf, or for an inner node the length byte of the child
 * (1 byte) or the left sibling with both length bytes (34 bytes).
 */
function validateIavlOps(prefix: Uint8Array, hash: number, layer: number): Checked {
  const values: bigint[] = [];
  let at = 0;
  for (let i = 0; i < 3; i++) {
    const r = readVarint(prefix, at);
    if (!r) return mismatch(`IAVL prefix of layer ${layer}: varint ${i} is truncated or overflows`);
    if (r.value < 0n) return mismatch(`IAVL prefix of layer ${layer}: negative varint ${i}`);
    values.push(r.value);
    at = r.next;
  }
  if (values[0]! < BigInt(layer)) return mismatch(`IAVL height (${values[0]}) must be greater than or equal to the layer number (${layer})`);
  const rest = prefix.length - at;
  if (layer === 0) {
    if (rest !== 0) return mismatch(`IAVL leaf prefix has ${rest} bytes after height, size and version`);
  } else {
    if (rest !== 1 && rest !== 34) return mismatch(`IAVL inner prefix of layer ${layer} has ${rest} bytes after height, size and version (1 or 34 expected)`);
    if (hash !== 1) return mismatch(`IAVL inner op of layer ${layer} does not hash with SHA-256`);
  }
  return ok();
}

export function checkLeaf(op: LeafOp, spec: ProofSpec): Checked {
  const l = spec.leafSpec;
  if (isIavlShaped(spec)) {
    const v = validateIavlOps(op.prefix, op.hash, 0);
    if (!v.ok) return v;
  }
  if (op.hash !== l.hash) return mismatch(`leaf: unexpected hash op ${op.hash}`);
  if (op.prehashKey !== l.prehashKey) return mismatch(`leaf: unexpected prehash key op ${op.prehashKey}`);
  if (op.prehashValue !== l.prehashValue) return mismatch(`leaf: unexpected prehash value op ${op.prehashValue}`);
  if (op.length !== l.length) return mismatch(`leaf: unexpected length op ${op.length}`);
  if (!startsWith(op.prefix, l.prefix)) return mismatch(`leaf: prefix does not start with the spec's leaf prefix`);
  return ok();
}

export function checkInner(op: InnerOp, spec: ProofSpec, layer: number): Checked {
  const s = spec.innerSpec;
  if (op.hash !== s.hash) return mismatch(`inner ${layer}: unexpected hash op ${op.hash}`);
  if (isIavlShaped(spec)) {
    const v = validateIavlOps(op.prefix, op.hash, layer);
    if (!v.ok) return v;
  }
  // An inner node that could be read as a leaf would let a forged leaf stand in for a subtree.
  if (startsWith(op.prefix, spec.leafSpec.prefix)) return mismatch(`inner ${layer}: prefix starts with the leaf prefix`);
  if (op.prefix.length < s.minPrefixLength) return mismatch(`inner ${layer}: prefix too short (${op.prefix.length})`);
  const maxLeftChildBytes = (s.childOrder.length - 1) * s.childSize;
  if (op.prefix.length > s.maxPrefixLength + maxLeftChildBytes) return mismatch(`inner ${layer}: prefix too long (${op.prefix.length})`);
  if (s.childSize <= 0) return mismatch('spec: child size must be positive');
  if (op.suffix.length % s.childSize !== 0) return mismatch(`inner ${layer}: suffix is not a whole number of child slots`);
  return ok();
}

export function checkAgainstSpec(proof: ExistenceProof, spec: ProofSpec): Checked {
  if (!proof.leaf) return fail('proof_malformed', 'existence proof needs a leaf op');
  const leaf = checkLeaf(proof.leaf, spec);
  if (!leaf.ok) return leaf;
  const depth = proof.path.length;
  if (spec.minDepth > 0 && depth < spec.minDepth) return mismatch(`inner ops depth too short: ${depth}`);
  const maxDepth = spec.maxDepth > 0 ? spec.maxDepth : DEFAULT_MAX_DEPTH;
  if (depth > maxDepth) return mismatch(`inner ops depth too long: ${depth}`);
  for (const [i, inner] of proof.path.entries()) {
    const c = checkInner(inner, spec, i + 1);
    if (!c.ok) return c;
  }
  return ok();
}

function isIavlShaped(spec: ProofSpec): boolean {
  return specEquals(spec, iavlSpec);
}

// --- neighbours (non-existence) ---

function getPosition(order: number[], branch: number): number {
  if (branch < 0 || branch >= order.length) return -1;
  return order.indexOf(branch);
}

function getPadding(spec: InnerSpec, branch: number): { minPrefix: number; maxPrefix: number; suffix: number } | undefined {
  const idx = getPosition(spec.childOrder, branch);
  if (idx < 0) return undefined;
  const prefix = idx * spec.childSize;
  return { minPrefix: prefix + spec.minPrefixLength, maxPrefix: prefix + spec.maxPrefixLength, suffix: (spec.childOrder.length - 1 - idx) * spec.childSize };
}

function hasPadding(op: InnerOp, pad: { minPrefix: number; maxPrefix: number; suffix: number } | undefined): boolean {
  if (!pad) return false;
  return op.prefix.length >= pad.minPrefix && op.prefix.length <= pad.maxPrefix && op.suffix.length === pad.suffix;
}

/** Which child slot this op's child sits in, read from the padding; -1 if none fits. */
export function orderFromPadding(spec: InnerSpec, op: InnerOp): number {
  for (let branch = 0; branch < spec.childOrder.length; branch++) {
    if (hasPadding(op, getPadding(spec, branch))) return branch;
  }
  return -1;
}

/** The op sits right of siblings that are all empty-subtree placeholders. */
export function leftBranchesAreEmpty(spec: InnerSpec, op: InnerOp): boolean {
  const idx = orderFromPadding(spec, op);
  if (idx <= 0) return false;
  const actualPrefix = op.prefix.length - idx * spec.childSize;
  if (actualPrefix < 0) return false;
  for (let i = 0; i < idx; i++) {
    const from = actualPrefix + getPosition(spec.childOrder, i) * spec.childSize;
    if (!bytesEqual(spec.emptyChild, op.prefix.subarray(from, from + spec.childSize))) return false;
  }
  return true;
}

/** The op sits left of siblings that are all empty-subtree placeholders. */
export function rightBranchesAreEmpty(spec: InnerSpec, op: InnerOp): boolean {
  const idx = orderFromPadding(spec, op);
  if (idx < 0) return false;
  const rightBranches = spec.childOrder.length - 1 - idx;
  if (rightBranches === 0) return false;
  if (op.suffix.length !== rightBranches * spec.childSize) return false;
  for (let i = 0; i < rightBranches; i++) {
    const from = getPosition(spec.childOrder, i) * spec.childSize;
    if (!bytesEqual(spec.emptyChild, op.suffix.subarray(from, from + spec.childSize))) return false;
  }
  return true;
}

export function isLeftMost(spec: InnerSpec, path: InnerOp[]): boolean {
  const pad = getPadding(spec, 0);
  return path.every((step) => hasPadding(step, pad) || leftBranchesAreEmpty(spec, step));
}

export function isRightMost(spec: InnerSpec, path: InnerOp[]): boolean {
  const pad = getPadding(spec, spec.childOrder.length - 1);
  return path.every((step) => hasPadding(step, pad) || rightBranchesAreEmpty(spec, step));
}

/**
 * `right` is the next leaf after `left`: below their common ancestors, the
 * first divergent steps are adjacent slots, the left path then runs right-most
 * and the right path left-most.
 */
export function isLeftNeighbor(spec: InnerSpec, left: InnerOp[], right: InnerOp[]): boolean {
  let l = left.length - 1;
  let r = right.length - 1;
  while (l >= 0 && r >= 0 && bytesEqual(left[l]!.prefix, right[r]!.prefix) && bytesEqual(left[l]!.suffix, right[r]!.suffix)) {
    l--;
    r--;
  }
  // Identical paths (or one a suffix of the other) are one leaf, not two neighbours.
  if (l < 0 || r < 0) return false;
  const li = orderFromPadding(spec, left[l]!);
  const ri = orderFromPadding(spec, right[r]!);
  if (li < 0 || ri < 0 || ri !== li + 1) return false;
  return isRightMost(spec, left.slice(0, l)) && isLeftMost(spec, right.slice(0, r));
}
