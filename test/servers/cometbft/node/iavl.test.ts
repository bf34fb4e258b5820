import { randomBytes } from 'node:crypto';
import { iavlSpec, ics23, tendermintSpec, verifyMembership, verifyNonMembership } from '@confio/ics23';
import { describe, expect, it } from 'vitest';
import { encodeCommitmentProof, IavlTree } from './iavl.ts';
import { CommitInfo } from './multistore.ts';

const roundTrip = (p: ics23.ICommitmentProof): ics23.CommitmentProof => ics23.CommitmentProof.decode(encodeCommitmentProof(p));

describe('IAVL trees and the commit info, checked with @confio/ics23', () => {
  it('proves every key and absent keys (edges included) for trees of 1..40 leaves', () => {
    for (let n = 1; n <= 40; n++) {
      const entries: [Uint8Array, Uint8Array][] = Array.from({ length: n }, (_, i) => [Uint8Array.of(10 + 2 * i, i), randomBytes(1 + (i % 5))]);
      const tree = new IavlTree(entries, BigInt(n));
      const root = tree.hash();
      for (const [k, v] of entries) {
        expect(verifyMembership(roundTrip(tree.proof(k)), iavlSpec, root, k, v)).toBe(true);
      }
      for (const k of [Uint8Array.of(0), Uint8Array.of(11), Uint8Array.of(10 + 2 * n + 5)]) {
        expect(verifyNonMembership(roundTrip(tree.proof(k)), iavlSpec, root, k)).toBe(true);
      }
      // a proof for one key does not prove another value
      expect(verifyMembership(roundTrip(tree.proof(entries[0]![0])), iavlSpec, root, entries[0]![0], Uint8Array.of(1, 2, 3, 4, 5, 6, 7))).toBe(false);
    }
  });

  it('chains a store root into the app hash with the simple (tendermint) spec', () => {
    const trees = new Map(['acc', 'bank', 'ibc', 'wasm', 'zeta'].map((n, i) => [n, new IavlTree([[Uint8Array.of(i), Uint8Array.of(i)]], 3n)]));
    const info = new CommitInfo(3n, trees);
    for (const [name, t] of trees) {
      expect(verifyMembership(roundTrip(info.storeProof(name)), tendermintSpec, info.appHash, new TextEncoder().encode(name), t.hash())).toBe(true);
    }
    expect(verifyMembership(roundTrip(info.storeProof('ibc')), tendermintSpec, info.appHash, new TextEncoder().encode('ibc'), trees.get('acc')!.hash())).toBe(false);
  });
});
