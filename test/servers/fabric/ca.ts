/**
 * A throwaway certificate authority per organisation, made at network start.
 * Certificates look like cryptogen's: ECDSA P-256, a self-signed root per org,
 * NodeOU organisational units (client/peer/admin/orderer) so a verifier can
 * tell a peer's signed answer from a client's.
 */
import { webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its providers through tsyringe, which needs the Reflect polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { p256 } from '@noble/curves/nist.js';
import { msp } from '@hyperledger/fabric-protos';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type Role = 'admin' | 'peer' | 'client' | 'orderer';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface FabricIdentity {
  mspId: string;
  role: Role;
  /** Common name, e.g. `peer0.org1.example.com`. */
  name: string;
  certPem: string;
  certDer: Uint8Array;
  /** PKCS#8 PEM, for fabric-network wallets. Never log it. */
  privateKeyPem: string;
  /** `msp.SerializedIdentity` bytes: what Fabric puts in creator/endorser fields. */
  serialized: Uint8Array;
  /** ECDSA P-256 over SHA-256(msg), DER, low-S as Fabric's MSP requires. */
  sign(msg: Uint8Array): Uint8Array;
}

export interface OrgCrypto {
  mspId: string;
  domain: string;
  caCertPem: string;
  caCertDer: Uint8Array;
  admin: FabricIdentity;
  /** Peers' or orderers' node identity, by role. */
  peer?: FabricIdentity;
  orderer?: FabricIdentity;
  client: FabricIdentity;
}

function serialNumber(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}

async function exportSecret(key: CryptoKey): Promise<{ pem: string; d: Uint8Array }> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const jwk = await webcrypto.subtle.exportKey('jwk', key);
  const b64 = pkcs8.toString('base64').replace(/(.{64})/g, '$1\n');
  return { pem: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`, d: Buffer.from(jwk.d!, 'base64url') };
}

export function serializeIdentity(mspId: string, certPem: string): Uint8Array {
  const s = new msp.SerializedIdentity();
  s.setMspid(mspId);
  s.setIdBytes(Buffer.from(certPem, 'utf8'));
  return s.serializeBinary();
}

function identity(mspId: string, role: Role, name: string, cert: x509.X509Certificate, secret: { pem: string; d: Uint8Array }): FabricIdentity {
  const certPem = cert.toString('pem') + '\n';
  const d = secret.d;
  return {
    mspId,
    role,
    name,
    certPem,
    certDer: new Uint8Array(cert.rawData),
    privateKeyPem: secret.pem,
    serialized: serializeIdentity(mspId, certPem),
    sign: (msg) => p256.sign(msg, d, { lowS: true, format: 'der' }),
  };
}

/** Creates one organisation's root CA and the identities it issues. */
export async function createOrgCrypto({ mspId, domain, node }: { mspId: string; domain: string; node: 'peer' | 'orderer' }): Promise<OrgCrypto> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const caName = `C=US, ST=North Carolina, L=Durham, O=${domain}, CN=ca.${domain}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: caName,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const issue = async (role: Role, cn: string): Promise<FabricIdentity> => {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: `C=US, ST=North Carolina, L=Durham, OU=${role}, CN=${cn}`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
    return identity(mspId, role, cn, cert, await exportSecret(keys.privateKey));
  };
  const org: OrgCrypto = {
    mspId,
    domain,
    caCertPem: ca.toString('pem') + '\n',
    caCertDer: new Uint8Array(ca.rawData),
    admin: await issue('admin', `Admin@${domain}`),
    client: await issue('client', `User1@${domain}`),
  };
  if (node === 'peer') org.peer = await issue('peer', `peer0.${domain}`);
  else org.orderer = await issue('orderer', `orderer.${domain}`);
  return org;
}
