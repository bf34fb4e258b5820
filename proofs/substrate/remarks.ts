import type { TypeRegistry } from '@polkadot/types';
import { ScaleError, ScaleReader, asBytes, blake2_256, concatBytes, equalBytes, toHex } from './bytes.ts';
import { fail, ok, type VerifyResult } from '../result.ts';
import type { Hex } from '../../src/domain/hex.ts';

/**
 * What governance pins about a Substrate chain's runtime in its trust root:
 * the metadata (by blake2-256 of the bytes `state_getMetadata` serves) and
 * where `System.Remarked { sender, hash }` sits in it. Only metadata with that
 * hash is ever used to decode events, and only an event at exactly the pinned
 * (pallet, event) index counts as a remark: another pallet's event with the
 * same field shape (AccountId32, H256) is a relabelled event and is refused.
 */
export interface RuntimePins {
  specVersion: number;
  metadataHash: Hex;
  systemPallet: number;
  remarkedEvent: number;
}

/** A metadata checked against its pins, with the registry that decodes events of that runtime. */
export interface SubstrateRuntime {
  pins: RuntimePins;
  registry: TypeRegistry;
}

interface EventRecordView {
  phase: { isApplyExtrinsic: boolean; asApplyExtrinsic: { toNumber(): number } };
  event: { toU8a(): Uint8Array };
}

/** One message the verifier must find: the bytes whose blake2-256 the remark carries, and its signer. */
export interface ExpectedRemark {
  encoded: Hex | Uint8Array;
  /** 32-byte AccountId of the signer (the message's `sender`). */
  sender: Hex | Uint8Array;
}

export interface FoundRemark {
  /** Index of the event in the block's `System::Events`. */
  event: number;
  /** The extrinsic that emitted it (ApplyExtrinsic phase). */
  extrinsic: number;
}

export { LAST_RUNTIME_UPGRADE_KEY, SYSTEM_EVENTS_KEY } from '../../src/domain/substrate-storage.ts';

/**
 * Checks metadata bytes against the pinned hash and that the pinned index
 * names `System.Remarked` with two 32-byte fields in it. Decoding metadata
 * takes hundreds of milliseconds: callers keep the runtime per pin. Async
 * only to load @polkadot/types on first use (hubs without Substrate chains
 * never load it); no I/O.
 */
export async function loadRuntime(metadata: Hex | Uint8Array, pins: RuntimePins): Promise<VerifyResult<{ runtime: SubstrateRuntime }>> {
  const bytes = asBytes(metadata);
  if (!bytes) return fail('proof_malformed', 'metadata is not bytes');
  const want = asBytes(pins.metadataHash, 32);
  if (!want) return fail('expectation_invalid', 'pinned metadata hash is not 32 bytes');
  const got = blake2_256(bytes);
  if (!equalBytes(got, want)) return fail('expectation_invalid', `metadata hashes to ${toHex(got)}, the trust root pins ${toHex(want)}`);
  for (const [k, v] of [['systemPallet', pins.systemPallet], ['remarkedEvent', pins.remarkedEvent]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 255) return fail('expectation_invalid', `pinned ${k} ${v} is not a u8`);
  }
  const { Metadata, TypeRegistry } = await import('@polkadot/types');
  const registry = new TypeRegistry();
  try {
    registry.setMetadata(new Metadata(registry, bytes));
  } catch (e) {
    return fail('proof_malformed', `metadata does not decode: ${(e as Error).message}`);
  }
  let shape: { section: string; method: string; fields: number; size: number };
  try {
    const Data = registry.findMetaEvent(Uint8Array.of(pins.systemPallet, pins.remarkedEvent));
    const d = new Data(registry, new Uint8Array(64));
    shape = { section: d.section, method: d.method, fields: d.meta.fields.length, size: d.encodedLength };
  } catch {
    return fail('expectation_invalid', `the metadata has no event at the pinned index (${pins.systemPallet}, ${pins.remarkedEvent})`);
  }
  // The remark check compares raw data with sender ++ hash: the pinned event must be exactly two 32-byte fields.
  if (shape.section.toLowerCase() !== 'system' || shape.method !== 'Remarked' || shape.fields !== 2 || shape.size !== 64) {
    return fail('expectation_invalid', `the pinned index (${pins.systemPallet}, ${pins.remarkedEvent}) is ${shape.section}.${shape.method} in this metadata, not System.Remarked { sender, hash }`);
  }
  return ok({ runtime: { pins, registry } });
}

