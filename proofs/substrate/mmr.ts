import { keccak_256 } from '@noble/hashes/sha3.js';
import { asBytes, concatBytes, equalBytes, toHex } from './bytes.ts';
import { fail, ok, type VerifyResult } from '../result.ts';
import type { Hex } from '../../src/domain/hex.ts';

/**
 * Merkle Mountain Range proofs of the BEEFY MMR (keccak-256, `merge(l, r) =
 * keccak(l ‖ r)`), in the two forms bridges use:
 *  - pallet-mmr's `mmr_generateProof` form (the ckb merkle-mountain-range
 *    algorithm): siblings up to the leaf's peak, then the other peaks, the
 *    peaks right of the leaf's peak bagged into one item; peaks are bagged
 *    right to left as merge(right, left);
 *  - Snowbridge's simplified form: items folded in order, bit i of `order`
 *    set when item i is the left operand.
 */
const merge = (l: Uint8Array, r: Uint8Array) => keccak_256(concatBytes(l, r));

export function verifySimplifiedMmrProof(root: Hex | Uint8Array, leafHash: Hex | Uint8Array, items: readonly (Hex | Uint8Array)[], order: bigint | number): VerifyResult<{ root: Hex }> {
  const want = asBytes(root, 32);
  let acc = asBytes(leafHash, 32);
  if (!want || !acc) return fail('expectation_invalid', 'root and leaf hash must be 32 bytes');
  if (items.length > 256) return fail('proof_malformed', 'more than 256 proof items');
  const bits = BigInt(order);
  for (const [i, it] of items.entries()) {
    const b = asBytes(it, 32);
    if (!b) return fail('proof_malformed', `proof item ${i} is not 32 bytes`);
    acc = (bits >> BigInt(i)) & 1n ? merge(b, acc) : merge(acc, b);
  }
  if (!equalBytes(acc, want)) return fail('storage_proof_invalid', `MMR proof gives ${toHex(acc)}, not ${toHex(want)}`);
  return ok({ root: toHex(acc) });
}

const bitLength = (n: number) => (n === 0 ? 0 : 32 - Math.clz32(n));
const allOnes = (n: number) => n !== 0 && (n & (n + 1)) === 0;

/** Height (0 = leaf) of the node at 0-based MMR position `pos`. */
function heightAt(pos: number): number {
  let p = pos + 1;
  while (!allOnes(p)) p = p - (2 ** (bitLength(p) - 1) - 1);
  return bitLength(p) - 1;
}

function mmrSize(leafCount: number): number {
  let ones = 0;
  for (let n = leafCount; n; n &= n - 1) ones++;
  return 2 * leafCount - ones;
}

function peaksOf(size: number): number[] {
  const peaks: number[] = [];
  let offset = 0;
  let rest = size;
  while (rest > 0) {
    let h = bitLength(rest + 1) - 1;
    let treeSize = 2 ** h - 1;
    if (treeSize > rest) {
      h -= 1;
      treeSize = 2 ** h - 1;
    }
    peaks.push(offset + treeSize - 1);
    offset += treeSize;
    rest -= treeSize;
  }
  return peaks;
}

export function verifyMmrLeafProof(
  root: Hex | Uint8Array,
  leafHash: Hex | Uint8Array,
  leafIndex: number,
  leafCount: number,
  items: readonly (Hex | Uint8Array)[],
): VerifyResult<{ root: Hex }> {
  const want = asBytes(root, 32);
  const leaf = asBytes(leafHash, 32);
  if (!want || !leaf) return fail('expectation_invalid', 'root and leaf hash must be 32 bytes');
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(leafCount) || leafIndex < 0 || leafIndex >= leafCount || leafCount > 2 ** 40) {
    return fail('proof_malformed', `leaf ${leafIndex} of ${leafCount} leaves`);
  }
  const proof: Uint8Array[] = [];
  for (const [i, it] of items.entries()) {
    const b = asBytes(it, 32);
    if (!b) return fail('proof_malformed', `proof item ${i} is not 32 bytes`);
    proof.push(b);
  }
  const size = mmrSize(leafCount);
  // The nodes before leaf i are exactly the nodes of an MMR of i leaves.
  const myPos = mmrSize(leafIndex);
  let k = 0;
  let climbed = false;
  const peaks: Uint8Array[] = [];
  for (const peak of peaksOf(size)) {
    if (peak < myPos) {
      const p = proof[k++];
      if (!p) return fail('storage_proof_invalid', 'proof ends before the peaks left of the leaf');
      peaks.push(p);
    } else if (!climbed) {
      let acc = leaf;
      let p = myPos;
      let h = 0;
      while (p < peak) {
        const sib = proof[k++];
        if (!sib) return fail('storage_proof_invalid', 'proof ends below the peak');
        if (heightAt(p + 1) > h) {
          acc = merge(sib, acc);
          p += 1;
        } else {
          acc = merge(acc, sib);
          p += 2 ** (h + 1);
        }
        h++;
      }
      if (p !== peak) return fail('storage_proof_invalid', 'climb does not reach a peak');
      peaks.push(acc);
      climbed = true;
    } else {
      const p = proof[k];
      if (!p) break;
      peaks.push(p);
      k++;
    }
  }
  // pallet-mmr bags the peaks right of the leaf's into one item.
  if (k < proof.length) peaks.push(proof[k++]!);
  if (k !== proof.length) return fail('storage_proof_invalid', `${proof.length - k} unused proof items`);
  let bagged = peaks[peaks.length - 1]!;
  for (let i = peaks.length - 2; i >= 0; i--) bagged = merge(bagged, peaks[i]!);
  if (!equalBytes(bagged, want)) return fail('storage_proof_invalid', `MMR proof gives ${toHex(bagged)}, not ${toHex(want)}`);
  return ok({ root: toHex(bagged) });
}

