/**
 * Commit verification: canonical vote sign-bytes (CanonicalVote, length
 * delimited) and the voting-power tally with ed25519 under ZIP-215, the rule
 * CometBFT uses since v0.34 (curve25519-voi); node:crypto is stricter and would
 * reject signatures the chain accepts.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { fail, ok, type VerifyResult } from '../result.ts';
import type { Codec } from './hash.ts';
import { bytesEqual, encodeTimestamp } from './hash.ts';
import { toHex } from './parse.ts';
import { ProtoWriter, utf8Bytes } from './proto.ts';
import { BLOCK_ID_FLAG_COMMIT, BLOCK_ID_FLAG_NIL, type BlockId, type Commit, type CommitSig, type ValidatorSet } from './types.ts';

const PRECOMMIT = 2;

function canonicalBlockId(b: BlockId, codec: Codec): Uint8Array {
  const psh = new ProtoWriter(48);
  if (codec === 'amino') psh.bytesField(1, b.partSetHeader.hash).varintField(2, b.partSetHeader.total);
  else psh.varintField(1, b.partSetHeader.total).bytesField(2, b.partSetHeader.hash);
  return new ProtoWriter(96).bytesField(1, b.hash).messageField(2, psh.finish()).finish();
}

/**
 * Builds sign-bytes for every signature of one commit: only the timestamp
 * (and, for nil votes, the absent block id) differs between them, so the
 * shared parts are encoded once.
 */
export function signBytesFor(chainId: string, commit: Commit, codec: Codec = 'proto'): (sig: CommitSig) => Uint8Array {
  const head = new ProtoWriter(24).varintField(1, PRECOMMIT).sfixed64Field(2, commit.height).sfixed64Field(3, commit.round).finish();
  const blockId = new ProtoWriter(100).messageField(4, canonicalBlockId(commit.blockId, codec)).finish();
  const tail = new ProtoWriter(chainId.length + 3).bytesField(6, utf8Bytes(chainId)).finish();
  return (sig) => {
    const secs = Number(sig.timestamp.seconds);
    // Pre-epoch or far-future times take the general path; commits never have them, but they must still encode right.
    if (secs < 0 || !Number.isSafeInteger(secs)) return slowSignBytes(head, sig.flag === BLOCK_ID_FLAG_COMMIT ? blockId : undefined, encodeTimestamp(sig.timestamp), tail);
    const nanos = sig.timestamp.nanos;
    const tsLen = (secs > 0 ? 1 + varintLen(secs) : 0) + (nanos > 0 ? 1 + varintLen(nanos) : 0);
    const withBlock = sig.flag === BLOCK_ID_FLAG_COMMIT;
    const bodyLen = head.length + (withBlock ? blockId.length : 0) + 2 + tsLen + tail.length;
    // One allocation per vote: this runs once per signature checked.
    const out = new Uint8Array(varintLen(bodyLen) + bodyLen);
    let pos = putVarint(out, 0, bodyLen);
    out.set(head, pos);
    pos += head.length;
    if (withBlock) {
      out.set(blockId, pos);
      pos += blockId.length;
    }
    out[pos++] = 0x2a;
    out[pos++] = tsLen;
    if (secs > 0) {
      out[pos++] = 0x08;
      pos = putVarint(out, pos, secs);
    }
    if (nanos > 0) {
      out[pos++] = 0x10;
      pos = putVarint(out, pos, nanos);
    }
    out.set(tail, pos);
    return out;
  };
}

function slowSignBytes(head: Uint8Array, blockId: Uint8Array | undefined, ts: Uint8Array, tail: Uint8Array): Uint8Array {
  const body = new ProtoWriter(128).raw(head);
  if (blockId) body.raw(blockId);
  const b = body.messageField(5, ts).raw(tail).finish();
  return new ProtoWriter(b.length + 3).varint(b.length).raw(b).finish();
}

function varintLen(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

function putVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
  return pos;
}

