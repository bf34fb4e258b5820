import { stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a, xxhashAsU8a } from '@polkadot/util-crypto';

/** Storage keys as FRAME derives them: twox128(pallet) ++ twox128(item) ++ hashed map keys. */
export function valueKey(pallet: string, item: string): Uint8Array {
  return u8aConcat(xxhashAsU8a(pallet, 128), xxhashAsU8a(item, 128));
}

export function blake2_128Concat(k: Uint8Array): Uint8Array {
  return u8aConcat(blake2AsU8a(k, 128), k);
}

export function twox64Concat(k: Uint8Array): Uint8Array {
  return u8aConcat(xxhashAsU8a(k, 64), k);
}

export const KEYS = {
  events: u8aToHex(valueKey('System', 'Events')),
  eventCount: u8aToHex(valueKey('System', 'EventCount')),
  number: u8aToHex(valueKey('System', 'Number')),
  parentHash: u8aToHex(valueKey('System', 'ParentHash')),
  lastRuntimeUpgrade: u8aToHex(valueKey('System', 'LastRuntimeUpgrade')),
  grandpaSetId: u8aToHex(valueKey('Grandpa', 'CurrentSetId')),
  /** pallet-timestamp's `Now`: u64 milliseconds, the block's time (what the Substrate deliverer's clock reads) */
  timestampNow: u8aToHex(valueKey('Timestamp', 'Now')),
  code: u8aToHex(stringToU8a(':code')),
  /** sp_consensus_grandpa::GRANDPA_AUTHORITIES_KEY: VersionedAuthorityList (version 1 ++ Vec<(AuthorityId, u64)>) */
  grandpaAuthorities: u8aToHex(stringToU8a(':grandpa_authorities')),
  account: (id: Uint8Array) => u8aToHex(u8aConcat(valueKey('System', 'Account'), blake2_128Concat(id))),
  blockHash: (bytes: Uint8Array) => u8aToHex(u8aConcat(valueKey('System', 'BlockHash'), twox64Concat(bytes))),
  multisig: (account: Uint8Array, callHash: Uint8Array) =>
    u8aToHex(u8aConcat(valueKey('Multisig', 'Multisigs'), twox64Concat(account), blake2_128Concat(callHash))),
};
