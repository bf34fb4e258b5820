import type { Hex } from './hex.ts';
import { xxhashAsU8a } from '@polkadot/util-crypto';
import { ValidationError } from '../errors.ts';

/*
 * Substrate storage keys both sides name: the adapter asks nodes for read
 * proofs of them, the verifier (proofs/substrate) checks those proofs. Kept in
 * the domain so adapters need nothing from proofs/ (DESIGN.md: dependencies
 * flow one way). Constants rather than computed: a unit test recomputes them
 * with twox128.
 */

/** twox128("System") ++ twox128("Events"): the block's `Vec<EventRecord>`. */
export const SYSTEM_EVENTS_KEY: Hex = '0x26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7';
/** twox128("System") ++ twox128("LastRuntimeUpgrade"): `LastRuntimeUpgradeInfo { spec_version: Compact<u32>, spec_name }`. */
export const LAST_RUNTIME_UPGRADE_KEY: Hex = '0x26aa394eea5630e07c48ae0c9558cef7f9cce9c888469bb1a0dceaa129672ef8';
/** twox128("Paras") ++ twox128("Heads"): the relay chain's `Paras::Heads` map (Twox64Concat(ParaId) -> HeadData). */
export const PARAS_HEADS_PREFIX: Hex = '0xcd710b30bd2eab0352ddcc26417aa1941b3c252fcb29d88eff4f3de5de4476c3';

/** The relay-chain key of `Paras::Heads(paraId)`: the prefix ++ twox64(paraId as u32 LE) ++ the u32 LE itself. */
export function parasHeadsKey(paraId: number): Hex {
  if (!Number.isInteger(paraId) || paraId < 0 || paraId > 0xffffffff) throw new ValidationError('paraId', `${paraId} is not a u32`);
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, paraId, true);
  return `${PARAS_HEADS_PREFIX}${Buffer.from(xxhashAsU8a(id, 64)).toString('hex')}${Buffer.from(id).toString('hex')}` as Hex;
}
/** twox128("Timestamp") ++ twox128("Now"): pallet-timestamp's u64 milliseconds, the clock Substrate message timeouts run on. */
export const TIMESTAMP_NOW_KEY: Hex = '0xf0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb';
