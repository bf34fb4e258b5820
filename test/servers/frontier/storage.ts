import { AbiCoder, keccak256 } from 'ethers';
import { u8aConcat, u8aToHex, hexToU8a } from '@polkadot/util';
import { blake2AsU8a, xxhashAsU8a } from '@polkadot/util-crypto';

/**
 * pallet-evm's `AccountStorages`: StorageDoubleMap<Blake2_128Concat, H160,
 * Blake2_128Concat, H256, H256>. Written out here (not taken from the hub's
 * code) so the model and the verifier derive the key independently.
 */
export const ACCOUNT_STORAGES_PREFIX = u8aToHex(u8aConcat(xxhashAsU8a('EVM', 128), xxhashAsU8a('AccountStorages', 128)));

const blake2_128Concat = (k: Uint8Array) => u8aConcat(blake2AsU8a(k, 128), k);

export function accountStoragesKey(address: string, slot: string): `0x${string}` {
  return u8aToHex(u8aConcat(hexToU8a(ACCOUNT_STORAGES_PREFIX), blake2_128Concat(hexToU8a(address.toLowerCase())), blake2_128Concat(hexToU8a(slot))));
}

/** Solidity's mapping layout: keccak256(abi.encode(key, slot)). */
export function solidityMappingSlot(key: string, slot: bigint): `0x${string}` {
  return keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint256'], [key, slot])) as `0x${string}`;
}

/** QiaoPort's `MessageSent(bytes32 indexed id, bytes32 indexed lane, uint64 nonce, bytes message)` topic. */
export const MESSAGE_SENT_TOPIC = keccak256(new TextEncoder().encode('MessageSent(bytes32,bytes32,uint64,bytes)'));
/** QiaoPort's storage layout (part of its proof format): `commitments` at slot 0, `laneNonce` at slot 1. */
export const COMMITMENTS_SLOT = 0n;
export const LANE_NONCE_SLOT = 1n;
