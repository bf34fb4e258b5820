import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ConfigError, ValidationError } from '../../src/errors.ts';
import { chainFolderName } from './chain-id.ts';

/** The hub's client identity on one Fabric network (an X.509 identity of one of its organisations). Never logged. */
export interface FabricClientIdentity {
  mspId: string;
  certificate: string;
  privateKey: string;
}

const IdentitySchema = z.object({
  mspId: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/),
  certificate: z.string().includes('-----BEGIN CERTIFICATE-----'),
  privateKey: z.string().includes('PRIVATE KEY-----'),
});

export function identityPath(dataDir: string, chainId: string): string {
  return join(dataDir, 'fabric', chainFolderName(chainId), 'identity.json');
}

/** Checks that the certificate parses and the key is its P-256 key (fabric-network would fail later, less clearly). */
export function checkFabricIdentity(raw: unknown, field = 'identity'): FabricClientIdentity {
  const r = IdentitySchema.safeParse(raw);
  if (!r.success) throw new ValidationError(field, `is not {mspId, certificate (PEM), privateKey (PEM)}: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(r.data.certificate);
  } catch (cause) {
    throw new ValidationError(`${field}.certificate`, 'is not a PEM X.509 certificate', { cause });
  }
  let matches = false;
  try {
    const key = createPrivateKey(r.data.privateKey);
    matches = key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' && cert.checkPrivateKey(key);
  } catch (cause) {
    throw new ValidationError(`${field}.privateKey`, 'is not a PEM private key', { cause });
  }
  if (!matches) throw new ValidationError(`${field}.privateKey`, "is not the certificate's P-256 key");
  return r.data;
}

export async function readFabricIdentity(dataDir: string, chainId: string): Promise<FabricClientIdentity> {
  const file = identityPath(dataDir, chainId);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`chains.${chainId}`, `no Fabric client identity at ${file} (qiao fabric identity import --chain ${chainId} ...)`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`chains.${chainId}`, `${file} is not JSON`, { cause });
  }
  try {
    return checkFabricIdentity(json, file);
  } catch (cause) {
    if (cause instanceof ValidationError) throw new ConfigError(cause.field, cause.message, { cause });
    throw cause;
  }
}

/** Writes the identity file (owner-only), atomically. */
export async function writeFabricIdentity(dataDir: string, chainId: string, id: FabricClientIdentity): Promise<string> {
  const checked = checkFabricIdentity(id);
  const file = identityPath(dataDir, chainId);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(checked, null, 2), { mode: 0o600 });
  await rename(tmp, file);
  return file;
}
