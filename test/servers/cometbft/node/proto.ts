/**
 * A minimal protobuf writer for the few messages cosmjs-types does not ship (CanonicalVote,
 * ExecTxResult's deterministic part) and for gogoproto's always-emitted non-nullable fields.
 */
export class ProtoWriter {
  private readonly parts: number[] = [];

  private varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  /** int32/int64/uint/enum; proto3 omits zero */
  uint(field: number, v: bigint | number): this {
    if (BigInt(v) === 0n) return this;
    this.tag(field, 0);
    this.varint(BigInt(v));
    return this;
  }

  sfixed64(field: number, v: bigint): this {
    if (v === 0n) return this;
    this.tag(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, v, true);
    this.parts.push(...b);
    return this;
  }

  /** bytes/string/embedded message; `always` = gogoproto non-nullable message (emitted even when empty) */
  bytes(field: number, v: Uint8Array | string, always = false): this {
    const b = typeof v === 'string' ? new TextEncoder().encode(v) : v;
    if (b.length === 0 && !always) return this;
    this.tag(field, 2);
    this.varint(BigInt(b.length));
    this.parts.push(...b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function uvarint(v: number | bigint): Uint8Array {
  const out: number[] = [];
  let x = BigInt(v);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Uint8Array.from(out);
}

/** Go's binary.PutVarint (zig-zag), which iavl uses for height, size and version. */
export function zigzag(v: number | bigint): Uint8Array {
  const x = BigInt(v);
  return uvarint(x >= 0n ? x << 1n : ((-x) << 1n) - 1n);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** length-prefixed (uvarint) bytes, as amino/protobuf and iavl write them */
export function lp(b: Uint8Array): Uint8Array {
  return concat(uvarint(b.length), b);
}

/** A point in time with CometBFT's nanosecond precision (a Date carries milliseconds only). */
export interface Time {
  seconds: bigint;
  nanos: number;
}

export function toTime(t: Date | Time): Time {
  if (!(t instanceof Date)) return t;
  const ms = BigInt(t.getTime());
  const seconds = ms >= 0n ? ms / 1000n : -((-ms + 999n) / 1000n);
  return { seconds, nanos: Number(ms - seconds * 1000n) * 1_000_000 };
}

/** RFC 3339 with up to 9 fraction digits, trailing zeros trimmed (Go's time.RFC3339Nano) */
export function rfc3339(t: Date | Time): string {
  const { seconds, nanos } = toTime(t);
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const frac = nanos === 0 ? '' : `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${frac}Z`;
}

export function parseRfc3339(s: string): Time {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) throw new Error(`bad time ${s}`);
  return { seconds: BigInt(Date.parse(`${m[1]}Z`) / 1000), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

export function timestamp(t: Date | Time): Uint8Array {
  const { seconds, nanos } = toTime(t);
  return new ProtoWriter().uint(1, seconds).uint(2, nanos).finish();
}
