import fc from 'fast-check';
import { AbiCoder, keccak256 } from 'ethers';
import { describe, expect, it } from 'vitest';
import { mappingSlot } from '../../adapters/evm/slots.ts';
import type { Hex } from '../../src/domain/hex.ts';

const coder = AbiCoder.defaultAbiCoder();
const reference = (key: Hex, slot: bigint) => keccak256(coder.encode(['bytes32', 'uint256'], [key, slot]));

describe('mappingSlot (adapters/evm/slots.ts)', () => {
  it('is keccak256(abi.encode(bytes32 key, uint256 slot)) for any key and slot', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), (k, slot) => {
        const key = `0x${Buffer.from(k).toString('hex')}` as Hex;
        expect(mappingSlot(key, slot)).toBe(reference(key, slot));
        // Upper-case hex is the same key.
        expect(mappingSlot(key.toUpperCase().replace('0X', '0x') as Hex, slot)).toBe(reference(key, slot));
      }),
      { numRuns: 300 },
    );
    // The port's commitments mapping (slot 0 and 1 are the usual declarations).
    const id = `0x${'ab'.repeat(32)}` as Hex;
    expect(mappingSlot(id, 0n)).toBe(reference(id, 0n));
    expect(mappingSlot(id, 1n)).toBe(reference(id, 1n));
  });

  it('refuses what is not a bytes32 key or a uint256 slot', () => {
    expect(() => mappingSlot('0x1234' as Hex, 0n)).toThrow(expect.objectContaining({ field: 'key' }));
    expect(() => mappingSlot(`0x${'zz'.repeat(32)}` as Hex, 0n)).toThrow(expect.objectContaining({ field: 'key' }));
    expect(() => mappingSlot(`0x${'11'.repeat(32)}` as Hex, -1n)).toThrow(expect.objectContaining({ field: 'slot' }));
    expect(() => mappingSlot(`0x${'11'.repeat(32)}` as Hex, 1n << 256n)).toThrow(expect.objectContaining({ field: 'slot' }));
    expect(() => mappingSlot(`0x${'11'.repeat(32)}` as Hex, 1 as never)).toThrow(expect.objectContaining({ field: 'slot' }));
  });
});
