import { AbiCoder, keccak256 } from 'ethers';
import { ValidationError } from '../errors.ts';
import { parseChainId, type ChainId } from './caip.ts';
import { asHex, type Hex } from './hex.ts';

/** The one message format of DESIGN.md "Frozen formats". Field order is the ABI order. */
export interface QiaoMessage {
  version: number;
  srcChain: ChainId;
  srcPort: Hex;
  sender: Hex;
  dstChain: ChainId;
  dstPort: Hex;
  receiver: Hex;
  nonce: bigint;
  gasLimit: bigint;
  timeoutHeight: bigint;
  timeoutUnixSeconds: bigint;
  payload: Hex;
}

export const MESSAGE_VERSION = 1;
export const MAX_PAYLOAD_BYTES = 64 * 1024;
const UINT64_MAX = (1n << 64n) - 1n;

export const MESSAGE_ABI_TYPES = [
  'uint8',
  'string',
  'bytes',
  'bytes',
  'string',
  'bytes',
  'bytes',
  'uint64',
  'uint64',
  'uint64',
  'uint64',
  'bytes',
] as const;

const coder = AbiCoder.defaultAbiCoder();

function u64(v: unknown, field: string): bigint {
  let b: bigint;
  try {
    b = typeof v === 'bigint' ? v : BigInt(v as string | number);
  } catch (cause) {
    throw new ValidationError(field, 'must be an unsigned 64-bit integer', { cause });
  }
  if (b < 0n || b > UINT64_MAX) throw new ValidationError(field, 'must be an unsigned 64-bit integer');
  return b;
}

/** Validates every field; `maxPayloadBytes` is the lane's limit (default 64 KiB). */
export function validateMessage(m: QiaoMessage, maxPayloadBytes = MAX_PAYLOAD_BYTES): QiaoMessage {
  if (m.version !== MESSAGE_VERSION) throw new ValidationError('message.version', `must be ${MESSAGE_VERSION}, got ${m.version}`);
  const payload = asHex(m.payload, 'message.payload');
  if ((payload.length - 2) / 2 > maxPayloadBytes) {
    throw new ValidationError('message.payload', `is ${(payload.length - 2) / 2} bytes, the limit is ${maxPayloadBytes}`);
  }
  if (u64(m.nonce, 'message.nonce') === 0n) throw new ValidationError('message.nonce', 'counts from 1');
  return {
    version: m.version,
    srcChain: parseChainId(m.srcChain, 'message.srcChain').id,
    srcPort: asHex(m.srcPort, 'message.srcPort'),
    sender: asHex(m.sender, 'message.sender'),
    dstChain: parseChainId(m.dstChain, 'message.dstChain').id,
    dstPort: asHex(m.dstPort, 'message.dstPort'),
    receiver: asHex(m.receiver, 'message.receiver'),
    nonce: u64(m.nonce, 'message.nonce'),
    gasLimit: u64(m.gasLimit, 'message.gasLimit'),
    timeoutHeight: u64(m.timeoutHeight, 'message.timeoutHeight'),
    timeoutUnixSeconds: u64(m.timeoutUnixSeconds, 'message.timeoutUnixSeconds'),
    payload,
  };
}

export function encodeMessage(m: QiaoMessage): Hex {
  const v = validateMessage(m);
  return coder.encode(MESSAGE_ABI_TYPES as unknown as string[], [
    v.version,
    v.srcChain,
    v.srcPort,
    v.sender,
    v.dstChain,
    v.dstPort,
    v.receiver,
    v.nonce,
    v.gasLimit,
    v.timeoutHeight,
    v.timeoutUnixSeconds,
    v.payload,
  ]) as Hex;
}

