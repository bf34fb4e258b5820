import { readFileSync } from 'node:fs';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { keccak256, toUtf8Bytes } from 'ethers';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { LEAF_ENCODING, MessageTree } from '../../src/domain/merkle.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

// @openzeppelin/merkle-tree is the oracle: the format is theirs (DESIGN.md, "Frozen formats"), ours must match it byte for byte.
const ENC = [...LEAF_ENCODING];

const idsFor = (n: number, salt = ''): Hex[] => Array.from({ length: n }, (_, i) => keccak256(toUtf8Bytes(`merkle ${salt} ${n} ${i}`)) as Hex);

function subset<T>(xs: readonly T[], rand: () => number): T[] {
  const out = xs.filter(() => rand() < 0.4);
  // Shuffle so the caller's order differs from the tree's: OZ sorts indices, ours must too.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function ozMultiProof(oz: StandardMerkleTree<[string]>, ids: readonly Hex[]) {
  const pos = new Map([...oz.entries()].map(([i, [id]]) => [id, i]));
  const mp = oz.getMultiProof(ids.map((id) => pos.get(id)!));
  return { leaves: mp.leaves.map(([x]) => x), proof: mp.proof, proofFlags: mp.proofFlags };
}

function checkAgainstOz(ids: Hex[], seed: number, subsets: number): void {
  const ours = MessageTree.of(ids);
  const oz = StandardMerkleTree.of(ids.map((id) => [id] as [string]), ENC);
  expect(ours.root).toBe(oz.root);
  for (const [i, [id]] of oz.entries()) {
    const p = ours.proof(id as Hex);
    expect(p).toEqual(oz.getProof(i));
    expect(StandardMerkleTree.verify(oz.root, ENC, [id], p)).toBe(true);
    expect(MessageTree.verify(ours.root, id as Hex, p)).toBe(true);
    expect(MessageTree.leafHash(id as Hex)).toBe(oz.leafHash([id]));
  }
  const rand = seededRandom(seed);
  for (let s = 0; s < subsets; s++) {
    const pick = s === 0 ? [...ids] : subset(ids, rand);
    const mp = ours.multiProof(pick);
    expect(mp).toEqual(ozMultiProof(oz, pick));
    expect(StandardMerkleTree.verifyMultiProof(oz.root, ENC, { leaves: mp.leaves.map((x) => [x]), proof: mp.proof, proofFlags: mp.proofFlags })).toBe(true);
  }
}

describe('MessageTree equals OpenZeppelin StandardMerkleTree([bytes32])', () => {
  it('for every size 1..70: root, every proof, leaf hashes, multiproofs of random subsets', () => {
    for (let n = 1; n <= 70; n++) checkAgainstOz(idsFor(n), n, 6);
  });

  for (const n of [256, 257, 1000]) {
    it(`for ${n} leaves`, () => checkAgainstOz(idsFor(n, 'large'), n, 4));
  }

  it('the order of ids does not change the tree', () => {
    const ids = idsFor(37, 'order');
    const a = MessageTree.of(ids);
    const b = MessageTree.of([...ids].reverse());
    expect(b.root).toBe(a.root);
    for (const id of ids) expect(b.proof(id)).toEqual(a.proof(id));
  });

  it('an empty multiproof is [root], as OpenZeppelin gives it, and OpenZeppelin verifies it', () => {
    for (const n of [1, 2, 5]) {
      const ids = idsFor(n, 'empty');
      const ours = MessageTree.of(ids);
      const oz = StandardMerkleTree.of(ids.map((id) => [id] as [string]), ENC);
      const mp = ours.multiProof([]);
      expect(mp).toEqual({ leaves: [], proof: [ours.root], proofFlags: [] });
      expect(mp).toEqual(ozMultiProof(oz, []));
      expect(StandardMerkleTree.verifyMultiProof(oz.root, ENC, { leaves: [], proof: mp.proof, proofFlags: [] })).toBe(true);
    }
  });

  it('ids in mixed case: same tree as lowercase, lookups ignore case, multiproof leaves keep the caller’s spelling (as OpenZeppelin)', () => {
    const ids = idsFor(9, 'case').map((id, i) => (i % 2 ? (`0x${id.slice(2).toUpperCase()}` as Hex) : id));
    const ours = MessageTree.of(ids);
    const oz = StandardMerkleTree.of(ids.map((id) => [id] as [string]), ENC);
    expect(ours.root).toBe(oz.root);
    expect(ours.root).toBe(MessageTree.of(ids.map((x) => x.toLowerCase() as Hex)).root);
    expect(ours.proof(ids[1]!.toLowerCase() as Hex)).toEqual(oz.getProof(1));
    expect(ours.multiProof(ids)).toEqual(ozMultiProof(oz, ids));
    expect(MessageTree.verify(ours.root.toUpperCase().replace('0X', '0x') as Hex, ids[1]!, ours.proof(ids[1]!))).toBe(true);
  });

  it('matches the golden vectors checked in for every implementation', () => {
    const golden = JSON.parse(readFileSync(new URL('../golden/message-vectors.json', import.meta.url), 'utf8')) as {
      merkle: { ids: Hex[]; root: Hex; proofs: { id: Hex; leaf: Hex; proof: Hex[] }[]; multiproofs: { ids: Hex[]; leaves: Hex[]; proof: Hex[]; proofFlags: boolean[] }[] }[];
    };
    expect(golden.merkle.length).toBeGreaterThan(0);
    for (const c of golden.merkle) {
      const tree = MessageTree.of(c.ids);
      expect(tree.root).toBe(c.root);
      for (const p of c.proofs) {
        expect(MessageTree.leafHash(p.id)).toBe(p.leaf);
        expect(tree.proof(p.id)).toEqual(p.proof);
      }
      for (const mp of c.multiproofs) expect(tree.multiProof(mp.ids)).toEqual({ leaves: mp.leaves, proof: mp.proof, proofFlags: mp.proofFlags });
    }
  });
});

