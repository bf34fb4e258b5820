/**
 * Just enough X.509 (DER) for Fabric MSPs: names, validity, OUs, basic
 * constraints and the EC public key. Parsed here rather than through
 * node:crypto's X509Certificate because OpenSSL 3's decoders cost ~300 µs per
 * certificate and a block carries several identities; the public key is
 * imported as a JWK (~4× faster) and signatures still go through OpenSSL.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

export class X509Error extends Error {}

interface Tlv {
  tag: number;
  /** Whole element (tag + length + content). */
  raw: Uint8Array;
  content: Uint8Array;
}

function readTlv(buf: Uint8Array, pos: number): [Tlv, number] {
  if (pos + 2 > buf.length) throw new X509Error('truncated DER');
  const tag = buf[pos]!;
  let len = buf[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new X509Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) {
      if (p >= buf.length) throw new X509Error('truncated DER length');
      len = len * 256 + buf[p++]!;
    }
  }
  if (p + len > buf.length) throw new X509Error('DER length past the end');
  return [{ tag, raw: buf.subarray(pos, p + len), content: buf.subarray(p, p + len) }, p + len];
}

export function derChildren(content: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let pos = 0;
  while (pos < content.length) {
    const [t, p] = readTlv(content, pos);
    out.push(t);
    pos = p;
  }
  return out;
}

export function derRoot(buf: Uint8Array): Tlv {
  const [t, p] = readTlv(buf, 0);
  if (p !== buf.length) throw new X509Error('trailing bytes after DER');
  return t;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

const OID_OU = '55040b';
const OID_CN = '550403';
const OID_BASIC_CONSTRAINTS = '551d13';
const OID_EC_PUBLIC_KEY = '2a8648ce3d0201';
const CURVES: Record<string, { crv: string; size: number }> = {
  '2a8648ce3d030107': { crv: 'P-256', size: 32 },
  '2b81040022': { crv: 'P-384', size: 48 },
};
/** Signature algorithm OID → hash. */
export const SIG_HASH: Record<string, string> = {
  '2a8648ce3d040302': 'sha256',
  '2a8648ce3d040303': 'sha384',
};

function decodeTime(t: Tlv): number {
  const s = latin1.decode(t.content);
  let m: RegExpExecArray | null;
  if (t.tag === 0x17 && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1]);
    return Date.UTC(yy < 50 ? 2000 + yy : 1900 + yy, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  if (t.tag === 0x18 && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  throw new X509Error('unsupported certificate time');
}

function nameAttrs(name: Tlv, oid: string): string[] {
  const out: string[] = [];
  for (const rdn of derChildren(name.content)) {
    for (const atv of derChildren(rdn.content)) {
      const [o, v] = derChildren(atv.content);
      if (o && v && hex(o.content) === oid) out.push(v.tag === 0x0c ? utf8.decode(v.content) : latin1.decode(v.content));
    }
  }
  return out;
}

export interface ParsedCert {
  der: Uint8Array;
  tbs: Uint8Array;
  sigHash: string | undefined;
  signature: Uint8Array;
  serialHex: string;
  issuerRaw: Uint8Array;
  subjectRaw: Uint8Array;
  commonName: string;
  ous: string[];
  notBefore: number;
  notAfter: number;
  isCA: boolean;
  /** JWK of the EC public key, when the key is P-256 or P-384. */
  jwk: { kty: 'EC'; crv: string; x: string; y: string } | null;
}

export function parseCertDer(der: Uint8Array): ParsedCert {
  const [tbs, alg, sig] = derChildren(derRoot(der).content);
  if (!tbs || !alg || !sig || sig.tag !== 0x03) throw new X509Error('not a certificate');
  const f = derChildren(tbs.content);
  let i = f[0]?.tag === 0xa0 ? 1 : 0;
  const serial = f[i++];
  i++; // signature algorithm (repeated outside the TBS)
  const issuer = f[i++];
  const validity = f[i++];
  const subject = f[i++];
  const spki = f[i++];
  if (!serial || !issuer || !validity || !subject || !spki) throw new X509Error('truncated TBSCertificate');
  const [nb, na] = derChildren(validity.content);
  if (!nb || !na) throw new X509Error('bad validity');
  let isCA = false;
  for (const ext of f.slice(i)) {
    if (ext.tag !== 0xa3) continue;
    const list = derChildren(ext.content)[0];
    for (const e of list ? derChildren(list.content) : []) {
      const parts = derChildren(e.content);
      if (hex(parts[0]!.content) !== OID_BASIC_CONSTRAINTS) continue;
      const value = parts[parts.length - 1]!;
      const bc = derChildren(derRoot(value.content).content);
      isCA = bc[0]?.tag === 0x01 && bc[0].content[0] !== 0;
    }
  }
  let jwk: ParsedCert['jwk'] = null;
  const [keyAlg, keyBits] = derChildren(spki.content);
  if (keyAlg && keyBits) {
    const [kOid, kCurve] = derChildren(keyAlg.content);
    const curve = kCurve ? CURVES[hex(kCurve.content)] : undefined;
    const point = keyBits.content.subarray(1);
    if (kOid && hex(kOid.content) === OID_EC_PUBLIC_KEY && curve && point.length === 1 + 2 * curve.size && point[0] === 4) {
      const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
      jwk = { kty: 'EC', crv: curve.crv, x: b64(point.subarray(1, 1 + curve.size)), y: b64(point.subarray(1 + curve.size)) };
    }
  }
  const algOid = derChildren(alg.content)[0];
  return {
    der,
    tbs: tbs.raw,
    sigHash: algOid ? SIG_HASH[hex(algOid.content)] : undefined,
    signature: sig.content.subarray(1),
    serialHex: hex(serial.content).replace(/^0+/, '').toUpperCase(),
    issuerRaw: issuer.raw,
    subjectRaw: subject.raw,
    commonName: nameAttrs(subject, OID_CN)[0] ?? '',
    ous: nameAttrs(subject, OID_OU),
    notBefore: decodeTime(nb),
    notAfter: decodeTime(na),
    isCA,
    jwk,
  };
}

/** The DER of each CERTIFICATE block in a PEM text (or the bytes themselves when already DER). */
export function pemBlocks(pem: Uint8Array, label = 'CERTIFICATE'): Uint8Array[] {
  if (pem[0] === 0x30) return [pem];
  const text = latin1.decode(pem);
  const out: Uint8Array[] = [];
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  let pos = 0;
  for (;;) {
    const b = text.indexOf(begin, pos);
    if (b < 0) break;
    const e = text.indexOf(end, b);
    if (e < 0) throw new X509Error('unterminated PEM block');
    out.push(new Uint8Array(Buffer.from(text.slice(b + begin.length, e), 'base64')));
    pos = e + end.length;
  }
  return out;
}

export function publicKeyOf(c: ParsedCert): KeyObject {
  if (!c.jwk) throw new X509Error('certificate key is not an EC P-256/P-384 key');
  return createPublicKey({ key: c.jwk, format: 'jwk' });
}

export function fingerprint(c: ParsedCert): string {
  return createHash('sha256').update(c.der).digest('hex');
}
