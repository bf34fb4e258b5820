import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { applyHeaderChain, decodeJustification, decodeWarpSyncProof, encodeJustification, grandpaThreshold, verifyGrandpaJustification } from '../../proofs/substrate/index.ts';
import { asBytes } from '../../proofs/substrate/bytes.ts';
import { FORMATS } from '../../src/cli/vectors/substrate.ts';
import { exitCodeOf, runVectors } from '../../src/cli/vectors/runner.ts';
import { HAVE_VECTORS, vectorPath } from '../helpers/vectors.ts';
import { authoritySet, changeDigest, makeHeader, makeJustification, makeKeys, sign } from './fixtures/substrate/grandpa-maker.ts';
import type { Hex } from '../../src/domain/hex.ts';

const WARP = 'gossamer/lib-grandpa-warpsync-testdata/warp_sync_proofs.yaml';
/** Derived from the vectors (see SOURCES.md): the 14 signers at set 8518, and the BEEFY set root the 25 validator proofs reach. */
const TRUST = JSON.parse(readFileSync('test/proofs/fixtures/substrate/trust.json', 'utf8')) as { grandpa: { setId: number; authorities: { publicKey: Hex; weight: number }[] }[] };
const trustedSet = TRUST.grandpa[0]!;
const GENESIS = `0x${'11'.repeat(32)}` as Hex;

describe('GRANDPA threshold', () => {
  it('is W - floor((W-1)/3)', () => {
    expect([1n, 3n, 4n, 14n, 21n, 300n].map(grandpaThreshold)).toEqual([1n, 3n, 3n, 10n, 15n, 201n]);
  });
});

describe.skipIf(!HAVE_VECTORS)('gossamer warp-sync proof (real justification, set 8518)', () => {
  const loadProof = () => {
    const y = parseYaml(readFileSync(vectorPath('substrate', WARP), 'utf8'), { schema: 'failsafe' }) as Record<string, string>;
    return decodeWarpSyncProof(asBytes(y.substrate_warp_sync_proof_1)!);
  };

  it('verifies: header hash = commit target, 14/14 signatures', () => {
    const p = loadProof();
    expect(p.fragments).toHaveLength(1);
    const f = p.fragments[0]!;
    expect(f.header.hash).toBe('0x376d697522a9a42b9c6952e771fd74be9cb19fe6dd0d41c362f753ae2686547a');
    const r = applyHeaderChain(trustedSet, p.fragments);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.state.finalized).toEqual({ hash: f.header.hash, number: 23256367 });
    const v = verifyGrandpaJustification(encodeJustification(f.justification), trustedSet, { hash: f.header.hash, number: f.header.number });
    expect(v.ok && v.target.signedWeight).toBe(14n);
  });

  it('rejects a wrong set id (8517)', () => {
    const p = loadProof();
    const r = applyHeaderChain({ ...trustedSet, setId: 8517 }, p.fragments);
    expect(r.ok || r.reason).toBe('signature_invalid');
  });

  it('rejects a signer not in the set', () => {
    const p = loadProof();
    const r = applyHeaderChain({ setId: 8518, authorities: trustedSet.authorities.slice(1) }, p.fragments);
    expect(r.ok || r.reason).toBe('grandpa_unknown_authority');
  });

  it('rejects when the signers are below the threshold of a larger set', () => {
    const p = loadProof();
    const extra = makeKeys(7, 99).map((k) => ({ publicKey: k.publicKey, weight: 1 }));
    const r = applyHeaderChain({ setId: 8518, authorities: [...trustedSet.authorities, ...extra] }, p.fragments);
    expect(r.ok || r.reason).toBe('insufficient_signatures');
    const ok20 = applyHeaderChain({ setId: 8518, authorities: [...trustedSet.authorities, ...extra.slice(0, 6)] }, p.fragments);
    expect(ok20.ok).toBe(true);
  });

  it('rejects a justification for another block than the header', () => {
    const p = loadProof();
    const f = p.fragments[0]!;
    const other = makeHeader(f.header.parentHash, f.header.number, [], 9);
    const r = applyHeaderChain(trustedSet, [{ header: other, justification: f.justification }]);
    expect(r.ok || r.reason).toBe('header_hash_mismatch');
    const v = verifyGrandpaJustification(f.justification, trustedSet, { hash: other.hash });
    expect(v.ok || v.reason).toBe('untrusted_header');
  });

  it('rejects any flipped signature byte, and any flipped target-hash byte (property)', () => {
    const p = loadProof();
    const bytes = encodeJustification(p.fragments[0]!.justification);
    const hash = p.fragments[0]!.header.hash;
    // layout: round 8, target 32+4, compact(14) 1, then 132 per precommit: hash 32, number 4, signature 64, id 32
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 63 }), fc.integer({ min: 1, max: 255 }), (pc, byte, x) => {
        const m = bytes.slice();
        m[8 + 36 + 1 + pc * 132 + 36 + byte]! ^= x;
        const r = verifyGrandpaJustification(m, trustedSet, { hash });
        return !r.ok && r.reason === 'signature_invalid';
      }),
      { numRuns: 60 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 1, max: 255 }), (byte, x) => {
        const m = bytes.slice();
        m[8 + byte]! ^= x;
        const r = verifyGrandpaJustification(m, trustedSet, { hash });
        return !r.ok && r.reason === 'untrusted_header';
      }),
      { numRuns: 30 },
    );
  });

  it('runs through the vector runner: 1 case, valid with the trust file; invalid without it', () => {
    const withTrust = runVectors([vectorPath('substrate', WARP)], FORMATS, { now: new Date('2026-01-01T00:00:00Z'), trust: TRUST });
    expect(withTrust.cases).toHaveLength(1);
    expect(withTrust.cases[0]).toMatchObject({ expected: null, verdict: 'valid', reason: null });
    expect(exitCodeOf(withTrust.cases)).toBe(0);
    const without = runVectors([vectorPath('substrate', WARP)], FORMATS, { now: new Date('2026-01-01T00:00:00Z') });
    expect(without.cases[0]).toMatchObject({ verdict: 'invalid', reason: 'substrate_trust_missing' });
    const wrong = runVectors([vectorPath('substrate', WARP)], FORMATS, { now: new Date(), trust: { grandpa: { ...trustedSet, setId: 8519 } } });
    expect(wrong.cases[0]).toMatchObject({ verdict: 'invalid', reason: 'signature_invalid' });
  });
});

