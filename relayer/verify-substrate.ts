import { SubstrateRemarksProofSchema } from '../adapters/substrate/proof.ts';
import { ScaleError } from '../proofs/substrate/bytes.ts';
import { decodeHeader, verifyReadProof, type SubstrateHeader } from '../proofs/substrate/index.ts';
import { LAST_RUNTIME_UPGRADE_KEY, SYSTEM_EVENTS_KEY, decodeLastRuntimeUpgrade, verifyRemarks, type SubstrateRuntime } from '../proofs/substrate/remarks.ts';
import type { Hex } from '../src/domain/hex.ts';
import { decodeMessage, messageId, type QiaoMessage } from '../src/domain/message.ts';
import { QiaoError } from '../src/errors.ts';

export type SubstrateVerdict = { ok: true } | { ok: false; reason: string; detail: string };

/**
 * The verify step of a Substrate source (pure): the served header must be the
 * block the GRANDPA light client trusts (hash and state root); the read proof
 * must prove `System::Events` and `System::LastRuntimeUpgrade` against that
 * state root; the runtime that ran the block must be the pinned spec version;
 * every id must be the keccak of a served message of this chain and port, and
 * the block's events (decoded with the pinned metadata only) must hold a
 * `System.Remarked { sender: message.sender, hash: blake2_256(message) }` at
 * the pinned index for it.
 */
export function verifySubstrateRemarks(
  proof: unknown,
  expect: { chainId: string; port: Hex; height: bigint; ids: readonly Hex[]; anchor: { hash: Hex; stateRoot: Hex }; runtime: SubstrateRuntime },
): SubstrateVerdict {
  const p = SubstrateRemarksProofSchema.safeParse(proof);
  if (!p.success) return { ok: false, reason: 'proof_malformed', detail: `${p.error.issues[0]!.path.join('.')}: ${p.error.issues[0]!.message}` };
  const pr = p.data;
  if (BigInt(pr.height) !== expect.height) return { ok: false, reason: 'height_mismatch', detail: `proof is for #${pr.height}, expected #${expect.height}` };
  let header: SubstrateHeader;
  try {
    header = decodeHeader(Buffer.from(pr.header.slice(2), 'hex'));
  } catch (e) {
    if (e instanceof ScaleError) return { ok: false, reason: 'header_malformed', detail: e.message };
    throw e;
  }
  if (header.hash !== expect.anchor.hash.toLowerCase()) return { ok: false, reason: 'untrusted_header', detail: `header hashes to ${header.hash}, the light client trusts ${expect.anchor.hash}` };
  if (BigInt(header.number) !== expect.height) return { ok: false, reason: 'height_mismatch', detail: `header is #${header.number}` };
  if (header.stateRoot !== expect.anchor.stateRoot.toLowerCase()) return { ok: false, reason: 'untrusted_header', detail: 'header state root differs from the trusted one' };
  const read = verifyReadProof(header.stateRoot, pr.readProof as Hex[], [SYSTEM_EVENTS_KEY, LAST_RUNTIME_UPGRADE_KEY], 'v1');
  if (!read.ok) return read;
  const [events, upgrade] = read.values;
  const spec = upgrade ? decodeLastRuntimeUpgrade(upgrade) : null;
  if (spec === null) return { ok: false, reason: 'storage_proof_invalid', detail: 'System::LastRuntimeUpgrade is absent or does not decode at this block' };
  if (spec !== expect.runtime.pins.specVersion) {
    return { ok: false, reason: 'runtime_not_approved', detail: `block #${header.number} ran spec_version ${spec}; the trust root pins ${expect.runtime.pins.specVersion}` };
  }
  if (!events) return { ok: false, reason: 'commitment_absent', detail: `System::Events is proven empty at #${header.number}` };
  const byId = new Map<string, { encoded: Hex; message: QiaoMessage }>();
  for (const [i, encoded] of pr.messages.entries()) {
    try {
      byId.set(messageId(encoded as Hex), { encoded: encoded as Hex, message: decodeMessage(encoded as Hex, `messages.${i}`) });
    } catch (e) {
      if (e instanceof QiaoError) return { ok: false, reason: 'proof_malformed', detail: e.message };
      throw e;
    }
  }
  const wanted = [];
  for (const id of expect.ids) {
    const m = byId.get(id.toLowerCase());
    if (!m) return { ok: false, reason: 'missing_slot', detail: `the proof serves no message with id ${id}` };
    if (m.message.srcChain !== expect.chainId || m.message.srcPort.toLowerCase() !== expect.port.toLowerCase()) {
      return { ok: false, reason: 'wrong_address', detail: `message ${id} names ${m.message.srcChain} port ${m.message.srcPort}, not this chain's port` };
    }
    wanted.push({ encoded: m.encoded, sender: m.message.sender });
  }
  const r = verifyRemarks(expect.runtime, events, wanted);
  return r.ok ? { ok: true } : r;
}