describe('MessageTree.verify', () => {
  const ids = idsFor(13, 'verify');
  const tree = MessageTree.of(ids);

  it('accepts its own proofs and refuses tampered proofs, other ids and other roots', () => {
    const other = MessageTree.of(idsFor(13, 'other')).root;
    for (const id of ids) {
      const p = tree.proof(id);
      expect(MessageTree.verify(tree.root, id, p)).toBe(true);
      expect(MessageTree.verify(other, id, p)).toBe(false);
      const flipped = (`0x${(tree.root[2] === '0' ? '1' : '0')}${tree.root.slice(3)}`) as Hex;
      expect(MessageTree.verify(flipped, id, p)).toBe(false);
      for (let k = 0; k < p.length; k++) {
        const bad = [...p];
        bad[k] = (`${p[k]!.slice(0, -1)}${p[k]!.endsWith('0') ? '1' : '0'}`) as Hex;
        expect(MessageTree.verify(tree.root, id, bad)).toBe(false);
      }
      expect(MessageTree.verify(tree.root, id, p.slice(0, -1))).toBe(false);
      expect(MessageTree.verify(tree.root, id, [...p, p[0]!])).toBe(false);
    }
    expect(MessageTree.verify(tree.root, ids[1]!, tree.proof(ids[0]!))).toBe(false);
  });

  it('agrees with OpenZeppelin on a proof OpenZeppelin made', () => {
    const oz = StandardMerkleTree.of(ids.map((id) => [id] as [string]), ENC);
    for (const [i, [id]] of oz.entries()) expect(MessageTree.verify(oz.root as Hex, id as Hex, oz.getProof(i) as Hex[])).toBe(true);
  });

  it('malformed hex is a ValidationError, not a quiet false', () => {
    const p = tree.proof(ids[0]!);
    expect(() => MessageTree.verify('0x1234' as Hex, ids[0]!, p)).toThrow(ValidationError);
    expect(() => MessageTree.verify(tree.root, 'nothex' as Hex, p)).toThrow(ValidationError);
    expect(() => MessageTree.verify(tree.root, ids[0]!, [...p.slice(0, -1), `0x${'zz'.repeat(32)}` as Hex])).toThrow(ValidationError);
  });
});

describe('MessageTree input validation', () => {
  it('an empty batch, duplicate ids (in any case) and malformed ids are ValidationErrors', () => {
    const ids = idsFor(4, 'validation');
    expect(() => MessageTree.of([])).toThrow(ValidationError);
    expect(() => MessageTree.of([ids[0]!, ids[1]!, ids[0]!])).toThrow(ValidationError);
    expect(() => MessageTree.of([ids[0]!, `0x${ids[0]!.slice(2).toUpperCase()}` as Hex])).toThrow(ValidationError);
    for (const bad of ['0x1234', `0x${'g'.repeat(64)}`, ids[0]!.slice(2), `${ids[0]!}00`, `0x${'a'.repeat(63)}`]) {
      expect(() => MessageTree.of([ids[1]!, bad as Hex])).toThrow(ValidationError);
      expect(() => MessageTree.leafHash(bad as Hex)).toThrow(ValidationError);
    }
  });

  it('an unknown id, or one asked twice in a multiproof, is a ValidationError', () => {
    const ids = idsFor(4, 'unknown');
    const tree = MessageTree.of(ids);
    const stranger = idsFor(1, 'stranger')[0]!;
    expect(() => tree.proof(stranger)).toThrow(ValidationError);
    expect(() => tree.proof('0x12' as Hex)).toThrow(ValidationError);
    expect(() => tree.multiProof([ids[0]!, stranger])).toThrow(ValidationError);
    expect(() => tree.multiProof([ids[0]!, ids[1]!, ids[0]!.toUpperCase().replace('0X', '0x') as Hex])).toThrow(ValidationError);
  });
});
