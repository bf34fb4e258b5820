/**
 * Block construction as Fabric's orderer does it: the header hash is SHA-256
 * over the ASN.1 DER of (number, previous_hash, data_hash) (protoutil.BlockHeaderBytes),
 * data_hash is SHA-256 over the envelopes concatenated, and the orderer signs
 * (metadata value || signature header || header bytes) into SIGNATURES.
 */
import { createHash, randomBytes } from 'node:crypto';
import { common } from '@hyperledger/fabric-protos';
import type { FabricIdentity } from './ca.ts';

export const METADATA = { SIGNATURES: 0, LAST_CONFIG: 1, TRANSACTIONS_FILTER: 2, ORDERER: 3, COMMIT_HASH: 4 } as const;

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function tlv(tag: number, body: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.of(tag), derLength(body.length), body]);
}

/** Minimal two's-complement big-endian INTEGER body, as Go's encoding/asn1 writes an int64. */
function derInteger(n: bigint): Uint8Array {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return Uint8Array.from(bytes);
}

export function blockHeaderBytes(number: bigint, previousHash: Uint8Array, dataHash: Uint8Array): Uint8Array {
  return tlv(0x30, Buffer.concat([tlv(0x02, derInteger(number)), tlv(0x04, previousHash), tlv(0x04, dataHash)]));
}

export function headerHash(h: common.BlockHeader): Uint8Array {
  return sha256(blockHeaderBytes(BigInt(h.getNumber()), h.getPreviousHash_asU8(), h.getDataHash_asU8()));
}

export function dataHash(envelopes: Uint8Array[]): Uint8Array {
  return sha256(...envelopes);
}

export function signatureHeader(creator: FabricIdentity): common.SignatureHeader {
  const sh = new common.SignatureHeader();
  sh.setCreator(creator.serialized);
  sh.setNonce(randomBytes(24));
  return sh;
}

/** An unsigned block with data and the four metadata slots Fabric 2.x writes. */
export function newBlock(number: bigint, previousHash: Uint8Array, envelopes: Uint8Array[]): common.Block {
  const header = new common.BlockHeader();
  header.setNumber(Number(number));
  header.setPreviousHash(previousHash);
  header.setDataHash(dataHash(envelopes));
  const data = new common.BlockData();
  data.setDataList(envelopes);
  const metadata = new common.BlockMetadata();
  metadata.setMetadataList([new Uint8Array(0), new Uint8Array(0), new Uint8Array(envelopes.length), new Uint8Array(0), new Uint8Array(0)]);
  const block = new common.Block();
  block.setHeader(header);
  block.setData(data);
  block.setMetadata(metadata);
  return block;
}

export interface SignOptions {
  /** A fault: sign with this identity's key but claim `orderer` as creator. */
  forgeWith?: FabricIdentity;
}

/**
 * Writes SIGNATURES (value = OrdererBlockMetadata{last_config}) and the legacy
 * LAST_CONFIG slot, both signed by the orderer over value || sigHeader || header.
 */
export function signBlock(block: common.Block, orderer: FabricIdentity, lastConfig: bigint, { forgeWith }: SignOptions = {}): void {
  const h = block.getHeader()!;
  const headerBytes = blockHeaderBytes(BigInt(h.getNumber()), h.getPreviousHash_asU8(), h.getDataHash_asU8());
  const lc = new common.LastConfig();
  lc.setIndex(Number(lastConfig));
  const obm = new common.OrdererBlockMetadata();
  obm.setLastConfig(lc);
  const signed = (value: Uint8Array): Uint8Array => {
    const sh = signatureHeader(orderer).serializeBinary();
    const ms = new common.MetadataSignature();
    ms.setSignatureHeader(sh);
    ms.setSignature((forgeWith ?? orderer).sign(Buffer.concat([value, sh, headerBytes])));
    const m = new common.Metadata();
    m.setValue(value);
    m.setSignaturesList([ms]);
    return m.serializeBinary();
  };
  const list = block.getMetadata()!.getMetadataList_asU8();
  list[METADATA.SIGNATURES] = signed(obm.serializeBinary());
  list[METADATA.LAST_CONFIG] = signed(lc.serializeBinary());
  block.getMetadata()!.setMetadataList(list);
}

export function setTxFilter(block: common.Block, codes: Uint8Array): void {
  const list = block.getMetadata()!.getMetadataList_asU8();
  list[METADATA.TRANSACTIONS_FILTER] = codes;
  block.getMetadata()!.setMetadataList(list);
}

/** google-protobuf's cloneMessage is untyped in fabric-protos' declarations; a byte round trip is exact. */
export function cloneBlock(b: common.Block): common.Block {
  return common.Block.deserializeBinary(b.serializeBinary());
}

export type StatusCode = common.StatusMap[keyof common.StatusMap];

export function txFilter(block: common.Block): Uint8Array {
  return block.getMetadata()!.getMetadataList_asU8()[METADATA.TRANSACTIONS_FILTER] ?? new Uint8Array(0);
}
