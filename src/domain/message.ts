import { AbiCoder, getBytes, hexlify, keccak256 } from 'ethers';
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

/** Decodes and validates; rejects trailing or non-canonical bytes by re-encoding. */
export function decodeMessage(encoded: Hex | Uint8Array, field = 'message'): QiaoMessage {
  const bytes = typeof encoded === 'string' ? getBytes(asHex(encoded, field)) : encoded;
  let r: ReturnType<typeof coder.decode>;
  try {
    r = coder.decode(MESSAGE_ABI_TYPES as unknown as string[], bytes);
  } catch (cause) {
    throw new ValidationError(field, 'is not an ABI-encoded Qiao message', { cause });
  }
  const m = validateMessage({
    version: Number(r[0]),
    srcChain: r[1] as ChainId,
    srcPort: r[2] as Hex,
    sender: r[3] as Hex,
    dstChain: r[4] as ChainId,
    dstPort: r[5] as Hex,
    receiver: r[6] as Hex,
    nonce: r[7] as bigint,
    gasLimit: r[8] as bigint,
    timeoutHeight: r[9] as bigint,
    timeoutUnixSeconds: r[10] as bigint,
    payload: r[11] as Hex,
  });
  if (encodeMessage(m) !== hexlify(bytes).toLowerCase()) {
    throw new ValidationError(field, 'is not the canonical encoding of its fields');
  }
  return m;
}

/** id = keccak256(encoding): always derived from the bytes, never taken from a peer. */
export function messageId(encoded: Hex): Hex {
  return keccak256(encoded) as Hex;
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
