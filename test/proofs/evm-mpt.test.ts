import { readFileSync } from 'node:fs';
import { MerklePatriciaTrie, createMerkleProof, verifyMerkleProof } from '@ethereumjs/mpt';
import { getBytes, hexlify, keccak256, toUtf8Bytes } from 'ethers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_TRIE_ROOT } from '../../proofs/evm/bytes.ts';
import { verifyMptProof, type MptResult } from '../../proofs/evm/mpt.ts';
import { HAVE_VECTORS, vectorPath } from '../helpers/vectors.ts';

/**
 * proofs/evm/mpt.ts is our own synchronous walker (the relayer's verifiers are
 * synchronous; @ethereumjs/mpt only verifies asynchronously). These tests hold
 * it to the library: on the same proofs, honest or tampered, both must give the
 * same verdict and the same value.
 */

type Verdict = { ok: false } | { ok: true; value: string | null };

async function libVerdict(root: Uint8Array, key: Uint8Array, proof: Uint8Array[], hashed: boolean): Promise<Verdict> {
  try {
    const v = await verifyMerkleProof(key, proof, { root, useKeyHashing: hashed });
    return { ok: true, value: v === null ? null : hexlify(v) };
  } catch {
    return { ok: false };
  }
}

function ourVerdict(root: Uint8Array, key: Uint8Array, proof: Uint8Array[], hashed: boolean): Verdict {
  const r: MptResult = verifyMptProof(root, hashed ? getBytes(keccak256(key)) : key, proof);
  return r.ok ? { ok: true, value: r.value === null ? null : hexlify(r.value) } : { ok: false };
}

async function buildTrie(entries: [Uint8Array, Uint8Array][], hashed: boolean): Promise<MerklePatriciaTrie> {
  const trie = new MerklePatriciaTrie({ useKeyHashing: hashed });
  for (const [k, v] of entries) await trie.put(k, v);
  return trie;
}

/** Short keys and values make embedded (under 32 bytes) nodes, branch values and extensions. */
const plainEntries = fc.array(fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 4 }), fc.uint8Array({ minLength: 1, maxLength: 40 })), { maxLength: 24 });
const query = (entries: [Uint8Array, Uint8Array][]) =>
  entries.length ? fc.oneof(fc.constantFrom(...entries.map(([k]) => k)), fc.uint8Array({ maxLength: 5 })) : fc.uint8Array({ maxLength: 5 });

type Mutation = (proof: Uint8Array[], other: Uint8Array[]) => Uint8Array[];
const mutation: fc.Arbitrary<[string, Mutation]> = fc.oneof(
  fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([n, b, x]): [string, Mutation] => [
    'flip a byte',
    (p) => {
      if (!p.length) return p;
      const q = p.map((node) => node.slice());
      const node = q[n % q.length]!;
      if (node.length) node[b % node.length] = node[b % node.length]! ^ x;
      return q;
    },
  ]),
  fc.nat().map((n): [string, Mutation] => ['drop a node', (p) => p.filter((_, i) => !p.length || i !== n % p.length)]),
  fc.nat().map((n): [string, Mutation] => ['duplicate a node', (p) => (p.length ? [...p, p[n % p.length]!] : p)]),
  fc.constant<[string, Mutation]>(['reverse the nodes after the first', (p) => [...p.slice(0, 1), ...p.slice(1).reverse()]]),
  fc.constant<[string, Mutation]>(['drop the first node', (p) => p.slice(1)]),
  fc.constant<[string, Mutation]>(["add another key's nodes", (p, o) => [...p, ...o]]),
  fc.constant<[string, Mutation]>(["use another key's proof", (_p, o) => o]),
  fc.constant<[string, Mutation]>(['empty proof', () => []]),
);

