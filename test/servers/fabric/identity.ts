/**
 * The peers' and orderer's view of the channel MSPs: an identity is valid when
 * its certificate chains to its organisation's root CA and is in its validity
 * window; signatures are ECDSA P-256 / SHA-256, DER, and must be low-S (Fabric's
 * MSP rejects high-S to stop signature malleability).
 */
import { X509Certificate, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { msp } from '@hyperledger/fabric-protos';
import type { OrgCrypto, Role } from './ca.ts';

const P256_HALF_N = 0x7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8n;

export interface ValidIdentity {
  mspId: string;
  role: Role | undefined;
  certPem: string;
  publicKey: KeyObject;
}

/** Reads r,s from a DER ECDSA signature; null when it is not one. */
function sValue(sig: Uint8Array): bigint | null {
  try {
    if (sig[0] !== 0x30) return null;
    let p = 2;
    if (sig[1]! & 0x80) p = 2 + (sig[1]! & 0x7f);
    if (sig[p] !== 0x02) return null;
    p += 2 + sig[p + 1]!;
    if (sig[p] !== 0x02) return null;
    const len = sig[p + 1]!;
    return BigInt('0x' + Buffer.from(sig.subarray(p + 2, p + 2 + len)).toString('hex'));
  } catch {
    return null;
  }
}

export class ChannelMsps {
  private readonly roots = new Map<string, X509Certificate>();
  private readonly cache = new Map<string, ValidIdentity | null>();

  constructor(orgs: OrgCrypto[]) {
    for (const o of orgs) this.roots.set(o.mspId, new X509Certificate(o.caCertPem));
  }

  get mspIds(): string[] {
    return [...this.roots.keys()];
  }

  /** Validates a serialized identity; null when unknown MSP, foreign issuer or expired. */
  identity(serialized: Uint8Array): ValidIdentity | null {
    const key = Buffer.from(serialized).toString('base64');
    if (this.cache.has(key)) return this.cache.get(key)!;
    let out: ValidIdentity | null = null;
    try {
      const sid = msp.SerializedIdentity.deserializeBinary(serialized);
      const root = this.roots.get(sid.getMspid());
      const pem = Buffer.from(sid.getIdBytes_asU8()).toString('utf8');
      const cert = new X509Certificate(pem);
      const now = Date.now();
      if (root && cert.checkIssued(root) && cert.verify(root.publicKey) && Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo)) {
        const ou = /(?:^|\n)OU=([^\n]+)/.exec(cert.subject)?.[1];
        const role = (['admin', 'peer', 'client', 'orderer'] as const).find((r) => r === ou);
        out = { mspId: sid.getMspid(), role, certPem: pem, publicKey: createPublicKey(pem) };
      }
    } catch {
      out = null;
    }
    this.cache.set(key, out);
    return out;
  }

  /** The identity if `signature` is its valid low-S signature over `data`, else null. */
  verified(serialized: Uint8Array, data: Uint8Array, signature: Uint8Array): ValidIdentity | null {
    const id = this.identity(serialized);
    if (!id) return null;
    const s = sValue(signature);
    if (s === null || s > P256_HALF_N) return null;
    try {
      return verify('sha256', data, id.publicKey, signature) ? id : null;
    } catch {
      return null;
    }
  }
}
