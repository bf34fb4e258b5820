import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  verifyMembership,
  verifyNonMembership,
  verifyCosmosStoreProof,
  iavlSpec,
  tendermintSpec,
  smtSpec,
  encodeCommitmentProof,
  decodeCommitmentProof,
  type CommitmentProof,
  type ExistenceProof,
} from '../../proofs/ics23/index.ts';
import { isProofFailure } from '../../proofs/result.ts';
import { cosmosApp, iavlTree, simpleTree, type Entry } from './fixtures/ics23/trees.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Distinct non-empty keys with non-empty values. */
const entriesArb = fc
  .uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 40, selector: (k) => Buffer.from(k).toString('hex') })
  .chain((keys) => fc.tuple(fc.constant(keys), fc.array(fc.uint8Array({ minLength: 1, maxLength: 24 }), { minLength: keys.length, maxLength: keys.length })))
  .map(([keys, values]) => keys.map((k, i) => [k, values[i]!] as Entry));

const absentKey = (entries: Entry[], k: Uint8Array) => k.length > 0 && !entries.some(([e]) => Buffer.from(e).equals(Buffer.from(k)));

function flip(bytes: Uint8Array, at: number, xor: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const i = at % out.length;
  out[i] = out[i]! ^ xor;
  return out;
}

describe('ICS-23 membership on trees made in the test', () => {
  it('every key of an IAVL tree is proven with its value, as bytes and decoded (IAVL spec)', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const t = iavlTree(entries);
        for (const [k, v] of entries) {
          const proof: CommitmentProof = { exist: t.exist(k) };
          expect(verifyMembership(iavlSpec, t.root, proof, k, v)).toMatchObject({ ok: true });
          expect(verifyMembership(iavlSpec, t.root, encodeCommitmentProof(proof), k, v)).toMatchObject({ ok: true });
        }
      }),
      { numRuns: 40 },
    );
  });

  it('absent keys of an IAVL tree are proven absent, with one or two neighbours', () => {
    fc.assert(
      fc.property(entriesArb, fc.array(fc.uint8Array({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 }), (entries, probes) => {
        const t = iavlTree(entries);
        for (const k of probes.filter((p) => absentKey(entries, p))) {
          const r = verifyNonMembership(iavlSpec, t.root, { nonexist: t.nonexist(k) }, k);
          expect(r).toMatchObject({ ok: true });
        }
      }),
      { numRuns: 40 },
    );
  });

  it('a simple Merkle tree (multistore shape) verifies under the Tendermint spec, not the IAVL one', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const t = simpleTree(entries);
        for (const [k, v] of entries) {
          expect(verifyMembership(tendermintSpec, t.root, { exist: t.exist(k) }, k, v)).toMatchObject({ ok: true });
          if (entries.length > 1) expect(verifyMembership(iavlSpec, t.root, { exist: t.exist(k) }, k, v)).toMatchObject({ ok: false, reason: 'ics23_spec_mismatch' });
        }
      }),
      { numRuns: 30 },
    );
  });

  it('rejects a wrong value, key, root, spec, or proof kind with the matching reason', () => {
    fc.assert(
      fc.property(entriesArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (entries, pick, xor) => {
        const t = iavlTree(entries);
        const [k, v] = entries[pick % entries.length]!;
        const proof: CommitmentProof = { exist: t.exist(k) };
        expect(verifyMembership(iavlSpec, t.root, proof, k, flip(v, pick, xor))).toMatchObject({ ok: false, reason: 'ics23_value_mismatch' });
        expect(verifyMembership(iavlSpec, flip(t.root, pick, xor), proof, k, v)).toMatchObject({ ok: false, reason: 'ics23_root_mismatch' });
        expect(verifyMembership(iavlSpec, t.root, proof, flip(k, pick, xor), v)).toMatchObject({ ok: false, reason: 'ics23_key_mismatch' });
        expect(verifyNonMembership(iavlSpec, t.root, proof, k)).toMatchObject({ ok: false, reason: 'ics23_wrong_proof_type' });
        expect(verifyMembership(smtSpec, t.root, proof, k, v)).toMatchObject({ ok: false, reason: 'ics23_spec_mismatch' });
      }),
      { numRuns: 60 },
    );
  });

  it('rejects any changed byte in a path step or leaf prefix', () => {
    fc.assert(
      fc.property(entriesArb.filter((e) => e.length > 1), fc.nat(), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (entries, pick, step, at, xor) => {
        const t = iavlTree(entries);
        const [k, v] = entries[pick % entries.length]!;
        const exist = t.exist(k);
        const s = exist.path[step % exist.path.length]!;
        const part = at % 2 === 0 || s.suffix.length === 0 ? 'prefix' : 'suffix';
        const bad: ExistenceProof = { ...exist, path: exist.path.map((p) => (p === s ? { ...p, [part]: flip(p[part], at, xor) } : p)) };
        const r = verifyMembership(iavlSpec, t.root, { exist: bad }, k, v);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(['ics23_spec_mismatch', 'ics23_root_mismatch']).toContain(r.reason);
        const badLeaf: ExistenceProof = { ...exist, leaf: { ...exist.leaf!, prefix: flip(exist.leaf!.prefix, at, xor) } };
        expect(verifyMembership(iavlSpec, t.root, { exist: badLeaf }, k, v).ok).toBe(false);
      }),
      { numRuns: 80 },
    );
  });

  it('rejects non-existence proofs of present keys, of keys outside the neighbours, and of non-adjacent neighbours', () => {
    fc.assert(
      fc.property(entriesArb.filter((e) => e.length >= 3), fc.nat(), (entries, pick) => {
        const t = iavlTree(entries);
        const keys = t.keys;
        const i = pick % (keys.length - 2);
        // Neighbours keys[i] and keys[i+2] skip keys[i+1]: the key between them is present.
        const skipping: CommitmentProof = { nonexist: { key: keys[i + 1]!, left: t.exist(keys[i]!), right: t.exist(keys[i + 2]!) } };
        expect(verifyNonMembership(iavlSpec, t.root, skipping, keys[i + 1]!)).toMatchObject({ ok: false, reason: 'ics23_not_neighbours' });
        // A real gap proof does not cover a key outside it.
        const gap: CommitmentProof = { nonexist: { key: keys[i + 1]!, left: t.exist(keys[i]!), right: t.exist(keys[i + 1]!) } };
        expect(verifyNonMembership(iavlSpec, t.root, gap, keys[i + 2]!)).toMatchObject({ ok: false, reason: 'ics23_key_not_in_range' });
        expect(verifyNonMembership(iavlSpec, t.root, gap, keys[i]!)).toMatchObject({ ok: false, reason: 'ics23_key_not_in_range' });
        // Dropping the left neighbour of an inner gap: the right one is not left-most.
        const lone: CommitmentProof = { nonexist: { key: keys[i + 1]!, right: t.exist(keys[i + 1]!) } };
        expect(verifyNonMembership(iavlSpec, t.root, lone, keys[i]!)).toMatchObject({ ok: false, reason: 'ics23_not_neighbours' });
      }),
      { numRuns: 60 },
    );
  });
});