export function verifyEd25519(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  try {
    return ed25519.verify(sig, msg, pub, { zip215: true });
  } catch {
    return false;
  }
}

export interface Threshold {
  numerator: bigint;
  denominator: bigint;
}

export const TWO_THIRDS: Threshold = { numerator: 2n, denominator: 3n };
export const ONE_THIRD: Threshold = { numerator: 1n, denominator: 3n };

export interface TallyOptions {
  threshold: Threshold;
  /** Stop verifying once the threshold is passed (CometBFT's VerifyCommitLight); false tallies every signature. */
  stopEarly?: boolean;
  codec?: Codec;
  /** Counts the signature checks done, for benchmarks and tests. */
  onVerify?: () => void;
  /**
   * Signatures already verified in this commit (index -> public key), shared
   * between the trust tally and the 2/3 tally of one skipping step so that no
   * signature is checked twice.
   */
  verified?: Map<number, Uint8Array>;
}

export interface Tally {
  tallied: bigint;
  total: bigint;
  /** Whether tallied / total > threshold. */
  enough: boolean;
  verified: number;
}

/**
 * Voting power of `vals` that signed `commit` for its block. Signatures of
 * validators outside `vals` are ignored (they carry no power here); a
 * validator named twice or a signature that does not verify fails the commit.
 */
export function tallyCommit(chainId: string, commit: Commit, vals: ValidatorSet, { threshold, stopEarly = true, codec = 'proto', onVerify, verified: cache }: TallyOptions): VerifyResult<Tally> {
  const signBytes = signBytesFor(chainId, commit, codec);
  const seen = new Set<string>();
  const total = vals.totalPower;
  let tallied = 0n;
  let verified = 0;
  const enough = () => tallied * threshold.denominator > total * threshold.numerator;
  for (let i = 0; i < commit.signatures.length; i++) {
    const sig = commit.signatures[i]!;
    // Absent and nil votes carry no power for this block; CometBFT's light verification skips them too.
    if (sig.flag !== BLOCK_ID_FLAG_COMMIT) continue;
    const addr = toHex(sig.validatorAddress);
    if (seen.has(addr)) return fail('tendermint_commit_mismatch', `commit.signatures[${i}]: validator ${addr} signed twice`);
    seen.add(addr);
    const val = vals.byAddress.get(addr);
    if (!val) continue;
    const done = cache?.get(i);
    if (!done || !bytesEqual(done, val.pubKey)) {
      verified++;
      onVerify?.();
      if (!verifyEd25519(sig.signature, signBytes(sig), val.pubKey)) {
        return fail('signature_invalid', `commit.signatures[${i}]: signature of ${addr.toUpperCase()} does not verify`);
      }
      cache?.set(i, val.pubKey);
    }
    tallied += val.power;
    if (stopEarly && enough()) return ok({ tallied, total, enough: true, verified });
  }
  return ok({ tallied, total, enough: enough(), verified });
}

/**
 * Structural checks of a commit against the validator set of its own height
 * (tendermint-rs' commit validator): one entry per validator, and every
 * non-absent signer is a member.
 */
export function checkCommitShape(commit: Commit, vals: ValidatorSet): VerifyResult {
  if (commit.signatures.length === 0) return fail('insufficient_signatures', 'commit has no signatures');
  if (commit.signatures.length !== vals.validators.length) {
    return fail('tendermint_commit_mismatch', `commit has ${commit.signatures.length} signatures for ${vals.validators.length} validators`);
  }
  for (let i = 0; i < commit.signatures.length; i++) {
    const s = commit.signatures[i]!;
    if (s.flag !== BLOCK_ID_FLAG_COMMIT && s.flag !== BLOCK_ID_FLAG_NIL) continue;
    if (!vals.byAddress.has(toHex(s.validatorAddress))) {
      return fail('tendermint_commit_mismatch', `commit.signatures[${i}]: signer ${toHex(s.validatorAddress).toUpperCase()} is not in the validator set`);
    }
  }
  return ok();
}
