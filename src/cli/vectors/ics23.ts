/**
 * ICS-23 vectors of cosmos/ics23's testdata, recognised by content:
 * - proof files `{key, value, proof, root}` (hex; `proof` a protobuf
 *   CommitmentProof): one case each. They name no spec, so the spec is read
 *   from the proof itself: the pinned spec (IAVL, Tendermint, SMT) that all of
 *   its existence proofs conform to. An existence proof is checked as
 *   membership of `value`, a non-existence proof (value empty) as absence.
 *   They state no verdict (expected null: they must verify).
 * - unit-data files (`Test*Data.json`, Go JSON: base64 bytes, int enums): one
 *   case per named entry; `IsErr`/`Err` give the expected verdict, `Expected`
 *   outputs must be reproduced; TestDoHashData and TestEmptyBranchData state
 *   outputs only (expected null: valid when reproduced).
 */
import type { VectorCase, VectorFormat, VectorFs, Verdict } from './types.ts';
import { fail, ok, type VerifyResult } from '../../../proofs/result.ts';
import {
  applyInner,
  applyLeaf,
  bytesEqual,
  calculateExistenceRoot,
  doHash,
} from '../../../proofs/ics23/ops.ts';
import { checkAgainstSpec, checkLeaf, leftBranchesAreEmpty, rightBranchesAreEmpty } from '../../../proofs/ics23/check.ts';
import { decodeCommitmentProof } from '../../../proofs/ics23/codec.ts';
import { PINNED_SPECS, type PinnedSpecName } from '../../../proofs/ics23/specs.ts';
import type { CommitmentProof, ExistenceProof, InnerOp, InnerSpec, LeafOp, ProofSpec } from '../../../proofs/ics23/types.ts';
import { verifyMembership, verifyNonMembership } from '../../../proofs/ics23/verify.ts';

type Json = Record<string, unknown>;

function parseJson(content: Buffer): unknown {
  const head = content.subarray(0, 64).toString('utf8').trimStart();
  if (!head.startsWith('{') && !head.startsWith('[')) return undefined;
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return undefined;
  }
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

// --- proof files ---

interface ProofFile {
  key: string;
  value: string;
  proof: string;
  root: string;
}

function asProofFile(v: unknown): ProofFile | undefined {
  if (!isObj(v)) return undefined;
  for (const f of ['key', 'value', 'proof', 'root']) if (typeof v[f] !== 'string' || !HEX.test(v[f] as string)) return undefined;
  const file = v as unknown as ProofFile;
  if (file.proof.length === 0 || !decodeCommitmentProof(fromHex(file.proof)).ok) return undefined;
  return file;
}

function existenceProofsIn(p: CommitmentProof): ExistenceProof[] {
  const out: ExistenceProof[] = [];
  const add = (e: CommitmentProof | { exist: ExistenceProof } | { nonexist: { left?: ExistenceProof; right?: ExistenceProof } }) => {
    if ('exist' in e) out.push(e.exist);
    else if ('nonexist' in e) {
      if (e.nonexist.left) out.push(e.nonexist.left);
      if (e.nonexist.right) out.push(e.nonexist.right);
    } else e.batch.forEach(add);
  };
  add(p);
  return out;
}

/** The pinned spec every existence proof inside conforms to (the proof's own shape names its tree). */
export function specOfProof(p: CommitmentProof): PinnedSpecName | undefined {
  const exists = existenceProofsIn(p);
  if (exists.length === 0) return undefined;
  for (const [name, spec] of Object.entries(PINNED_SPECS) as [PinnedSpecName, ProofSpec][]) {
    if (exists.every((e) => checkAgainstSpec(e, spec).ok)) return name;
  }
  return undefined;
}

function runProofFile(path: string, file: ProofFile): VectorCase {
  const decoded = decodeCommitmentProof(fromHex(file.proof));
  const verdictOf = (r: VerifyResult): Pick<VectorCase, 'verdict' | 'reason'> => (r.ok ? { verdict: 'valid', reason: null } : { verdict: 'invalid', reason: r.reason });
  if (!decoded.ok) return { case: path, expected: null, ...verdictOf(decoded) };
  const name = specOfProof(decoded.proof);
  if (!name) return { case: path, expected: null, ...verdictOf(fail('ics23_spec_mismatch', 'the proof conforms to none of the pinned specs')) };
  const spec = PINNED_SPECS[name];
  const [root, key, value] = [fromHex(file.root), fromHex(file.key), fromHex(file.value)];
  const r = value.length === 0 ? verifyNonMembership(spec, root, decoded.proof, key) : verifyMembership(spec, root, decoded.proof, key, value);
  return { case: path, expected: null, ...verdictOf(r) };
}