describe('GRANDPA justifications made in the test', () => {
  const keys = makeKeys(7);
  const set = authoritySet(keys, 5n);
  const h1 = makeHeader(GENESIS, 10);
  const h2 = makeHeader(h1.hash, 11);
  const h3 = makeHeader(h2.hash, 12);
  const t1 = { hash: h1.hash, number: 10 };

  it('accepts 5 of 7 (threshold 5) and rejects 4 of 7', () => {
    expect(verifyGrandpaJustification(makeJustification(keys.slice(0, 5), t1, { setId: 5n }), set, t1).ok).toBe(true);
    const r = verifyGrandpaJustification(makeJustification(keys.slice(0, 4), t1, { setId: 5n }), set);
    expect(r.ok || r.reason).toBe('insufficient_signatures');
  });

  it('accepts precommits for descendants proven by votes_ancestries, and refuses unproven or unused ancestry', () => {
    const votes = [t1, t1, t1, { hash: h3.hash, number: 12 }, { hash: h2.hash, number: 11 }];
    const good = makeJustification(keys.slice(0, 5), t1, { setId: 5n, votes, ancestries: [h2, h3] });
    expect(verifyGrandpaJustification(encodeJustification(good), set).ok).toBe(true);
    const missing = makeJustification(keys.slice(0, 5), t1, { setId: 5n, votes, ancestries: [h3] });
    expect(verifyGrandpaJustification(missing, set).ok || 'x').toBe('x');
    expect((verifyGrandpaJustification(missing, set) as { reason: string }).reason).toBe('grandpa_ancestry_invalid');
    const unused = makeJustification(keys.slice(0, 5), t1, { setId: 5n, ancestries: [h2] });
    expect((verifyGrandpaJustification(unused, set) as { reason: string }).reason).toBe('grandpa_ancestry_invalid');
    const wrongNumber = makeJustification(keys.slice(0, 5), t1, { setId: 5n, votes: [t1, t1, t1, t1, { hash: h2.hash, number: 13 }], ancestries: [h2] });
    expect((verifyGrandpaJustification(wrongNumber, set) as { reason: string }).reason).toBe('grandpa_ancestry_invalid');
  });

  it('refuses a commit whose target is not the GHOST (a supermajority voted a descendant)', () => {
    const v2 = { hash: h2.hash, number: 11 };
    const j = makeJustification(keys.slice(0, 5), t1, { setId: 5n, votes: [v2, v2, v2, v2, v2], ancestries: [h2] });
    expect((verifyGrandpaJustification(j, set) as { reason: string }).reason).toBe('grandpa_ghost_mismatch');
  });

  it('counts a repeated identical precommit once, and an equivocator for every block', () => {
    const base = makeJustification(keys.slice(0, 4), t1, { setId: 5n });
    const dup = { ...base, commit: { ...base.commit, precommits: [...base.commit.precommits, base.commit.precommits[0]!] } };
    expect((verifyGrandpaJustification(dup, set) as { reason: string }).reason).toBe('insufficient_signatures');
    const other = sign(keys[4]!, { hash: h2.hash, number: 11 }, 7n, 5n);
    const again = sign(keys[4]!, t1, 7n, 5n);
    const eq = { ...base, commit: { ...base.commit, precommits: [...base.commit.precommits, other, again] }, votesAncestries: [h2] };
    const r = verifyGrandpaJustification(eq, set);
    expect(r.ok && r.target.equivocators).toEqual([keys[4]!.publicKey]);
    const third = sign(keys[4]!, { hash: h3.hash, number: 12 }, 7n, 5n);
    const eq3 = { ...eq, commit: { ...eq.commit, precommits: [...eq.commit.precommits, third] }, votesAncestries: [h2, h3] };
    expect((verifyGrandpaJustification(eq3, set) as { reason: string }).reason).toBe('proof_malformed');
  });

  it('rejects a signature made for another round or set, a foreign signer, and garbage bytes', () => {
    const j = makeJustification(keys.slice(0, 5), t1, { setId: 5n });
    expect((verifyGrandpaJustification({ ...j, round: 8n }, set) as { reason: string }).reason).toBe('signature_invalid');
    expect((verifyGrandpaJustification(j, { ...set, setId: 6n }) as { reason: string }).reason).toBe('signature_invalid');
    const stranger = makeKeys(1, 77)[0]!;
    const withStranger = makeJustification([...keys.slice(0, 5), stranger], t1, { setId: 5n });
    expect((verifyGrandpaJustification(withStranger, set) as { reason: string }).reason).toBe('grandpa_unknown_authority');
    const bytes = encodeJustification(j);
    expect((verifyGrandpaJustification(bytes.subarray(0, bytes.length - 1), set) as { reason: string }).reason).toBe('proof_malformed');
    expect((verifyGrandpaJustification(new Uint8Array([...bytes, 0]), set) as { reason: string }).reason).toBe('proof_malformed');
    expect(decodeJustification(bytes)).toEqual(j);
  });

  it('property: every mutated signature or signer id is rejected', () => {
    const j = makeJustification(keys, t1, { setId: 5n });
    const bytes = encodeJustification(j);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 36, max: 131 }), fc.integer({ min: 1, max: 255 }), (pc, off, x) => {
        const m = bytes.slice();
        m[45 + pc * 132 + off]! ^= x;
        const r = verifyGrandpaJustification(m, set);
        return !r.ok && (off < 100 ? r.reason === 'signature_invalid' : r.reason === 'grandpa_unknown_authority' || r.reason === 'signature_invalid');
      }),
      { numRuns: 80 },
    );
  });
});

