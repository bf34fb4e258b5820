import { readFileSync } from 'node:fs';
import { AbiCoder, keccak256 } from 'ethers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Hex } from '../../src/domain/hex.ts';
import { ValidationError } from '../../src/errors.ts';
import { verifyAccountProof, verifyStorageProof } from '../../proofs/evm/account.ts';
import { commitmentSlot } from '../../proofs/evm/commitments.ts';
import { hashHeader } from '../../proofs/evm/header.ts';
import { fail, ok, PROOF_FAILURES, isProofFailure } from '../../proofs/result.ts';
import { HAVE_VECTORS, vectorPath } from '../helpers/vectors.ts';

interface GetProof {
  address: Hex;
  accountProof: Hex[];
  balance: Hex;
  codeHash: Hex;
  nonce: Hex;
  storageHash: Hex;
  storageProof: { key: Hex; value: Hex; proof: Hex[] }[];
}

describe('proof results', () => {
  it('ok() and fail() build the two sides of VerifyResult, and reasons are a closed set', () => {
    expect(ok({ value: 1n })).toEqual({ ok: true, value: 1n });
    expect(ok()).toEqual({ ok: true });
    expect(fail('account_absent', 'gone')).toEqual({ ok: false, reason: 'account_absent', detail: 'gone' });
    expect(new Set(PROOF_FAILURES).size).toBe(PROOF_FAILURES.length);
    expect(isProofFailure('commitment_absent')).toBe(true);
    expect(isProofFailure('timeout')).toBe(false);
  });
});

describe('commitmentSlot', () => {
  it('is keccak256(abi.encode(bytes32 id, uint256 mappingSlot)), the Solidity mapping layout', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), (idBytes, slot) => {
        const id = `0x${Buffer.from(idBytes).toString('hex')}` as Hex;
        expect(commitmentSlot(id, slot)).toBe(keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint256'], [id, slot])));
      }),
      { numRuns: 100 },
    );
  });

  it('rejects an id that is not 32 bytes and a slot that is not a uint256, naming the field', () => {
    expect(() => commitmentSlot('0x1234', 0n)).toThrow(ValidationError);
    expect(() => commitmentSlot(`0x${'11'.repeat(32)}`, -1n)).toThrow(ValidationError);
    expect(() => commitmentSlot(`0x${'11'.repeat(32)}`, 1n << 256n)).toThrow(expect.objectContaining({ field: 'mappingSlot' }));
  });
});

describe('account and storage proofs: argument checks', () => {
  const root = `0x${'ab'.repeat(32)}` as Hex;
  it('answers proof_malformed for unusable arguments instead of throwing', () => {
    expect(verifyAccountProof('0x12', `0x${'00'.repeat(20)}`, [])).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyAccountProof(root, '0x12', [])).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyAccountProof(root, `0x${'00'.repeat(20)}`, ['0xzz' as Hex])).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyAccountProof(root, `0x${'00'.repeat(20)}`, Array(81).fill('0x80'))).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyAccountProof(root, `0x${'00'.repeat(20)}`, 'nodes' as unknown as Hex[])).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyStorageProof(root, '0x01', [])).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyStorageProof('0x', `0x${'00'.repeat(32)}`, [])).toMatchObject({ ok: false, reason: 'proof_malformed' });
  });

  it('fails an empty proof under a non-empty root', () => {
    expect(verifyAccountProof(root, `0x${'00'.repeat(20)}`, [])).toMatchObject({ ok: false, reason: 'account_proof_invalid' });
    expect(verifyStorageProof(root, `0x${'00'.repeat(32)}`, [])).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
  });
});

