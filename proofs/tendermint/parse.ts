/**
 * Decoding of the RPC JSON into bytes, bigints and nanosecond times. Any bad
 * field raises a MalformedInput naming it; the public entry points turn that
 * into a `fail(...)` value, so nothing escapes as an exception.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { ProofFailure } from '../result.ts';
import type {
  BlockId, BlockIdJson, Commit, CommitJson, CommitSig, Header, HeaderJson, LightBlock, LightBlockJson,
  SignedHeader, SignedHeaderJson, Time, Validator, ValidatorSet, ValidatorSetJson,
} from './types.ts';

/** Never leaves proofs/tendermint: the entry points convert it to a Failure. */
export class MalformedInput extends Error {
  constructor(readonly reason: ProofFailure, readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

/** Largest total voting power CometBFT allows (MaxInt64 / 8). */
export const MAX_TOTAL_VOTING_POWER = 1152921504606846975n;

function bad(field: string, message: string): never {
  throw new MalformedInput('proof_malformed', field, message);
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(field, 'not an object');
  return v as Record<string, unknown>;
}

export function parseHex(v: unknown, field: string): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array(0);
  if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(v)) bad(field, 'not hex');
  const out = new Uint8Array(v.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(v.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function parseBase64(v: unknown, field: string): Uint8Array {
  if (v === undefined || v === null || v === '') return new Uint8Array(0);
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) bad(field, 'not base64');
  return new Uint8Array(Buffer.from(v, 'base64'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function parseInt64(v: unknown, field: string, { min = -(2n ** 63n) }: { min?: bigint } = {}): bigint {
  let x: bigint;
  if (typeof v === 'number' && Number.isSafeInteger(v)) x = BigInt(v);
  else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) x = BigInt(v);
  else bad(field, 'not an integer');
  if (x < min || x > 2n ** 63n - 1n) bad(field, 'out of range');
  return x;
}

const TIME_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** RFC 3339 with nanoseconds (JS Date keeps only milliseconds). */
export function parseTime(v: unknown, field: string): Time {
  if (typeof v !== 'string') bad(field, 'not an RFC 3339 time');
  const m = TIME_RE.exec(v);
  if (!m) bad(field, 'not an RFC 3339 time');
  const ms = Date.parse(`${m[1]}${m[3] === 'Z' ? 'Z' : m[3]}`);
  if (Number.isNaN(ms)) bad(field, 'not a valid date');
  const seconds = BigInt(Math.floor(ms / 1000));
  const nanos = m[2] ? Number(m[2].padEnd(9, '0')) : 0;
  return { seconds, nanos, ns: seconds * 1_000_000_000n + BigInt(nanos) };
}

export function timeFromDate(d: Date | string, field = 'now'): Time {
  if (typeof d === 'string') return parseTime(d, field);
  const ms = d.getTime();
  if (Number.isNaN(ms)) bad(field, 'invalid date');
  const seconds = BigInt(Math.floor(ms / 1000));
  const nanos = (ms - Math.floor(ms / 1000) * 1000) * 1_000_000;
  return { seconds, nanos, ns: seconds * 1_000_000_000n + BigInt(nanos) };
}

export function parseBlockId(v: unknown, field: string): BlockId {
  if (v === null || v === undefined) return { hash: new Uint8Array(0), partSetHeader: { total: 0, hash: new Uint8Array(0) } };
  const o = obj(v, field) as unknown as BlockIdJson;
  const psh = o.part_set_header ?? o.parts;
  const total = psh === undefined || psh === null ? 0 : Number(parseInt64(psh.total, `${field}.part_set_header.total`, { min: 0n }));
  if (total > 0xffffffff) bad(`${field}.part_set_header.total`, 'above uint32');
  return {
    hash: parseHex(o.hash, `${field}.hash`),
    partSetHeader: { total, hash: parseHex(psh?.hash, `${field}.part_set_header.hash`) },
  };
}

export function parseHeader(v: unknown, field = 'header'): Header {
  const h = obj(v, field) as unknown as HeaderJson;
  const version = obj(h.version, `${field}.version`);
  if (typeof h.chain_id !== 'string' || h.chain_id.length === 0 || h.chain_id.length > 50) bad(`${field}.chain_id`, 'must be a string of 1..50 characters');
  const height = parseInt64(h.height, `${field}.height`, { min: 1n });
  const hash32 = (k: keyof HeaderJson, optional: boolean): Uint8Array => {
    const b = parseHex(h[k], `${field}.${k}`);
    if (b.length !== 32 && !(optional && b.length === 0)) bad(`${field}.${k}`, 'must be a 32-byte hash');
    return b;
  };
  const proposer = parseHex(h.proposer_address, `${field}.proposer_address`);
  if (proposer.length !== 20) bad(`${field}.proposer_address`, 'must be 20 bytes');
  const app = version.app === undefined ? 0n : parseInt64(version.app, `${field}.version.app`, { min: 0n });
  return {
    versionBlock: parseInt64(version.block, `${field}.version.block`, { min: 0n }),
    versionApp: app,
    chainId: h.chain_id,
    height,
    time: parseTime(h.time, `${field}.time`),
    lastBlockId: parseBlockId(h.last_block_id, `${field}.last_block_id`),
    lastCommitHash: hash32('last_commit_hash', true),
    dataHash: hash32('data_hash', true),
    validatorsHash: hash32('validators_hash', false),
    nextValidatorsHash: hash32('next_validators_hash', false),
    consensusHash: hash32('consensus_hash', true),
    // app hashes are application defined (8 bytes for kvstore): any length.
    appHash: parseHex(h.app_hash, `${field}.app_hash`),
    lastResultsHash: hash32('last_results_hash', true),
    evidenceHash: hash32('evidence_hash', true),
    proposerAddress: proposer,
  };
}

const FLAG_NAMES: Record<string, 1 | 2 | 3> = { BLOCK_ID_FLAG_ABSENT: 1, BLOCK_ID_FLAG_COMMIT: 2, BLOCK_ID_FLAG_NIL: 3 };

export function parseCommit(v: unknown, field = 'commit'): Commit {
  const c = obj(v, field) as unknown as CommitJson;
  if (!Array.isArray(c.signatures)) bad(`${field}.signatures`, 'not an array');
  const signatures: CommitSig[] = c.signatures.map((s, i) => {
    const f = `${field}.signatures[${i}]`;
    const so = obj(s, f) as unknown as CommitJson['signatures'][number];
    const flag = typeof so.block_id_flag === 'string' ? FLAG_NAMES[so.block_id_flag] : so.block_id_flag;
    if (flag !== 1 && flag !== 2 && flag !== 3) bad(`${f}.block_id_flag`, 'must be 1, 2 or 3');
    if (flag === 1) return { flag, validatorAddress: new Uint8Array(0), timestamp: { seconds: 0n, nanos: 0, ns: 0n }, signature: new Uint8Array(0) };
    const validatorAddress = parseHex(so.validator_address, `${f}.validator_address`);
    if (validatorAddress.length !== 20) bad(`${f}.validator_address`, 'must be 20 bytes');
    const signature = parseBase64(so.signature, `${f}.signature`);
    if (signature.length !== 64) bad(`${f}.signature`, 'must be a 64-byte ed25519 signature');
    return { flag, validatorAddress, timestamp: parseTime(so.timestamp, `${f}.timestamp`), signature };
  });
  return {
    height: parseInt64(c.height, `${field}.height`, { min: 1n }),
    round: parseInt64(c.round, `${field}.round`, { min: 0n }),
    blockId: parseBlockId(c.block_id, `${field}.block_id`),
    signatures,
  };
}

export function parseSignedHeader(v: unknown, field = 'signed_header'): SignedHeader {
  const o = obj(v, field) as unknown as SignedHeaderJson;
  return { header: parseHeader(o.header, `${field}.header`), commit: parseCommit(o.commit, `${field}.commit`) };
}

const ED25519_TYPES = new Set(['tendermint/PubKeyEd25519', 'ed25519', '/cosmos.crypto.ed25519.PubKey', 'cometbft/PubKeyEd25519']);

export function parseValidatorSet(v: unknown, field = 'validator_set'): ValidatorSet {
  const o = obj(v, field) as unknown as ValidatorSetJson;
  // Empty sets are representable (tendermint-rs model vectors use them); they carry no power, so no commit passes with one.
  if (!Array.isArray(o.validators)) bad(`${field}.validators`, 'must be an array');
  const byAddress = new Map<string, Validator>();
  let totalPower = 0n;
  const validators = o.validators.map((raw, i) => {
    const f = `${field}.validators[${i}]`;
    const val = obj(raw, f) as unknown as ValidatorSetJson['validators'][number];
    const pk = obj(val.pub_key, `${f}.pub_key`);
    if (typeof pk.type !== 'string' || !ED25519_TYPES.has(pk.type)) bad(`${f}.pub_key.type`, `unsupported key type ${String(pk.type)} (ed25519 only)`);
    const pubKey = parseBase64(pk.value ?? pk.key, `${f}.pub_key.value`);
    if (pubKey.length !== 32) bad(`${f}.pub_key.value`, 'must be 32 bytes');
    const address = sha256(pubKey).subarray(0, 20);
    if (val.address !== undefined && val.address !== '') {
      const given = parseHex(val.address, `${f}.address`);
      if (toHex(given) !== toHex(address)) throw new MalformedInput('validator_set_mismatch', `${f}.address`, 'is not the address of its public key');
    }
    const power = parseInt64(val.voting_power ?? val.power, `${f}.voting_power`, { min: 1n });
    totalPower += power;
    const validator: Validator = { address, addressHex: toHex(address), pubKey, power };
    if (byAddress.has(validator.addressHex)) bad(`${f}.address`, 'duplicate validator');
    byAddress.set(validator.addressHex, validator);
    return validator;
  });
  if (totalPower > MAX_TOTAL_VOTING_POWER) bad(`${field}`, 'total voting power above the CometBFT maximum');
  validators.sort((a, b) => (a.power !== b.power ? (a.power > b.power ? -1 : 1) : a.addressHex < b.addressHex ? -1 : a.addressHex > b.addressHex ? 1 : 0));
  return { validators, totalPower, byAddress };
}

export function parseLightBlock(v: unknown, field = 'light_block'): LightBlock {
  const o = obj(v, field) as unknown as LightBlockJson;
  const lb: LightBlock = {
    signedHeader: parseSignedHeader(o.signed_header, `${field}.signed_header`),
    validatorSet: parseValidatorSet(o.validator_set, `${field}.validator_set`),
  };
  if (o.next_validator_set !== undefined && o.next_validator_set !== null) lb.nextValidatorSet = parseValidatorSet(o.next_validator_set, `${field}.next_validator_set`);
  return lb;
}
