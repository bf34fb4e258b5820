import { decodeBase58, encodeBase58, getAddress, getBytes, hexlify, SigningKey, toBeArray } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import { ValidationError } from '../errors.ts';
import { DID_PATTERN, parseDid } from './did.ts';
import type { Identity } from './types.ts';

/*
 * W3C DID Core documents and DID Resolution results for `did:qiao` identities.
 * The registry stores raw keys; here they become the verification-method
 * formats of their suites: Ed25519VerificationKey2020 (publicKeyMultibase,
 * base58btc of the 0xed01 multicodec prefix + 32 bytes) and
 * EcdsaSecp256k1VerificationKey2019 (publicKeyJwk). The controller address is
 * a did:pkh DID with an EcdsaSecp256k1RecoveryMethod2020 carrying its CAIP-10
 * blockchainAccountId on the governance chain: it is the key that signs every
 * change to the record.
 */

export const DID_CONTEXT = 'https://www.w3.org/ns/did/v1';
export const SECP256K1_2019_CONTEXT = 'https://w3id.org/security/suites/secp256k1-2019/v1';
export const ED25519_2020_CONTEXT = 'https://w3id.org/security/suites/ed25519-2020/v1';
export const SECP256K1_RECOVERY_2020_CONTEXT = 'https://w3id.org/security/suites/secp256k1recovery-2020/v2';
export const DID_LD_JSON = 'application/did+ld+json';

// Multicodec varint prefixes (https://github.com/multiformats/multicodec).
const ED25519_PUB_PREFIX = Uint8Array.of(0xed, 0x01);

/** What a DID document is built from: the registry's record. */
export type DidSource = Pick<Identity, 'did' | 'controller' | 'documentHash' | 'keys' | 'services' | 'active' | 'createdAt' | 'updatedAt' | 'versionId'>;

export interface Jwk {
  kty: 'EC';
  crv: 'secp256k1';
  x: string;
  y: string;
}

export type VerificationMethod =
  | { id: string; type: 'Ed25519VerificationKey2020'; controller: string; publicKeyMultibase: string }
  | { id: string; type: 'EcdsaSecp256k1VerificationKey2019'; controller: string; publicKeyJwk: Jwk }
  | { id: string; type: 'EcdsaSecp256k1RecoveryMethod2020'; controller: string; blockchainAccountId: string };

export interface DidDocument {
  '@context': string[];
  id: string;
  controller?: string;
  verificationMethod?: VerificationMethod[];
  authentication?: string[];
  assertionMethod?: string[];
  capabilityInvocation?: string[];
  service?: { id: string; type: string; serviceEndpoint: string }[];
}

export interface DidDocumentMetadata {
  created?: string;
  updated?: string;
  deactivated?: boolean;
  versionId?: string;
  /** The hash of the off-chain document the registry commits to (extension property). */
  documentHash?: Hex;
}

export type DidResolutionError = 'notFound' | 'invalidDid';

export interface DidResolutionResult {
  didDocument: DidDocument | null;
  didResolutionMetadata: { contentType: typeof DID_LD_JSON } | { error: DidResolutionError };
  didDocumentMetadata: DidDocumentMetadata;
}

/** The did:pkh DID of an account on an EVM chain (CAIP-10 inside). */
export function pkhDid(govChainId: bigint | number, address: string): string {
  return `did:pkh:${caip10(govChainId, address)}`;
}

function caip10(govChainId: bigint | number, address: string): string {
  return `eip155:${BigInt(govChainId).toString()}:${getAddress(address)}`;
}

/** `z` + base58btc(0xed01 || key): the Ed25519VerificationKey2020 / Multikey form. */
export function ed25519Multibase(publicKey: Hex | Uint8Array): string {
  const key = getBytes(publicKey);
  if (key.length !== 32) throw new ValidationError('publicKey', `an ed25519 key must be 32 bytes, got ${key.length}`);
  const bytes = new Uint8Array(34);
  bytes.set(ED25519_PUB_PREFIX, 0);
  bytes.set(key, 2);
  return `z${encodeBase58(bytes)}`;
}

/** The 32-byte ed25519 key inside a `z…` multibase value (checks the multicodec prefix). */
export function ed25519FromMultibase(value: string, field = 'publicKeyMultibase'): Hex {
  if (!/^z[1-9A-HJ-NP-Za-km-z]+$/.test(value)) throw new ValidationError(field, 'must be z followed by base58btc');
  const bytes = base58Bytes(value.slice(1));
  if (bytes.length !== 34 || bytes[0] !== ED25519_PUB_PREFIX[0] || bytes[1] !== ED25519_PUB_PREFIX[1]) {
    throw new ValidationError(field, 'is not an ed25519-pub multikey (0xed01 prefix, 32 bytes)');
  }
  return hexlify(bytes.subarray(2)) as Hex;
}