describe.skipIf(!HAVE_VECTORS)('account and storage proofs of upstream mainnet/Ropsten vectors (read in place from shared/vectors)', () => {
  const read = <T>(...p: string[]) => JSON.parse(readFileSync(vectorPath('ethereum', ...p), 'utf8')) as T;
  const helios = (f: string) => read<GetProof>('helios', 'execution-rpc-mainnet-21925176', f);
  const ropsten = (f: string) => read<GetProof>('ethereumjs', 'statemanager-ropsten-getProof', f);
  /** Ropsten vectors carry no header; SOURCES.md records their common state root. */
  const ROPSTEN_ROOT = '0xd487ffaf2f2838d69417f81c9d2bfca5d2e0d024ddda433bba9b8f2099eb96e5' as Hex;

  function checkAccount(stateRoot: Hex, p: GetProof) {
    const r = verifyAccountProof(stateRoot, p.address, p.accountProof);
    if (!r.ok) throw new Error(r.detail);
    expect(r.account).toEqual({ nonce: BigInt(p.nonce), balance: BigInt(p.balance), storageRoot: p.storageHash, codeHash: p.codeHash });
    for (const sp of p.storageProof) {
      expect(verifyStorageProof(p.storageHash, sp.key, sp.proof)).toEqual({ ok: true, value: BigInt(sp.value) });
    }
  }

  it('helios: the beacon deposit contract and the fee recipient at mainnet block 21925176, under the hashed header', () => {
    const block = read<Record<string, unknown>>('helios', 'execution-rpc-mainnet-21925176', 'block.json');
    const header = hashHeader(block);
    if (!header.ok) throw new Error(header.detail);
    expect(header.hash).toBe(block.hash);
    const deposit = helios('proof.json');
    expect(deposit.storageProof).toHaveLength(1);
    checkAccount(header.header.stateRoot, deposit);
    checkAccount(header.header.stateRoot, helios('block_miner_proof.json'));
  });

  it('Ropsten: a contract with a set and an unset slot, an EOA, and a proven-absent account', () => {
    const contract = ropsten('ropsten_contractWithStorage.json');
    checkAccount(ROPSTEN_ROOT, contract);
    expect(contract.storageProof.map((s) => BigInt(s.value))).toEqual([0x1e4ebdd7n, 0n]);
    checkAccount(ROPSTEN_ROOT, ropsten('ropsten_validAccount.json'));
    const absent = ropsten('ropsten_nonexistentAccount.json');
    expect(verifyAccountProof(ROPSTEN_ROOT, absent.address, absent.accountProof)).toEqual({ ok: true, account: null });
  });

  it('rejects the vectors once tampered: a node byte, a dropped node, another root, another key', () => {
    const p = helios('proof.json');
    const block = read<{ stateRoot: Hex }>('helios', 'execution-rpc-mainnet-21925176', 'block.json');
    const sp = p.storageProof[0]!;
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (node, byte, xor) => {
        const flip = (nodes: Hex[]) => {
          const i = node % nodes.length;
          const b = Buffer.from(nodes[i]!.slice(2), 'hex');
          b[byte % b.length] = b[byte % b.length]! ^ xor;
          return nodes.map((n, j) => (j === i ? (`0x${b.toString('hex')}` as Hex) : n));
        };
        expect(verifyAccountProof(block.stateRoot, p.address, flip(p.accountProof))).toMatchObject({ ok: false, reason: 'account_proof_invalid' });
        expect(verifyStorageProof(p.storageHash, sp.key, flip(sp.proof))).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
        const drop = (nodes: Hex[]) => nodes.filter((_, j) => j !== node % nodes.length);
        expect(verifyAccountProof(block.stateRoot, p.address, drop(p.accountProof))).toMatchObject({ ok: false, reason: 'account_proof_invalid' });
        expect(verifyStorageProof(p.storageHash, sp.key, drop(sp.proof))).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
      }),
      { numRuns: 50 },
    );
    expect(verifyAccountProof(ROPSTEN_ROOT, p.address, p.accountProof)).toMatchObject({ ok: false, reason: 'account_proof_invalid' });
    expect(verifyStorageProof(block.stateRoot, sp.key, sp.proof)).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
    const otherSlot = `0x${'00'.repeat(31)}02` as Hex;
    const r = verifyStorageProof(p.storageHash, otherSlot, sp.proof);
    // The deposit contract's slot 2 is set on mainnet, so its path needs nodes this proof lacks.
    expect(r).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
  });
});

if (!HAVE_VECTORS) console.warn('[qiao] NOTICE: shared/vectors/ethereum not found: the account-proof vector tests are skipped.');
