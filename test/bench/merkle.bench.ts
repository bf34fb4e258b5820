import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { keccak256, toUtf8Bytes } from 'ethers';
import type { Hex } from '../../src/domain/hex.ts';
import { LEAF_ENCODING, MessageTree } from '../../src/domain/merkle.ts';
import type { BenchRow } from './proofs.bench.ts';
import { opsPerSecond } from './stats.ts';

const ENC = [...LEAF_ENCODING];

/**
 * A commit batch's tree work, as the relayer does it: build the tree over 256 message ids and hand out a proof for
 * every id. Ours (src/domain/merkle.ts) against @openzeppelin/merkle-tree in the same run; the last batch of each
 * is checked afterwards (same root, every proof of ours equal to OpenZeppelin's and accepted by its verifier), so
 * the figure counts real work.
 */
export async function benchMerkle(leaves = 256): Promise<BenchRow[]> {
  const ids = Array.from({ length: leaves }, (_, i) => keccak256(toUtf8Bytes(`merkle bench ${i}`)) as Hex);

  let ours: { root: Hex; proofs: Hex[][] } = { root: '0x', proofs: [] };
  const o = opsPerSecond(() => {
    const t = MessageTree.of(ids);
    ours = { root: t.root, proofs: ids.map((id) => t.proof(id)) };
  });

  let oz: { root: string; proofs: string[][] } = { root: '', proofs: [] };
  const z = opsPerSecond(() => {
    const t = StandardMerkleTree.of(ids.map((id) => [id] as [string]), ENC);
    oz = { root: t.root, proofs: ids.map((_, i) => t.getProof(i)) };
  });

  if (ours.root !== oz.root) throw new Error(`merkle bench: our root ${ours.root} differs from OpenZeppelin's ${oz.root}`);
  if (ours.proofs.length !== leaves) throw new Error('merkle bench: not every proof was produced');
  ids.forEach((id, i) => {
    const p = ours.proofs[i]!;
    if (p.join() !== oz.proofs[i]!.join()) throw new Error(`merkle bench: proof ${i} differs from OpenZeppelin's`);
    if (!StandardMerkleTree.verify(oz.root, ENC, [id], p) || !MessageTree.verify(ours.root, id, p)) throw new Error(`merkle bench: proof ${i} does not verify`);
  });

  const ms = (ops: number) => `${(1000 / ops).toFixed(2)} ms`;
  return [
    {
      name: `batch Merkle tree: ${leaves} ids, root + ${leaves} proofs (src/domain/merkle.ts)`,
      figure: `${ms(o.opsPerSec)} per batch`,
      baseline: `@openzeppelin/merkle-tree StandardMerkleTree: ${ms(z.opsPerSec)} per batch`,
      ratio: `${(o.opsPerSec / z.opsPerSec).toFixed(1)}× faster`,
      note: 'same run; roots and every proof equal to OpenZeppelin’s and verified by it; keccak is ethers’ (pure JS unless one is registered)',
    },
  ];
}