const WORD = 32;
const HEAD_BYTES = MESSAGE_ABI_TYPES.length * WORD;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The low `bytes` bytes of a word (what ethers' decoder keeps) and whether the high bytes are zero. */
function uintWord(b: Uint8Array, at: number, bytes: number): { value: bigint; clean: boolean } {
  let clean = true;
  for (let i = at; i < at + WORD - bytes; i++) if (b[i] !== 0) clean = false;
  let value = 0n;
  for (let i = at + WORD - bytes; i < at + WORD; i++) value = (value << 8n) | BigInt(b[i]!);
  return { value, clean };
}

/**
 * Decodes and validates, accepting only the canonical encoding (the one
 * `encodeMessage` produces: tails in field order right after the head, zero
 * padding, no trailing bytes), so one message has exactly one id. The layout is
 * checked directly on the bytes instead of decoding with ethers and encoding
 * again, which was a large share of the relayer's CPU per message; it refuses
 * exactly what that round trip refused (test/unit/message-decode.test.ts).
 */
export function decodeMessage(encoded: Hex | Uint8Array, field = 'message'): QiaoMessage {
  const b = typeof encoded === 'string' ? Buffer.from(asHex(encoded, field).slice(2), 'hex') : encoded;
  const notAbi = (why: string, cause?: unknown) => new ValidationError(field, 'is not an ABI-encoded Qiao message', { cause: cause ?? new Error(why) });
  const notCanonical = () => new ValidationError(field, 'is not the canonical encoding of its fields');
  if (b.length < HEAD_BYTES) throw notAbi(`${b.length} bytes, the head alone is ${HEAD_BYTES}`);
  let nonCanonical = false;
  const uint = (index: number, bytes: number): bigint => {
    const { value, clean } = uintWord(b, index * WORD, bytes);
    if (!clean) nonCanonical = true;
    return value;
  };
  let next = HEAD_BYTES;
  const dynamic = (index: number): Uint8Array => {
    const o = uintWord(b, index * WORD, 8);
    const offset = o.value;
    if (!o.clean || offset + BigInt(WORD) > BigInt(b.length)) throw notAbi(`field ${index}: offset out of range`);
    if (offset !== BigInt(next)) nonCanonical = true;
    const at = Number(offset);
    const l = uintWord(b, at, 8);
    const length = l.value;
    const padded = ((length + 31n) / 32n) * 32n;
    if (!l.clean || BigInt(at + WORD) + padded > BigInt(b.length)) throw notAbi(`field ${index}: length out of range`);
    const start = at + WORD;
    const end = start + Number(length);
    for (let i = end; i < start + Number(padded); i++) if (b[i] !== 0) nonCanonical = true;
    next = start + Number(padded);
    return b.subarray(start, end);
  };
  const text = (index: number): string => {
    try {
      return utf8.decode(dynamic(index));
    } catch (cause) {
      if (cause instanceof ValidationError) throw cause;
      throw notAbi(`field ${index}: invalid UTF-8`, cause);
    }
  };
  const hex = (index: number): Hex => `0x${Buffer.from(dynamic(index)).toString('hex')}` as Hex;
  // Tails are read in field order so `next` tracks where the canonical encoding puts each one.
  const decoded: QiaoMessage = {
    version: Number(uint(0, 1)),
    srcChain: text(1) as ChainId,
    srcPort: hex(2),
    sender: hex(3),
    dstChain: text(4) as ChainId,
    dstPort: hex(5),
    receiver: hex(6),
    nonce: uint(7, 8),
    gasLimit: uint(8, 8),
    timeoutHeight: uint(9, 8),
    timeoutUnixSeconds: uint(10, 8),
    payload: hex(11),
  };
  const m = validateMessage(decoded);
  if (nonCanonical || next !== b.length) throw notCanonical();
  // validateMessage keeps valid fields as they are; were it ever to normalise one, the bytes would no longer be its encoding.
  for (const k of Object.keys(m) as (keyof QiaoMessage)[]) if (m[k] !== decoded[k]) throw notCanonical();
  return m;
}

/** id = keccak256(encoding): always derived from the bytes, never taken from a peer. */
export function messageId(encoded: Hex): Hex {
  // Bytes, not hex: ethers parses a hex string one byte at a time, Buffer natively.
  return keccak256(Buffer.from(encoded.slice(2), 'hex')) as Hex;
}

export function messageIdOf(m: QiaoMessage): Hex {
  return messageId(encodeMessage(m));
}

/** JSON-safe form (bigints as decimal strings), for queues, the index and the API. */
export interface MessageJson {
  version: number;
  srcChain: string;
  srcPort: string;
  sender: string;
  dstChain: string;
  dstPort: string;
  receiver: string;
  nonce: string;
  gasLimit: string;
  timeoutHeight: string;
  timeoutUnixSeconds: string;
  payload: string;
}

export function messageToJson(m: QiaoMessage): MessageJson {
  return {
    ...m,
    nonce: m.nonce.toString(),
    gasLimit: m.gasLimit.toString(),
    timeoutHeight: m.timeoutHeight.toString(),
    timeoutUnixSeconds: m.timeoutUnixSeconds.toString(),
  };
}

export function messageFromJson(j: MessageJson): QiaoMessage {
  return validateMessage({
    version: j.version,
    srcChain: j.srcChain as ChainId,
    srcPort: j.srcPort as Hex,
    sender: j.sender as Hex,
    dstChain: j.dstChain as ChainId,
    dstPort: j.dstPort as Hex,
    receiver: j.receiver as Hex,
    nonce: u64(j.nonce, 'message.nonce'),
    gasLimit: u64(j.gasLimit, 'message.gasLimit'),
    timeoutHeight: u64(j.timeoutHeight, 'message.timeoutHeight'),
    timeoutUnixSeconds: u64(j.timeoutUnixSeconds, 'message.timeoutUnixSeconds'),
    payload: j.payload as Hex,
  });
}
