import { randomBytes } from 'node:crypto';
import type { Hex } from '../domain/hex.ts';
import { ValidationError } from '../errors.ts';

// RFC 4122 form, version 4, variant 10xx; lowercase only (the form SWIFT gpi uses and we store).
const UETR = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isUetr(s: unknown): s is string {
  return typeof s === 'string' && UETR.test(s);
}

/** A fresh UUIDv4 from the OS random source. */
export function newUetr(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return bytes16ToUetr(`0x${b.toString('hex')}`);
}

export function parseUetr(s: unknown, field = 'uetr'): string {
  if (!isUetr(s)) throw new ValidationError(field, 'must be a lowercase UUIDv4 (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx)');
  return s;
}

/** The 16 raw bytes, as the contracts' `bytes16`. */
export function uetrToBytes16(u: string, field = 'uetr'): Hex {
  return `0x${parseUetr(u, field).replace(/-/g, '')}` as Hex;
}

/** The inverse of uetrToBytes16; refuses bytes that are not a UUIDv4. */
export function bytes16ToUetr(b: string, field = 'uetr'): string {
  if (typeof b !== 'string' || !/^0x[0-9a-fA-F]{32}$/.test(b)) throw new ValidationError(field, 'must be 16 bytes of hex');
  const h = b.slice(2).toLowerCase();
  return parseUetr(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`, field);
}
