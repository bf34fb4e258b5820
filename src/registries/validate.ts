import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { getAddress, isAddress } from 'ethers';
import { ValidationError } from '../errors.ts';
import { asHex, type Hex } from '../domain/hex.ts';
import { ID_PATTERN } from './did.ts';
import { KEY_LENGTHS, KEY_TYPES, type KeyType, type ServiceEndpoint, type VerificationKey } from './types.ts';

/**
 * A verification key as IdentityRegistry takes it: the id alphabet, a known type,
 * the type's length, and a point that is really on the curve (the contract can
 * only check lengths; a key that can never verify anything must not get in).
 */
export function validateKey(key: unknown, field = 'key'): VerificationKey {
  const k = key as Partial<VerificationKey> | null;
  if (!k || typeof k !== 'object') throw new ValidationError(field, 'must be {id, type, publicKey}');
  if (typeof k.id !== 'string' || !ID_PATTERN.test(k.id)) throw new ValidationError(`${field}.id`, 'must be 1-64 characters from [a-zA-Z0-9._-] (the fragment, without #)');
  if (typeof k.type !== 'string' || !(k.type in KEY_TYPES)) throw new ValidationError(`${field}.type`, `must be one of ${Object.keys(KEY_TYPES).join(', ')}`);
  const type = k.type as KeyType;
  const publicKey = asHex(k.publicKey, `${field}.publicKey`);
  const len = (publicKey.length - 2) / 2;
  if (len !== KEY_LENGTHS[type]) {
    const form = type === 'secp256k1' ? 'a compressed secp256k1 point (0x02/0x03 + 32 bytes)' : 'a raw ed25519 public key';
    throw new ValidationError(`${field}.publicKey`, `a ${type} key is ${KEY_LENGTHS[type]} bytes (${form}), got ${len}`);
  }
  try {
    if (type === 'secp256k1') secp256k1.Point.fromHex(publicKey.slice(2));
    else ed25519.Point.fromHex(publicKey.slice(2));
  } catch (cause) {
    throw new ValidationError(`${field}.publicKey`, `is not a point on ${type}`, { cause });
  }
  return { id: k.id, type, publicKey };
}

export function validateService(s: unknown, field = 'service'): ServiceEndpoint {
  const v = s as Partial<ServiceEndpoint> | null;
  if (!v || typeof v !== 'object') throw new ValidationError(field, 'must be {id, type, endpoint}');
  if (typeof v.id !== 'string' || !ID_PATTERN.test(v.id)) throw new ValidationError(`${field}.id`, 'must be 1-64 characters from [a-zA-Z0-9._-]');
  if (typeof v.type !== 'string' || v.type.length < 1 || v.type.length > 64) throw new ValidationError(`${field}.type`, 'must be 1-64 characters');
  if (typeof v.endpoint !== 'string' || v.endpoint.length < 1 || v.endpoint.length > 256) throw new ValidationError(`${field}.endpoint`, 'must be 1-256 characters');
  try {
    new URL(v.endpoint);
  } catch (cause) {
    throw new ValidationError(`${field}.endpoint`, 'must be an absolute URL', { cause });
  }
  return { id: v.id, type: v.type, endpoint: v.endpoint };
}

export function validateKeys(keys: readonly unknown[], field = 'keys'): VerificationKey[] {
  if (keys.length > 16) throw new ValidationError(field, `at most 16 keys, got ${keys.length}`);
  const out = keys.map((k, i) => validateKey(k, `${field}[${i}]`));
  const ids = new Set<string>();
  out.forEach((k, i) => {
    if (ids.has(k.id)) throw new ValidationError(`${field}[${i}].id`, `duplicate key id ${k.id}`);
    ids.add(k.id);
  });
  return out;
}

export function validateServices(services: readonly unknown[], field = 'services'): ServiceEndpoint[] {
  if (services.length > 16) throw new ValidationError(field, `at most 16 services, got ${services.length}`);
  const out = services.map((s, i) => validateService(s, `${field}[${i}]`));
  const ids = new Set<string>();
  out.forEach((s, i) => {
    if (ids.has(s.id)) throw new ValidationError(`${field}[${i}].id`, `duplicate service id ${s.id}`);
    ids.add(s.id);
  });
  return out;
}

export function validateAddress(v: unknown, field: string): string {
  if (typeof v !== 'string' || !isAddress(v)) throw new ValidationError(field, 'must be a 20-byte 0x address');
  const a = getAddress(v);
  if (/^0x0{40}$/.test(a)) throw new ValidationError(field, 'must not be the zero address');
  return a;
}

/** Unix seconds as uint64; 0 is allowed where it means "none". */
export function validateSeconds(v: unknown, field: string): bigint {
  let n: bigint;
  try {
    n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : typeof v === 'string' && /^\d+$/.test(v) ? BigInt(v) : -1n;
  } catch {
    n = -1n;
  }
  if (n < 0n || n >= 1n << 64n) throw new ValidationError(field, 'must be a whole number of seconds (uint64)');
  return n;
}

export function validateBytes32(v: unknown, field: string, { nonZero = false } = {}): Hex {
  const h = asHex(v, field, 32);
  if (nonZero && /^0x0{64}$/.test(h)) throw new ValidationError(field, 'must not be zero');
  return h;
}
