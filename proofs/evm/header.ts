import { decode as rlpDecode, encode as rlpEncode } from '@ethereumjs/rlp';
import type { Hex } from '../../src/domain/hex.ts';
import { fail, ok, type VerifyResult } from '../result.ts';
import { bigintToBytes, bytesToBigint, keccak256, parseBytes, parseQuantity, toHex } from './bytes.ts';

/**
 * Execution-layer block headers, from the JSON-RPC block object to the RLP
 * whose keccak256 is the block hash. The fork is read from which fields the
 * block carries, not from chain config: a verifier must not need to know a
 * chain's fork schedule, and permissioned chains (Besu, Quorum) pick their own.
 */
export const EVM_FORKS = ['legacy', 'london', 'shanghai', 'cancun', 'prague'] as const;
export type EvmFork = (typeof EVM_FORKS)[number];

type FieldKind = { type: 'bytes'; length?: number } | { type: 'quantity' };
const hash: FieldKind = { type: 'bytes', length: 32 };
const quantity: FieldKind = { type: 'quantity' };

/** RLP order. Each fork appends a group; a group is all there or all absent. */
const BASE_FIELDS = [
  ['parentHash', hash],
  ['sha3Uncles', hash],
  ['miner', { type: 'bytes', length: 20 }],
  ['stateRoot', hash],
  ['transactionsRoot', hash],
  ['receiptsRoot', hash],
  ['logsBloom', { type: 'bytes', length: 256 }],
  ['difficulty', quantity],
  ['number', quantity],
  ['gasLimit', quantity],
  ['gasUsed', quantity],
  ['timestamp', quantity],
  ['extraData', { type: 'bytes' }],
  ['mixHash', hash],
  ['nonce', { type: 'bytes', length: 8 }],
] as const satisfies readonly (readonly [string, FieldKind])[];

const FORK_GROUPS = [
  ['london', [['baseFeePerGas', quantity]]],
  ['shanghai', [['withdrawalsRoot', hash]]],
  [
    'cancun',
    [
      ['blobGasUsed', quantity],
      ['excessBlobGas', quantity],
      ['parentBeaconBlockRoot', hash],
    ],
  ],
  ['prague', [['requestsHash', hash]]],
] as const satisfies readonly (readonly [EvmFork, readonly (readonly [string, FieldKind])[]])[];

interface LegacyFields {
  parentHash: Hex;
  sha3Uncles: Hex;
  miner: Hex;
  stateRoot: Hex;
  transactionsRoot: Hex;
  receiptsRoot: Hex;
  logsBloom: Hex;
  difficulty: bigint;
  number: bigint;
  gasLimit: bigint;
  gasUsed: bigint;
  timestamp: bigint;
  extraData: Hex;
  mixHash: Hex;
  nonce: Hex;
}
interface LondonFields extends LegacyFields {
  baseFeePerGas: bigint;
}
interface ShanghaiFields extends LondonFields {
  withdrawalsRoot: Hex;
}
interface CancunFields extends ShanghaiFields {
  blobGasUsed: bigint;
  excessBlobGas: bigint;
  parentBeaconBlockRoot: Hex;
}
interface PragueFields extends CancunFields {
  requestsHash: Hex;
}

export type EvmHeader =
  | ({ fork: 'legacy' } & LegacyFields)
  | ({ fork: 'london' } & LondonFields)
  | ({ fork: 'shanghai' } & ShanghaiFields)
  | ({ fork: 'cancun' } & CancunFields)
  | ({ fork: 'prague' } & PragueFields);

type FieldList = readonly (readonly [string, FieldKind])[];

function fieldsOf(fork: EvmFork): FieldList {
  const out: (readonly [string, FieldKind])[] = [...BASE_FIELDS];
  for (const [f, group] of FORK_GROUPS) {
    if (EVM_FORKS.indexOf(f) > EVM_FORKS.indexOf(fork)) break;
    out.push(...group);
  }
  return out;
}

/** Header list length per fork: how a raw RLP header tells its fork. */
const FORK_BY_LENGTH = new Map<number, EvmFork>(EVM_FORKS.map((f) => [fieldsOf(f).length, f]));

function present(json: Record<string, unknown>, name: string): boolean {
  // Some clients send `null` for fields a fork does not have.
  return json[name] !== undefined && json[name] !== null;
}

/** The fork whose field groups are present, or why the groups are inconsistent. */
function detectFork(json: Record<string, unknown>): VerifyResult<{ fork: EvmFork }> {
  let fork: EvmFork = 'legacy';
  let missing: string | null = null;
  for (const [f, group] of FORK_GROUPS) {
    const here = group.filter(([name]) => present(json, name)).map(([name]) => name);
    if (here.length === 0) {
      missing ??= f;
      continue;
    }
    if (here.length !== group.length) {
      const absent = group.filter(([name]) => !present(json, name)).map(([name]) => name);
      return fail('header_malformed', `${f} fields incomplete: has ${here.join(', ')} but not ${absent.join(', ')}`);
    }
    if (missing !== null) {
      return fail('header_malformed', `${here.join(', ')} (${f}) present without the ${missing} fields`);
    }
    fork = f;
  }
  return ok({ fork });
}

