/**
 * The few protobuf encodings CometBFT hashes and signs, written by hand: the
 * header leaves and the canonical vote are a dozen scalar fields, and hand
 * encoding keeps the hot path (one sign-bytes per signature) free of message
 * object allocation. Field order and proto3 "omit the default" rules follow
 * gogoproto as CometBFT uses it.
 */
export class ProtoWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(capacity = 128) {
    this.buf = new Uint8Array(capacity);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): this {
    this.ensure(1);
    this.buf[this.len++] = b;
    return this;
  }

  /** Unsigned varint of a non-negative value below 2^64 (negative int64 values wrap, as protobuf does). */
  varint(v: bigint | number): this {
    // Numbers up to 2^53 stay off the BigInt path: sign-bytes are built once per signature.
    if (typeof v === 'bigint' && v >= 0n && v <= 0x1fffffffffffffn) v = Number(v);
    if (typeof v === 'number' && v >= 0) {
      this.ensure(10);
      while (v >= 0x80) {
        this.buf[this.len++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      this.buf[this.len++] = v;
      return this;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  /** Field numbers here are all below 16, so a tag is one byte. */
  tag(field: number, wire: number): this {
    return this.byte((field << 3) | wire);
  }

  /** Length-delimited field, omitted when empty (proto3 default). */
  bytesField(field: number, bytes: Uint8Array): this {
    if (bytes.length === 0) return this;
    return this.tag(field, 2).varint(bytes.length).raw(bytes);
  }

  /** Embedded message, written even when empty (non-nullable gogoproto fields). */
  messageField(field: number, bytes: Uint8Array): this {
    return this.tag(field, 2).varint(bytes.length).raw(bytes);
  }

  varintField(field: number, v: bigint | number): this {
    if (v === 0 || v === 0n) return this;
    return this.tag(field, 0).varint(v);
  }

  /** sfixed64, little endian two's complement, omitted when zero. */
  sfixed64Field(field: number, v: bigint): this {
    if (v === 0n) return this;
    this.tag(field, 1);
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 8).setBigInt64(0, v, true);
    this.len += 8;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const utf8 = new TextEncoder();
export function utf8Bytes(s: string): Uint8Array {
  return utf8.encode(s);
}
