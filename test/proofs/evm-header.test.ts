import { readFileSync } from 'node:fs';
import { JsonRpcProvider, encodeRlp, getBytes, hexlify, keccak256, toBeArray } from 'ethers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { decodeEvmHeader, encodeEvmHeader, evmHeaderToJson, hashHeader, parseEvmHeader, type EvmFork } from '../../proofs/evm/header.ts';
import { HAVE_VECTORS, vectorPath } from '../helpers/vectors.ts';

/**
 * The field order is written out again here, independently of proofs/evm/header.ts,
 * so that a wrong order or a missed field there cannot also be wrong here.
 */
const LEGACY = ['parentHash', 'sha3Uncles', 'miner', 'stateRoot', 'transactionsRoot', 'receiptsRoot', 'logsBloom', 'difficulty', 'number', 'gasLimit', 'gasUsed', 'timestamp', 'extraData', 'mixHash', 'nonce'];
const FIELDS: Record<EvmFork, string[]> = {
  legacy: LEGACY,
  london: [...LEGACY, 'baseFeePerGas'],
  shanghai: [...LEGACY, 'baseFeePerGas', 'withdrawalsRoot'],
  cancun: [...LEGACY, 'baseFeePerGas', 'withdrawalsRoot', 'blobGasUsed', 'excessBlobGas', 'parentBeaconBlockRoot'],
  prague: [...LEGACY, 'baseFeePerGas', 'withdrawalsRoot', 'blobGasUsed', 'excessBlobGas', 'parentBeaconBlockRoot', 'requestsHash'],
};
const QUANTITIES = new Set(['difficulty', 'number', 'gasLimit', 'gasUsed', 'timestamp', 'baseFeePerGas', 'blobGasUsed', 'excessBlobGas']);
const SIZES: Record<string, number> = { miner: 20, logsBloom: 256, nonce: 8 };
const FORKS = Object.keys(FIELDS) as EvmFork[];

function referenceHash(json: Record<string, string>, fork: EvmFork): string {
  return keccak256(encodeRlp(FIELDS[fork].map((f) => (QUANTITIES.has(f) ? hexlify(toBeArray(BigInt(json[f]!))) : json[f]!))));
}

const bytesHex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => hexlify(b));
const quantityHex = (max: bigint) => fc.bigInt({ min: 0n, max }).map((v) => `0x${v.toString(16)}`);

function headerArb(fork: EvmFork): fc.Arbitrary<Record<string, string>> {
  const fields: Record<string, fc.Arbitrary<string>> = {};
  for (const f of FIELDS[fork]) {
    if (QUANTITIES.has(f)) fields[f] = quantityHex(f === 'difficulty' || f === 'baseFeePerGas' ? (1n << 256n) - 1n : (1n << 64n) - 1n);
    else if (f === 'extraData') fields[f] = fc.uint8Array({ maxLength: 97 }).map((b) => hexlify(b));
    else fields[f] = bytesHex(SIZES[f] ?? 32);
  }
  return fc.record(fields);
}

