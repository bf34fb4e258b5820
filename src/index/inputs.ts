import { CHAIN_FAMILIES, CHAIN_STATUSES, LIGHT_CLIENT_TYPES, type ChainRegistration } from '../domain/chain.ts';
import { parseAccountId, parseChainId } from '../domain/caip.ts';
import { asBytes32, asHex, isHex, type Hex } from '../domain/hex.ts';
import { messageId, type MessageJson } from '../domain/message.ts';
import { isMessageStatus, MESSAGE_STATUSES, type MessageStatus } from '../domain/status.ts';
import { ValidationError } from '../errors.ts';
import type { BatchStatus, MisbehaviourEvidence, RegistryEvent, SentRecord } from './types.ts';

/* Boundary checks for the index: every bad value is reported with the field that carries it. */

const INT8_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const MAX_TEXT = 512;

export const BATCH_STATUSES: readonly BatchStatus[] = ['pending', 'committed', 'attested'];

export function status(v: unknown, field = 'status'): MessageStatus {
  if (!isMessageStatus(v)) throw new ValidationError(field, `must be one of ${MESSAGE_STATUSES.join(', ')}`);
  return v;
}

export function batchStatus(v: unknown, field = 'status'): BatchStatus {
  if (typeof v !== 'string' || !(BATCH_STATUSES as readonly string[]).includes(v)) {
    throw new ValidationError(field, `must be one of ${BATCH_STATUSES.join(', ')}`);
  }
  return v as BatchStatus;
}

/** A non-negative bigint that fits PostgreSQL's bigint (heights, batch numbers). */
export function int8(v: unknown, field: string): string {
  if (typeof v !== 'bigint' || v < 0n || v > INT8_MAX) throw new ValidationError(field, 'must be a bigint in 0..2^63-1');
  return v.toString();
}

export function uint64(v: unknown, field: string): string {
  if (typeof v !== 'bigint' || v < 0n || v > UINT64_MAX) throw new ValidationError(field, 'must be a bigint in 0..2^64-1');
  return v.toString();
}

const UINT256_MAX = (1n << 256n) - 1n;

/** Gas prices: eth_gasPrice answers up to uint256 (stored as numeric(78,0)). */
export function uint256(v: unknown, field: string): string {
  if (typeof v !== 'bigint' || v < 0n || v > UINT256_MAX) throw new ValidationError(field, 'must be a bigint in 0..2^256-1');
  return v.toString();
}

export function text(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT) {
    throw new ValidationError(field, `must be a non-empty string of at most ${MAX_TEXT} characters`);
  }
  return v;
}

/** Addresses and ports are stored lowercase when hex, as given otherwise (other families' forms). */
export function address(v: unknown, field: string): string {
  const s = text(v, field);
  return isHex(s) ? s.toLowerCase() : s;
}

export function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ValidationError(field, `must be an integer in ${min}..${max}`);
  }
  return v;
}

export function messageIds(ids: unknown, field = 'ids'): Hex[] {
  if (!Array.isArray(ids)) throw new ValidationError(field, 'must be an array of message ids');
  return [...new Set(ids.map((id, i) => asBytes32(id, `${field}[${i}]`)))];
}

export interface SentRow {
  id: Hex;
  encoded: Hex;
  message: MessageJson;
  srcChain: string;
  dstChain: string;
  srcPort: string;
  dstPort: string;
  sender: string;
  receiver: string;
  nonce: string;
  height: string;
  txHash: Hex;
  blockHash: Hex;
  logIndex: number;
  at: Date | null;
}

/**
 * Checks one observed message: the id must be keccak256 of the bytes (the hub never
 * takes an id on trust) and the message must come from the chain being observed.
 */
