import { randomBytes } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { keccak256 } from 'ethers';
import { describe, expect, it } from 'vitest';
import { installFastKeccak, keccakBytes } from '../../src/evm/keccak.ts';

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`;

describe('the installed keccak-256', () => {
  it('gives the same hashes as @noble/hashes, at every length around the 136-byte rate, and the known empty-input hash', async () => {
    await installFastKeccak();
    await installFastKeccak(); // idempotent
    expect(keccak256(new Uint8Array(0))).toBe('0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
    const lengths = [...Array.from({ length: 300 }, (_, i) => i), 407, 543, 544, 545, 4096, 65_536, 1_000_003];
    for (const n of lengths) {
      const data = randomBytes(n);
      const want = hex(keccak_256(data));
      expect(keccak256(data), `length ${n}`).toBe(want);
      expect(hex(keccakBytes(data)), `length ${n}`).toBe(want);
    }
  });

  it('keeps calls apart when they alternate (one hasher serves the process)', async () => {
    await installFastKeccak();
    const a = randomBytes(1000);
    const b = randomBytes(33);
    const got = Array.from({ length: 20 }, (_, i) => keccak256(i % 2 ? a : b));
    for (const [i, h] of got.entries()) expect(h).toBe(hex(keccak_256(i % 2 ? a : b)));
  });
});
