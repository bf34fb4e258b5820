import { ValidationError } from '../errors.ts';

export type Hex = `0x${string}`;

const HEX = /^0x([0-9a-fA-F]{2})*$/;

export function isHex(v: unknown): v is Hex {
  return typeof v === 'string' && HEX.test(v);
}

export function asHex(v: unknown, field: string, byteLength?: number): Hex {
  if (!isHex(v)) throw new ValidationError(field, 'must be 0x-prefixed hex with an even number of digits');
  if (byteLength !== undefined && (v.length - 2) / 2 !== byteLength) {
    throw new ValidationError(field, `must be ${byteLength} bytes, got ${(v.length - 2) / 2}`);
  }
  return v.toLowerCase() as Hex;
}

export function asBytes32(v: unknown, field: string): Hex {
  return asHex(v, field, 32);
}
