import { AbiCoder, getBytes, hexlify, keccak256, toUtf8Bytes, toUtf8String } from 'ethers';
import { ChaincodeError } from './errors.ts';

/** The frozen Qiao message (DESIGN.md "Frozen formats"), as the chaincode handles it. */
export interface Message {
  version: number;
  srcChain: string;
  srcPort: string;
  sender: string;
  dstChain: string;
  dstPort: string;
  receiver: string;
  nonce: bigint;
  gasLimit: bigint;
  timeoutHeight: bigint;
  timeoutUnixSeconds: bigint;
  payload: string;
}

const MESSAGE_TYPES = ['uint8', 'string', 'bytes', 'bytes', 'string', 'bytes', 'bytes', 'uint64', 'uint64', 'uint64', 'uint64', 'bytes'];
const ACK_TYPES = ['uint8', 'bytes32', 'bytes'];
export const MAX_PAYLOAD = 64 * 1024;
export const UINT64_MAX = (1n << 64n) - 1n;
const CAIP2 = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/;
const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

export const coder = AbiCoder.defaultAbiCoder();

export function encodeMessage(m: Message): string {
  return coder.encode(MESSAGE_TYPES, [
    m.version, m.srcChain, m.srcPort, m.sender, m.dstChain, m.dstPort, m.receiver,
    m.nonce, m.gasLimit, m.timeoutHeight, m.timeoutUnixSeconds, m.payload,
  ]);
}

/** Decodes and insists on the canonical encoding, so one message has exactly one id. */
export function decodeMessage(encoded: string): Message {
  const hex = asHex(encoded, 'encoded');
  let m: Message;
  try {
    const r = coder.decode(MESSAGE_TYPES, hex);
    m = {
      version: Number(r[0]), srcChain: r[1] as string, srcPort: r[2] as string, sender: r[3] as string,
      dstChain: r[4] as string, dstPort: r[5] as string, receiver: r[6] as string, nonce: r[7] as bigint,
      gasLimit: r[8] as bigint, timeoutHeight: r[9] as bigint, timeoutUnixSeconds: r[10] as bigint, payload: r[11] as string,
    };
  } catch (cause) {
    throw new ChaincodeError('bad_message', 'not an ABI-encoded Qiao message', { cause });
  }
  if (encodeMessage(m) !== hex.toLowerCase()) throw new ChaincodeError('bad_message', 'not the canonical encoding of its fields');
  return m;
}

export function messageId(encoded: string): string {
  return keccak256(encoded);
}

/** Ack payload of QiaoPort.sol: abi.encode(uint8 outcome, bytes32 originalId, bytes reason). */
export function encodeAck(outcome: number, id: string, reason: string): string {
  return coder.encode(ACK_TYPES, [outcome, id, reason]);
}

export function decodeAck(payload: string): { outcome: number; id: string; reason: string } {
  try {
    const r = coder.decode(ACK_TYPES, payload);
    return { outcome: Number(r[0]), id: (r[1] as string).toLowerCase(), reason: r[2] as string };
  } catch (cause) {
    throw new ChaincodeError('bad_ack', 'payload is not abi.encode(uint8, bytes32, bytes)', { cause });
  }
}

export function asHex(v: unknown, field: string): string {
  if (typeof v !== 'string' || !HEX.test(v)) throw new ChaincodeError('bad_argument', `${field} must be 0x-prefixed hex of whole bytes`);
  return v.toLowerCase();
}

export function asBytes32(v: unknown, field: string): string {
  const h = asHex(v, field);
  if (h.length !== 66) throw new ChaincodeError('bad_argument', `${field} must be 32 bytes`);
  return h;
}

export function asU64(v: unknown, field: string): bigint {
  if (typeof v !== 'string' || !/^[0-9]{1,20}$/.test(v)) throw new ChaincodeError('bad_argument', `${field} must be a decimal uint64`);
  const b = BigInt(v);
  if (b > UINT64_MAX) throw new ChaincodeError('bad_argument', `${field} must be a decimal uint64`);
  return b;
}

export function asChainId(v: unknown, field: string): string {
  if (typeof v !== 'string' || !CAIP2.test(v)) throw new ChaincodeError('bad_argument', `${field} must be a CAIP-2 chain id`);
  return v;
}

export function utf8Hex(s: string): string {
  return hexlify(toUtf8Bytes(s));
}

/** UTF-8 text of hex bytes, or undefined when they are not valid UTF-8. */
export function hexUtf8(h: string): string | undefined {
  try {
    return toUtf8String(getBytes(h));
  } catch {
    return undefined;
  }
}

export function byteLength(h: string): number {
  return (h.length - 2) / 2;
}