describe('authority set hand-off (applyHeaderChain)', () => {
  const setA = makeKeys(4, 1);
  const setB = makeKeys(5, 2);
  const hChange = makeHeader(GENESIS, 100, [changeDigest(setB)]);
  const hNext = makeHeader(hChange.hash, 101);
  const jChange = makeJustification(setA.slice(0, 3), { hash: hChange.hash, number: 100 }, { setId: 3n });
  const jNext = makeJustification(setB.slice(0, 4), { hash: hNext.hash, number: 101 }, { setId: 4n });

  it('follows a ScheduledChange (FRNK, delay 0) to the next set', () => {
    const r = applyHeaderChain(authoritySet(setA, 3n), [{ header: hChange.encoded, justification: encodeJustification(jChange) }, { header: hNext, justification: jNext }]);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.state.setId).toBe(4n);
      expect(r.state.authorities.map((a) => a.publicKey)).toEqual(setB.map((k) => k.publicKey));
      expect(r.setChanges).toBe(1);
    }
  });

  it('rejects the next set signing before the hand-off, and the old set after it', () => {
    const early = applyHeaderChain(authoritySet(setA, 3n), [{ header: hNext, justification: jNext }]);
    expect(early.ok || early.reason).toBe('grandpa_unknown_authority');
    const stale = makeJustification(setA.slice(0, 3), { hash: hNext.hash, number: 101 }, { setId: 3n });
    const r = applyHeaderChain(authoritySet(setA, 3n), [{ header: hChange, justification: jChange }, { header: hNext, justification: stale }]);
    expect(r.ok || r.reason).toBe('grandpa_unknown_authority');
  });

  it('halts on a forced change and refuses a delayed scheduled change', () => {
    const hForced = makeHeader(GENESIS, 100, [changeDigest(setB, 0, true)]);
    const f = applyHeaderChain(authoritySet(setA, 3n), [{ header: hForced, justification: makeJustification(setA.slice(0, 3), { hash: hForced.hash, number: 100 }, { setId: 3n }) }]);
    expect(f.ok || f.reason).toBe('grandpa_forced_change');
    if (!f.ok) expect(f.detail).toMatch(/governance must register a new trust root/);
    const hDelay = makeHeader(GENESIS, 100, [changeDigest(setB, 5)]);
    const d = applyHeaderChain(authoritySet(setA, 3n), [{ header: hDelay, justification: makeJustification(setA.slice(0, 3), { hash: hDelay.hash, number: 100 }, { setId: 3n }) }]);
    expect(d.ok || d.reason).toBe('grandpa_unsupported_change');
  });

  it('refuses going backwards, and a malformed header', () => {
    const r = applyHeaderChain({ ...authoritySet(setA, 3n), finalized: { hash: GENESIS, number: 100 } }, [{ header: hChange, justification: jChange }]);
    expect(r.ok || r.reason).toBe('height_mismatch');
    const m = applyHeaderChain(authoritySet(setA, 3n), [{ header: hChange.encoded.subarray(0, 50), justification: jChange }]);
    expect(m.ok || m.reason).toBe('header_malformed');
  });
});