describe('EVM header RLP and hash, per fork shape', () => {
  it('hashes every fork shape like an independent encoder and detects the fork from the fields present', () => {
    for (const fork of FORKS) {
      fc.assert(
        fc.property(headerArb(fork), (json) => {
          const r = hashHeader({ ...json, hash: '0x00', transactions: [], size: '0x1' });
          if (!r.ok) throw new Error(r.detail);
          expect(r.header.fork).toBe(fork);
          expect(r.hash).toBe(referenceHash(json, fork));
        }),
        { numRuns: 40 },
      );
    }
  });

  it('round-trips JSON → header → RLP → header → JSON for every fork', () => {
    for (const fork of FORKS) {
      fc.assert(
        fc.property(headerArb(fork), (json) => {
          const parsed = parseEvmHeader(json);
          if (!parsed.ok) throw new Error(parsed.detail);
          const rlp = encodeEvmHeader(parsed.header);
          const decoded = decodeEvmHeader(rlp);
          if (!decoded.ok) throw new Error(decoded.detail);
          expect(decoded.header).toEqual(parsed.header);
          expect(hexlify(encodeEvmHeader(decoded.header))).toBe(hexlify(rlp));
          const lower = Object.fromEntries(Object.entries(json).map(([k, v]) => [k, v.toLowerCase()]));
          expect(evmHeaderToJson(decoded.header)).toEqual(lower);
        }),
        { numRuns: 40 },
      );
    }
  });

  it('treats null fields as absent (clients that send null for a fork they do not have)', () => {
    const [json] = fc.sample(headerArb('london'), { numRuns: 1, seed: 7 });
    const r = parseEvmHeader({ ...json, withdrawalsRoot: null, blobGasUsed: null, excessBlobGas: null, parentBeaconBlockRoot: null, requestsHash: null });
    expect(r.ok && r.header.fork).toBe('london');
  });

  it('rejects inconsistent or malformed headers with header_malformed, never a throw', () => {
    const [prague] = fc.sample(headerArb('prague'), { numRuns: 1, seed: 11 }) as [Record<string, string>];
    const without = (...names: string[]) => Object.fromEntries(Object.entries(prague).filter(([k]) => !names.includes(k)));
    const cases: [string, unknown][] = [
      ['requestsHash without the Cancun fields', without('blobGasUsed', 'excessBlobGas', 'parentBeaconBlockRoot')],
      ['requestsHash without parentBeaconBlockRoot', without('parentBeaconBlockRoot')],
      ['blobGasUsed without excessBlobGas', without('excessBlobGas', 'requestsHash')],
      ['withdrawalsRoot without baseFeePerGas', without('baseFeePerGas', 'blobGasUsed', 'excessBlobGas', 'parentBeaconBlockRoot', 'requestsHash')],
      ['Cancun fields without withdrawalsRoot', without('withdrawalsRoot', 'requestsHash')],
      ['a missing number', without('number')],
      ['a missing stateRoot', without('stateRoot')],
      ['a 31-byte stateRoot', { ...prague, stateRoot: prague.stateRoot!.slice(0, -2) }],
      ['a 21-byte miner', { ...prague, miner: `${prague.miner}00` }],
      ['a 7-byte nonce', { ...prague, nonce: '0x00000000000000' }],
      ['a non-hex quantity', { ...prague, gasUsed: '12' }],
      ['an empty quantity', { ...prague, gasUsed: '0x' }],
      ['a quantity over 256 bits', { ...prague, difficulty: `0x1${'0'.repeat(64)}` }],
      ['a numeric quantity', { ...prague, timestamp: 1700000000 }],
      ['odd-length extraData', { ...prague, extraData: '0xabc' }],
      ['a string', 'header'],
      ['null', null],
      ['an array', [prague]],
    ];
    for (const [what, json] of cases) {
      const r = hashHeader(json);
      expect(r.ok, what).toBe(false);
      expect(!r.ok && r.reason, what).toBe('header_malformed');
    }
    for (const rlp of ['0x', '0xc0', '0xf90211', `0x${'00'.repeat(40)}`, encodeRlp(Array(18).fill('0x')), encodeRlp(Array(15).fill(['0x']))]) {
      const r = decodeEvmHeader(getBytes(rlp));
      expect(!r.ok && r.reason, rlp.slice(0, 20)).toBe('header_malformed');
    }
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), fc.uint8Array({ maxLength: 600 }), (junk, bytes) => {
        expect(hashHeader(junk).ok).toBe(false);
        expect(typeof decodeEvmHeader(bytes).ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});

describe('EVM header hash of real anvil blocks for each hardfork', () => {
  const HARDFORKS: [string, EvmFork][] = [
    ['berlin', 'legacy'],
    ['london', 'london'],
    ['shanghai', 'shanghai'],
    ['cancun', 'cancun'],
    ['prague', 'prague'],
  ];
  const nodes: AnvilProcess[] = [];

  beforeAll(async () => {
    nodes.push(...(await Promise.all(HARDFORKS.map(([hardfork], i) => startAnvil({ chainId: 31_421 + i, args: ['--hardfork', hardfork] })))));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('matches the block hash anvil reports, with the fork read from the fields', async () => {
    for (const [i, [hardfork, fork]] of HARDFORKS.entries()) {
      const provider = new JsonRpcProvider(nodes[i]!.url, undefined, { staticNetwork: true });
      try {
        await provider.send('evm_mine', []);
        const block = (await provider.send('eth_getBlockByNumber', ['0x1', false])) as Record<string, unknown>;
        const r = hashHeader(block);
        if (!r.ok) throw new Error(`${hardfork}: ${r.detail}`);
        expect(r.header.fork, hardfork).toBe(fork);
        expect(r.hash, hardfork).toBe(block.hash);
        expect(r.hash, hardfork).toBe(referenceHash(block as Record<string, string>, fork));
      } finally {
        provider.destroy();
      }
    }
  });
});

describe.skipIf(!HAVE_VECTORS)('EVM header hash of upstream mainnet vectors (read in place from shared/vectors)', () => {
  const read = (...p: string[]) => JSON.parse(readFileSync(vectorPath('ethereum', ...p), 'utf8')) as Record<string, unknown>;

  it('helios mainnet block 21925176 (Cancun shape) hashes to its hash', () => {
    const block = read('helios', 'execution-rpc-mainnet-21925176', 'block.json');
    const r = hashHeader(block);
    if (!r.ok) throw new Error(r.detail);
    expect(r.header.fork).toBe('cancun');
    expect(r.hash).toBe('0x92dabfa3f61ff1c349d12f5fd0dd4c99760a0a41b77dee8f0a80f83efdcb307a');
    expect(r.hash).toBe(block.hash);
    const edited = hashHeader({ ...block, gasUsed: '0xf8e2f1' });
    if (!edited.ok) throw new Error(edited.detail);
    expect(edited.hash).not.toBe(block.hash);
  });

  it('snowbridge mainnet block 11408438 (pre-London, 15 fields) hashes to its hash', () => {
    const block = read('snowbridge', 'relayer-ethereum-testdata', 'header11408438.json');
    const r = hashHeader(block);
    if (!r.ok) throw new Error(r.detail);
    expect(r.header.fork).toBe('legacy');
    expect(r.hash).toBe('0xb8aa96a4a573f149aeddca0e22b06c9dca082301c2fea7eb65996243313eec2a');
    expect(r.hash).toBe(block.hash);
  });
});

if (!HAVE_VECTORS) console.warn('[qiao] NOTICE: shared/vectors/ethereum not found: the mainnet header vector tests are skipped.');
