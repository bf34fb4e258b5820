import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HAVE_VECTORS, vectorPath } from '../helpers/vectors.ts';
import { exitCodeOf, runVectors } from '../../src/cli/vectors/runner.ts';
import { FORMATS, specOfProof } from '../../src/cli/vectors/ics23.ts';
import { decodeCommitmentProof, PINNED_SPECS, verifyMembership, verifyNonMembership, type CommitmentProof, type ExistenceProof, type PinnedSpecName } from '../../proofs/ics23/index.ts';

const ICS23 = vectorPath('ics23');
const HAVE = HAVE_VECTORS && (() => {
  try {
    return statSync(ICS23).isDirectory();
  } catch {
    return false;
  }
})();
if (!HAVE) console.warn('[qiao] NOTICE: shared/vectors/ics23 not found: the ICS-23 upstream vector tests are skipped.');

const now = new Date('2026-01-01T00:00:00Z');
const TREES: PinnedSpecName[] = ['iavl', 'tendermint', 'smt'];
const FILES = ['exist_left', 'exist_right', 'nonexist_left', 'nonexist_right'];
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

interface ProofFile {
  tree: PinnedSpecName;
  name: string;
  key: Uint8Array;
  value: Uint8Array;
  root: Uint8Array;
  proof: CommitmentProof;
}

function load(tree: PinnedSpecName, name: string): ProofFile {
  const d = JSON.parse(readFileSync(join(ICS23, 'cosmos-ics23/testdata', tree, `${name}.json`), 'utf8')) as Record<string, string>;
  const p = decodeCommitmentProof(hex(d.proof!));
  if (!p.ok) throw new Error(p.detail);
  return { tree, name, key: hex(d.key!), value: hex(d.value!), root: hex(d.root!), proof: p.proof };
}

function verify(f: ProofFile, o: Partial<Pick<ProofFile, 'key' | 'value' | 'root' | 'proof'>> & { spec?: PinnedSpecName } = {}) {
  const spec = PINNED_SPECS[o.spec ?? f.tree];
  const { key = f.key, value = f.value, root = f.root, proof = f.proof } = o;
  return value.length === 0 ? verifyNonMembership(spec, root, proof, key) : verifyMembership(spec, root, proof, key, value);
}

function flip(b: Uint8Array, at: number, xor: number): Uint8Array {
  const out = Uint8Array.from(b);
  if (out.length > 0) {
    const i = at % out.length;
    out[i] = out[i]! ^ xor;
  }
  return out;
}

function existsOf(p: CommitmentProof): ExistenceProof[] {
  if ('exist' in p) return [p.exist];
  if ('nonexist' in p) return [p.nonexist.left, p.nonexist.right].filter((e): e is ExistenceProof => !!e);
  return p.batch.flatMap(existsOf);
}

