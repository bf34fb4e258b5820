import { ed25519 } from '@noble/curves/ed25519.js';
import { SigningKey, encodeBase58, getAddress, keccak256, toUtf8Bytes } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { Hex } from '../../src/domain/hex.ts';
import { ValidationError } from '../../src/errors.ts';
import {
  DID_CONTEXT,
  ED25519_2020_CONTEXT,
  SECP256K1_2019_CONTEXT,
  SECP256K1_RECOVERY_2020_CONTEXT,
  didDocument,
  didTime,
  ed25519FromMultibase,
  ed25519Multibase,
  resolutionResult,
  secp256k1FromJwk,
  secp256k1Jwk,
  type DidSource,
} from '../../src/registries/did-document.ts';

const GOV = 7741n;
const CONTROLLER = getAddress(`0x${keccak256(toUtf8Bytes('did test controller')).slice(-40)}`);
const ED_SEED0 = ed25519.getPublicKey(new Uint8Array(32));
// secp256k1 generator point G = public key of private key 1 (SEC 2, section 2.4.1).
const G_X = '79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';
const G_Y = '483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8';
const G_COMPRESSED = `0x02${G_X}` as Hex;

function source(over: Partial<DidSource> = {}): DidSource {
  return {
    did: 'did:qiao:alice.1',
    controller: CONTROLLER,
    documentHash: keccak256(toUtf8Bytes('doc')) as Hex,
    keys: [
      { id: 'sig-1', type: 'secp256k1', publicKey: G_COMPRESSED },
      { id: 'ed-1', type: 'ed25519', publicKey: `0x${Buffer.from(ED_SEED0).toString('hex')}` as Hex },
    ],
    services: [{ id: 'hub', type: 'QiaoHub', endpoint: 'https://hub.example/api' }],
    active: true,
    createdAt: 1_764_000_000n,
    updatedAt: 1_764_000_123n,
    versionId: 3n,
    ...over,
  };
}

