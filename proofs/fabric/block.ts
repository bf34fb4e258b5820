/**
 * Fabric blocks: the protobuf `common.Block`, the peer's ledger file form
 * (`blkstorage` serialization), the header hash and the data hash.
 */
import { createHash } from 'node:crypto';
import { PbError, bytesField, decode, intField, readSmallVarint, repeatedBytes } from './pb.ts';

export interface FabricBlock {
  number: bigint;
  previousHash: Uint8Array;
  dataHash: Uint8Array;
  /** Serialized `common.Envelope`s, as committed by the data hash. */
  data: Uint8Array[];
  /** Serialized `common.Metadata` per BlockMetadataIndex (SIGNATURES = 0, TRANSACTIONS_FILTER = 2, ...). */
  metadata: Uint8Array[];
}

export const METADATA_SIGNATURES = 0;
export const METADATA_TRANSACTIONS_FILTER = 2;

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | bytes.length, ...bytes];
}

function derInteger(v: bigint): number[] {
  if (v < 0n) throw new PbError('negative block number');
  const digits: number[] = [];
  let x = v;
  do {
    digits.unshift(Number(x & 0xffn));
    x >>= 8n;
  } while (x > 0n);
  if (digits[0]! & 0x80) digits.unshift(0);
  return [0x02, ...derLength(digits.length), ...digits];
}

/**
 * `protoutil.BlockHeaderBytes`: DER SEQUENCE { INTEGER number, OCTET STRING
 * previous_hash, OCTET STRING data_hash } (Go's encoding/asn1, the same in 1.4 and 2.x).
 */
export function blockHeaderBytes(number: bigint, previousHash: Uint8Array, dataHash: Uint8Array): Uint8Array {
  const int = derInteger(number);
  const l1 = derLength(previousHash.length);
  const l2 = derLength(dataHash.length);
  const bodyLen = int.length + 1 + l1.length + previousHash.length + 1 + l2.length + dataHash.length;
  const l0 = derLength(bodyLen);
  const out = new Uint8Array(1 + l0.length + bodyLen);
  let p = 0;
  out[p++] = 0x30;
  out.set(l0, p);
  p += l0.length;
  out.set(int, p);
  p += int.length;
  out[p++] = 0x04;
  out.set(l1, p);
  p += l1.length;
  out.set(previousHash, p);
  p += previousHash.length;
  out[p++] = 0x04;
  out.set(l2, p);
  p += l2.length;
  out.set(dataHash, p);
  return out;
}

export function blockHeaderHash(b: Pick<FabricBlock, 'number' | 'previousHash' | 'dataHash'>): Uint8Array {
  return sha256(blockHeaderBytes(b.number, b.previousHash, b.dataHash));
}

/** `protoutil.BlockDataHash`: SHA-256 of the envelopes concatenated (1.4 and 2.x). */
export function blockDataHash(data: Uint8Array[]): Uint8Array {
  return sha256(...data);
}

/** Decodes a protobuf `common.Block`. Throws PbError when malformed. */
export function decodeBlock(bytes: Uint8Array): FabricBlock {
  const m = decode(bytes);
  const h = decode(bytesField(m, 1));
  return {
    number: intField(h, 1),
    previousHash: bytesField(h, 2),
    dataHash: bytesField(h, 3),
    data: repeatedBytes(decode(bytesField(m, 2)), 1),
    metadata: repeatedBytes(decode(bytesField(m, 3)), 1),
  };
}

function varintBig(buf: Uint8Array, pos: number): [bigint, number] {
  let r = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new PbError('truncated varint');
    const b = buf[pos++]!;
    r |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [r, pos];
    shift += 7n;
  }
  throw new PbError('varint too long');
}

function rawBytes(buf: Uint8Array, pos: number): [Uint8Array, number] {
  const [len, p] = readSmallVarint(buf, pos);
  if (p + len > buf.length) throw new PbError('length past the end of the block');
  return [buf.subarray(p, p + len), p + len];
}

/** One block in the peer ledger's own serialization (`blkstorage.serializeBlock`). */
export function decodeSerializedBlock(buf: Uint8Array): FabricBlock {
  let pos = 0;
  const [number, p0] = varintBig(buf, pos);
  const [dataHash, p1] = rawBytes(buf, p0);
  const [previousHash, p2] = rawBytes(buf, p1);
  pos = p2;
  const [nTx, p3] = readSmallVarint(buf, pos);
  pos = p3;
  const data: Uint8Array[] = [];
  for (let i = 0; i < nTx; i++) {
    const [d, p] = rawBytes(buf, pos);
    data.push(d);
    pos = p;
  }
  const [nMeta, p4] = readSmallVarint(buf, pos);
  pos = p4;
  const metadata: Uint8Array[] = [];
  for (let i = 0; i < nMeta; i++) {
    const [d, p] = rawBytes(buf, pos);
    metadata.push(d);
    pos = p;
  }
  if (pos !== buf.length) throw new PbError('trailing bytes after the block');
  return { number, previousHash, dataHash, data, metadata };
}

/** A peer `blockfile_NNNNNN`: `varint(len) || serializedBlock`, repeated. */
export function parseBlockFile(file: Uint8Array): FabricBlock[] {
  const out: FabricBlock[] = [];
  let pos = 0;
  while (pos < file.length) {
    const [b, p] = rawBytes(file, pos);
    out.push(decodeSerializedBlock(b));
    pos = p;
  }
  return out;
}
