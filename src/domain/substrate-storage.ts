import type { Hex } from './hex.ts';

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
