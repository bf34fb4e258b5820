import { X509Certificate, createHash, generateKeyPairSync, createSign, createPrivateKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { BenchRow } from './proofs.bench.ts';
import { opsPerSecond } from './stats.ts';


function fmt(ops: number): string {
  return ops >= 1000 ? `${(ops / 1000).toFixed(1)}k/s` : `${ops.toFixed(1)}/s`;
}

/**
 * The primitives every verifier is built from, measured on this machine with
 * the libraries the verifiers use, so each verifier's cost can be read as a
 * ratio to its signature checks.
 */
export async function benchPrimitives(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const msg = new Uint8Array(128).fill(7);

  const edKey = ed25519.utils.randomSecretKey();
  const edPub = ed25519.getPublicKey(edKey);
  const edSig = ed25519.sign(msg, edKey);
  const ed = opsPerSecond(() => {
    if (!ed25519.verify(edSig, msg, edPub, { zip215: true })) throw new Error('ed25519 verify failed');
  });
  rows.push({ name: 'ed25519 verify (ZIP-215, @noble/curves)', figure: fmt(ed.opsPerSec), baseline: '-', ratio: '-', note: `${(1e6 / ed.opsPerSec).toFixed(0)} µs each` });

  const skKey = secp256k1.utils.randomSecretKey();
  const hash = keccak_256(msg);
  const recSig = secp256k1.sign(hash, skKey, { prehash: false, format: 'recovered' });
  const pub = secp256k1.getPublicKey(skKey, true);
  const rec = opsPerSecond(() => {
    const got = secp256k1.recoverPublicKey(recSig, hash, { prehash: false });
    if (got[1] !== pub[1] || got.length !== pub.length) throw new Error('secp256k1 recovery failed');
  });
  rows.push({ name: 'secp256k1 public-key recovery (@noble/curves)', figure: fmt(rec.opsPerSec), baseline: '-', ratio: '-', note: `${(1e6 / rec.opsPerSec).toFixed(0)} µs each` });

  // BLS: fast aggregate verification of one message by 512 keys (a mainnet sync committee).
  const bls = bls12_381.longSignatures;
  const n = 512;
  const keys = Array.from({ length: 16 }, () => bls.keygen());
  // 512 members from 16 distinct keys keeps key generation cheap; aggregation cost is per member.
  const members = Array.from({ length: n }, (_, i) => keys[i % keys.length]!);
  const h = bls.hash(msg);
  const sigs = members.map((k) => bls.sign(h, k.secretKey));
  const aggSig = bls.aggregateSignatures(sigs);
  const pubs = members.map((k) => k.publicKey);
  const agg = opsPerSecond(() => {
    const aggPub = bls.aggregatePublicKeys(pubs);
    if (!bls.verify(aggSig, bls.hash(msg), aggPub)) throw new Error('BLS aggregate verify failed');
  }, 3000);
  rows.push({ name: `BLS12-381 fast aggregate verify, ${n} keys (@noble/curves)`, figure: fmt(agg.opsPerSec), baseline: '-', ratio: '-', note: `${(1000 / agg.opsPerSec).toFixed(1)} ms each (hash-to-G2, key aggregation, 2 pairings)` });

  const block = new Uint8Array(532).fill(1);
  for (const [name, f] of [
    ['keccak-256 (@noble/hashes), 532-byte trie node', () => keccak_256(block)],
    ['blake2b-256 (@noble/hashes), 532 bytes', () => blake2b(block, { dkLen: 32 })],
    ['SHA-256 (@noble/hashes), 532 bytes', () => sha256(block)],
    ['SHA-256 (node:crypto), 532 bytes', () => createHash('sha256').update(block).digest()],
  ] as const) {
    const r = opsPerSecond(f as () => void);
    rows.push({ name, figure: fmt(r.opsPerSec), baseline: '-', ratio: '-', note: `${(1e6 / r.opsPerSec).toFixed(2)} µs each` });
  }

  // A real self-signed P-256 certificate (Fabric identities are P-256 X.509), made with openssl.
  const dir = mkdtempSync(join(tmpdir(), 'qiao-bench-x509-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '3650', '-subj', '/CN=qiao-bench/O=Org1'], { stdio: 'ignore' });
  const pem = readFileSync(join(dir, 'c.pem'), 'utf8');
  const x509 = opsPerSecond(() => {
    const c = new X509Certificate(pem);
    if (!c.subject.includes('qiao-bench')) throw new Error('certificate did not parse');
  });
  rows.push({ name: 'X.509 parse (node:crypto)', figure: fmt(x509.opsPerSec), baseline: '-', ratio: '-', note: `${(1e6 / x509.opsPerSec).toFixed(1)} µs each` });

  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p256sig = createSign('sha256').update(msg).sign(createPrivateKey(p256.privateKey.export({ format: 'pem', type: 'pkcs8' })));
  const { createVerify } = await import('node:crypto');
  const p = opsPerSecond(() => {
    if (!createVerify('sha256').update(msg).verify(p256.publicKey, p256sig)) throw new Error('P-256 verify failed');
  });
  rows.push({ name: 'ECDSA P-256 verify (node:crypto)', figure: fmt(p.opsPerSec), baseline: '-', ratio: '-', note: `${(1e6 / p.opsPerSec).toFixed(0)} µs each (Fabric signatures)` });
  return rows;
}