describe('DID documents', () => {
  it('encodes ed25519 keys as the did:key test vector (seed 0) and decodes them back', () => {
    // w3c-ccg did-method-key test vector: seed 0x00..00 -> this key and this multibase value.
    expect(encodeBase58(ED_SEED0)).toBe('4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS');
    const mb = ed25519Multibase(ED_SEED0);
    expect(mb).toBe('z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp');
    expect(ed25519FromMultibase(mb)).toBe(`0x${Buffer.from(ED_SEED0).toString('hex')}`);
    // Random keys round-trip, including ones whose encoding would start with zero bytes after the prefix.
    for (const key of [new Uint8Array(32), new Uint8Array(32).fill(0xff), ed25519.getPublicKey(ed25519.utils.randomSecretKey())]) {
      expect(ed25519FromMultibase(ed25519Multibase(key))).toBe(`0x${Buffer.from(key).toString('hex')}`);
    }
  });

  it('refuses multibase values that are not ed25519 multikeys, naming the field', () => {
    const secpMultikey = `z${encodeBase58(Uint8Array.from([0xe7, 0x01, ...Buffer.from(G_COMPRESSED.slice(2), 'hex')]))}`;
    for (const bad of ['u' + 'A'.repeat(40), 'z0OIl', secpMultikey, 'z' + encodeBase58(Uint8Array.from([0xed, 0x01, 1, 2, 3]))]) {
      const err = (() => {
        try {
          ed25519FromMultibase(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('publicKeyMultibase');
    }
  });

  it('encodes secp256k1 keys as a JWK with the curve point (checked against the generator G)', () => {
    const jwk = secp256k1Jwk(G_COMPRESSED);
    expect(jwk).toEqual({ kty: 'EC', crv: 'secp256k1', x: Buffer.from(G_X, 'hex').toString('base64url'), y: Buffer.from(G_Y, 'hex').toString('base64url') });
    expect(secp256k1FromJwk(jwk)).toBe(G_COMPRESSED);
    const k = new SigningKey(keccak256(toUtf8Bytes('another key')));
    expect(secp256k1FromJwk(secp256k1Jwk(k.compressedPublicKey as Hex))).toBe(k.compressedPublicKey);
    expect(() => secp256k1Jwk(`0x04${G_X}` as Hex)).toThrow(ValidationError);
  });

  it('builds a DID Core document with the controller as a did:pkh recovery method', () => {
    const doc = didDocument(source(), GOV);
    const did = 'did:qiao:alice.1';
    expect(doc['@context']).toEqual([DID_CONTEXT, SECP256K1_RECOVERY_2020_CONTEXT, SECP256K1_2019_CONTEXT, ED25519_2020_CONTEXT]);
    expect(doc.id).toBe(did);
    expect(doc.controller).toBe(`did:pkh:eip155:7741:${CONTROLLER}`);
    expect(doc.verificationMethod).toEqual([
      { id: `${did}#controller`, type: 'EcdsaSecp256k1RecoveryMethod2020', controller: `did:pkh:eip155:7741:${CONTROLLER}`, blockchainAccountId: `eip155:7741:${CONTROLLER}` },
      { id: `${did}#sig-1`, type: 'EcdsaSecp256k1VerificationKey2019', controller: did, publicKeyJwk: secp256k1Jwk(G_COMPRESSED) },
      { id: `${did}#ed-1`, type: 'Ed25519VerificationKey2020', controller: did, publicKeyMultibase: 'z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp' },
    ]);
    expect(doc.authentication).toEqual([`${did}#controller`, `${did}#sig-1`, `${did}#ed-1`]);
    expect(doc.assertionMethod).toEqual([`${did}#sig-1`, `${did}#ed-1`]);
    expect(doc.capabilityInvocation).toEqual([`${did}#controller`]);
    expect(doc.service).toEqual([{ id: `${did}#hub`, type: 'QiaoHub', serviceEndpoint: 'https://hub.example/api' }]);
    // Every reference points at a method of the document.
    const ids = new Set(doc.verificationMethod!.map((m) => m.id));
    for (const ref of [...doc.authentication!, ...doc.assertionMethod!, ...doc.capabilityInvocation!]) expect(ids.has(ref)).toBe(true);
  });

  it('only adds the suite contexts it uses', () => {
    const doc = didDocument(source({ keys: [{ id: 'e', type: 'ed25519', publicKey: `0x${'11'.repeat(32)}` as Hex }], services: [] }), GOV);
    expect(doc['@context']).toEqual([DID_CONTEXT, SECP256K1_RECOVERY_2020_CONTEXT, ED25519_2020_CONTEXT]);
    expect(doc.service).toBeUndefined();
  });

  it('resolves to the DID Resolution result shapes: found, deactivated, notFound, invalidDid', () => {
    const ok = resolutionResult('did:qiao:alice.1', source(), GOV);
    expect(ok.didResolutionMetadata).toEqual({ contentType: 'application/did+ld+json' });
    expect(ok.didDocumentMetadata).toEqual({
      created: '2025-11-24T16:00:00Z',
      updated: '2025-11-24T16:02:03Z',
      deactivated: false,
      versionId: '3',
      documentHash: keccak256(toUtf8Bytes('doc')),
    });
    expect(didTime(0)).toBe('1970-01-01T00:00:00Z');

    const gone = resolutionResult('did:qiao:alice.1', source({ active: false, versionId: 4n }), GOV);
    expect(gone.didDocumentMetadata.deactivated).toBe(true);
    expect(gone.didDocumentMetadata.versionId).toBe('4');
    // A deactivated DID keeps no usable keys or services.
    expect(gone.didDocument).toEqual({ '@context': [DID_CONTEXT], id: 'did:qiao:alice.1' });

    expect(resolutionResult('did:qiao:nobody', null, GOV)).toEqual({ didDocument: null, didResolutionMetadata: { error: 'notFound' }, didDocumentMetadata: {} });
    for (const bad of ['did:qiao:', 'did:other:x', 'did:qiao:a b', `did:qiao:${'a'.repeat(65)}`]) {
      expect(resolutionResult(bad, null, GOV).didResolutionMetadata).toEqual({ error: 'invalidDid' });
    }
  });
});
