import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { ValidationError } from '../errors.ts';
import type { Hex } from './hex.ts';

/**
 * Batches are OpenZeppelin StandardMerkleTrees over leaves `[bytes32 messageId]`
 * (double-hashed leaves, sorted pairs), so Solidity's MerkleProof verifies them.
 */
export const LEAF_ENCODING = ['bytes32'] as const;

export class MessageTree {
  private readonly tree: StandardMerkleTree<[string]>;
  private readonly index = new Map<string, number>();

  private constructor(tree: StandardMerkleTree<[string]>) {
    this.tree = tree;
    for (const [i, [id]] of tree.entries()) this.index.set(id.toLowerCase(), i);
  }

  /** Leaves are sorted by OpenZeppelin itself; ids must be unique. */
  static of(ids: readonly Hex[]): MessageTree {
    if (ids.length === 0) throw new ValidationError('batch', 'a batch needs at least one message');
    const uniq = new Set(ids.map((x) => x.toLowerCase()));
    if (uniq.size !== ids.length) throw new ValidationError('batch', 'message ids in a batch must be unique');
    return new MessageTree(StandardMerkleTree.of(ids.map((id) => [id] as [string]), [...LEAF_ENCODING]));
  }

  get root(): Hex {
    return this.tree.root as Hex;
  }

  proof(id: Hex): Hex[] {
    const i = this.index.get(id.toLowerCase());
    if (i === undefined) throw new ValidationError('id', `${id} is not in this batch`);
    return this.tree.getProof(i) as Hex[];
  }

  multiProof(ids: readonly Hex[]): { leaves: Hex[]; proof: Hex[]; proofFlags: boolean[] } {
    const idx = ids.map((id) => {
      const i = this.index.get(id.toLowerCase());
      if (i === undefined) throw new ValidationError('id', `${id} is not in this batch`);
      return i;
    });
    const mp = this.tree.getMultiProof(idx);
    return { leaves: mp.leaves.map(([x]) => x as Hex), proof: mp.proof as Hex[], proofFlags: mp.proofFlags };
  }

  static verify(root: Hex, id: Hex, proof: readonly Hex[]): boolean {
    return StandardMerkleTree.verify(root, [...LEAF_ENCODING], [id], [...proof]);
  }

  static leafHash(id: Hex): Hex {
    return StandardMerkleTree.of([[id]], [...LEAF_ENCODING]).root as Hex;
  }
}
