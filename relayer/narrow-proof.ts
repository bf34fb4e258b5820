import type { SourceProof } from '../src/domain/adapter.ts';
import type { Hex } from '../src/domain/hex.ts';
import { commitmentSlot } from '../proofs/evm/commitments.ts';
import { COMMITMENTS_SLOT } from '../adapters/evm/artifacts.ts';

/**
 * Each message's own evidence out of a proof that covers a whole block's
 * messages. Stored per message in the index, a block-wide proof grows with
 * the block's message count and was written once per message: n² bytes for
 * a busy block. The narrowed proof still verifies on its own (reverify and
 * `qiao proof verify` check one id at a time).
 */
export function narrowSourceProof(proof: SourceProof, ids: readonly Hex[]): Map<Hex, SourceProof> | null {
  if (proof.kind !== 'evm-mpt' || !Array.isArray(proof.storageProofs) || ids.length < 2) return null;
  const byKey = new Map<string, unknown>();
  for (const sp of proof.storageProofs as { key?: unknown }[]) {
    if (typeof sp?.key === 'string') byKey.set(normalizeKey(sp.key), sp);
  }
  const out = new Map<Hex, SourceProof>();
  for (const id of ids) {
    const sp = byKey.get(normalizeKey(commitmentSlot(id, COMMITMENTS_SLOT)));
    // A proof that does not name every id's slot is kept whole (verification passed, so this does not happen for evm-mpt).
    if (!sp) return null;
    out.set(id, { ...proof, storageProofs: [sp] });
  }
  return out;
}

/** Storage keys as 32-byte lowercase hex (nodes differ on leading zeros). */
function normalizeKey(k: string): string {
  return `0x${BigInt(k).toString(16).padStart(64, '0')}`;
}
