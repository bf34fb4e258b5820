import { resolve } from 'node:path';
import { verifyMerkleProof } from '@ethereumjs/mpt';
import { ContractFactory, JsonRpcProvider, Wallet, getBytes, hexlify, keccak256, toBeHex, toQuantity, type Contract } from 'ethers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../src/domain/hex.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { compileSolidity } from '../../src/governance/solc.ts';
import { verifyAccountProof, verifyStorageProof } from '../../proofs/evm/account.ts';
import { EMPTY_TRIE_ROOT } from '../../proofs/evm/bytes.ts';
import { commitmentSlot, verifyEvmCommitments, type EvmCommitmentExpectation, type EvmCommitmentProof } from '../../proofs/evm/commitments.ts';
import { evmHeaderHash, hashHeader, parseEvmHeader } from '../../proofs/evm/header.ts';
import { ProofNodeCache } from '../../proofs/evm/nodes.ts';
import { PROOF_FAILURES, type VerifyResult } from '../../proofs/result.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/ProofTarget.sol');
const MAX_UINT = (1n << 256n) - 1n;
const id = (label: string): Hex => keccak256(new TextEncoder().encode(label)) as Hex;
const [A, B, C, D, E, NEVER] = ['a', 'b', 'c', 'd', 'e', 'never-set'].map(id) as [Hex, Hex, Hex, Hex, Hex, Hex];
const slotOf = (x: Hex) => commitmentSlot(x, 0n);

interface Heights {
  deployed: bigint;
  setA: bigint;
  setBCD: bigint;
  setE: bigint;
  clearedA: bigint;
}

let anvil: AnvilProcess;
let provider: JsonRpcProvider;
let port: Hex;
let heights: Heights;
let devAddress: Hex;

async function send<T>(method: string, params: unknown[]): Promise<T> {
  return (await provider.send(method, params)) as T;
}

async function fetchProof(height: bigint, slots: Hex[], address: Hex = port): Promise<EvmCommitmentProof> {
  const block = await send<Record<string, unknown> & { hash: Hex }>('eth_getBlockByNumber', [toQuantity(height), false]);
  const gp = await send<{ address: Hex; accountProof: Hex[]; storageProof: { key: Hex; value: Hex; proof: Hex[] }[] }>('eth_getProof', [address, slots, toQuantity(height)]);
  return {
    kind: 'evm-mpt',
    height: height.toString(),
    blockHash: block.hash,
    header: block,
    address: gp.address,
    accountProof: gp.accountProof,
    storageProofs: gp.storageProof.map(({ key, value, proof }) => ({ key, value, proof })),
  };
}

function expectationFor(p: EvmCommitmentProof, slots: Hex[]): EvmCommitmentExpectation {
  return { port, height: BigInt(p.height), trustedBlockHash: p.blockHash, slots };
}

function reasonOf(r: VerifyResult): string {
  return r.ok ? 'ok' : r.reason;
}

const clone = <T>(v: T): T => structuredClone(v);

/** Flips bits of one byte of a hex string (`xor` in 1..255, so the byte always changes). */
function flipByte(hex: Hex, index: number, xor: number): Hex {
  const b = getBytes(hex);
  const i = index % b.length;
  b[i] = b[i]! ^ xor;
  return hexlify(b) as Hex;
}

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 31_411 });
  provider = new JsonRpcProvider(anvil.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  provider.pollingInterval = 50;
  const { ProofTarget } = await compileSolidity([FIXTURE]);
  const wallet = new Wallet(ANVIL_DEV_KEY, provider);
  devAddress = wallet.address.toLowerCase() as Hex;
  const factory = new ContractFactory(ProofTarget!.abi as never, ProofTarget!.bytecode, wallet);
  const deployed = await factory.deploy();
  const deployReceipt = await deployed.deploymentTransaction()!.wait();
  const target = deployed as unknown as Contract;
  port = (await target.getAddress()).toLowerCase() as Hex;
  const mined = async (tx: Promise<{ wait(): Promise<{ blockNumber: number } | null> }>) => BigInt((await (await tx).wait())!.blockNumber);
  heights = {
    deployed: BigInt(deployReceipt!.blockNumber),
    setA: await mined(target.getFunction('set')(A, 1n)),
    setBCD: await mined(target.getFunction('setMany')([B, C, D], 7n)),
    setE: await mined(target.getFunction('set')(E, MAX_UINT)),
    clearedA: await mined(target.getFunction('clear')(A)),
  };
});

afterAll(async () => {
  provider?.destroy();
  await anvil?.stop();
});