describe('MPT proof walker, cross-checked against @ethereumjs/mpt', () => {
  for (const hashed of [false, true]) {
    const label = hashed ? 'secure trie (hashed keys)' : 'plain trie (raw keys: embedded nodes, branch values)';

    it(`proves presence and absence like the library: ${label}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          plainEntries.chain((entries) => fc.tuple(fc.constant(entries), query(entries))),
          async ([entries, key]) => {
            fc.pre(entries.length > 0); // the library rejects every proof under the empty root: see the next test
            const trie = await buildTrie(entries, hashed);
            const proof = await createMerkleProof(trie, key);
            const lib = await libVerdict(trie.root(), key, proof, hashed);
            const ours = ourVerdict(trie.root(), key, proof, hashed);
            expect(lib.ok).toBe(true);
            expect(ours).toEqual(lib);
            expect(ours.ok && ours.value).toBe((await trie.get(key)) === null ? null : hexlify((await trie.get(key))!));
          },
        ),
        { numRuns: 150 },
      );
    });

    it(`gives the library's verdict on tampered proofs, and never throws: ${label}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          plainEntries.chain((entries) => fc.tuple(fc.constant(entries), query(entries), query(entries), mutation)),
          async ([entries, key, otherKey, [, mutate]]) => {
            fc.pre(entries.length > 0);
            const trie = await buildTrie(entries, hashed);
            const proof = mutate(await createMerkleProof(trie, key), await createMerkleProof(trie, otherKey));
            const lib = await libVerdict(trie.root(), key, proof, hashed);
            expect(ourVerdict(trie.root(), key, proof, hashed)).toEqual(lib);
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it('proves absence under the empty root, where the library deliberately differs', async () => {
    const empty = new MerklePatriciaTrie({ useKeyHashing: true });
    const key = getBytes('0x01');
    // Geth answers [] and anvil ['0x80'] for an account with no storage; the library throws on both,
    // even on the proof it makes itself, so it cannot show absence in an empty storage trie.
    const own = await createMerkleProof(empty, key);
    expect(own).toEqual([]);
    for (const proof of [own, [getBytes('0x80')]]) {
      expect(await libVerdict(empty.root(), key, proof, true)).toEqual({ ok: false });
      expect(ourVerdict(empty.root(), key, proof, true)).toEqual({ ok: true, value: null });
    }
    // The first-node rule still holds under the empty root.
    expect(ourVerdict(empty.root(), key, [getBytes('0x81ff')], true)).toEqual({ ok: false });
  });

  it('fails, without throwing, on garbage nodes and roots', () => {
    const root = getBytes(keccak256('0x01'));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 32 }), fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 6 }), (r, key, nodes) => {
        const res = verifyMptProof(r, key, nodes);
        if (res.ok) expect(res.value).toBeNull(); // only the empty root proves anything from garbage: absence
      }),
    );
    expect(verifyMptProof(root.subarray(1), root, []).ok).toBe(false);
    expect(verifyMptProof(root, root, []).ok).toBe(false);
    // A node that hashes to the root but is no trie node.
    const junk = getBytes('0x01');
    expect(verifyMptProof(getBytes(keccak256(junk)), root, [junk]).ok).toBe(false);
    expect(verifyMptProof(getBytes(EMPTY_TRIE_ROOT), root, [getBytes('0x80')])).toEqual({ ok: true, value: null });
  });
});

describe.skipIf(!HAVE_VECTORS)('MPT walker on ethereum/tests TrieTests roots (read in place from shared/vectors)', () => {
  const fromFixture = (s: string) => (s.startsWith('0x') ? getBytes(s) : toUtf8Bytes(s));
  const files: [string, boolean][] = [
    ['trietest.json', false],
    ['trieanyorder.json', false],
    ['trietest_secureTrie.json', true],
    ['trieanyorder_secureTrie.json', true],
    ['hex_encoded_securetrie_test.json', true],
  ];

  for (const [file, hashed] of files) {
    it(`${file}: every key proves its final value (or absence) under the fixture root`, async () => {
      const { tests } = JSON.parse(readFileSync(vectorPath('ethereum', 'ethereumjs', 'trie-fixtures', file), 'utf8')) as {
        tests: Record<string, { in: [string, string | null][] | Record<string, string | null>; root: string }>;
      };
      let checked = 0;
      for (const [name, t] of Object.entries(tests)) {
        const ops = Array.isArray(t.in) ? t.in : Object.entries(t.in);
        const trie = new MerklePatriciaTrie({ useKeyHashing: hashed });
        const final = new Map<string, string | null>();
        for (const [k, v] of ops) {
          const key = fromFixture(k);
          if (v === null || v === '') await trie.del(key);
          else await trie.put(key, fromFixture(v));
          final.set(hexlify(key), v === null || v === '' ? null : hexlify(fromFixture(v)));
        }
        const root = getBytes(t.root);
        expect(hexlify(trie.root()), `${name}: the library reproduces the fixture root`).toBe(t.root);
        for (const [k, want] of [...final, ['0x0badc0ffee', null] as const]) {
          const key = getBytes(k);
          const proof = await createMerkleProof(trie, key);
          expect(ourVerdict(root, key, proof, hashed), `${name} ${k}`).toEqual({ ok: true, value: want });
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});

if (!HAVE_VECTORS) console.warn('[qiao] NOTICE: shared/vectors/ethereum not found: the TrieTests vector tests are skipped.');
