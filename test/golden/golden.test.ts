import { readFileSync } from 'node:fs';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { SigningKey, concat } from 'ethers';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { attestationDigest, recoverAttestor, signAttestation, type Attestation, type AttestationDomain, type RootType } from '../../src/domain/attestation.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { decodeMessage, encodeMessage, messageFromJson, messageId, messageIdOf, messageToJson } from '../../src/domain/message.ts';
import { GOLDEN_FILE, buildGoldenVectors, renderGoldenFile, sha256Hex, type GoldenAttestationCase, type GoldenVectors } from './generate.ts';

const fileText = readFileSync(GOLDEN_FILE, 'utf8');
const golden = JSON.parse(fileText) as GoldenVectors;

function domainOf(c: GoldenAttestationCase): AttestationDomain {
  return { chainId: BigInt(c.domain.chainId), verifyingContract: c.domain.verifyingContract };
}

function attestationOf(c: GoldenAttestationCase): Attestation {
  return {
    rootType: c.attestation.rootType as RootType,
    setId: BigInt(c.attestation.setId),
    batchNo: BigInt(c.attestation.batchNo),
    root: c.attestation.root,
  };
}

describe('golden vectors: the checked-in file', () => {
  it('is exactly what the generator produces (a format change must show up as a diff of the file)', () => {
    const generated = buildGoldenVectors();
    // Per-case comparisons first, so a mismatch names the case instead of diffing 300 KB.
    expect(golden.messages.map((m) => [m.name, m.id])).toEqual(generated.messages.map((m) => [m.name, m.id]));
    expect(golden.attestations.map((a) => [a.name, a.digest])).toEqual(generated.attestations.map((a) => [a.name, a.digest]));
    expect(golden.merkle.map((t) => [t.name, t.root])).toEqual(generated.merkle.map((t) => [t.name, t.root]));
    expect(sha256Hex(fileText)).toBe(sha256Hex(renderGoldenFile(generated)));
  });

  it('covers the edge cases the format promises', () => {
    const payloadSizes = golden.messages.map((m) => (m.message.payload.length - 2) / 2);
    expect(payloadSizes).toContain(0);
    expect(payloadSizes).toContain(64 * 1024);
    const chains = golden.messages.flatMap((m) => [m.message.srcChain, m.message.dstChain]);
    expect(chains).toContain('polkadot:91b171bb158e2d3848fa23a9f1c25182');
    expect(chains).toContain('fabric:net1_channel1');
    expect(golden.messages.some((m) => (m.message.srcPort.length - 2) / 2 === 32 && (m.message.sender.length - 2) / 2 === 32)).toBe(true);
    expect(golden.messages.some((m) => m.message.nonce === '18446744073709551615' && m.message.timeoutUnixSeconds === '18446744073709551615')).toBe(true);
    expect(new Set(golden.attestations.map((a) => a.attestation.rootType))).toEqual(new Set([1, 2, 3]));
  });
});

describe('golden vectors: messages (src/domain/message.ts)', () => {
  for (const c of golden.messages) {
    it(`${c.name}: encodes, derives the id and decodes back`, () => {
      const m = messageFromJson(c.message);
      expect(encodeMessage(m)).toBe(c.encoded);
      expect(messageId(c.encoded)).toBe(c.id);
      expect(messageIdOf(m)).toBe(c.id);
      const decoded = decodeMessage(c.encoded);
      expect(decoded).toEqual(m);
      expect(messageToJson(decoded)).toEqual(c.message);
    });
  }

  it('refuses the golden bytes with a trailing byte, a truncated tail or a different version', () => {
    const c = golden.messages[1]!;
    expect(() => decodeMessage(concat([c.encoded, '0x00']) as Hex)).toThrow(ValidationError);
    expect(() => decodeMessage(c.encoded.slice(0, -64) as Hex)).toThrow(ValidationError);
    // The version is the low byte of the first word.
    const v2 = `${c.encoded.slice(0, 65)}2${c.encoded.slice(66)}` as Hex;
    expect(() => decodeMessage(v2)).toThrow(ValidationError);
  });
});

describe('golden vectors: attestations (src/domain/attestation.ts)', () => {
  for (const c of golden.attestations) {
    it(`${c.name}: digest, signature and recovery`, () => {
      const d = domainOf(c);
      const a = attestationOf(c);
      expect(attestationDigest(d, a)).toBe(c.digest);
      for (const s of c.signatures) {
        expect(signAttestation(new SigningKey(s.privateKey), d, a)).toBe(s.signature);
        expect(recoverAttestor(d, a, s.signature)).toBe(s.signer);
      }
    });
  }

  it('a golden signature does not recover its signer under another domain or root type', () => {
    const c = golden.attestations[0]!;
    const s = c.signatures[0]!;
    const d = domainOf(c);
    const a = attestationOf(c);
    expect(recoverAttestor({ ...d, chainId: d.chainId + 1n }, a, s.signature)).not.toBe(s.signer);
    expect(recoverAttestor(d, { ...a, rootType: 2 }, s.signature)).not.toBe(s.signer);
    expect(recoverAttestor(d, { ...a, batchNo: a.batchNo + 1n }, s.signature)).not.toBe(s.signer);
  });
});

describe('golden vectors: batch trees (src/domain/merkle.ts)', () => {
  for (const c of golden.merkle) {
    it(`${c.name}: root, leaf hashes, proofs and multiproofs`, () => {
      const tree = MessageTree.of(c.ids);
      expect(tree.root).toBe(c.root);
      // Leaves are sorted by hash, so the input order does not change the root.
      expect(MessageTree.of([...c.ids].reverse()).root).toBe(c.root);
      for (const p of c.proofs) {
        expect(MessageTree.leafHash(p.id)).toBe(p.leaf);
        expect(tree.proof(p.id)).toEqual(p.proof);
        expect(MessageTree.verify(c.root, p.id, p.proof)).toBe(true);
      }
      for (const mp of c.multiproofs) {
        expect(tree.multiProof(mp.ids)).toEqual({ leaves: mp.leaves, proof: mp.proof, proofFlags: mp.proofFlags });
        const ok = StandardMerkleTree.verifyMultiProof(c.root, ['bytes32'], {
          leaves: mp.leaves.map((x) => [x]),
          proof: mp.proof,
          proofFlags: mp.proofFlags,
        });
        expect(ok).toBe(true);
      }
    });
  }

  it('a golden proof does not verify another id or another root', () => {
    const all = golden.merkle.find((t) => t.name === 'all-messages')!;
    const two = golden.merkle.find((t) => t.name === 'two-messages')!;
    const p0 = all.proofs[0]!;
    expect(MessageTree.verify(all.root, all.proofs[1]!.id, p0.proof)).toBe(false);
    expect(MessageTree.verify(two.root, p0.id, p0.proof)).toBe(false);
  });
});