function parseField(json: Record<string, unknown>, name: string, kind: FieldKind): { value: Hex | bigint } | { error: string } {
  const v = json[name];
  if (kind.type === 'quantity') {
    const n = parseQuantity(v);
    return n === null ? { error: `${name} must be a hex quantity of at most 256 bits` } : { value: n };
  }
  const b = parseBytes(v, kind.length);
  if (b) return { value: toHex(b) };
  return { error: kind.length === undefined ? `${name} must be 0x-hex bytes` : `${name} must be ${kind.length} bytes of 0x-hex` };
}

/** Validates a JSON-RPC block object (extra fields such as `transactions` are ignored) into a typed header. */
export function parseEvmHeader(json: unknown): VerifyResult<{ header: EvmHeader }> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('header_malformed', 'header must be an object');
  const obj = json as Record<string, unknown>;
  const forkRes = detectFork(obj);
  if (!forkRes.ok) return forkRes;
  const header: Record<string, unknown> = { fork: forkRes.fork };
  for (const [name, kind] of fieldsOf(forkRes.fork)) {
    if (!present(obj, name)) return fail('header_malformed', `${name} is missing`);
    const field = parseField(obj, name, kind);
    if ('error' in field) return fail('header_malformed', field.error);
    header[name] = field.value;
  }
  return ok({ header: header as unknown as EvmHeader });
}

function fieldBytes(v: unknown): Uint8Array {
  return typeof v === 'bigint' ? bigintToBytes(v) : parseBytes(v)!;
}

/** RLP of a parsed header: total, since every field was validated by parseEvmHeader/decodeEvmHeader. */
export function encodeEvmHeader(header: EvmHeader): Uint8Array {
  const rec = header as unknown as Record<string, unknown>;
  return rlpEncode(fieldsOf(header.fork).map(([name]) => fieldBytes(rec[name])));
}

export function evmHeaderHash(header: EvmHeader): Hex {
  return toHex(keccak256(encodeEvmHeader(header)));
}

/** keccak256(RLP(header)) of a JSON-RPC block object, with the parsed header and its RLP. */
export function hashHeader(json: unknown): VerifyResult<{ hash: Hex; header: EvmHeader; rlp: Hex }> {
  const parsed = parseEvmHeader(json);
  if (!parsed.ok) return parsed;
  const rlp = encodeEvmHeader(parsed.header);
  return ok({ hash: toHex(keccak256(rlp)), header: parsed.header, rlp: toHex(rlp) });
}

/** Parses an RLP-encoded header; the fork is read from the list length. */
export function decodeEvmHeader(rlp: Uint8Array): VerifyResult<{ header: EvmHeader }> {
  let items: unknown;
  try {
    items = rlpDecode(rlp);
  } catch (cause) {
    return fail('header_malformed', `not RLP: ${(cause as Error).message}`);
  }
  if (!Array.isArray(items)) return fail('header_malformed', 'header RLP is not a list');
  const fork = FORK_BY_LENGTH.get(items.length);
  if (!fork) return fail('header_malformed', `a header has 15, 16, 17, 20 or 21 fields, not ${items.length}`);
  const header: Record<string, unknown> = { fork };
  const fields = fieldsOf(fork);
  for (let i = 0; i < fields.length; i++) {
    const [name, kind] = fields[i]!;
    const item: unknown = items[i];
    if (!(item instanceof Uint8Array)) return fail('header_malformed', `${name} is a list`);
    if (kind.type === 'quantity') {
      const n = bytesToBigint(item);
      if (n === null) return fail('header_malformed', `${name} is not a canonical integer`);
      header[name] = n;
    } else {
      if (kind.length !== undefined && item.length !== kind.length) return fail('header_malformed', `${name} must be ${kind.length} bytes`);
      header[name] = toHex(item);
    }
  }
  return ok({ header: header as unknown as EvmHeader });
}

/** Back to the JSON-RPC shape (quantities as minimal hex), e.g. to compare with a node's answer. */
export function evmHeaderToJson(header: EvmHeader): Record<string, Hex> {
  const rec = header as unknown as Record<string, unknown>;
  const out: Record<string, Hex> = {};
  for (const [name] of fieldsOf(header.fork)) {
    const v = rec[name];
    out[name] = typeof v === 'bigint' ? `0x${v.toString(16)}` : (v as Hex);
  }
  return out;
}
