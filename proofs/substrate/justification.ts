import { ScaleError, ScaleReader, concatBytes, encodeCompact, toHex, u32le, u64le } from './bytes.ts';
import { readHeader, type SubstrateHeader } from './header.ts';
import type { Hex } from '../../src/domain/hex.ts';

export interface Precommit {
  targetHash: Hex;
  targetNumber: number;
}

export interface SignedPrecommit {
  precommit: Precommit;
  signature: Uint8Array;
  /** The signer's ed25519 public key (AuthorityId). */
  id: Hex;
}

/** sc_consensus_grandpa::GrandpaJustification for u32 block numbers and blake2-256 headers. */
export interface GrandpaJustification {
  round: bigint;
  commit: { targetHash: Hex; targetNumber: number; precommits: SignedPrecommit[] };
  votesAncestries: SubstrateHeader[];
}

/** precommit (32 + 4) + signature 64 + id 32 */
const SIGNED_PRECOMMIT_BYTES = 132;
/** parent, number, state root, extrinsics root, digest length: the least a header takes */
const MIN_HEADER_BYTES = 98;

export function readJustification(r: ScaleReader): GrandpaJustification {
  const round = r.u64();
  const targetHash = toHex(r.take(32));
  const targetNumber = r.u32();
  const n = r.length(SIGNED_PRECOMMIT_BYTES);
  const precommits: SignedPrecommit[] = [];
  for (let i = 0; i < n; i++) {
    const pHash = toHex(r.take(32));
    const pNumber = r.u32();
    const signature = r.take(64);
    const id = toHex(r.take(32));
    precommits.push({ precommit: { targetHash: pHash, targetNumber: pNumber }, signature, id });
  }
  const m = r.length(MIN_HEADER_BYTES);
  const votesAncestries: SubstrateHeader[] = [];
  for (let i = 0; i < m; i++) votesAncestries.push(readHeader(r));
  return { round, commit: { targetHash, targetNumber, precommits }, votesAncestries };
}

/** Decodes a whole SCALE justification; throws ScaleError on malformed input. */
export function decodeJustification(bytes: Uint8Array): GrandpaJustification {
  const r = new ScaleReader(bytes);
  const j = readJustification(r);
  r.end();
  return j;
}

/**
 * The bytes a GRANDPA voter signs for a precommit, as finality-grandpa's
 * `localized_payload` builds them: SCALE of `(Message::Precommit(precommit), round, set_id)`,
 * i.e. enum index 1, target hash, target number (u32 LE), round (u64 LE), set id (u64 LE).
 */
export function precommitSigningPayload(p: Precommit, round: bigint, setId: bigint): Uint8Array {
  const hash = hexToBytes32(p.targetHash);
  return concatBytes(Uint8Array.of(1), hash, u32le(p.targetNumber), u64le(round), u64le(setId));
}

function hexToBytes32(h: Hex): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(h.slice(2 + 2 * i, 4 + 2 * i), 16);
  if (h.length !== 66) throw new ScaleError(`hash ${h} is not 32 bytes`);
  return out;
}

/** Re-encodes a justification (tests mutate decoded ones and encode them back). */
export function encodeJustification(j: GrandpaJustification): Uint8Array {
  const parts: Uint8Array[] = [u64le(j.round), hexToBytes32(j.commit.targetHash), u32le(j.commit.targetNumber), encodeCompact(j.commit.precommits.length)];
  for (const s of j.commit.precommits) {
    parts.push(hexToBytes32(s.precommit.targetHash), u32le(s.precommit.targetNumber), s.signature, hexToBytes32(s.id));
  }
  parts.push(encodeCompact(j.votesAncestries.length));
  for (const h of j.votesAncestries) parts.push(h.encoded);
  return concatBytes(...parts);
}
