/**
 * Fabric X.509 MSPs as a channel config defines them: root and intermediate
 * CAs, admins, CRLs and NodeOU roles. An identity is valid when its
 * certificate chains to a root of its MSP (issuer name bytes and CA
 * signature, as Go's x509 pools match them), is not a CA, and no CRL of the
 * chain revokes it.
 */
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { bytesField, decode, intField, numField, repeatedBytes, stringField } from './pb.ts';
import { derChildren, derRoot, parseCertDer, pemBlocks, publicKeyOf, type ParsedCert } from './x509.ts';
import type { SerializedIdentity } from './tx.ts';

export interface NodeOUs {
  enable: boolean;
  client?: string;
  peer?: string;
  admin?: string;
  orderer?: string;
}

interface CaCert {
  cert: ParsedCert;
  key: KeyObject;
  fingerprint: string;
}

export interface Msp {
  id: string;
  roots: CaCert[];
  intermediates: CaCert[];
  /** DER (hex) of the admin certificates. */
  admins: Set<string>;
  /** Revoked serial numbers (upper-case hex) per issuing CA fingerprint. */
  revoked: Map<string, Set<string>>;
  nodeOUs: NodeOUs | null;
  /** Validation results per identity (an MSP is immutable once built; the cache only saves work). */
  cache: Map<string, ValidatedIdentity | string>;
}

export interface ValidatedIdentity {
  mspId: string;
  cert: ParsedCert;
  publicKey: KeyObject;
  ous: string[];
  /** mspId + SHA-256 of the certificate: Fabric's identity identifier, used to count a signer once. */
  id: string;
}

export type MspSet = Map<string, Msp>;

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

function eqBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function caCert(der: Uint8Array): CaCert {
  const cert = parseCertDer(der);
  return { cert, key: publicKeyOf(cert), fingerprint: createHash('sha256').update(der).digest('hex') };
}

function ouOf(m: Uint8Array): string | undefined {
  if (m.length === 0) return undefined;
  return stringField(decode(m), 2) || undefined;
}

