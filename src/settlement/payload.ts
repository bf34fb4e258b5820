import { AbiCoder, getAddress } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import { ValidationError } from '../errors.ts';
import { bytes16ToUetr, uetrToBytes16 } from './uetr.ts';

/** Message kinds between SettlementHub and QiaoEscrow (frozen). */
export const SETTLEMENT_KINDS = { LOCKED: 1, LOCK_FAILED: 2, RESERVE: 3, RELEASE: 4, REFUND: 5 } as const;
export type SettlementKind = keyof typeof SETTLEMENT_KINDS;

export interface LegTransfer {
  token: string;
  amount: bigint;
  from: string;
  to: string;
}

export type SettlementPayload =
  | { kind: 'LOCKED'; uetr: string; leg: number; body: LegTransfer }
  | { kind: 'LOCK_FAILED'; uetr: string; leg: number; reason: string }
  | { kind: 'RESERVE'; uetr: string; leg: number; body: LegTransfer }
  | { kind: 'RELEASE'; uetr: string; leg: number }
  | { kind: 'REFUND'; uetr: string; leg: number };

const abi = AbiCoder.defaultAbiCoder();
const OUTER = ['uint8', 'bytes16', 'uint8', 'bytes'] as const;
const TRANSFER = ['address', 'uint256', 'address', 'address'] as const;
const KIND_BY_NUMBER = new Map<number, SettlementKind>(Object.entries(SETTLEMENT_KINDS).map(([k, v]) => [v, k as SettlementKind]));

/** Raised for bytes that are not a settlement payload. */
export class BadSettlementPayload extends ValidationError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('payload', message, options);
  }
}

/** abi.encode(uint8 kind, bytes16 uetr, uint8 leg, bytes body) */
export function encodeSettlementPayload(p: SettlementPayload): Hex {
  if (!Number.isInteger(p.leg) || p.leg < 0 || p.leg > 255) throw new ValidationError('leg', 'must be 0..255');
  let body: string;
  switch (p.kind) {
    case 'LOCKED':
    case 'RESERVE':
      body = abi.encode(TRANSFER, [p.body.token, p.body.amount, p.body.from, p.body.to]);
      break;
    case 'LOCK_FAILED':
      body = abi.encode(['string'], [p.reason]);
      break;
    case 'RELEASE':
    case 'REFUND':
      body = '0x';
      break;
  }
  return abi.encode(OUTER, [SETTLEMENT_KINDS[p.kind], uetrToBytes16(p.uetr), p.leg, body]) as Hex;
}

/** The inverse of encodeSettlementPayload; throws BadSettlementPayload for anything else. */
export function decodeSettlementPayload(data: string): SettlementPayload {
  let kindNo: number, uetr: string, leg: number, body: string;
  try {
    const r = abi.decode(OUTER, data);
    kindNo = Number(r[0]);
    uetr = bytes16ToUetr(r[1] as string);
    leg = Number(r[2]);
    body = r[3] as string;
  } catch (cause) {
    throw new BadSettlementPayload('not abi.encode(uint8 kind, bytes16 uetr, uint8 leg, bytes body) with a UUIDv4 uetr', { cause });
  }
  const kind = KIND_BY_NUMBER.get(kindNo);
  if (!kind) throw new BadSettlementPayload(`unknown kind ${kindNo}`);
  try {
    switch (kind) {
      case 'LOCKED':
      case 'RESERVE': {
        const [token, amount, from, to] = abi.decode(TRANSFER, body);
        return { kind, uetr, leg, body: { token: getAddress(token as string), amount: amount as bigint, from: getAddress(from as string), to: getAddress(to as string) } };
      }
      case 'LOCK_FAILED':
        return { kind, uetr, leg, reason: abi.decode(['string'], body)[0] as string };
      case 'RELEASE':
      case 'REFUND':
        if (body !== '0x') throw new Error('body must be empty');
        return { kind, uetr, leg };
    }
  } catch (cause) {
    throw new BadSettlementPayload(`bad ${kind} body`, { cause });
  }
}
