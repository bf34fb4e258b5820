import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { blake2b } from '@noble/hashes/blake2.js';
import { EMPTY_TRIE_ROOT, decodeTrieNode, verifyReadProof } from '../../proofs/substrate/trie.ts';
import { buildTrie, compact } from './fixtures/substrate/trie-builder.ts';

const h = (d: Uint8Array) => blake2b(d, { dkLen: 32 });
const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));
const bytes = (...n: number[]) => Uint8Array.from(n);

describe('Substrate trie read proofs: nodes written by hand from the spec', () => {
  const big = Uint8Array.from({ length: 40 }, (_, i) => i + 1);
  const hi = bytes(0x68, 0x69);
  // keys 0xab -> big (40 bytes), 0xabcd -> "hi"
  const leafCd = bytes(0x41, 0x0d, 0x08, 0x68, 0x69); // leaf, 1 nibble (d), value compact(2) "hi"
  const childRef = cat(compact(leafCd.length), leafCd); // inline: under 32 bytes
  const v1Branch = cat(bytes(0x12, 0xab, 0x00, 0x10), h(big), childRef); // 0001 hashed-value branch, 2 nibbles, bitmap bit 12 (c)
  const v0Branch = cat(bytes(0xc2, 0xab, 0x00, 0x10), compact(40), big, childRef); // 11 branch with inline value

  it('V1: a hashed value is one more proof node; V0 inlines it', () => {
    const v1Root = h(v1Branch);
    const r1 = verifyReadProof(v1Root, [v1Branch, big], [bytes(0xab), bytes(0xab, 0xcd), bytes(0xab, 0xce), bytes(0xac)]);
    expect(r1.ok && r1.values).toEqual([big, hi, null, null]);
    const missingValue = verifyReadProof(v1Root, [v1Branch], [bytes(0xab)]);
    expect(missingValue.ok || missingValue.reason).toBe('storage_proof_invalid');
    // the hashed value is only needed when that key is read
    expect(verifyReadProof(v1Root, [v1Branch], [bytes(0xab, 0xcd)]).ok).toBe(true);
    const asV0 = verifyReadProof(v1Root, [v1Branch, big], [bytes(0xab)], 'v0');
    expect(asV0.ok || asV0.reason).toBe('storage_proof_invalid');
    const v0Root = h(v0Branch);
    const r0 = verifyReadProof(v0Root, [v0Branch], [bytes(0xab), bytes(0xab, 0xcd)], 'v0');
    expect(r0.ok && r0.values).toEqual([big, hi]);
  });

  it('the builder (written separately) produces the same hand-made nodes and roots', () => {
    const entries: [Uint8Array, Uint8Array][] = [
      [bytes(0xab), big],
      [bytes(0xab, 0xcd), hi],
    ];
    expect(buildTrie(entries, 'v1').root).toBe(`0x${Buffer.from(h(v1Branch)).toString('hex')}`);
    expect(buildTrie(entries, 'v0').root).toBe(`0x${Buffer.from(h(v0Branch)).toString('hex')}`);
  });

  it('decodes long partial keys (nibble count past the header bits)', () => {
    const key = Uint8Array.from({ length: 40 }, (_, i) => i * 7);
    const t = buildTrie([[key, hi]], 'v0');
    const node = t.db.get(t.root)!;
    expect(node[0]).toBe(0x7f);
    expect(node[1]).toBe(80 - 63);
    const r = verifyReadProof(t.root as `0x${string}`, t.proof([key]), [key]);
    expect(r.ok && r.values).toEqual([hi]);
  });

  it('the empty trie proves every key absent', () => {
    expect(EMPTY_TRIE_ROOT).toBe('0x03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314');
    const r = verifyReadProof(EMPTY_TRIE_ROOT, [], [bytes(1, 2, 3)]);
    expect(r.ok && r.values).toEqual([null]);
  });

  it('rejects malformed nodes: bad padding, unknown header, trailing bytes', () => {
    expect(() => decodeTrieNode(bytes(0x41, 0x1d, 0x00))).toThrow();
    expect(() => decodeTrieNode(bytes(0x01))).toThrow();
    expect(() => decodeTrieNode(cat(leafCd, bytes(0)))).toThrow();
    const root = h(bytes(0x41, 0x1d, 0x00));
    const r = verifyReadProof(root, [bytes(0x41, 0x1d, 0x00)], [bytes(0x0d)]);
    expect(r.ok || r.reason).toBe('storage_proof_invalid');
  });
});

const entryArb = fc.uniqueArray(
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.uint8Array({ minLength: 0, maxLength: 80 })),
  { minLength: 1, maxLength: 40, selector: ([k]) => Buffer.from(k).toString('hex') },
);

describe('Substrate trie read proofs: walker against the builder (property)', () => {
  it('proves every stored value and the absence of other keys, V0 and V1', () => {
    fc.assert(
      fc.property(entryArb, fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.constantFrom('v0' as const, 'v1' as const), (entries, probe, layout) => {
        const t = buildTrie(entries, layout);
        const keys = [...entries.map(([k]) => k), probe];
        const r = verifyReadProof(t.root as `0x${string}`, t.proof(keys), keys, layout);
        if (!r.ok) return false;
        const map = new Map(entries.map(([k, v]) => [Buffer.from(k).toString('hex'), v]));
        return keys.every((k, i) => {
          const want = map.get(Buffer.from(k).toString('hex')) ?? null;
          const got = r.values[i]!;
          return want === null ? got === null : got !== null && Buffer.from(got).equals(Buffer.from(want));
        });
      }),
      { numRuns: 150 },
    );
  });

  it('rejects any proof with a forged node byte or a missing node', () => {
    fc.assert(
      fc.property(entryArb, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom('v0' as const, 'v1' as const), (entries, pick, at, x, layout) => {
        const t = buildTrie(entries, layout);
        const keys = entries.map(([k]) => k);
        const proof = t.proof(keys);
        const i = pick % proof.length;
        const forged = proof.map((n, j) => (j === i ? n.map((b, o) => (o === at % n.length ? b ^ x : b)) : n));
        const r = verifyReadProof(t.root as `0x${string}`, forged, keys, layout);
        const dropped = verifyReadProof(t.root as `0x${string}`, proof.filter((_, j) => j !== i), keys, layout);
        return !r.ok && r.reason === 'storage_proof_invalid' && !dropped.ok && dropped.reason === 'storage_proof_invalid';
      }),
      { numRuns: 150 },
    );
  });

  it('a proof for one root does not verify against another', () => {
    const a = buildTrie([[bytes(1), bytes(1)], [bytes(2), bytes(2)]], 'v1');
    const b = buildTrie([[bytes(1), bytes(1)], [bytes(2), bytes(3)]], 'v1');
    const r = verifyReadProof(b.root as `0x${string}`, a.proof([bytes(1)]), [bytes(1)]);
    expect(r.ok || r.reason).toBe('storage_proof_invalid');
  });

  it('refuses a bad root or key argument as the caller\'s error', () => {
    expect((verifyReadProof('0x12', [], []) as { reason: string }).reason).toBe('expectation_invalid');
    expect((verifyReadProof(EMPTY_TRIE_ROOT, [], ['zz' as `0x${string}`]) as { reason: string }).reason).toBe('expectation_invalid');
  });
});