function signedBy(tbs: Uint8Array, hash: string | undefined, sig: Uint8Array, ca: CaCert): boolean {
  if (!hash) return false;
  try {
    return cryptoVerify(hash, tbs, { key: ca.key, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
}

const SIG_HASH_BY_OID: Record<string, string> = { '2a8648ce3d040302': 'sha256', '2a8648ce3d040303': 'sha384' };

/**
 * An X.509 CRL (RFC 5280 CertificateList): its signature must verify under a
 * CA of the MSP (as Fabric checks at MSP setup); yields the revoked serials.
 */
function parseCrl(der: Uint8Array, cas: CaCert[]): { issuer: CaCert; serials: Set<string> } {
  const [tbs, alg, sigBits] = derChildren(derRoot(der).content);
  if (!tbs || !alg || !sigBits || sigBits.tag !== 0x03) throw new Error('CRL is not a CertificateList');
  const algOid = derChildren(alg.content)[0];
  const hash = algOid ? SIG_HASH_BY_OID[hex(algOid.content)] : undefined;
  const issuer = cas.find((ca) => signedBy(tbs.raw, hash, sigBits.content.subarray(1), ca));
  if (!issuer) throw new Error('CRL is not signed by a CA of the MSP');
  const fields = derChildren(tbs.content);
  let i = fields[0]?.tag === 0x02 ? 1 : 0;
  i += 3; // signature algorithm, issuer, thisUpdate
  if (fields[i] && (fields[i]!.tag === 0x17 || fields[i]!.tag === 0x18)) i++;
  const serials = new Set<string>();
  const list = fields[i];
  if (list && list.tag === 0x30) {
    for (const entry of derChildren(list.content)) {
      const serial = derChildren(entry.content)[0];
      if (serial?.tag === 0x02) serials.add(hex(serial.content).replace(/^0+/, '').toUpperCase());
    }
  }
  return { issuer, serials };
}

/** msp.MSPConfig (type FABRIC = 0) → Msp; null for other MSP types (idemix). Throws on a malformed config. */
export function parseMspConfig(bytes: Uint8Array): Msp | null {
  const m = decode(bytes);
  if (numField(m, 1) !== 0) return null;
  const c = decode(bytesField(m, 2));
  const roots = repeatedBytes(c, 2).flatMap((p) => pemBlocks(p)).map(caCert);
  const intermediates = repeatedBytes(c, 3).flatMap((p) => pemBlocks(p)).map(caCert);
  const admins = new Set(repeatedBytes(c, 4).flatMap((p) => pemBlocks(p)).map(hex));
  const revoked = new Map<string, Set<string>>();
  for (const pem of repeatedBytes(c, 5)) {
    for (const der of pemBlocks(pem, 'X509 CRL')) {
      const { issuer, serials } = parseCrl(der, [...roots, ...intermediates]);
      const prev = revoked.get(issuer.fingerprint) ?? new Set<string>();
      for (const s of serials) prev.add(s);
      revoked.set(issuer.fingerprint, prev);
    }
  }
  const ouBytes = bytesField(c, 11);
  let nodeOUs: NodeOUs | null = null;
  if (ouBytes.length) {
    const o = decode(ouBytes);
    nodeOUs = {
      enable: intField(o, 1) !== 0n,
      client: ouOf(bytesField(o, 2)),
      peer: ouOf(bytesField(o, 3)),
      admin: ouOf(bytesField(o, 4)),
      orderer: ouOf(bytesField(o, 5)),
    };
  }
  return { id: stringField(c, 1), roots, intermediates, admins, revoked, nodeOUs, cache: new Map() };
}

/**
 * Validates a serialized identity against the MSP named in it. When `at` is
 * given, every certificate of the chain must be valid at that time. Returns
 * the identity or a reason string.
 */
export function validateIdentity(msps: MspSet, id: SerializedIdentity, at?: Date): ValidatedIdentity | string {
  const msp = msps.get(id.mspId);
  if (!msp) return `unknown MSP ${id.mspId}`;
  const key = `${at?.getTime() ?? ''}|${Buffer.from(id.idBytes.buffer, id.idBytes.byteOffset, id.idBytes.length).toString('latin1')}`;
  const hit = msp.cache.get(key);
  if (hit !== undefined) return hit;
  const res = validateUncached(msp, id, at);
  msp.cache.set(key, res);
  return res;
}

function validateUncached(msp: Msp, id: SerializedIdentity, at?: Date): ValidatedIdentity | string {
  let cert: ParsedCert;
  try {
    const ders = pemBlocks(id.idBytes);
    if (ders.length !== 1) return 'identity does not hold exactly one certificate';
    cert = parseCertDer(ders[0]!);
  } catch {
    return 'identity certificate does not parse';
  }
  if (cert.isCA) return 'identity certificate is a CA';
  const chain: { cert: ParsedCert; ca: CaCert | null }[] = [];
  let cur = cert;
  let reachedRoot = false;
  for (let depth = 0; depth < 8 && !reachedRoot; depth++) {
    const issuerOf = (ca: CaCert) => eqBytes(ca.cert.subjectRaw, cur.issuerRaw) && signedBy(cur.tbs, cur.sigHash, cur.signature, ca);
    const root = msp.roots.find(issuerOf);
    const parent = root ?? msp.intermediates.find(issuerOf);
    if (!parent) return `certificate ${cur.commonName} does not chain to a root of ${msp.id}`;
    chain.push({ cert: cur, ca: parent });
    reachedRoot = !!root;
    cur = parent.cert;
  }
  if (!reachedRoot) return `certificate chain of ${msp.id} too long`;
  for (const link of chain) {
    if (msp.revoked.get(link.ca!.fingerprint)?.has(link.cert.serialHex)) return `certificate ${link.cert.serialHex} revoked by ${msp.id}`;
  }
  if (at) {
    const t = at.getTime();
    for (const c of [...chain.map((l) => l.cert), cur]) {
      if (t < c.notBefore || t > c.notAfter) return `certificate ${c.commonName} not valid at ${at.toISOString()}`;
    }
  }
  let publicKey: KeyObject;
  try {
    publicKey = publicKeyOf(cert);
  } catch {
    return 'identity key is not an EC P-256/P-384 key';
  }
  return { mspId: msp.id, cert, publicKey, ous: cert.ous, id: `${msp.id}|${createHash('sha256').update(cert.der).digest('hex')}` };
}

export const ROLE_MEMBER = 0;
export const ROLE_ADMIN = 1;
export const ROLE_CLIENT = 2;
export const ROLE_PEER = 3;
export const ROLE_ORDERER = 4;

/** Does a validated identity hold an MSPRole (as `satisfiesPrincipal` decides)? */
export function hasRole(msp: Msp, id: ValidatedIdentity, role: number): boolean {
  const ous = msp.nodeOUs?.enable ? msp.nodeOUs : null;
  switch (role) {
    case ROLE_MEMBER:
      return true;
    case ROLE_ADMIN:
      if (msp.admins.has(hex(id.cert.der))) return true;
      return !!ous?.admin && id.ous.includes(ous.admin);
    case ROLE_CLIENT:
      return !!ous?.client && id.ous.includes(ous.client);
    case ROLE_PEER:
      return !!ous?.peer && id.ous.includes(ous.peer);
    case ROLE_ORDERER:
      return !!ous?.orderer && id.ous.includes(ous.orderer);
    default:
      return false;
  }
}