/**
 * Finds, in the SCALE `Vec<EventRecord>` of one block (the value of
 * `System::Events`, already proven against the block's state root), a
 * `System.Remarked { sender, hash: blake2_256(encoded) }` at the pinned index
 * for every expected message, emitted while applying an extrinsic. The events
 * are decoded only with the pinned runtime; trailing bytes are refused. Pure.
 */
export function verifyRemarks(runtime: SubstrateRuntime, events: Hex | Uint8Array, expected: readonly ExpectedRemark[]): VerifyResult<{ found: FoundRemark[] }> {
  const bytes = asBytes(events);
  if (!bytes) return fail('proof_malformed', 'events value is not bytes');
  const { systemPallet, remarkedEvent } = runtime.pins;
  type Rec = { index: Uint8Array; data: Uint8Array; extrinsic: number | null };
  const records: Rec[] = [];
  try {
    // The structural view of frame_system::EventRecord this check needs (the augmented types are not loaded).
    const vec = runtime.registry.createType('Vec<EventRecord>', bytes) as unknown as EventRecordView[] & { encodedLength: number };
    if (vec.encodedLength !== bytes.length) return fail('proof_malformed', `events decode to ${vec.encodedLength} of ${bytes.length} bytes`);
    for (const r of vec) {
      const full = r.event.toU8a();
      records.push({ index: full.subarray(0, 2), data: full.subarray(2), extrinsic: r.phase.isApplyExtrinsic ? r.phase.asApplyExtrinsic.toNumber() : null });
    }
  } catch (e) {
    return fail('proof_malformed', `events do not decode with the pinned metadata: ${(e as Error).message}`);
  }
  const found: FoundRemark[] = [];
  for (const [i, m] of expected.entries()) {
    const encoded = asBytes(m.encoded);
    const sender = asBytes(m.sender, 32);
    if (!encoded || !sender) return fail('expectation_invalid', `expected message ${i}: encoded bytes and a 32-byte sender are needed`);
    // Remarked's data is exactly sender ++ hash (AccountId32, H256: fixed-size, no length prefix).
    const want = concatBytes(sender, blake2_256(encoded));
    const at = records.findIndex((r) => r.index[0] === systemPallet && r.index[1] === remarkedEvent && r.extrinsic !== null && equalBytes(r.data, want));
    if (at >= 0) {
      found.push({ event: at, extrinsic: records[at]!.extrinsic! });
      continue;
    }
    const relabelled = records.findIndex((r) => equalBytes(r.data, want));
    if (relabelled >= 0) {
      const r = records[relabelled]!;
      return fail('commitment_absent', `message ${i}: an event with its sender and hash is at index (${r.index[0]}, ${r.index[1]}), not the pinned System.Remarked (${systemPallet}, ${remarkedEvent}): relabelled event refused`);
    }
    return fail('commitment_absent', `message ${i}: no System.Remarked by ${toHex(sender)} with hash ${toHex(want.subarray(32))} in the block's events`);
  }
  return ok({ found });
}

/** `spec_version` of a `System::LastRuntimeUpgrade` value ({spec_version: Compact<u32>, spec_name: String}), or null when it does not decode. */
export function decodeLastRuntimeUpgrade(value: Uint8Array): number | null {
  try {
    const r = new ScaleReader(value);
    const specVersion = r.compact();
    r.bytes();
    r.end();
    return specVersion;
  } catch (e) {
    if (e instanceof ScaleError) return null;
    throw e;
  }
}