export function sentRecord(chain: string, r: SentRecord, field: string): SentRow {
  if (typeof r !== 'object' || r === null) throw new ValidationError(field, 'must be a SentRecord');
  const id = asBytes32(r.id, `${field}.id`);
  const encoded = asHex(r.encoded, `${field}.encoded`);
  if (messageId(encoded) !== id) throw new ValidationError(`${field}.id`, 'is not keccak256 of the encoded message');
  const m = r.message;
  if (typeof m !== 'object' || m === null) throw new ValidationError(`${field}.message`, 'must be a message object');
  const srcChain = parseChainId(m.srcChain, `${field}.message.srcChain`).id;
  if (srcChain !== chain) throw new ValidationError(`${field}.message.srcChain`, `is ${srcChain}, but the record was observed on ${chain}`);
  const dstChain = parseChainId(m.dstChain, `${field}.message.dstChain`).id;
  if (typeof m.nonce !== 'string' || !/^[0-9]{1,20}$/.test(m.nonce) || BigInt(m.nonce) > UINT64_MAX) {
    throw new ValidationError(`${field}.message.nonce`, 'must be a decimal uint64 string');
  }
  const srcPort = address(m.srcPort, `${field}.message.srcPort`);
  const dstPort = address(m.dstPort, `${field}.message.dstPort`);
  const sender = address(m.sender, `${field}.message.sender`);
  const receiver = address(m.receiver, `${field}.message.receiver`);
  const payload = asHex(m.payload, `${field}.message.payload`);
  return {
    id,
    encoded,
    message: { ...m, srcChain, dstChain, srcPort, dstPort, sender, receiver, payload, nonce: BigInt(m.nonce).toString() },
    srcChain,
    dstChain,
    srcPort,
    dstPort,
    sender,
    receiver,
    nonce: BigInt(m.nonce).toString(),
    height: int8(r.height, `${field}.height`),
    txHash: asBytes32(r.txHash, `${field}.txHash`),
    blockHash: asBytes32(r.blockHash, `${field}.blockHash`),
    logIndex: integer(r.logIndex, `${field}.logIndex`, 0, 2 ** 31 - 1),
    at: r.at === undefined ? null : date(r.at, `${field}.at`),
  };
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export function registryEvent(e: RegistryEvent, field: string) {
  if (typeof e !== 'object' || e === null) throw new ValidationError(field, 'must be a RegistryEvent');
  if (typeof e.contract !== 'string' || !NAME.test(e.contract)) throw new ValidationError(`${field}.contract`, 'must be a contract name');
  if (typeof e.kind !== 'string' || !NAME.test(e.kind)) throw new ValidationError(`${field}.kind`, 'must be an event name');
  if (e.data !== null && (typeof e.data !== 'object' || Array.isArray(e.data))) throw new ValidationError(`${field}.data`, 'must be an object or null');
  let data: string | null;
  try {
    data = e.data === null ? null : JSON.stringify(e.data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch (cause) {
    throw new ValidationError(`${field}.data`, 'must be JSON-serializable', { cause });
  }
  return {
    contract: e.contract,
    kind: e.kind,
    subject: text(e.subject, `${field}.subject`),
    status: e.status === null ? null : text(e.status, `${field}.status`),
    data,
    block_number: int8(e.blockNumber, `${field}.blockNumber`),
    block_time: date(e.blockTime, `${field}.blockTime`),
    tx_hash: asBytes32(e.txHash, `${field}.txHash`),
    log_index: integer(e.logIndex, `${field}.logIndex`, 0, 2 ** 31 - 1),
  };
}

export function chainRegistration(c: ChainRegistration, field = 'chain'): ChainRegistration {
  if (typeof c !== 'object' || c === null) throw new ValidationError(field, 'must be a chain registration');
  if (!(CHAIN_FAMILIES as readonly string[]).includes(c.family)) throw new ValidationError(`${field}.family`, `must be one of ${CHAIN_FAMILIES.join(', ')}`);
  if (!(LIGHT_CLIENT_TYPES as readonly string[]).includes(c.lightClient)) {
    throw new ValidationError(`${field}.lightClient`, `must be one of ${LIGHT_CLIENT_TYPES.join(', ')}`);
  }
  if (!(CHAIN_STATUSES as readonly string[]).includes(c.status)) throw new ValidationError(`${field}.status`, `must be one of ${CHAIN_STATUSES.join(', ')}`);
  if (typeof c.finality !== 'object' || c.finality === null || typeof c.finality.kind !== 'string') {
    throw new ValidationError(`${field}.finality`, 'must be a finality rule object');
  }
  if (!Array.isArray(c.endpoints) || c.endpoints.some((e) => typeof e !== 'string')) {
    throw new ValidationError(`${field}.endpoints`, 'must be an array of strings');
  }
  return {
    chainId: parseChainId(c.chainId, `${field}.chainId`).id,
    family: c.family,
    genesisHash: asHex(c.genesisHash, `${field}.genesisHash`),
    port: asHex(c.port, `${field}.port`),
    lightClient: c.lightClient,
    trustRoot: asHex(c.trustRoot, `${field}.trustRoot`),
    finality: c.finality,
    endpoints: [...c.endpoints],
    status: c.status,
  };
}

/** A lane as the API spells it: `<srcChain>><dstChain>` (CAIP-2 ids cannot contain `>`). */
export function lane(v: unknown, field = 'lane'): { srcChain: string; dstChain: string } {
  if (typeof v !== 'string') throw new ValidationError(field, 'must be "<srcChain>><dstChain>", e.g. "eip155:1>eip155:10"');
  const parts = v.split('>');
  if (parts.length !== 2) throw new ValidationError(field, 'must be "<srcChain>><dstChain>", e.g. "eip155:1>eip155:10"');
  return { srcChain: parseChainId(parts[0], field).id, dstChain: parseChainId(parts[1], field).id };
}

/** A CAIP-10 account with the address as the index stores it (hex lowercase). */
export function account(v: unknown, field = 'account'): { chain: string; address: string } {
  const a = parseAccountId(v, field);
  return { chain: a.chain, address: isHex(a.address) ? a.address.toLowerCase() : a.address };
}

export function date(v: unknown, field: string): Date {
  if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw new ValidationError(field, 'must be a valid Date');
  return v;
}

/** A non-negative decimal int8 as a string (transition seqs). */
export function seq(v: unknown, field: string): string {
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,18})$/.test(v) || BigInt(v) > INT8_MAX) {
    throw new ValidationError(field, 'must be a decimal integer in 0..2^63-1');
  }
  return v;
}

function headerJson(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ValidationError(field, 'must be a header object as the endpoint served it');
  return v as Record<string, unknown>;
}

export function misbehaviourEvidence(e: MisbehaviourEvidence, field = 'evidence') {
  if (typeof e !== 'object' || e === null) throw new ValidationError(field, 'must be MisbehaviourEvidence');
  const chainId = parseChainId(e.chainId, `${field}.chainId`).id;
  const height = int8(e.height, `${field}.height`);
  if (!Array.isArray(e.endpoints) || e.endpoints.length !== 2) throw new ValidationError(`${field}.endpoints`, 'must name the two endpoints that served the headers');
  const endpoints = e.endpoints.map((u, i) => text(u, `${field}.endpoints[${i}]`));
  const headerA = headerJson(e.headerA, `${field}.headerA`);
  const headerB = headerJson(e.headerB, `${field}.headerB`);
  let evidence: string;
  try {
    evidence = JSON.stringify({ chainId, height, headerA, headerB, endpoints });
  } catch (cause) {
    throw new ValidationError(field, 'headers must be JSON-serializable', { cause });
  }
  return { chain_id: chainId, height, evidence };
}