describe('agreement with @confio/ics23 (the cross-check every IAVL/Tendermint proof also passes)', () => {
  it('long keys and values (multi-byte length varints) verify with and without the library cross-check', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 2, maxLength: 6 }), fc.integer({ min: 1, max: 20_000 }), (keyLens, valueLen) => {
        const entries: Entry[] = keyLens.map((n, i) => [Uint8Array.from({ length: n + i * 20_001 }, (_, j) => (j * 31 + i) & 0xff), new Uint8Array(valueLen).fill(i + 1)]);
        const t = iavlTree(entries);
        for (const [k, v] of entries) {
          for (const crossCheck of [true, false]) expect(verifyMembership(iavlSpec, t.root, { exist: t.exist(k) }, k, v, { crossCheck })).toMatchObject({ ok: true });
        }
      }),
      { numRuns: 15 },
    );
  });

  it('gives the same verdict with and without the cross-check on mutated proofs', () => {
    const entries: Entry[] = Array.from({ length: 13 }, (_, i) => [utf8(`key-${i}`), utf8(`value-${i}`)]);
    const t = iavlTree(entries);
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (pick, at, xor) => {
        const [k, v] = entries[pick % entries.length]!;
        const enc = flip(encodeCommitmentProof({ exist: t.exist(k) }), at, xor);
        expect(verifyMembership(iavlSpec, t.root, enc, k, v).ok).toBe(verifyMembership(iavlSpec, t.root, enc, k, v, { crossCheck: false }).ok);
      }),
      { numRuns: 200 },
    );
  });
});