export const ics23ProofFile: VectorFormat = {
  name: 'ics23-proof',
  claimFile: (_path, content) => (asProofFile(parseJson(content)) ? 'case' : false),
  run(path: string, fs: VectorFs): VectorCase[] {
    const file = asProofFile(parseJson(fs.read(path)));
    if (!file) return [{ case: path, expected: null, verdict: 'invalid', reason: 'proof_malformed' }];
    return [runProofFile(path, file)];
  },
};

// --- unit data (Go JSON of the ics23 types) ---

class BadEntry extends Error {}

function field(o: Json, ...names: string[]): unknown {
  for (const n of names) if (n in o) return o[n];
  return undefined;
}

function b64(v: unknown, name: string): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array(0);
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) throw new BadEntry(`${name} is not base64`);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

function num(v: unknown, name: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new BadEntry(`${name} is not an integer`);
  return v;
}

function leafOf(v: unknown): LeafOp {
  const o = isObj(v) ? v : {};
  return {
    hash: num(o.hash, 'hash'),
    prehashKey: num(field(o, 'prehash_key', 'prehashKey'), 'prehash_key'),
    prehashValue: num(field(o, 'prehash_value', 'prehashValue'), 'prehash_value'),
    length: num(o.length, 'length'),
    prefix: b64(o.prefix, 'prefix'),
  };
}

function innerOf(v: unknown): InnerOp {
  if (!isObj(v)) throw new BadEntry('inner op is not an object');
  return { hash: num(v.hash, 'hash'), prefix: b64(v.prefix, 'prefix'), suffix: b64(v.suffix, 'suffix') };
}

function existOf(v: unknown): ExistenceProof {
  if (!isObj(v)) throw new BadEntry('proof is not an object');
  const path = field(v, 'path');
  if (path !== undefined && path !== null && !Array.isArray(path)) throw new BadEntry('path is not an array');
  const out: ExistenceProof = { key: b64(v.key, 'key'), value: b64(v.value, 'value'), path: ((path as unknown[] | null) ?? []).map(innerOf) };
  if (isObj(v.leaf)) out.leaf = leafOf(v.leaf);
  return out;
}

function innerSpecOf(v: unknown): InnerSpec {
  const o = isObj(v) ? v : {};
  const order = field(o, 'child_order', 'childOrder') ?? [];
  if (!Array.isArray(order)) throw new BadEntry('child_order is not an array');
  return {
    childOrder: order.map((x) => num(x, 'child_order[]')),
    childSize: num(field(o, 'child_size', 'childSize'), 'child_size'),
    minPrefixLength: num(field(o, 'min_prefix_length', 'minPrefixLength'), 'min_prefix_length'),
    maxPrefixLength: num(field(o, 'max_prefix_length', 'maxPrefixLength'), 'max_prefix_length'),
    emptyChild: b64(field(o, 'empty_child', 'emptyChild'), 'empty_child'),
    hash: num(o.hash, 'hash'),
  };
}

function specOf(v: unknown): ProofSpec {
  const o = isObj(v) ? v : {};
  return {
    leafSpec: leafOf(field(o, 'leaf_spec', 'leafSpec')),
    innerSpec: innerSpecOf(field(o, 'inner_spec', 'innerSpec')),
    maxDepth: num(field(o, 'max_depth', 'maxDepth'), 'max_depth'),
    minDepth: num(field(o, 'min_depth', 'minDepth'), 'min_depth'),
    prehashKeyBeforeComparison: field(o, 'prehash_key_before_comparison', 'prehash_compare_key', 'prehashKeyBeforeComparison') === true,
  };
}

type UnitKind = 'doHash' | 'checkLeaf' | 'checkAgainstSpec' | 'existence' | 'leafOp' | 'innerOp' | 'emptyBranch';

function kindOf(e: unknown): UnitKind | undefined {
  if (!isObj(e)) return undefined;
  const has = (k: string) => k in e;
  if (has('HashOp') && has('ExpectedHash') && (has('Preimage') || has('PreImage'))) return 'doHash';
  if (has('Leaf') && has('Spec') && has('IsErr')) return 'checkLeaf';
  if (has('Proof') && has('Spec') && has('Err')) return 'checkAgainstSpec';
  if (has('Proof') && has('IsErr') && has('Expected') && !has('Spec')) return 'existence';
  if (has('Op') && has('Key') && has('Value') && has('IsErr')) return 'leafOp';
  if (has('Op') && has('Child') && has('IsErr')) return 'innerOp';
  if (has('Op') && has('Spec') && has('IsLeft') && has('IsRight')) return 'emptyBranch';
  return undefined;
}

