import { AbiCoder, keccak256 } from 'ethers';
import type { Hex } from '../../src/domain/hex.ts';

const coder = AbiCoder.defaultAbiCoder();

/** Solidity mapping layout: keccak256(abi.encode(key, slot)). */
export function mappingSlot(key: Hex, slot: bigint): Hex {
  return keccak256(coder.encode(['bytes32', 'uint256'], [key, slot])) as Hex;
}
