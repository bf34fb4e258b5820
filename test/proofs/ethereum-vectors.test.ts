import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createMPT } from '@ethereumjs/mpt';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FORMATS, trieRoot } from '../../src/cli/vectors/ethereum.ts';
import { exitCodeOf, nodeVectorFs, runVectors } from '../../src/cli/vectors/runner.ts';
import type { VectorFormat, VectorFs } from '../../src/cli/vectors/types.ts';
import { HAVE_VECTORS, vectorPath } from '../helpers/vectors.ts';

const NOW = new Date('2026-11-25T00:00:00Z');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('trie roots rebuilt by ethereum-trie-test agree with @ethereumjs/mpt', () => {
  it('for random key/value sets (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 6 }), fc.uint8Array({ minLength: 1, maxLength: 40 })), { maxLength: 24, selector: ([k]) => hex(k) }),
        async (pairs) => {
          const trie = await createMPT();
          for (const [k, v] of pairs) await trie.put(k, v);
          const ours = trieRoot(new Map(pairs.map(([k, v]) => [hex(k), v])));
          expect(ours).toBe(`0x${hex(trie.root())}`);
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** The real files, with some replaced in memory: formats read only through the VectorFs. */
function overlayFs(over: Map<string, unknown>): VectorFs {
  return {
    read: (p) => (over.has(p) ? Buffer.from(JSON.stringify(over.get(p))) : nodeVectorFs.read(p)),
    list: (d) => nodeVectorFs.list(d),
    exists: (p) => over.has(p) || nodeVectorFs.exists(p),
  };
}

const fmt = (name: string): VectorFormat => FORMATS.find((f) => f.name === name)!;
const readJson = (p: string) => JSON.parse(nodeVectorFs.read(p).toString('utf8')) as Record<string, unknown>;

/** Flip one byte of a 0x-hex string at a position chosen by fast-check. */
function flip(h: string, at: number, x: number): string {
  const b = Buffer.from(h.slice(2), 'hex');
  b[at % b.length]! ^= x;
  return `0x${b.toString('hex')}`;
}

describe.skipIf(!HAVE_VECTORS)('upstream Ethereum vectors (../shared/vectors/ethereum)', () => {
  const rpcDir = vectorPath('ethereum/helios/execution-rpc-mainnet-21925176');
  const ropsten = vectorPath('ethereum/ethereumjs/statemanager-ropsten-getProof/ropsten_contractWithStorage.json');
  const snowHeader = vectorPath('ethereum/snowbridge/relayer-ethereum-testdata/header11408438.json');
  const trietest = vectorPath('ethereum/ethereumjs/trie-fixtures/trietest.json');

  it('all verify: 1 helios folder, 3 Ropsten proofs, 25 trie tests, 1 header, 1 receipts file', () => {
    const r = runVectors([vectorPath('ethereum')], FORMATS, { now: NOW });
    expect(exitCodeOf(r.cases)).toBe(0);
    expect(r.cases.length).toBe(31);
    expect(r.cases.filter((c) => c.case.includes('#')).length).toBe(25);
    expect(r.cases.filter((c) => c.case.includes('unanchored')).length).toBe(3);
    // Iterator-order vectors are not proofs: the runner names them as skipped.
    expect(r.notices.some((n) => n.includes('trietestnextprev.json'))).toBe(true);
  });

  it('claims files by content, not by name', () => {
    for (const [file, name] of [
      [ropsten, 'ethereum-get-proof'],
      [snowHeader, 'ethereum-header'],
      [trietest, 'ethereum-trie-test'],
      [vectorPath('ethereum/snowbridge/relayer-ethereum-testdata/receipts11408438.json'), 'ethereum-receipts'],
    ] as const) {
      const content = nodeVectorFs.read(file);
      const claims = FORMATS.filter((f) => f.claimFile?.(join('/tmp', randomBytes(6).toString('hex')), content, nodeVectorFs) === 'case').map((f) => f.name);
      expect(claims).toEqual([name]);
    }
    expect(FORMATS.filter((f) => f.claimDir?.(rpcDir, nodeVectorFs)).map((f) => f.name)).toEqual(['ethereum-rpc-folder']);
    expect(FORMATS.some((f) => f.claimDir?.(vectorPath('ethereum/helios/beacon-lc-mainnet-capella'), nodeVectorFs))).toBe(false);
    const nextprev = nodeVectorFs.read(vectorPath('ethereum/ethereumjs/trie-fixtures/trietestnextprev.json'));
    expect(FORMATS.some((f) => f.claimFile?.('x', nextprev, nodeVectorFs))).toBe(false);
  });

  it('rejects a tampered helios folder: proof node, storage value, claimed balance, header field, receipt', () => {
    const proofPath = join(rpcDir, 'proof.json');
    const proof = readJson(proofPath) as { accountProof: string[]; storageProof: { value: string; proof: string[] }[]; balance: string };
    const run = (over: Map<string, unknown>) => fmt('ethereum-rpc-folder').run(rpcDir, overlayFs(over), { now: NOW })[0]!;
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (node, at, x) => {
        const accountProof = [...proof.accountProof];
        const i = node % accountProof.length;
        accountProof[i] = flip(accountProof[i]!, at, x);
        const r = run(new Map([[proofPath, { ...proof, accountProof }]]));
        expect(r.verdict).toBe('invalid');
        expect(r.reason).toBe('account_proof_invalid');
      }),
      { numRuns: 40 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 255n) - 1n }), (v) => {
        const sp = { ...proof.storageProof[0]!, value: `0x${(BigInt(proof.storageProof[0]!.value) ^ v).toString(16)}` };
        expect(run(new Map([[proofPath, { ...proof, storageProof: [sp] }]])).reason).toBe('storage_value_mismatch');
      }),
      { numRuns: 20 },
    );
    expect(run(new Map([[proofPath, { ...proof, balance: '0x1' }]])).reason).toBe('account_proof_invalid');
    const blockPath = join(rpcDir, 'block.json');
    const block = readJson(blockPath);
    expect(run(new Map([[blockPath, { ...block, gasUsed: '0x1' }]])).reason).toBe('header_hash_mismatch');
    const receiptsPath = join(rpcDir, 'receipts.json');
    const receipts = readJson(receiptsPath) as unknown as Record<string, unknown>[];
    fc.assert(
      fc.property(fc.nat(receipts.length - 1), (i) => {
        const changed = receipts.map((r, j) => (j === i ? { ...r, cumulativeGasUsed: `0x${(BigInt(r.cumulativeGasUsed as string) + 1n).toString(16)}` } : r));
        expect(run(new Map([[receiptsPath, changed]])).reason).toBe('proof_malformed');
      }),
      { numRuns: 10 },
    );
    // An account file that omits its address must match an address the folder names.
    const accountPath = join(rpcDir, 'account.json');
    const account = readJson(accountPath) as { account: Record<string, string> };
    expect(run(new Map([[accountPath, { ...account, account: { ...account.account, nonce: '0x2' } }]])).reason).toBe('account_proof_invalid');
    expect(run(new Map()).verdict).toBe('valid');
  });

  it('rejects tampered Ropsten proofs, trie tests and headers', () => {
    const p = readJson(ropsten) as { accountProof: string[]; storageProof: { key: string; value: string; proof: string[] }[] };
    const run = (f: string, path: string, v: unknown) => fmt(f).run(path, overlayFs(new Map([[path, v]])), { now: NOW });
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (slot, at, x) => {
        const s = slot % p.storageProof.length;
        const sp = p.storageProof[s]!;
        const storageProof = p.storageProof.map((q, j) => (j === s ? { ...q, proof: sp.proof.map((n, k) => (k === sp.proof.length - 1 ? flip(n, at, x) : n)) } : q));
        const r = run('ethereum-get-proof', ropsten, { ...p, storageProof })[0]!;
        expect(r.verdict).toBe('invalid');
        expect(['storage_proof_invalid', 'storage_value_mismatch']).toContain(r.reason);
      }),
      { numRuns: 30 },
    );
    expect(run('ethereum-get-proof', ropsten, { ...p, storageProof: [{ ...p.storageProof[0]!, value: '0x1' }] })[0]!.reason).toBe('storage_value_mismatch');
    // The "absent" file claims an empty account; claiming a balance is caught.
    const absent = vectorPath('ethereum/ethereumjs/statemanager-ropsten-getProof/ropsten_nonexistentAccount.json');
    expect(run('ethereum-get-proof', absent, { ...readJson(absent), balance: '0x5' })[0]!.reason).toBe('account_proof_invalid');

    const t = readJson(trietest) as { source: string; tests: Record<string, { in: [string, string | null][]; root: string }> };
    const names = Object.keys(t.tests);
    // Only an op whose key is not written again later decides the final trie.
    const liveOps = names.flatMap((name) =>
      t.tests[name]!.in.flatMap((e, i, all) => (e[1] !== null && !all.slice(i + 1).some((l) => l[0] === e[0]) ? [[name, i] as const] : [])),
    );
    expect(liveOps.length).toBeGreaterThan(10);
    fc.assert(
      fc.property(fc.constantFrom(...liveOps), fc.constantFrom('00', 'ff', '!'), ([name, i], extra) => {
        const test = t.tests[name]!;
        const changed = { ...test, in: test.in.map((e, j) => (j === i ? [e[0], `${e[1]}${extra}`] : e)) };
        const out = run('ethereum-trie-test', trietest, { ...t, tests: { [name]: changed } });
        expect(out[0]!.verdict).toBe('invalid');
      }),
      { numRuns: 30 },
    );
    expect(run('ethereum-trie-test', trietest, { ...t, tests: { x: { ...t.tests[names[0]!]!, root: `0x${'11'.repeat(32)}` } } })[0]!.verdict).toBe('invalid');

    const h = readJson(snowHeader);
    fc.assert(
      fc.property(fc.constantFrom('parentHash', 'stateRoot', 'receiptsRoot', 'extraData', 'mixHash', 'nonce', 'timestamp'), (field) => {
        const v = h[field] as string;
        const changed = field === 'timestamp' ? `0x${(BigInt(v) + 1n).toString(16)}` : flip(v, 0, 1);
        expect(run('ethereum-header', snowHeader, { ...h, [field]: changed })[0]!.reason).toBe('header_hash_mismatch');
      }),
    );
  });
});

if (!HAVE_VECTORS) console.warn('[qiao] NOTICE: ../shared/vectors absent; Ethereum vector tests skipped');