/** base58btc to bytes, keeping leading zero bytes (each leading `1`). */
function base58Bytes(s: string): Uint8Array {
  let zeros = 0;
  while (zeros < s.length && s[zeros] === '1') zeros++;
  const rest = s.slice(zeros);
  const body = rest.length === 0 ? new Uint8Array(0) : toBeArray(decodeBase58(rest));
  const out = new Uint8Array(zeros + body.length);
  out.set(body, zeros);
  return out;
}

/** A compressed secp256k1 key as the JWK of EcdsaSecp256k1VerificationKey2019. */
export function secp256k1Jwk(compressed: Hex | Uint8Array): Jwk {
  const key = getBytes(compressed);
  if (key.length !== 33 || (key[0] !== 2 && key[0] !== 3)) throw new ValidationError('publicKey', 'a secp256k1 key must be 33 bytes compressed (0x02/0x03 prefix)');
  let full: Uint8Array;
  try {
    full = getBytes(SigningKey.computePublicKey(key, false));
  } catch (cause) {
    throw new ValidationError('publicKey', 'is not a point on secp256k1', { cause });
  }
  return { kty: 'EC', crv: 'secp256k1', x: base64url(full.subarray(1, 33)), y: base64url(full.subarray(33, 65)) };
}

/** The compressed key of a secp256k1 JWK. */
export function secp256k1FromJwk(jwk: Jwk): Hex {
  const x = Buffer.from(jwk.x, 'base64url');
  const y = Buffer.from(jwk.y, 'base64url');
  if (jwk.kty !== 'EC' || jwk.crv !== 'secp256k1' || x.length !== 32 || y.length !== 32) throw new ValidationError('publicKeyJwk', 'is not a secp256k1 JWK');
  return SigningKey.computePublicKey(Buffer.concat([Buffer.of(4), x, y]), true) as Hex;
}

function base64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

/** XML Schema dateTime in UTC without fractions, as DID Core asks for `created`/`updated`. */
export function didTime(unixSeconds: bigint | number): string {
  return new Date(Number(unixSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const ZERO32 = /^0x0{64}$/;

/**
 * The DID Core document of an active identity. A deactivated one yields only
 * its id: its keys and services must no longer be relied on.
 */
export function didDocument(src: DidSource, govChainId: bigint | number): DidDocument {
  const did = parseDid(src.did);
  if (!src.active) return { '@context': [DID_CONTEXT], id: did };
  const controllerDid = pkhDid(govChainId, src.controller);
  const controllerVm = `${did}#controller`;
  const contexts = new Set<string>([DID_CONTEXT, SECP256K1_RECOVERY_2020_CONTEXT]);
  const methods: VerificationMethod[] = [
    { id: controllerVm, type: 'EcdsaSecp256k1RecoveryMethod2020', controller: controllerDid, blockchainAccountId: caip10(govChainId, src.controller) },
  ];
  for (const k of src.keys) {
    const id = `${did}#${k.id}`;
    if (k.type === 'ed25519') {
      contexts.add(ED25519_2020_CONTEXT);
      methods.push({ id, type: 'Ed25519VerificationKey2020', controller: did, publicKeyMultibase: ed25519Multibase(k.publicKey) });
    } else {
      contexts.add(SECP256K1_2019_CONTEXT);
      methods.push({ id, type: 'EcdsaSecp256k1VerificationKey2019', controller: did, publicKeyJwk: secp256k1Jwk(k.publicKey) });
    }
  }
  const keyRefs = src.keys.map((k) => `${did}#${k.id}`);
  const doc: DidDocument = {
    '@context': [...contexts],
    id: did,
    controller: controllerDid,
    verificationMethod: methods,
    authentication: [controllerVm, ...keyRefs],
    assertionMethod: keyRefs,
    // The controller is the only key the registry accepts changes from.
    capabilityInvocation: [controllerVm],
  };
  if (src.services.length > 0) doc.service = src.services.map((s) => ({ id: `${did}#${s.id}`, type: s.type, serviceEndpoint: s.endpoint }));
  return doc;
}

export function didDocumentMetadata(src: DidSource): DidDocumentMetadata {
  const m: DidDocumentMetadata = {
    created: didTime(src.createdAt),
    updated: didTime(src.updatedAt),
    deactivated: !src.active,
    versionId: BigInt(src.versionId).toString(),
  };
  if (!ZERO32.test(src.documentHash)) m.documentHash = src.documentHash.toLowerCase() as Hex;
  return m;
}

/**
 * DID Resolution: `did` as the caller wrote it and the registry's record
 * (null when the registry has none).
 */
export function resolutionResult(did: string, src: DidSource | null, govChainId: bigint | number): DidResolutionResult {
  if (!DID_PATTERN.test(did)) return { didDocument: null, didResolutionMetadata: { error: 'invalidDid' }, didDocumentMetadata: {} };
  if (src === null) return { didDocument: null, didResolutionMetadata: { error: 'notFound' }, didDocumentMetadata: {} };
  return { didDocument: didDocument(src, govChainId), didResolutionMetadata: { contentType: DID_LD_JSON }, didDocumentMetadata: didDocumentMetadata(src) };
}
