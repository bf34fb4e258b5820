import { FrontierStorageProofSchema, accountStoragesKey, commitmentStorageSlot } from '../adapters/evm/frontier.ts';
import { verifyReadProof } from '../proofs/substrate/index.ts';
import type { Hex } from '../src/domain/hex.ts';

export type FrontierVerdict = { ok: true } | { ok: false; reason: string; detail: string };

/**
 * The verify step of a Frontier source (pure): the proof must be of the block
 * the GRANDPA light client trusts at the height, and its read proof must show,
 * against that block's state root, `EVM::AccountStorages(port,
 * commitments-slot(id))` holding the height itself for every id — QiaoPort
 * stores `commitments[id] = block.number` when it sends, and pallet-ethereum
 * makes eth block n in Substrate block n, so a commitment made in another
 * block, or none, is refused.
 */
export function verifyFrontierCommitments(proof: unknown, expect: { port: Hex; height: bigint; ids: readonly Hex[]; anchor: { hash: Hex; stateRoot: Hex } }): FrontierVerdict {
  const p = FrontierStorageProofSchema.safeParse(proof);
  if (!p.success) return { ok: false, reason: 'proof_malformed', detail: `${p.error.issues[0]!.path.join('.')}: ${p.error.issues[0]!.message}` };
  const pr = p.data;
  if (BigInt(pr.height) !== expect.height) return { ok: false, reason: 'height_mismatch', detail: `proof is for #${pr.height}, expected #${expect.height}` };
  if (pr.blockHash.toLowerCase() !== expect.anchor.hash.toLowerCase()) return { ok: false, reason: 'untrusted_header', detail: `proof is at block ${pr.blockHash}, the light client trusts ${expect.anchor.hash} at #${expect.height}` };
  if (pr.address.toLowerCase() !== expect.port.toLowerCase()) return { ok: false, reason: 'wrong_address', detail: `proof is for ${pr.address}, expected port ${expect.port}` };
  if (expect.ids.length === 0) return { ok: false, reason: 'expectation_invalid', detail: 'no ids to verify' };
  const keys = expect.ids.map((id) => accountStoragesKey(expect.port, commitmentStorageSlot(id)));
  // The keys come from the expectation, never from the proof: an endpoint cannot swap in another slot.
  const read = verifyReadProof(expect.anchor.stateRoot, pr.readProof as Hex[], keys, 'v1');
  if (!read.ok) return read;
  for (const [i, id] of expect.ids.entries()) {
    const v = read.values[i];
    if (!v) return { ok: false, reason: 'commitment_absent', detail: `commitments[${id}] is proven absent at #${expect.height}` };
    // pallet-evm stores the H256 as its raw 32 bytes (SCALE of [u8; 32]).
    if (v.length !== 32) return { ok: false, reason: 'storage_proof_invalid', detail: `commitments[${id}] holds ${v.length} bytes, an H256 is 32` };
    const value = BigInt(`0x${Buffer.from(v).toString('hex')}`);
    if (value === 0n) return { ok: false, reason: 'commitment_absent', detail: `commitments[${id}] is zero at #${expect.height}` };
    if (value !== expect.height) return { ok: false, reason: 'height_mismatch', detail: `commitments[${id}] was written in block #${value}, not #${expect.height}` };
  }
  return { ok: true };
}
