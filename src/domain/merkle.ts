import { ValidationError } from '../errors.ts';
import { asBytes32, type Hex } from './hex.ts';
import { buildTree, leafOf, multiProofOf, pathOf, rootOf } from './merkle-core.ts';

/**
 * Batches are OpenZeppelin StandardMerkleTrees over leaves `[bytes32 messageId]`
 * (double-hashed leaves, sorted pairs), so Solidity's MerkleProof verifies them.
 * Built here rather than with @openzeppelin/merkle-tree, which cost ~9% of a relayer
 * worker's CPU (ABI-encoding each leaf, re-verifying every proof it hands out); the
 * tests hold this tree equal to OpenZeppelin's, proof for proof.
 */
export const LEAF_ENCODING = ['bytes32'] as const;

function idBytes(id: Hex): Buffer {
  return Buffer.from(id.slice(2), 'hex');
}

export class MessageTree {
  /** OpenZeppelin's node array (root at 0). */
  private readonly tree: Hex[];
  /** The id at each leaf's tree index, as the caller spelled it (multiproof leaves return it unchanged, as OpenZeppelin did). */
  private readonly idAt: Map<number, Hex>;
  /** Lowercase id → tree index. */
  private readonly index: Map<string, number>;

  private constructor(tree: Hex[], idAt: Map<number, Hex>, index: Map<string, number>) {
    this.tree = tree;
    this.idAt = idAt;
    this.index = index;
  }

  /** Leaves are sorted by leaf hash, so the order of `ids` does not matter; ids must be unique bytes32 hex. */
  static of(ids: readonly Hex[]): MessageTree {
    if (ids.length === 0) throw new ValidationError('batch', 'a batch needs at least one message');
    const scratch = Buffer.allocUnsafe(32);
    const leaves: { leaf: Hex; id: Hex; key: string }[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const key = asBytes32(id, `batch[${i}]`);
      if (seen.has(key)) throw new ValidationError('batch', 'message ids in a batch must be unique');
      seen.add(key);
      leaves.push({ leaf: leafOf(idBytes(key), scratch), id, key });
    }
    // Distinct ids have distinct leaf hashes, so this order is total (OpenZeppelin's stable sort agrees).
    leaves.sort((a, b) => (a.leaf < b.leaf ? -1 : 1));
    const tree = buildTree(leaves.map((l) => l.leaf));
    const idAt = new Map<number, Hex>();
    const index = new Map<string, number>();
    for (let k = 0; k < leaves.length; k++) {
      const at = tree.length - 1 - k;
      idAt.set(at, leaves[k]!.id);
      index.set(leaves[k]!.key, at);
    }
    return new MessageTree(tree, idAt, index);
  }

  get root(): Hex {
    return this.tree[0]!;
  }

  private at(id: Hex, field: string): number {
    const i = typeof id === 'string' ? this.index.get(id.toLowerCase()) : undefined;
    if (i === undefined) throw new ValidationError(field, `${String(id)} is not in this batch`);
    return i;
  }

  proof(id: Hex): Hex[] {
    return pathOf(this.tree, this.at(id, 'id'));
  }

  /** OpenZeppelin's multiproof: `leaves` are ids in the order MerkleProof consumes them; no ids gives `{leaves: [], proof: [root]}`. */
  multiProof(ids: readonly Hex[]): { leaves: Hex[]; proof: Hex[]; proofFlags: boolean[] } {
    const idx = ids.map((id) => this.at(id, 'id'));
    if (new Set(idx).size !== idx.length) throw new ValidationError('ids', 'a multiproof cannot prove an id twice');
    const mp = multiProofOf(this.tree, idx);
    return { leaves: mp.indices.map((i) => this.idAt.get(i)!), proof: mp.proof, proofFlags: mp.proofFlags };
  }

  /** Whether `proof` leads from `id` to `root`; malformed hex (not 32 bytes) is a ValidationError, not `false`. */
  static verify(root: Hex, id: Hex, proof: readonly Hex[]): boolean {
    const r = asBytes32(root, 'root');
    const nodes = proof.map((p, i) => asBytes32(p, `proof[${i}]`));
    return rootOf(MessageTree.leafHash(id), nodes) === r;
  }

  static leafHash(id: Hex): Hex {
    return leafOf(idBytes(asBytes32(id, 'id')), Buffer.allocUnsafe(32));
  }
}
