import { AbiCoder, ParamType, Result } from 'ethers';
import { ValidationError } from '../errors.ts';
import { isHex, type Hex } from '../domain/hex.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
const abi = AbiCoder.defaultAbiCoder();

/**
 * Parses a schema's public fields ("type name" Solidity ABI strings). Every field
 * needs a unique name: the public data is read back as a record by name.
 */
export function parsePublicFields(fields: readonly unknown[], field = 'publicFields'): ParamType[] {
  if (!Array.isArray(fields)) throw new ValidationError(field, 'must be a list of "type name" strings');
  if (fields.length > 16) throw new ValidationError(field, `at most 16 public fields, got ${fields.length}`);
  const names = new Set<string>();
  return fields.map((f, i) => {
    const at = `${field}[${i}]`;
    if (typeof f !== 'string' || f.length < 3 || f.length > 64) throw new ValidationError(at, 'must be a "type name" string of 3-64 characters, e.g. "string grade"');
    let p: ParamType;
    try {
      p = ParamType.from(f);
    } catch (cause) {
      throw new ValidationError(at, `"${f}" is not a Solidity ABI "type name"`, { cause });
    }
    if (!p.name || !IDENTIFIER.test(p.name)) throw new ValidationError(at, `"${f}" needs a field name after the type`);
    if (p.indexed !== null) throw new ValidationError(at, `"${f}": no "indexed" in schema fields`);
    if (names.has(p.name)) throw new ValidationError(at, `duplicate field name ${p.name}`);
    names.add(p.name);
    return p;
  });
}

/** abi.encode of the values of exactly the schema's public fields, in the schema's order. */
export function encodePublicData(schema: { publicFields: readonly string[] }, values: Readonly<Record<string, unknown>>): Hex {
  const params = parsePublicFields(schema.publicFields);
  const known = new Set(params.map((p) => p.name));
  for (const k of Object.keys(values)) if (!known.has(k)) throw new ValidationError(`publicData.${k}`, 'is not a public field of the schema');
  const ordered = params.map((p) => {
    if (!(p.name in values)) throw new ValidationError(`publicData.${p.name}`, `missing (${p.format('sighash')})`);
    return values[p.name];
  });
  try {
    return abi.encode(params, ordered) as Hex;
  } catch (cause) {
    throw new ValidationError('publicData', `values do not match the schema fields ${schema.publicFields.join(', ')}`, { cause });
  }
}

/** The public fields of an attestation by name; numbers stay bigint, nested tuples become plain arrays/records. */
export function decodePublicData(schema: { publicFields: readonly string[] }, publicData: string): Record<string, unknown> {
  if (!isHex(publicData)) throw new ValidationError('publicData', 'must be 0x-prefixed hex');
  const params = parsePublicFields(schema.publicFields);
  let decoded: Result;
  try {
    decoded = abi.decode(params, publicData);
  } catch (cause) {
    throw new ValidationError('publicData', `is not abi.encode(${schema.publicFields.join(', ')})`, { cause });
  }
  const out: Record<string, unknown> = {};
  params.forEach((p, i) => {
    out[p.name] = plain(decoded[i]);
  });
  return out;
}

/** Exact re-encoding check: the bytes are abi.encode of the fields and nothing else. */
export function checkPublicData(schema: { publicFields: readonly string[] }, publicData: string): Hex {
  const values = decodePublicData(schema, publicData);
  const again = encodePublicData(schema, values);
  if (again !== publicData.toLowerCase()) throw new ValidationError('publicData', `is not exactly abi.encode(${schema.publicFields.join(', ')})`);
  return again;
}

function plain(v: unknown): unknown {
  if (v instanceof Result) {
    // Named tuples read back as records, arrays as arrays.
    try {
      const obj = v.toObject();
      if (Object.keys(obj).length > 0) return Object.fromEntries(Object.entries(obj).map(([k, x]) => [k, plain(x)]));
    } catch {
      // unnamed members: fall through to the array form
    }
    return v.toArray().map(plain);
  }
  return v;
}
