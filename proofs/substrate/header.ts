import { ScaleError, ScaleReader, blake2_256, toHex } from './bytes.ts';
import type { Hex } from '../../src/domain/hex.ts';

/** `FRNK`: the engine id of GRANDPA's consensus digest items. */
export const GRANDPA_ENGINE_ID = 'FRNK';

export type DigestItem =
  | { kind: 'preRuntime' | 'consensus' | 'seal'; engine: string; data: Uint8Array }
  | { kind: 'other'; data: Uint8Array }
  | { kind: 'runtimeEnvironmentUpdated' };

export interface SubstrateHeader {
  parentHash: Hex;
  number: number;
  stateRoot: Hex;
  extrinsicsRoot: Hex;
  digest: DigestItem[];
  /** blake2-256 of the SCALE encoding (the block hash). */
  hash: Hex;
  encoded: Uint8Array;
}

const ENGINE_DECODER = new TextDecoder('latin1');

/** sp_runtime::generic::DigestItem, by its codec indices (1, 2, 3 and 7 are retired variants and refused). */
function readDigestItem(r: ScaleReader): DigestItem {
  const at = r.offset;
  const tag = r.u8();
  switch (tag) {
    case 0:
      return { kind: 'other', data: r.bytes() };
    case 4:
    case 5:
    case 6: {
      const engine = ENGINE_DECODER.decode(r.take(4));
      const data = r.bytes();
      return { kind: tag === 4 ? 'consensus' : tag === 5 ? 'seal' : 'preRuntime', engine, data };
    }
    case 8:
      return { kind: 'runtimeEnvironmentUpdated' };
    default:
      throw new ScaleError(`unknown digest item ${tag} at offset ${at}`);
  }
}

/** Reads one header (u32 block numbers, blake2-256 hashes: Polkadot, Kusama, Westend and most Substrate chains). */
export function readHeader(r: ScaleReader): SubstrateHeader {
  const start = r.offset;
  const parentHash = toHex(r.take(32));
  const number = r.compact();
  const stateRoot = toHex(r.take(32));
  const extrinsicsRoot = toHex(r.take(32));
  const n = r.length(1);
  const digest: DigestItem[] = [];
  for (let i = 0; i < n; i++) digest.push(readDigestItem(r));
  const encoded = r.data.subarray(start, r.offset);
  return { parentHash, number, stateRoot, extrinsicsRoot, digest, encoded, hash: toHex(blake2_256(encoded)) };
}

/** Decodes a whole SCALE header; throws ScaleError on malformed input (callers wrap it). */
export function decodeHeader(bytes: Uint8Array): SubstrateHeader {
  const r = new ScaleReader(bytes);
  const h = readHeader(r);
  r.end();
  return h;
}

export interface AuthorityWeight {
  publicKey: Hex;
  weight: bigint;
}

/** sp_consensus_grandpa::ConsensusLog, as carried in a `Consensus(FRNK, ...)` digest item. */
export type GrandpaLog =
  | { kind: 'scheduledChange'; nextAuthorities: AuthorityWeight[]; delay: number }
  | { kind: 'forcedChange'; medianLastFinalized: number; nextAuthorities: AuthorityWeight[]; delay: number }
  | { kind: 'onDisabled'; authorityIndex: bigint }
  | { kind: 'pause'; delay: number }
  | { kind: 'resume'; delay: number };

function readScheduledChange(r: ScaleReader): { nextAuthorities: AuthorityWeight[]; delay: number } {
  const n = r.length(40);
  const nextAuthorities: AuthorityWeight[] = [];
  for (let i = 0; i < n; i++) nextAuthorities.push({ publicKey: toHex(r.take(32)), weight: r.u64() });
  return { nextAuthorities, delay: r.u32() };
}

export function decodeGrandpaLog(data: Uint8Array): GrandpaLog {
  const r = new ScaleReader(data);
  const tag = r.u8();
  let log: GrandpaLog;
  switch (tag) {
    case 1:
      log = { kind: 'scheduledChange', ...readScheduledChange(r) };
      break;
    case 2: {
      const medianLastFinalized = r.u32();
      log = { kind: 'forcedChange', medianLastFinalized, ...readScheduledChange(r) };
      break;
    }
    case 3:
      log = { kind: 'onDisabled', authorityIndex: r.u64() };
      break;
    case 4:
      log = { kind: 'pause', delay: r.u32() };
      break;
    case 5:
      log = { kind: 'resume', delay: r.u32() };
      break;
    default:
      throw new ScaleError(`unknown GRANDPA consensus log ${tag}`);
  }
  r.end();
  return log;
}

/** Every GRANDPA consensus log in a header's digest, in order. */
export function grandpaLogs(header: SubstrateHeader): GrandpaLog[] {
  const out: GrandpaLog[] = [];
  for (const d of header.digest) {
    if (d.kind === 'consensus' && d.engine === GRANDPA_ENGINE_ID) out.push(decodeGrandpaLog(d.data));
  }
  return out;
}