describe.skipIf(!HAVE)('cosmos/ics23 upstream vectors (read in place from shared/vectors/ics23)', () => {
  it('qiao proof verify meets every expectation: 12 proof files and 57 named unit cases', () => {
    const r = runVectors([ICS23], FORMATS, { now });
    expect(r.cases).toHaveLength(69);
    expect(r.cases.filter((c) => c.case.includes('#'))).toHaveLength(57);
    expect(r.cases.filter((c) => c.expected === 'invalid')).toHaveLength(20);
    expect(r.cases.filter((c) => c.verdict === 'invalid').map((c) => c.reason).every((x) => typeof x === 'string')).toBe(true);
    expect(exitCodeOf(r.cases)).toBe(0);
  });

  it('reads the tree of each proof file from the proof itself', () => {
    for (const tree of TREES) for (const name of FILES) expect(specOfProof(load(tree, name).proof)).toBe(tree);
  });

  describe('the same verdicts at randomly named paths (formats are found by content)', () => {
    let dir = '';
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    it('copies every file under a random name and gets the same lines', () => {
      dir = mkdtempSync(join(tmpdir(), 'qiao-ics23-'));
      const original = runVectors([ICS23], FORMATS, { now });
      const names = new Map<string, string>();
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) walk(p);
          else {
            const sub = join(dir, randomBytes(4).toString('hex'));
            mkdirSync(sub);
            const to = join(sub, randomBytes(6).toString('hex'));
            cpSync(p, to);
            names.set(to, p);
          }
        }
      };
      walk(ICS23);
      const copied = runVectors([dir], FORMATS, { now });
      const key = (c: { case: string }, map: (p: string) => string) => {
        const [p, frag] = c.case.split('#');
        return `${relative(ICS23, map(p!))}#${frag ?? ''}`;
      };
      const a = original.cases.map((c) => [key(c, (p) => p), c.expected, c.verdict, c.reason].join(' ')).sort();
      const b = copied.cases.map((c) => [key(c, (p) => names.get(p)!), c.expected, c.verdict, c.reason].join(' ')).sort();
      expect(b).toEqual(a);
      writeFileSync(join(dir, 'not-a-vector.json'), '{"hello": 1}');
      expect(runVectors([dir], FORMATS, { now }).notices.some((n) => n.includes('not-a-vector.json'))).toBe(true);
    });
  });

  describe('invalid cases derived from the valid proof files', () => {
    const files = HAVE ? TREES.flatMap((t) => FILES.map((n) => load(t, n))) : [];

    it('every file verifies under its own spec only', () => {
      for (const f of files) {
        expect(verify(f)).toMatchObject({ ok: true });
        for (const other of TREES.filter((t) => t !== f.tree)) expect(verify(f, { spec: other })).toMatchObject({ ok: false, reason: 'ics23_spec_mismatch' });
      }
    });

    it('a changed root is ics23_root_mismatch', () => {
      fc.assert(
        fc.property(fc.constantFrom(...files), fc.nat(), fc.integer({ min: 1, max: 255 }), (f, at, xor) => {
          expect(verify(f, { root: flip(f.root, at, xor) })).toMatchObject({ ok: false, reason: 'ics23_root_mismatch' });
        }),
      );
    });

    it('a changed key or value of an existence proof is ics23_key_mismatch / ics23_value_mismatch', () => {
      fc.assert(
        fc.property(fc.constantFrom(...files.filter((f) => f.value.length > 0)), fc.nat(), fc.integer({ min: 1, max: 255 }), (f, at, xor) => {
          expect(verify(f, { key: flip(f.key, at, xor) })).toMatchObject({ ok: false, reason: 'ics23_key_mismatch' });
          expect(verify(f, { value: flip(f.value, at, xor) })).toMatchObject({ ok: false, reason: 'ics23_value_mismatch' });
        }),
      );
    });

    it('a non-existence proof does not cover its own neighbours', () => {
      for (const f of files.filter((x) => x.value.length === 0)) {
        if (!('nonexist' in f.proof)) throw new Error('expected a non-existence proof');
        for (const n of [f.proof.nonexist.left, f.proof.nonexist.right]) if (n) expect(verify(f, { key: n.key })).toMatchObject({ ok: false, reason: 'ics23_key_not_in_range' });
      }
    });

    it('existence proofs do not prove absence and non-existence proofs do not prove a value', () => {
      for (const f of files) {
        const spec = PINNED_SPECS[f.tree];
        const r = f.value.length === 0 ? verifyMembership(spec, f.root, f.proof, f.key, Uint8Array.of(1)) : verifyNonMembership(spec, f.root, f.proof, f.key);
        expect(r).toMatchObject({ ok: false, reason: 'ics23_wrong_proof_type' });
      }
    });

    it('a changed byte in any proof step (prefix or suffix) or leaf prefix is rejected', () => {
      fc.assert(
        fc.property(fc.constantFrom(...files), fc.nat(), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (f, which, step, at, xor) => {
          const targets = existsOf(f.proof);
          const target = targets[which % targets.length]!;
          const s = step % (target.path.length + 1);
          let mutated: ExistenceProof;
          if (s === target.path.length) mutated = { ...target, leaf: { ...target.leaf!, prefix: flip(target.leaf!.prefix, at, xor) } };
          else {
            const op = target.path[s]!;
            const part = op.suffix.length === 0 || at % 2 === 0 ? 'prefix' : 'suffix';
            mutated = { ...target, path: target.path.map((p, i) => (i === s ? { ...p, [part]: flip(p[part], at, xor) } : p)) };
          }
          const swap = (e: ExistenceProof) => (e === target ? mutated : e);
          const proof: CommitmentProof = 'exist' in f.proof ? { exist: swap(f.proof.exist) } : 'nonexist' in f.proof ? { nonexist: { ...f.proof.nonexist, left: f.proof.nonexist.left && swap(f.proof.nonexist.left), right: f.proof.nonexist.right && swap(f.proof.nonexist.right) } } : f.proof;
          const r = verify(f, { proof });
          expect(r.ok).toBe(false);
          if (!r.ok) expect(['ics23_spec_mismatch', 'ics23_root_mismatch', 'ics23_not_neighbours']).toContain(r.reason);
        }),
        { numRuns: 300 },
      );
    });

    it('dropping a neighbour of a two-sided non-existence proof is rejected', () => {
      for (const f of files.filter((x) => x.value.length === 0)) {
        if (!('nonexist' in f.proof)) continue;
        const { left, right } = f.proof.nonexist;
        if (left && right) {
          expect(verify(f, { proof: { nonexist: { key: f.key, left } } })).toMatchObject({ ok: false, reason: 'ics23_not_neighbours' });
          expect(verify(f, { proof: { nonexist: { key: f.key, right } } })).toMatchObject({ ok: false, reason: 'ics23_not_neighbours' });
        }
      }
    });
  });

  it('unit cases with a stated outcome fail when the stated outcome is changed', () => {
    const src = join(ICS23, 'cosmos-ics23/testdata/TestLeafOpData.json');
    const data = JSON.parse(readFileSync(src, 'utf8')) as Record<string, { Expected: string | null; IsErr: boolean }>;
    const dir = mkdtempSync(join(tmpdir(), 'qiao-ics23-unit-'));
    try {
      for (const e of Object.values(data)) {
        if (e.Expected) e.Expected = Buffer.from(flip(Buffer.from(e.Expected, 'base64'), 3, 0x40)).toString('base64');
        else e.IsErr = !e.IsErr;
      }
      writeFileSync(join(dir, 'x'), JSON.stringify(data));
      const r = runVectors([dir], FORMATS, { now });
      expect(r.cases).toHaveLength(Object.keys(data).length);
      for (const c of r.cases) expect(c.verdict === c.expected && c.expected !== null ? 'met' : 'unmet').toBe('unmet');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