function unitEntries(v: unknown): [string, Json][] | undefined {
  const entries: [string, unknown][] = Array.isArray(v) ? v.map((e, i) => [String(i), e]) : isObj(v) ? Object.entries(v) : [];
  if (entries.length === 0 || !entries.every(([, e]) => kindOf(e) !== undefined)) return undefined;
  return entries as [string, Json][];
}

type Outcome = { expected: Verdict | null; result: VerifyResult };

/** An output the file states, reproduced or not. */
function produced(r: VerifyResult<{ hash: Uint8Array }>, want: Uint8Array | undefined): VerifyResult {
  if (!r.ok) return r;
  if (want && !bytesEqual(r.hash, want)) return fail('ics23_root_mismatch', `computed ${Buffer.from(r.hash).toString('hex')}, the vector states ${Buffer.from(want).toString('hex')}`);
  return ok();
}

const expectedFromIsErr = (e: Json): Verdict => (e.IsErr === true ? 'invalid' : 'valid');

function runUnit(kind: UnitKind, e: Json): Outcome {
  switch (kind) {
    case 'doHash': {
      const pre = field(e, 'Preimage', 'PreImage');
      if (typeof pre !== 'string' || typeof e.ExpectedHash !== 'string' || !HEX.test(e.ExpectedHash)) throw new BadEntry('Preimage/ExpectedHash malformed');
      return { expected: null, result: produced(doHash(num(e.HashOp, 'HashOp'), new TextEncoder().encode(pre)), fromHex(e.ExpectedHash)) };
    }
    case 'checkLeaf': {
      const spec: ProofSpec = { leafSpec: leafOf(e.Spec), innerSpec: innerSpecOf({}), maxDepth: 0, minDepth: 0, prehashKeyBeforeComparison: false };
      return { expected: expectedFromIsErr(e), result: checkLeaf(leafOf(e.Leaf), spec) };
    }
    case 'checkAgainstSpec':
      return { expected: typeof e.Err === 'string' && e.Err.length > 0 ? 'invalid' : 'valid', result: checkAgainstSpec(existOf(e.Proof), specOf(e.Spec)) };
    case 'existence':
      return { expected: expectedFromIsErr(e), result: produced(calculateExistenceRoot(existOf(e.Proof)), e.Expected == null ? undefined : b64(e.Expected, 'Expected')) };
    case 'leafOp':
      return { expected: expectedFromIsErr(e), result: produced(applyLeaf(leafOf(e.Op), b64(e.Key, 'Key'), b64(e.Value, 'Value')), e.Expected == null ? undefined : b64(e.Expected, 'Expected')) };
    case 'innerOp':
      return { expected: expectedFromIsErr(e), result: produced(applyInner(innerOf(e.Op), b64(e.Child, 'Child')), e.Expected == null ? undefined : b64(e.Expected, 'Expected')) };
    case 'emptyBranch': {
      const spec = specOf(e.Spec).innerSpec;
      const op = innerOf(e.Op);
      const [l, r] = [leftBranchesAreEmpty(spec, op), rightBranchesAreEmpty(spec, op)];
      const same = l === (e.IsLeft === true) && r === (e.IsRight === true);
      return { expected: null, result: same ? ok() : fail('ics23_not_neighbours', `empty-branch test gives left=${l} right=${r}, the vector states left=${e.IsLeft} right=${e.IsRight}`) };
    }
  }
}

export const ics23UnitData: VectorFormat = {
  name: 'ics23-unit-data',
  claimFile: (_path, content) => (unitEntries(parseJson(content)) ? 'case' : false),
  run(path: string, fs: VectorFs): VectorCase[] {
    const entries = unitEntries(parseJson(fs.read(path)));
    if (!entries) return [{ case: path, expected: null, verdict: 'invalid', reason: 'proof_malformed' }];
    return entries.map(([name, e]) => {
      const c = `${path}#${name}`;
      let out: Outcome;
      try {
        out = runUnit(kindOf(e)!, e);
      } catch (err) {
        if (!(err instanceof BadEntry)) throw err;
        return { case: c, expected: null, verdict: 'invalid', reason: 'proof_malformed' };
      }
      return { case: c, expected: out.expected, verdict: out.result.ok ? 'valid' : 'invalid', reason: out.result.ok ? null : out.result.reason };
    });
  },
};

/** ics23 vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [ics23ProofFile, ics23UnitData];