describe('shape validation (never throws, always a reason from the closed set)', () => {
  it('garbage proof bytes are proof_malformed or fail a check, never valid', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 1, maxLength: 32 }), (bytes, key) => {
        const root = new Uint8Array(32);
        for (const r of [verifyMembership(iavlSpec, root, bytes, key, Uint8Array.of(1)), verifyNonMembership(tendermintSpec, root, bytes, key)]) {
          expect(r.ok).toBe(false);
          if (!r.ok) expect(isProofFailure(r.reason)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('truncated or bit-flipped encodings of a real proof do not verify (or verify the same statement)', () => {
    const entries: Entry[] = Array.from({ length: 9 }, (_, i) => [utf8(`key-${i}`), utf8(`value-${i}`)]);
    const t = iavlTree(entries);
    const [k, v] = entries[4]!;
    const enc = encodeCommitmentProof({ exist: t.exist(k) });
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), (at, xor, truncate) => {
        const bad = truncate ? enc.subarray(0, at % enc.length) : flip(enc, at, xor);
        const r = verifyMembership(iavlSpec, t.root, bad, k, v);
        if (r.ok) {
          // Only a change the verifier does not read may leave it valid; the proven statement must be unchanged.
          const d = decodeCommitmentProof(bad);
          expect(d.ok && 'exist' in d.proof && Buffer.from(d.proof.exist.value).equals(Buffer.from(v))).toBe(true);
        } else expect(isProofFailure(r.reason)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('bad expectations are expectation_invalid', () => {
    const t = iavlTree([[utf8('a'), utf8('1')]]);
    const proof: CommitmentProof = { exist: t.exist(utf8('a')) };
    expect(verifyMembership(iavlSpec, new Uint8Array(0), proof, utf8('a'), utf8('1'))).toMatchObject({ ok: false, reason: 'expectation_invalid' });
    expect(verifyMembership(iavlSpec, t.root, proof, new Uint8Array(0), utf8('1'))).toMatchObject({ ok: false, reason: 'expectation_invalid' });
    expect(verifyMembership(iavlSpec, t.root, proof, utf8('a'), new Uint8Array(0))).toMatchObject({ ok: false, reason: 'expectation_invalid' });
    expect(verifyMembership(iavlSpec, t.root, { nothing: 1 } as never, utf8('a'), utf8('1'))).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyMembership(iavlSpec, 'ab' as never, proof, utf8('a'), utf8('1'))).toMatchObject({ ok: false, reason: 'expectation_invalid' });
  });

  it('a single-leaf tree proves its key and the absence of keys on either side', () => {
    const t = iavlTree([[utf8('m'), utf8('1')]]);
    expect(verifyMembership(iavlSpec, t.root, { exist: t.exist(utf8('m')) }, utf8('m'), utf8('1'))).toMatchObject({ ok: true });
    expect(verifyNonMembership(iavlSpec, t.root, { nonexist: t.nonexist(utf8('a')) }, utf8('a'))).toMatchObject({ ok: true });
    expect(verifyNonMembership(iavlSpec, t.root, { nonexist: t.nonexist(utf8('z')) }, utf8('z'))).toMatchObject({ ok: true });
    expect(verifyNonMembership(iavlSpec, t.root, { nonexist: { key: utf8('a') } }, utf8('a'))).toMatchObject({ ok: false, reason: 'proof_malformed' });
  });

  it('batch proofs are searched for the key asked for', () => {
    const entries: Entry[] = Array.from({ length: 5 }, (_, i) => [utf8(`k${i}`), utf8(`v${i}`)]);
    const t = iavlTree(entries);
    const batch: CommitmentProof = { batch: [{ exist: t.exist(utf8('k1')) }, { exist: t.exist(utf8('k3')) }, { nonexist: t.nonexist(utf8('k25')) }] };
    const enc = encodeCommitmentProof(batch);
    expect(verifyMembership(iavlSpec, t.root, enc, utf8('k3'), utf8('v3'))).toMatchObject({ ok: true });
    expect(verifyMembership(iavlSpec, t.root, enc, utf8('k2'), utf8('v2'))).toMatchObject({ ok: false, reason: 'ics23_key_mismatch' });
    expect(verifyNonMembership(iavlSpec, t.root, enc, utf8('k25'))).toMatchObject({ ok: true });
    expect(verifyNonMembership(iavlSpec, t.root, enc, utf8('k0'))).toMatchObject({ ok: false, reason: 'ics23_key_not_in_range' });
  });
});

describe('Cosmos SDK store proofs (IAVL store proof, then multistore proof, against the app hash)', () => {
  const app = cosmosApp({
    acc: Array.from({ length: 6 }, (_, i) => [utf8(`acc/${i}`), utf8(`account ${i}`)] as Entry),
    bank: Array.from({ length: 11 }, (_, i) => [utf8(`balances/${i}`), utf8(`${i * 100}uatom`)] as Entry),
    ibc: Array.from({ length: 17 }, (_, i) => [utf8(`commitments/ports/transfer/channels/channel-0/sequences/${i + 1}`), Uint8Array.from({ length: 32 }, (_, j) => (i * 7 + j) & 0xff)] as Entry),
    staking: [[utf8('params'), utf8('{}')]],
  });
  const key = utf8('commitments/ports/transfer/channels/channel-0/sequences/5');
  const value = app.trees.get('ibc')!.exist(key).value;

  it('proves a value given as ProofOps (base64, as abci_query returns them), as ops bytes and as CommitmentProofs', () => {
    const ops = app.proofOps('ibc', key);
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key, value, proof: ops })).toMatchObject({ ok: true, proven: 'value', storeRoot: app.trees.get('ibc')!.root });
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key, value, proof: ops.ops })).toMatchObject({ ok: true });
    const asBytes = ops.ops.map((o) => ({ ...o, key: new Uint8Array(Buffer.from(o.key as string, 'base64')), data: new Uint8Array(Buffer.from(o.data as string, 'base64')) }));
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key, value, proof: asBytes })).toMatchObject({ ok: true });
    const decoded = asBytes.map((o) => {
      const d = decodeCommitmentProof(o.data);
      if (!d.ok) throw new Error(d.detail);
      return d.proof;
    });
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key, value, proof: decoded })).toMatchObject({ ok: true });
  });

  it('proves absence', () => {
    const missing = utf8('commitments/ports/transfer/channels/channel-0/sequences/99');
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key: missing, absent: true, proof: app.proofOps('ibc', missing) })).toMatchObject({ ok: true, proven: 'absence' });
    // An absence proof is no proof of a value, and a value proof no proof of absence.
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key: missing, value: utf8('x'), proof: app.proofOps('ibc', missing) })).toMatchObject({ ok: false, reason: 'ics23_wrong_proof_type' });
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key, absent: true, proof: app.proofOps('ibc', key) })).toMatchObject({ ok: false, reason: 'ics23_wrong_proof_type' });
  });

  it('every key of every store verifies, and fails against any other app hash (e.g. header H instead of H+1)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...app.trees.keys()), fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 }), (store, pick, otherHash) => {
        const t = app.trees.get(store)!;
        const k = t.keys[pick % t.keys.length]!;
        const v = t.exist(k).value;
        const proof = app.proofOps(store, k);
        expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: store, key: k, value: v, proof })).toMatchObject({ ok: true });
        if (!Buffer.from(otherHash).equals(Buffer.from(app.appHash))) {
          expect(verifyCosmosStoreProof({ appHash: otherHash, storeName: store, key: k, value: v, proof })).toMatchObject({ ok: false, reason: 'ics23_root_mismatch' });
        }
      }),
      { numRuns: 60 },
    );
  });

  it('rejects another store, another key, a changed value, and ops out of order', () => {
    const ops = app.proofOps('ibc', key);
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'bank', key, value, proof: ops })).toMatchObject({ ok: false, reason: 'ics23_store_mismatch' });
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key: utf8('other'), value, proof: ops })).toMatchObject({ ok: false, reason: 'ics23_key_mismatch' });
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key, value: utf8('forged'), proof: ops })).toMatchObject({ ok: false, reason: 'ics23_value_mismatch' });
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key, value, proof: [ops.ops[1]!, ops.ops[0]!] })).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key, value, proof: [ops.ops[0]!] })).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key, value, proof: [{ ...ops.ops[0]!, data: '!!notbase64' }, ops.ops[1]!] })).toMatchObject({ ok: false, reason: 'proof_malformed' });
    // The store proof of bank spliced under ibc's multistore entry: the ibc entry does not commit to bank's root.
    const bankKey = utf8('balances/3');
    const bankOps = app.proofOps('bank', bankKey);
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key: bankKey, value: utf8('300uatom'), proof: [bankOps.ops[0]!, ops.ops[1]!] })).toMatchObject({ ok: false, reason: 'ics23_root_mismatch' });
  });

  it('bad expectations are expectation_invalid', () => {
    const ops = app.proofOps('ibc', key);
    expect(verifyCosmosStoreProof({ appHash: app.appHash.subarray(0, 31), storeName: 'ibc', key, value, proof: ops })).toMatchObject({ ok: false, reason: 'expectation_invalid' });
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: '', key, value, proof: ops })).toMatchObject({ ok: false, reason: 'expectation_invalid' });
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key, value, absent: true, proof: ops } as never)).toMatchObject({ ok: false, reason: 'expectation_invalid' });
    expect(verifyCosmosStoreProof({ appHash: app.appHash, storeName: 'ibc', key, proof: ops } as never)).toMatchObject({ ok: false, reason: 'expectation_invalid' });
    expect(verifyCosmosStoreProof(null as never)).toMatchObject({ ok: false, reason: 'expectation_invalid' });
  });
});
