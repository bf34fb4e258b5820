import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { cpSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { binaryMerkleRoot, verifyBeefyCommitment, verifyMmrLeafProof, verifySimplifiedMmrProof, beefyCommitmentHash } from '../../proofs/substrate/index.ts';
import { FORMATS } from '../../src/cli/vectors/substrate.ts';
import { exitCodeOf, runVectors } from '../../src/cli/vectors/runner.ts';
import { HAVE_VECTORS, vectorPath } from '../helpers/vectors.ts';
import type { Hex } from '../../src/domain/hex.ts';

const TRUST = JSON.parse(readFileSync('test/proofs/fixtures/substrate/trust.json', 'utf8')) as unknown;
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}` as Hex;
const merge = (a: Uint8Array, b: Uint8Array) => keccak_256(Uint8Array.from([...a, ...b]));

/** A reference MMR built the plain way: append leaves, merge equal-height peaks, bag right to left as merge(right, left). */
function mmrRoot(leaves: Uint8Array[]): Uint8Array {
  const peaks: { h: number; hash: Uint8Array }[] = [];
  for (const l of leaves) {
    let cur = { h: 0, hash: l };
    while (peaks.length && peaks[peaks.length - 1]!.h === cur.h) {
      const left = peaks.pop()!;
      cur = { h: cur.h + 1, hash: merge(left.hash, cur.hash) };
    }
    peaks.push(cur);
  }
  let bag = peaks[peaks.length - 1]!.hash;
  for (let i = peaks.length - 2; i >= 0; i--) bag = merge(bag, peaks[i]!.hash);
  return bag;
}

describe.skipIf(!HAVE_VECTORS)('Snowbridge BEEFY / MMR vectors', () => {
  it('all substrate vectors: 107 cases, all valid with the trust file, same verdicts under random names', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const report = runVectors([vectorPath('substrate')], FORMATS, { now, trust: TRUST });
    expect(report.cases).toHaveLength(1 + 15 + 90 + 1);
    expect(exitCodeOf(report.cases)).toBe(0);
    // the mainnet gateway message file lacks its MMR root: no case, a notice
    expect(report.notices.some((n) => n.includes('mainnet-gateway'))).toBe(true);

    const dir = mkdtempSync(join(tmpdir(), 'qiao-sub-'));
    try {
      cpSync(vectorPath('substrate'), join(dir, 'x'), { recursive: true });
      let n = 0;
      const rename = (d: string) => {
        for (const e of readdirSync(d)) {
          const p = join(d, e);
          const q = join(d, `r${n++}${Math.random().toString(36).slice(2, 8)}`);
          renameSync(p, q);
          if (statSync(q).isDirectory()) rename(q);
        }
      };
      rename(join(dir, 'x'));
      const again = runVectors([dir], FORMATS, { now, trust: TRUST });
      expect(again.cases.map((c) => c.verdict).sort()).toEqual(report.cases.map((c) => c.verdict).sort());
      expect(again.cases).toHaveLength(report.cases.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const beefy = () => JSON.parse(readFileSync(vectorPath('substrate', 'snowbridge/contracts-test-data/beefy-commitment.json'), 'utf8')) as {
    commitmentHash: Hex;
    params: { commitment: { blockNumber: number; validatorSetID: number; payload: { payloadID: string; data: Hex }[] }; proofs: { Account: Hex; Index: number; Proof: Hex[]; R: Hex; S: Hex; V: number }[]; leafProof: Hex[]; leafProofOrder: number };
  };
  const set = { id: 12767n, length: 111, root: '0x03aff613b52959e3045f7ccbdef689259ee659ed2907cc28eb24fcafa65e281c' as Hex };
  const toInput = (d: ReturnType<typeof beefy>) => ({
    commitment: { blockNumber: d.params.commitment.blockNumber, validatorSetId: BigInt(d.params.commitment.validatorSetID), payload: d.params.commitment.payload.map((p) => ({ id: p.payloadID, data: p.data })) },
    signatures: d.params.proofs.map((x) => ({ account: x.Account, index: x.Index, proof: x.Proof, r: x.R, s: x.S, v: x.V })),
    commitmentHash: d.commitmentHash,
  });

  it('BEEFY commitment: hash, 25 signatures, validator proofs; and each mutation is rejected', () => {
    const d = beefy();
    const r = verifyBeefyCommitment(toInput(d), set);
    expect(r.ok && r.signers).toBe(25);
    expect((verifyBeefyCommitment(toInput(d), { ...set, id: 12768n }) as { reason: string }).reason).toBe('untrusted_header');
    expect((verifyBeefyCommitment(toInput(d), set, { minSignatures: 75 }) as { reason: string }).reason).toBe('insufficient_signatures');
    const other = toInput(d);
    other.commitment.blockNumber += 1;
    expect((verifyBeefyCommitment(other, set) as { reason: string }).reason).toBe('header_hash_mismatch');
    const { commitmentHash: _h, ...noHash } = other;
    expect((verifyBeefyCommitment(noHash, set) as { reason: string }).reason).toBe('signature_invalid');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 31 }), fc.integer({ min: 1, max: 255 }), fc.boolean(), (i, byte, x, inProof) => {
        const m = toInput(beefy());
        const sig = m.signatures[i]!;
        if (inProof) {
          const p = Buffer.from(sig.proof[0]!.slice(2), 'hex');
          p[byte]! ^= x;
          sig.proof[0] = hex(p);
        } else {
          const rr = Buffer.from(sig.r.slice(2), 'hex');
          rr[byte]! ^= x;
          sig.r = hex(rr);
        }
        const v = verifyBeefyCommitment(m, set);
        return !v.ok && v.reason === (inProof ? 'grandpa_unknown_authority' : 'signature_invalid');
      }),
      { numRuns: 40 },
    );
  });

  it('BEEFY signer not in the set: a valid signature by another key is refused', () => {
    const d = beefy();
    const m = toInput(d);
    const sk = keccak_256(Uint8Array.of(7));
    const hash = beefyCommitmentHash(m.commitment);
    const sig = secp256k1.sign(hash, sk, { prehash: false, format: 'recovered' });
    const addr = keccak_256(secp256k1.getPublicKey(sk, false).subarray(1)).subarray(12);
    m.signatures[0] = { ...m.signatures[0]!, account: hex(addr), r: hex(sig.subarray(1, 33)), s: hex(sig.subarray(33, 65)), v: sig[0]! + 27 };
    expect((verifyBeefyCommitment(m, set) as { reason: string }).reason).toBe('grandpa_unknown_authority');
  });
});

describe('MMR proofs against an MMR built in the test', () => {
  it('pallet-mmr proofs from a reference build; every mutated item is rejected (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (count, pick, byte, x) => {
        const leaves = Array.from({ length: count }, (_, i) => keccak_256(Uint8Array.of(i, count)));
        const root = mmrRoot(leaves);
        const index = pick % count;
        // Build the proof by brute force: siblings along the way, left peaks, then right peaks bagged.
        const peaksOf = (ls: Uint8Array[]) => {
          const out: { h: number; hash: Uint8Array; from: number; to: number }[] = [];
          ls.forEach((l, i) => {
            let cur = { h: 0, hash: l, from: i, to: i };
            while (out.length && out[out.length - 1]!.h === cur.h) {
              const left = out.pop()!;
              cur = { h: cur.h + 1, hash: merge(left.hash, cur.hash), from: left.from, to: cur.to };
            }
            out.push(cur);
          });
          return out;
        };
        const peaks = peaksOf(leaves);
        const mine = peaks.findIndex((p) => p.from <= index && index <= p.to);
        const p = peaks[mine]!;
        const sub = leaves.slice(p.from, p.to + 1);
        const siblings: Uint8Array[] = [];
        let level: Uint8Array[] = sub;
        let pos = index - p.from;
        while (level.length > 1) {
          siblings.push(level[pos ^ 1]!);
          const next: Uint8Array[] = [];
          for (let i = 0; i < level.length; i += 2) next.push(merge(level[i]!, level[i + 1]!));
          level = next;
          pos >>= 1;
        }
        const right = peaks.slice(mine + 1);
        const items = [...peaks.slice(0, mine).map((q) => q.hash), ...siblings];
        if (right.length) {
          let bag = right[right.length - 1]!.hash;
          for (let i = right.length - 2; i >= 0; i--) bag = merge(bag, right[i]!.hash);
          items.push(bag);
        }
        if (!verifyMmrLeafProof(root, leaves[index]!, index, count, items).ok) return false;
        if (items.length === 0) return true;
        const k = byte % items.length;
        const bad = items.map((it, j) => (j === k ? it.map((b, o) => (o === byte % 32 ? b ^ x : b)) : it));
        const r = verifyMmrLeafProof(root, leaves[index]!, index, count, bad);
        const short = verifyMmrLeafProof(root, leaves[index]!, index, count, items.slice(0, -1));
        return !r.ok && r.reason === 'storage_proof_invalid' && !short.ok;
      }),
      { numRuns: 200 },
    );
  });

  it('simplified proofs fold in order; a flipped order bit fails', () => {
    const a = keccak_256(Uint8Array.of(1));
    const b = keccak_256(Uint8Array.of(2));
    const c = keccak_256(Uint8Array.of(3));
    const root = merge(c, merge(a, b));
    expect(verifySimplifiedMmrProof(root, a, [b, c], 0b10).ok).toBe(true);
    expect((verifySimplifiedMmrProof(root, a, [b, c], 0b11) as { reason: string }).reason).toBe('storage_proof_invalid');
  });

  it('binary_merkle_tree promotes a last odd node', () => {
    const l = [1, 2, 3].map((i) => keccak_256(Uint8Array.of(i)));
    const root = merge(merge(l[0]!, l[1]!), l[2]!);
    expect(hex(binaryMerkleRoot(l[2]!, 2, 3, [merge(l[0]!, l[1]!)])!)).toBe(hex(root));
    expect(hex(binaryMerkleRoot(l[0]!, 0, 3, [l[1]!, l[2]!])!)).toBe(hex(root));
    expect(binaryMerkleRoot(l[0]!, 0, 3, [l[1]!])).toBeNull();
  });
});
