import fc from 'fast-check';
import { SigningKey, Transaction, Wallet, getBytes } from 'ethers';
import { describe, expect, it } from 'vitest';
import { fastSignable, signRawTx, type RawTxFields } from '../../src/evm/raw-tx.ts';

const hexOf = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');
const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
// Values near the byte boundaries and zero are where minimal RLP integers go wrong.
const edgy = (bits: number) => fc.oneof(uint(bits), fc.constantFrom(0n, 1n, 127n, 128n, 255n, 256n, (1n << BigInt(bits)) - 1n));
const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => {
  const n = BigInt(hexOf(k));
  return n > 0n && n < 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
});
const txArb: fc.Arbitrary<RawTxFields> = fc.record({
  type: fc.constantFrom(0 as const, 2 as const),
  chainId: fc.oneof(fc.bigInt({ min: 1n, max: 1n << 40n }), fc.constantFrom(1n, 31337n, 127n, 128n)),
  nonce: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 }), fc.constantFrom(0, 127, 128, 255, 256)),
  gasLimit: edgy(64),
  gasPrice: edgy(128),
  maxFeePerGas: edgy(128),
  maxPriorityFeePerGas: edgy(128),
  to: fc.option(fc.uint8Array({ minLength: 20, maxLength: 20 }).map(hexOf), { nil: null }),
  value: edgy(256),
  data: fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(new Uint8Array(0), new Uint8Array([0]), new Uint8Array([0x80]), new Uint8Array(56).fill(1))).map(hexOf),
}).map((t) => (t.maxPriorityFeePerGas! > t.maxFeePerGas! ? { ...t, maxFeePerGas: t.maxPriorityFeePerGas, maxPriorityFeePerGas: t.maxFeePerGas } : t));

function viaEthers(tx: RawTxFields, pk: Uint8Array): Transaction {
  const t = Transaction.from({
    type: tx.type,
    chainId: tx.chainId,
    nonce: tx.nonce,
    gasLimit: tx.gasLimit,
    ...(tx.type === 0 ? { gasPrice: tx.gasPrice } : { maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas }),
    to: tx.to,
    value: tx.value,
    data: tx.data,
  });
  t.signature = new SigningKey(pk).sign(t.unsignedHash);
  return t;
}

describe('signRawTx', () => {
  it('gives the bytes, hash and signature ethers gives (legacy EIP-155 and EIP-1559, random fields)', () => {
    fc.assert(
      fc.property(txArb, key, (tx, pk) => {
        const ours = signRawTx(tx, pk);
        const theirs = viaEthers(tx, pk);
        expect(ours.raw).toBe(theirs.serialized);
        expect(ours.hash).toBe(theirs.hash);
        expect(ours.r).toBe(theirs.signature!.r);
        expect(ours.s).toBe(theirs.signature!.s);
        expect(ours.yParity).toBe(theirs.signature!.yParity);
        // ethers parses it back to the signer's address
        expect(Transaction.from(ours.raw).from).toBe(new Wallet(hexOf(pk)).address);
      }),
      { numRuns: 300 },
    );
  });

  it('matches on a 58 KB deliverBatch-sized payload', () => {
    const pk = getBytes('0x' + '11'.repeat(32));
    const tx: RawTxFields = { type: 2, chainId: 31337n, nonce: 7, gasLimit: 9_000_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1n, to: '0x' + 'ab'.repeat(20), value: 0n, data: hexOf(new Uint8Array(58_000).map((_, i) => i * 31)) };
    const theirs = viaEthers(tx, pk);
    expect(signRawTx(tx, pk).raw).toBe(theirs.serialized);
  });

  it('refuses a chain id of 0 (no replay protection) and malformed fields', () => {
    const pk = getBytes('0x' + '11'.repeat(32));
    const base: RawTxFields = { type: 2, chainId: 1n, nonce: 0, gasLimit: 21000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, to: null, value: 0n, data: '0x' };
    expect(() => signRawTx({ ...base, chainId: 0n }, pk)).toThrow(/replay/);
    expect(() => signRawTx({ ...base, data: '0x1' }, pk)).toThrow(/hex/);
    // Not hex anywhere in a long payload (the decoder stops there), no prefix, or a prefix only half there.
    for (const data of [`0x${'ab'.repeat(5000)}zz${'cd'.repeat(10)}`, `0x${'ab'.repeat(100)}g0`, 'abcd', '0X', `0x ${'a'.repeat(3)}`]) {
      expect(() => signRawTx({ ...base, data }, pk)).toThrow(/hex/);
    }
    expect(signRawTx({ ...base, data: '0x' }, pk).raw).toMatch(/^0x02/);
    expect(signRawTx({ ...base, data: '0xABcd' }, pk).raw).toMatch(/^0x02/);
    expect(() => signRawTx({ ...base, to: '0x1234' }, pk)).toThrow(/20-byte/);
    expect(() => signRawTx({ ...base, maxFeePerGas: undefined }, pk)).toThrow(/required/);
    expect(() => signRawTx({ ...base, maxPriorityFeePerGas: 2n }, pk)).toThrow(/exceed/);
  });
});

describe('fastSignable', () => {
  const pop = { type: 2, chainId: 1n, nonce: 3, gasLimit: 21000n, maxFeePerGas: 5n, maxPriorityFeePerGas: 1n, to: '0x' + '01'.repeat(20), data: '0x', value: 0n };
  it('takes populated legacy and EIP-1559 transactions', () => {
    expect(fastSignable(pop)).toMatchObject({ type: 2, nonce: 3, to: pop.to });
    expect(fastSignable({ ...pop, accessList: [] })).not.toBeNull();
    expect(fastSignable({ type: 0, chainId: 1n, nonce: 0, gasLimit: 1n, gasPrice: 2n })).toMatchObject({ type: 0, to: null, value: 0n, data: '0x' });
  });
  it('leaves everything else to ethers', () => {
    expect(fastSignable({ ...pop, type: 1 })).toBeNull();
    expect(fastSignable({ ...pop, type: 4, authorizationList: [{}] })).toBeNull();
    expect(fastSignable({ ...pop, accessList: [{ address: pop.to, storageKeys: [] }] })).toBeNull();
    expect(fastSignable({ ...pop, blobVersionedHashes: ['0x01'] })).toBeNull();
    expect(fastSignable({ ...pop, gasPrice: 1n })).toBeNull();
    expect(fastSignable({ ...pop, nonce: null })).toBeNull();
    expect(fastSignable({ ...pop, maxPriorityFeePerGas: 6n })).toBeNull();
  });
});
