import { createHash, timingSafeEqual } from 'node:crypto';
import { verifyMessage } from 'ethers';
import type { FastifyRequest } from 'fastify';
import type { AuditCaller } from '../../index/audit/store.ts';

/*
 * Who is asking. Credit records are read by an identified caller: an API key
 * (`X-Qiao-Api-Key: <id>:<secret>`, checked against the hub's configured key
 * hashes) or an EIP-191 signature over `qiao-read:<path and query>:<unix s>`
 * (`X-Qiao-Signature`, `X-Qiao-Timestamp`). A subject reads its own audit log
 * with a signature of its DID's controller over `qiao-audit:<did>:<unix s>`.
 */

export const HEADER_API_KEY = 'x-qiao-api-key';
export const HEADER_SIGNATURE = 'x-qiao-signature';
export const HEADER_TIMESTAMP = 'x-qiao-timestamp';
export const HEADER_PURPOSE = 'x-qiao-purpose';

/** A signature counts for this long after its timestamp (and this little before it: clock skew). */
export const SIGNATURE_MAX_AGE_SECONDS = 300;
export const SIGNATURE_MAX_SKEW_SECONDS = 60;

/** API key id → sha256 hex of its secret (the hub never keeps the secret itself). */
export type ApiKeyHashes = Readonly<Record<string, string>>;

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The outcome of checking the caller's headers: who it is, or which header is wrong and why. */
export type CallerCheck =
  | { ok: true; caller: AuditCaller }
  | { ok: false; status: 401 | 403; field: string; message: string };

export function readMessage(url: string, timestamp: number | bigint | string): string {
  return `qiao-read:${url}:${timestamp}`;
}

export function auditMessage(did: string, timestamp: number | bigint | string): string {
  return `qiao-audit:${did}:${timestamp}`;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** The caller of a request, or anonymous when it sent no credentials at all. */
export function identifyCaller(req: FastifyRequest, apiKeys: ApiKeyHashes, now: Date): CallerCheck {
  const key = header(req, HEADER_API_KEY);
  if (key !== undefined) return checkApiKey(key, apiKeys);
  if (header(req, HEADER_SIGNATURE) === undefined && header(req, HEADER_TIMESTAMP) === undefined) return { ok: true, caller: { kind: 'anonymous' } };
  const signed = recoverSigner(req, (ts) => readMessage(req.url, ts), now);
  return signed.ok ? { ok: true, caller: { kind: 'address', address: signed.address.toLowerCase() } } : signed;
}

function checkApiKey(value: string, apiKeys: ApiKeyHashes): CallerCheck {
  const field = 'X-Qiao-Api-Key';
  const i = value.indexOf(':');
  const id = i < 0 ? '' : value.slice(0, i);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id) || i === value.length - 1) return { ok: false, status: 401, field, message: `${field}: must be <key id>:<secret>` };
  const expected = Object.hasOwn(apiKeys, id) ? apiKeys[id] : undefined;
  const given = Buffer.from(hashApiKeySecret(value.slice(i + 1)), 'hex');
  // Compared in constant time; an unknown id costs the same as a wrong secret.
  const want = Buffer.from(expected !== undefined && /^[0-9a-f]{64}$/.test(expected) ? expected : '00'.repeat(32), 'hex');
  if (!timingSafeEqual(given, want) || expected === undefined) return { ok: false, status: 401, field, message: `${field}: unknown key id or wrong secret` };
  return { ok: true, caller: { kind: 'api_key', id } };
}

/** Checks X-Qiao-Timestamp (fresh) and X-Qiao-Signature (EIP-191 over `message(ts)`), returning the signer. */
export function recoverSigner(
  req: FastifyRequest,
  message: (timestamp: string) => string,
  now: Date,
): { ok: true; address: string } | { ok: false; status: 401; field: string; message: string } {
  const sig = header(req, HEADER_SIGNATURE);
  const ts = header(req, HEADER_TIMESTAMP);
  if (ts === undefined) return { ok: false, status: 401, field: 'X-Qiao-Timestamp', message: 'X-Qiao-Timestamp: missing (unix seconds at signing)' };
  if (!/^[0-9]{1,12}$/.test(ts)) return { ok: false, status: 401, field: 'X-Qiao-Timestamp', message: 'X-Qiao-Timestamp: must be unix seconds' };
  const t = Number(ts);
  const nowS = Math.floor(now.getTime() / 1000);
  if (nowS - t > SIGNATURE_MAX_AGE_SECONDS) return { ok: false, status: 401, field: 'X-Qiao-Timestamp', message: `X-Qiao-Timestamp: older than ${SIGNATURE_MAX_AGE_SECONDS} s, sign again` };
  if (t - nowS > SIGNATURE_MAX_SKEW_SECONDS) return { ok: false, status: 401, field: 'X-Qiao-Timestamp', message: 'X-Qiao-Timestamp: lies in the future' };
  if (sig === undefined) return { ok: false, status: 401, field: 'X-Qiao-Signature', message: 'X-Qiao-Signature: missing' };
  if (!/^0x[0-9a-fA-F]{130}$/.test(sig)) return { ok: false, status: 401, field: 'X-Qiao-Signature', message: 'X-Qiao-Signature: must be a 65-byte 0x hex signature' };
  try {
    // The message carries the timestamp exactly as sent.
    return { ok: true, address: verifyMessage(message(ts), sig) };
  } catch {
    return { ok: false, status: 401, field: 'X-Qiao-Signature', message: 'X-Qiao-Signature: not a valid secp256k1 signature' };
  }
}