describe('EVM commitment proofs against a real anvil', () => {
  it('mined the writes in separate blocks after genesis', () => {
    expect(heights.deployed).toBeGreaterThanOrEqual(1n);
    expect(heights.setA).toBeGreaterThan(heights.deployed);
    expect(heights.setBCD).toBeGreaterThan(heights.setA);
    expect(heights.setE).toBeGreaterThan(heights.setBCD);
    expect(heights.clearedA).toBeGreaterThan(heights.setE);
  });

  it('header hashes equal anvil block hashes, and anvil headers carry the Prague fields', async () => {
    for (let h = 1n; h <= heights.clearedA; h++) {
      const block = await send<Record<string, unknown>>('eth_getBlockByNumber', [toQuantity(h), false]);
      const r = hashHeader(block);
      if (!r.ok) throw new Error(r.detail);
      expect(r.hash).toBe(block.hash);
      expect(r.header.fork).toBe('prague');
      expect(r.header.number).toBe(h);
      expect(evmHeaderHash(r.header)).toBe(block.hash);
    }
  });

  it('verifies commitments written across several blocks, returning the proven values', async () => {
    const slots = [A, B, C, D, E].map(slotOf);
    const p = await fetchProof(heights.setE, slots);
    const r = verifyEvmCommitments(p, expectationFor(p, slots));
    if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
    expect(r.values).toEqual([1n, 7n, 7n, 7n, MAX_UINT]);
    expect(r.stateRoot).toBe((p.header.stateRoot as string).toLowerCase());

    const early = await fetchProof(heights.setA, [slotOf(A)]);
    expect(verifyEvmCommitments(early, expectationFor(early, [slotOf(A)]))).toMatchObject({ ok: true, values: [1n] });
  });

  it('proves the absence of unset, not-yet-set and cleared slots (commitment_absent)', async () => {
    const never = await fetchProof(heights.setE, [slotOf(NEVER)]);
    const acc = verifyAccountProof(never.header.stateRoot as Hex, port, never.accountProof);
    if (!acc.ok || !acc.account) throw new Error('port account must be proven');
    expect(verifyStorageProof(acc.account.storageRoot, slotOf(NEVER), never.storageProofs[0]!.proof)).toEqual({ ok: true, value: 0n });
    expect(reasonOf(verifyEvmCommitments(never, expectationFor(never, [slotOf(NEVER)])))).toBe('commitment_absent');

    const notYet = await fetchProof(heights.setA, [slotOf(B)]);
    expect(reasonOf(verifyEvmCommitments(notYet, expectationFor(notYet, [slotOf(B)])))).toBe('commitment_absent');

    const cleared = await fetchProof(heights.clearedA, [slotOf(A), slotOf(B)]);
    expect(reasonOf(verifyEvmCommitments(cleared, expectationFor(cleared, [slotOf(B)])))).toBe('ok');
    expect(reasonOf(verifyEvmCommitments(cleared, expectationFor(cleared, [slotOf(A)])))).toBe('commitment_absent');
  });

  it('proves an account that never existed absent (account_absent), and an EOA has an empty storage trie', async () => {
    const nobody = '0x00000000000000000000000000000000deadbeef' as Hex;
    const p = await fetchProof(heights.setE, [slotOf(A)], nobody);
    expect(verifyAccountProof(p.header.stateRoot as Hex, nobody, p.accountProof)).toEqual({ ok: true, account: null });
    const r = verifyEvmCommitments(p, { ...expectationFor(p, [slotOf(A)]), port: nobody });
    expect(reasonOf(r)).toBe('account_absent');

    const eoa = await fetchProof(heights.setE, [slotOf(A)], devAddress);
    const acc = verifyAccountProof(eoa.header.stateRoot as Hex, devAddress, eoa.accountProof);
    if (!acc.ok || !acc.account) throw new Error('dev account must be proven');
    expect(acc.account.storageRoot).toBe(EMPTY_TRIE_ROOT);
    expect(acc.account.nonce).toBeGreaterThan(0n);
    expect(verifyStorageProof(acc.account.storageRoot, slotOf(A), eoa.storageProofs[0]!.proof)).toEqual({ ok: true, value: 0n });
    expect(verifyStorageProof(EMPTY_TRIE_ROOT, slotOf(A), [])).toEqual({ ok: true, value: 0n });
    expect(verifyStorageProof(EMPTY_TRIE_ROOT, slotOf(A), ['0x80'])).toEqual({ ok: true, value: 0n });
  });

  it('gives the same values as @ethereumjs/mpt on the same anvil proofs', async () => {
    const slots = [A, B, E, NEVER].map(slotOf);
    const p = await fetchProof(heights.setE, slots);
    const stateRoot = getBytes(p.header.stateRoot as string);
    const accountRlp = await verifyMerkleProof(getBytes(port), p.accountProof.map((n) => getBytes(n)), { root: stateRoot, useKeyHashing: true });
    const acc = verifyAccountProof(p.header.stateRoot as Hex, port, p.accountProof);
    if (!acc.ok || !acc.account) throw new Error('port account must be proven');
    expect(accountRlp).not.toBeNull();
    for (const sp of p.storageProofs) {
      const lib = await verifyMerkleProof(getBytes(sp.key), sp.proof.map((n) => getBytes(n)), { root: getBytes(acc.account.storageRoot), useKeyHashing: true });
      const ours = verifyStorageProof(acc.account.storageRoot, sp.key, sp.proof);
      if (!ours.ok) throw new Error(ours.detail);
      // The library returns the RLP of the value: 0x80 + word, or a single byte below 0x80.
      const libValue = lib === null ? 0n : BigInt(hexlify(lib.length === 1 ? lib : lib.subarray(1)));
      expect(ours.value).toBe(libValue);
      expect(ours.value).toBe(BigInt(sp.value));
    }
  });

  describe('every mutation is rejected with its reason', () => {
    const slots = [A, B, E].map(slotOf);
    let good: EvmCommitmentProof;
    let want: EvmCommitmentExpectation;
    const runs = { numRuns: 60 };

    beforeAll(async () => {
      good = await fetchProof(heights.setE, slots);
      want = expectationFor(good, slots);
      expect(verifyEvmCommitments(good, want).ok).toBe(true);
    });

    it('one byte of one account-proof node → account_proof_invalid', () => {
      fc.assert(
        fc.property(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (node, byte, xor) => {
          const p = clone(good);
          const i = node % p.accountProof.length;
          p.accountProof[i] = flipByte(p.accountProof[i]!, byte, xor);
          expect(reasonOf(verifyEvmCommitments(p, want))).toBe('account_proof_invalid');
        }),
        runs,
      );
    });

    it('one byte of one storage-proof node → storage_proof_invalid', () => {
      fc.assert(
        fc.property(fc.nat(), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, node, byte, xor) => {
          const p = clone(good);
          const sp = p.storageProofs[which % p.storageProofs.length]!;
          const i = node % sp.proof.length;
          sp.proof[i] = flipByte(sp.proof[i]!, byte, xor);
          expect(reasonOf(verifyEvmCommitments(p, want))).toBe('storage_proof_invalid');
        }),
        runs,
      );
    });

    it('a dropped node → account_proof_invalid / storage_proof_invalid', () => {
      fc.assert(
        fc.property(fc.nat(), fc.nat(), (which, node) => {
          const p = clone(good);
          p.accountProof.splice(node % p.accountProof.length, 1);
          expect(reasonOf(verifyEvmCommitments(p, want))).toBe('account_proof_invalid');
          const q = clone(good);
          const sp = q.storageProofs[which % q.storageProofs.length]!;
          sp.proof.splice(node % sp.proof.length, 1);
          expect(reasonOf(verifyEvmCommitments(q, want))).toBe('storage_proof_invalid');
        }),
        runs,
      );
    });

    it("a node missing from a slot's proof is not found in the nodes other proofs shared with it (ProofNodeCache)", () => {
      const acc = verifyAccountProof(good.header.stateRoot as Hex, port, good.accountProof);
      if (!acc.ok || !acc.account) throw new Error('the account proof must verify');
      const { storageRoot } = acc.account;
      for (const sp of good.storageProofs) {
        const cache = new ProofNodeCache();
        // The whole proof first: every node of this path is now parsed and hashed in the cache.
        expect(verifyStorageProof(storageRoot, sp.key, sp.proof, cache)).toMatchObject({ ok: true });
        for (let i = 1; i < sp.proof.length; i++) {
          const without = sp.proof.filter((_, j) => j !== i);
          expect(reasonOf(verifyStorageProof(storageRoot, sp.key, without, cache)), `node ${i} of ${sp.proof.length}`).toBe('storage_proof_invalid');
        }
      }
    });

    it('another storageRoot → storage_proof_invalid; a forged storageRoot in the account leaf → account_proof_invalid', () => {
      const acc = verifyAccountProof(good.header.stateRoot as Hex, port, good.accountProof);
      if (!acc.ok || !acc.account) throw new Error('port account must be proven');
      const realRoot = acc.account.storageRoot;
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(), (root, which) => {
          const forged = hexlify(root) as Hex;
          fc.pre(forged !== realRoot);
          const sp = good.storageProofs[which % good.storageProofs.length]!;
          expect(reasonOf(verifyStorageProof(forged, sp.key, sp.proof))).toBe('storage_proof_invalid');
          // Splice the forged root into the leaf where the real one sits: the leaf no longer hashes to its parent's reference.
          const p = clone(good);
          const last = p.accountProof.length - 1;
          p.accountProof[last] = p.accountProof[last]!.replace(realRoot.slice(2), forged.slice(2)) as Hex;
          expect(p.accountProof[last]).not.toBe(good.accountProof[last]);
          expect(reasonOf(verifyEvmCommitments(p, want))).toBe('account_proof_invalid');
        }),
        runs,
      );
    });

    it("the header's stateRoot → header_hash_mismatch, then untrusted_header, then account_proof_invalid", () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (root) => {
          const forged = hexlify(root);
          fc.pre(forged !== (good.header.stateRoot as string).toLowerCase());
          const p = clone(good);
          p.header.stateRoot = forged;
          expect(reasonOf(verifyEvmCommitments(p, want))).toBe('header_hash_mismatch');
          // An endpoint that also rewrites the hashes still meets the trusted hash…
          const rehashed = hashHeader({ ...p.header, hash: undefined });
          if (!rehashed.ok) throw new Error(rehashed.detail);
          p.blockHash = rehashed.hash;
          p.header.hash = rehashed.hash;
          expect(reasonOf(verifyEvmCommitments(p, want))).toBe('untrusted_header');
          // …and even a light client fooled into trusting it gets no account out of the real nodes.
          expect(reasonOf(verifyEvmCommitments(p, { ...want, trustedBlockHash: rehashed.hash }))).toBe('account_proof_invalid');
        }),
        runs,
      );
    });

    it('the height → height_mismatch (or header_hash_mismatch when the header number is edited)', async () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (h) => {
          fc.pre(h !== want.height);
          const p = clone(good);
          p.height = h.toString();
          expect(reasonOf(verifyEvmCommitments(p, want))).toBe('height_mismatch');
          expect(reasonOf(verifyEvmCommitments(good, { ...want, height: h }))).toBe('height_mismatch');
          const q = clone(good);
          q.header.number = toQuantity(h);
          expect(reasonOf(verifyEvmCommitments(q, want))).toBe('header_hash_mismatch');
        }),
        runs,
      );
      // A genuine block of another height, trusted by mistake under the expected height.
      const other = await fetchProof(heights.setBCD, slots);
      expect(reasonOf(verifyEvmCommitments({ ...other, height: want.height.toString() }, { ...want, trustedBlockHash: other.blockHash }))).toBe('height_mismatch');
    });

    it('the address → wrong_address; another account presented as the port → account_proof_invalid', async () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (addr) => {
          const other = hexlify(addr) as Hex;
          fc.pre(other !== port);
          expect(reasonOf(verifyEvmCommitments({ ...clone(good), address: other }, want))).toBe('wrong_address');
        }),
        runs,
      );
      const eoa = await fetchProof(heights.setE, slots, devAddress);
      expect(reasonOf(verifyEvmCommitments({ ...eoa, address: port }, want))).toBe('account_proof_invalid');
      expect(reasonOf(verifyEvmCommitments({ ...good, address: devAddress }, { ...want, port: devAddress }))).toBe('account_proof_invalid');
    });

    it('a wrong trusted hash → untrusted_header', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (h) => {
          const trusted = hexlify(h) as Hex;
          fc.pre(trusted !== good.blockHash.toLowerCase());
          expect(reasonOf(verifyEvmCommitments(good, { ...want, trustedBlockHash: trusted }))).toBe('untrusted_header');
        }),
        runs,
      );
    });

    it('a claimed value that differs from the proven one → storage_value_mismatch', () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: MAX_UINT }), fc.nat(), (v, which) => {
          const p = clone(good);
          const sp = p.storageProofs[which % p.storageProofs.length]!;
          fc.pre(v !== BigInt(sp.value));
          sp.value = toBeHex(v) as Hex;
          expect(reasonOf(verifyEvmCommitments(p, want))).toBe('storage_value_mismatch');
        }),
        runs,
      );
    });

    it('one hex digit changed anywhere that the proof commits to is never accepted', () => {
      const committed = (p: EvmCommitmentProof): [object, string][] => {
        const out: [object, string][] = [[p, 'blockHash'], [p, 'address']];
        const parsed = parseEvmHeader(p.header);
        if (!parsed.ok) throw new Error(parsed.detail);
        for (const k of Object.keys(parsed.header)) if (k !== 'fork') out.push([p.header, k]);
        p.accountProof.forEach((_, i) => out.push([p.accountProof, String(i)]));
        for (const sp of p.storageProofs) {
          out.push([sp, 'key']);
          sp.proof.forEach((_, i) => out.push([sp.proof, String(i)]));
        }
        return out;
      };
      fc.assert(
        fc.property(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 15 }), (field, digit, xor) => {
          const p = clone(good);
          const targets = committed(p);
          const [obj, key] = targets[field % targets.length]!;
          const rec = obj as Record<string, string>;
          const s = rec[key]!;
          const at = 2 + (digit % (s.length - 2));
          rec[key] = s.slice(0, at) + (parseInt(s[at]!, 16) ^ xor).toString(16) + s.slice(at + 1);
          const r = verifyEvmCommitments(p, want);
          expect(r.ok, `${key} ${s} -> ${rec[key]}`).toBe(false);
          expect(PROOF_FAILURES).toContain(reasonOf(r));
        }),
        { numRuns: 300 },
      );
    });

    it('a slot with no storage proof → missing_slot', () => {
      expect(reasonOf(verifyEvmCommitments(good, { ...want, slots: [...slots, slotOf(NEVER)] }))).toBe('missing_slot');
      expect(reasonOf(verifyEvmCommitments({ ...good, storageProofs: [] }, want))).toBe('missing_slot');
    });

    it('malformed proofs → proof_malformed, malformed headers → header_malformed, bad expectations → expectation_invalid', () => {
      const cases: [string, unknown][] = [
        ['null', null],
        ['an array', [good]],
        ['another kind', { ...good, kind: 'cosmos-ics23' }],
        ['a hex height', { ...good, height: '0x4' }],
        ['a negative height', { ...good, height: '-4' }],
        ['a short blockHash', { ...good, blockHash: good.blockHash.slice(0, 40) }],
        ['a header string', { ...good, header: 'rlp' }],
        ['a 32-byte address', { ...good, address: good.blockHash }],
        ['an odd-length node', { ...good, accountProof: [...good.accountProof, '0xabc'] }],
        ['accountProof as a string', { ...good, accountProof: good.accountProof[0] }],
        ['a short storage key', { ...good, storageProofs: [{ ...good.storageProofs[0]!, key: '0x00' }] }],
        ['a non-hex value', { ...good, storageProofs: [{ ...good.storageProofs[0]!, value: 7 }] }],
        ['storageProofs as an object', { ...good, storageProofs: {} }],
      ];
      for (const [what, p] of cases) expect(reasonOf(verifyEvmCommitments(p, want)), what).toBe('proof_malformed');
      const oversized = { ...good, accountProof: [...good.accountProof.slice(0, -1), `0x${'ab'.repeat(2000)}`] };
      expect(reasonOf(verifyEvmCommitments(oversized, want))).toBe('proof_malformed');
      const noNumber = { ...good, header: { ...good.header, number: undefined } };
      expect(reasonOf(verifyEvmCommitments(noNumber, want))).toBe('header_malformed');
      const pragueWithoutCancun = { ...good, header: { ...good.header, parentBeaconBlockRoot: null } };
      expect(reasonOf(verifyEvmCommitments(pragueWithoutCancun, want))).toBe('header_malformed');
      expect(reasonOf(verifyEvmCommitments(good, { ...want, port: '0x1234' as Hex }))).toBe('expectation_invalid');
      expect(reasonOf(verifyEvmCommitments(good, { ...want, slots: ['0x01' as Hex] }))).toBe('expectation_invalid');
    });

    it('never throws, whatever it is given', () => {
      fc.assert(
        fc.property(fc.anything(), (junk) => {
          const r = verifyEvmCommitments(junk, want);
          expect(r.ok).toBe(false);
        }),
        { numRuns: 200 },
      );
      fc.assert(
        fc.property(fc.dictionary(fc.constantFrom(...Object.keys(good)), fc.jsonValue()), (patch) => {
          const r = verifyEvmCommitments({ ...clone(good), ...patch }, want);
          expect(typeof r.ok).toBe('boolean');
        }),
        { numRuns: 200 },
      );
    });
  });
});
