/**
 * A minimal protobuf wire reader. Fabric signs exact byte strings nested
 * inside messages (headers, payloads, proposal responses), so the verifier
 * keeps every length-delimited field as the original byte slice instead of
 * re-encoding decoded objects. It throws PbError on malformed input; the
 * callers turn that into a `proof_malformed` result.
 */
export class PbError extends Error {}

/** Varints that fit in 53 bits are kept as numbers (no BigInt allocation on the hot path). */
export type PbValue = number | bigint | Uint8Array;

/** Field number → values in wire order (repeated fields keep every occurrence). */
export type PbFields = Map<number, PbValue[]>;

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new PbError('truncated varint');
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
  throw new PbError('varint too long');
}

/** Small varints (lengths, tags) as numbers. */
export function readSmallVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= buf.length) throw new PbError('truncated varint');
    const b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      if (result > Number.MAX_SAFE_INTEGER) throw new PbError('varint too large');
      return [result, pos];
    }
    mul *= 128;
  }
  throw new PbError('varint too long');
}

export function decode(buf: Uint8Array): PbFields {
  const out: PbFields = new Map();
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p1] = readSmallVarint(buf, pos);
    pos = p1;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) throw new PbError('field number 0');
    let v: PbValue;
    switch (wire) {
      case 0: {
        let end = pos;
        while (end < buf.length && buf[end]! & 0x80) end++;
        if (end - pos < 7) {
          const [n, p] = readSmallVarint(buf, pos);
          v = n;
          pos = p;
        } else {
          const [n, p] = readVarint(buf, pos);
          v = n;
          pos = p;
        }
        break;
      }
      case 1:
        if (pos + 8 > buf.length) throw new PbError('truncated fixed64');
        v = buf.subarray(pos, pos + 8);
        pos += 8;
        break;
      case 2: {
        const [len, p] = readSmallVarint(buf, pos);
        if (p + len > buf.length) throw new PbError(`field ${field}: length ${len} past the end`);
        v = buf.subarray(p, p + len);
        pos = p + len;
        break;
      }
      case 5:
        if (pos + 4 > buf.length) throw new PbError('truncated fixed32');
        v = buf.subarray(pos, pos + 4);
        pos += 4;
        break;
      default:
        throw new PbError(`unsupported wire type ${wire}`);
    }
    const list = out.get(field);
    if (list) list.push(v);
    else out.set(field, [v]);
  }
  return out;
}

const EMPTY = new Uint8Array(0);

export function bytesField(m: PbFields, field: number): Uint8Array {
  const vs = m.get(field);
  if (!vs) return EMPTY;
  const v = vs[vs.length - 1]!;
  if (!(v instanceof Uint8Array)) throw new PbError(`field ${field}: expected bytes`);
  return v;
}

export function repeatedBytes(m: PbFields, field: number): Uint8Array[] {
  const vs = m.get(field) ?? [];
  return vs.map((v) => {
    if (!(v instanceof Uint8Array)) throw new PbError(`field ${field}: expected bytes`);
    return v;
  });
}

export function intField(m: PbFields, field: number): bigint {
  const vs = m.get(field);
  if (!vs) return 0n;
  const v = vs[vs.length - 1]!;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v !== 'bigint') throw new PbError(`field ${field}: expected varint`);
  return v;
}

export function numField(m: PbFields, field: number): number {
  const v = m.get(field)?.at(-1);
  if (typeof v === 'number') return v;
  return Number(BigInt.asIntN(64, intField(m, field)));
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
export function stringField(m: PbFields, field: number): string {
  return utf8.decode(bytesField(m, field));
}

export function hasField(m: PbFields, field: number): boolean {
  return m.has(field);
}

/** A protobuf map<string, bytes-message> (entries: key = 1, value = 2). */
export function mapField(m: PbFields, field: number): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const entry of repeatedBytes(m, field)) {
    const e = decode(entry);
    out.set(stringField(e, 1), bytesField(e, 2));
  }
  return out;
}
