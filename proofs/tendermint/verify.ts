/**
 * Single-step light-client verification (CometBFT light/verifier.go and the
 * tendermint-rs predicates, in tendermint-rs' order so that the model-based
 * verdicts come out the same): the untrusted block's own consistency, then the
 * trusted state's period and the clock, then the signatures.
 */
import { fail, ok, type Failure, type VerifyResult } from '../result.ts';
import { checkCommitShape, tallyCommit, TWO_THIRDS, type Threshold } from './commit.ts';
import { bytesEqual, headerHash, validatorSetHash, type Codec } from './hash.ts';
import { MalformedInput, parseLightBlock, parseSignedHeader, parseValidatorSet, timeFromDate, toHex } from './parse.ts';
import type { Header, LightBlock, LightBlockJson, SignedHeader, SignedHeaderJson, Time, TrustedStateJson, ValidatorSet, ValidatorSetJson, VerifyOptions } from './types.ts';

export type CodecChoice = Codec | 'auto';

/** Decoded, checked trusted state. */
export interface Trusted {
  header: Header;
  hash: Uint8Array;
  codec: Codec;
  /** The set trust is counted against (next validators when known, else the header's own). */
  trustSet?: ValidatorSet;
}

export interface Checked {
  timeNow: Time;
  trustingPeriodNs: bigint;
  clockDriftNs: bigint;
  trustLevel: Threshold;
  codec: CodecChoice;
  onVerify?: () => void;
}

export interface Verified {
  height: string;
  /** Upper-case hex header hash. */
  hash: string;
  time: string;
}

/** Wraps a parsing/verifying function so that malformed input becomes a Failure, never an exception. */
export function guard<T extends object>(f: () => VerifyResult<T>): VerifyResult<T> {
  try {
    return f();
  } catch (err) {
    if (err instanceof MalformedInput) return fail(err.reason, err.message);
    return fail('proof_malformed', err instanceof Error ? err.message : String(err));
  }
}

/** Which encoding makes the header hash to the block id its commit signs, if any. */
export function detectCodec(sh: SignedHeader, choice: CodecChoice = 'auto'): { codec: Codec; hash: Uint8Array } | undefined {
  const order: Codec[] = choice === 'auto' ? ['proto', 'amino'] : [choice];
  for (const codec of order) {
    const hash = headerHash(sh.header, codec);
    if (bytesEqual(hash, sh.commit.blockId.hash)) return { codec, hash };
  }
  return undefined;
}

export function checkOptions(o: VerifyOptions & { codec?: CodecChoice; onVerify?: () => void }): Checked | Failure {
  if (typeof o !== 'object' || o === null) return fail('expectation_invalid', 'options: required');
  if (!(typeof o.trustingPeriodSeconds === 'number' && o.trustingPeriodSeconds > 0 && Number.isFinite(o.trustingPeriodSeconds))) {
    return fail('expectation_invalid', 'trustingPeriodSeconds: must be a positive number');
  }
  const drift = o.clockDriftSeconds ?? 10;
  if (!(typeof drift === 'number' && drift >= 0 && Number.isFinite(drift))) return fail('expectation_invalid', 'clockDriftSeconds: must be a non-negative number');
  let num: bigint, den: bigint;
  try {
    num = BigInt(o.trustLevel?.numerator ?? 1);
    den = BigInt(o.trustLevel?.denominator ?? 3);
  } catch {
    return fail('expectation_invalid', 'trustLevel: numerator and denominator must be integers');
  }
  // CometBFT accepts trust levels in [1/3, 1]: below 1/3 a skipped header could be signed by faulty validators only.
  if (den <= 0n || num * 3n < den || num > den) return fail('expectation_invalid', 'trustLevel: must be within [1/3, 1]');
  let timeNow: Time;
  try {
    timeNow = timeFromDate(o.now);
  } catch (err) {
    return fail('expectation_invalid', `now: ${err instanceof Error ? err.message : String(err)}`);
  }
  const codec = o.codec ?? 'auto';
  if (codec !== 'auto' && codec !== 'proto' && codec !== 'amino') return fail('expectation_invalid', 'codec: must be auto, proto or amino');
  const checked: Checked = {
    timeNow,
    trustingPeriodNs: BigInt(Math.round(o.trustingPeriodSeconds * 1e9)),
    clockDriftNs: BigInt(Math.round(drift * 1e9)),
    trustLevel: { numerator: num, denominator: den },
    codec,
  };
  if (o.onVerify) checked.onVerify = o.onVerify;
  return checked;
}

/** Checks a trusted state the caller holds; a broken one is the caller's bug (expectation_invalid). */
export function toTrusted(sh: SignedHeader, vals: ValidatorSet | undefined, nextVals: ValidatorSet | undefined, choice: CodecChoice): Trusted | Failure {
  const d = detectCodec(sh, choice);
  if (!d) return fail('expectation_invalid', 'trusted header: does not hash to its commit block id');
  if (nextVals && !bytesEqual(validatorSetHash(nextVals, d.codec), sh.header.nextValidatorsHash)) {
    return fail('expectation_invalid', 'trusted next_validator_set: does not match next_validators_hash');
  }
  if (vals && !bytesEqual(validatorSetHash(vals, d.codec), sh.header.validatorsHash)) {
    return fail('expectation_invalid', 'trusted validator_set: does not match validators_hash');
  }
  const t: Trusted = { header: sh.header, hash: d.hash, codec: d.codec };
  const set = nextVals ?? vals;
  if (set) t.trustSet = set;
  return t;
}

export function lightBlockToTrusted(lb: LightBlock, codec: Codec, hash: Uint8Array): Trusted {
  const t: Trusted = { header: lb.signedHeader.header, hash, codec };
  const set = lb.nextValidatorSet ?? lb.validatorSet;
  t.trustSet = set;
  return t;
}

/** The untrusted block is what it claims: its sets, its header hash and its commit's shape agree. */
export function checkUntrusted(lb: LightBlock, choice: CodecChoice): VerifyResult<{ codec: Codec; hash: Uint8Array }> {
  const { header, commit } = lb.signedHeader;
  if (commit.height !== header.height) return fail('tendermint_commit_mismatch', `commit height ${commit.height} is not header height ${header.height}`);
  const d = detectCodec(lb.signedHeader, choice);
  if (!d) return fail('header_hash_mismatch', `header does not hash to the commit block id ${toHex(commit.blockId.hash).toUpperCase()}`);
  if (!bytesEqual(validatorSetHash(lb.validatorSet, d.codec), header.validatorsHash)) return fail('validator_set_mismatch', 'validator_set does not hash to validators_hash');
  if (lb.nextValidatorSet && !bytesEqual(validatorSetHash(lb.nextValidatorSet, d.codec), header.nextValidatorsHash)) {
    return fail('validator_set_mismatch', 'next_validator_set does not hash to next_validators_hash');
  }
  const shape = checkCommitShape(commit, lb.validatorSet);
  if (!shape.ok) return shape;
  return ok(d);
}

export type Mode = 'adjacent' | 'skipping' | 'auto';

/** One verification step from a checked trusted state; the core of every entry point. */
export function verifyStep(trusted: Trusted, lb: LightBlock, opts: Checked, mode: Mode = 'auto'): VerifyResult<{ codec: Codec; hash: Uint8Array }> {
  const { header, commit } = lb.signedHeader;
  const adjacent = header.height === trusted.header.height + 1n;
  if (mode === 'adjacent' && !adjacent) return fail('height_mismatch', `adjacent verification needs height ${trusted.header.height + 1n}, got ${header.height}`);
  if (mode === 'skipping' && adjacent) return fail('height_mismatch', `height ${header.height} is adjacent to the trusted height: use adjacent verification`);
  if (header.chainId !== trusted.header.chainId) return fail('untrusted_header', `chain id ${header.chainId} is not the trusted chain ${trusted.header.chainId}`);
  const self = checkUntrusted(lb, opts.codec === 'auto' ? 'auto' : opts.codec);
  if (!self.ok) return self;
  if (trusted.header.time.ns + opts.trustingPeriodNs <= opts.timeNow.ns) {
    return fail('trust_expired', `trusted header at height ${trusted.header.height} is outside the trusting period`);
  }
  if (header.time.ns >= opts.timeNow.ns + opts.clockDriftNs) return fail('tendermint_header_from_future', `header time is past now + clock drift`);
  if (header.time.ns <= trusted.header.time.ns) return fail('tendermint_non_monotonic', 'header time is not after the trusted header time');
  if (adjacent) {
    if (!bytesEqual(header.validatorsHash, trusted.header.nextValidatorsHash)) {
      return fail('tendermint_next_validators_mismatch', "validators_hash is not the trusted header's next_validators_hash");
    }
  } else if (header.height <= trusted.header.height) {
    return fail('tendermint_non_monotonic', `height ${header.height} is not above the trusted height ${trusted.header.height}`);
  }
  const cache = new Map<number, Uint8Array>();
  const tallyOpts = { codec: self.codec, verified: cache, ...(opts.onVerify ? { onVerify: opts.onVerify } : {}) };
  if (!adjacent) {
    if (!trusted.trustSet) return fail('expectation_invalid', 'trusted state: skipping verification needs its validator set');
    const trust = tallyCommit(header.chainId, commit, trusted.trustSet, { ...tallyOpts, threshold: opts.trustLevel });
    if (!trust.ok) return trust;
    if (!trust.enough) return fail('not_enough_trust', `${trust.tallied} of ${trust.total} trusted voting power signed; more than ${opts.trustLevel.numerator}/${opts.trustLevel.denominator} needed`);
  }
  const own = tallyCommit(header.chainId, commit, lb.validatorSet, { ...tallyOpts, threshold: TWO_THIRDS });
  if (!own.ok) return own;
  if (!own.enough) return fail('insufficient_signatures', `${own.tallied} of ${own.total} voting power signed; more than 2/3 needed`);
  return ok({ codec: self.codec, hash: self.hash });
}

export function formatTime(t: Time): string {
  const ns = t.nanos.toString().padStart(9, '0');
  return new Date(Number(t.seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, `.${ns}Z`);
}

export function describeHeader(h: Header, hash: Uint8Array): Verified {
  return { height: h.height.toString(), hash: toHex(hash).toUpperCase(), time: formatTime(h.time) };
}

export function describe(lb: LightBlock, hash: Uint8Array): Verified {
  return describeHeader(lb.signedHeader.header, hash);
}

type EntryOptions = VerifyOptions & { codec?: CodecChoice; onVerify?: () => void };

function entry(trusted: TrustedStateJson, untrusted: LightBlockJson, opts: EntryOptions, mode: Mode): VerifyResult<Verified> {
  return guard(() => {
    const o = checkOptions(opts);
    if ('ok' in o) return o;
    let t: Trusted | Failure;
    try {
      const sh = parseSignedHeader(trusted?.signed_header, 'trusted.signed_header');
      const vals = trusted.validator_set ? parseValidatorSet(trusted.validator_set, 'trusted.validator_set') : undefined;
      const next = trusted.next_validator_set ? parseValidatorSet(trusted.next_validator_set, 'trusted.next_validator_set') : undefined;
      t = toTrusted(sh, vals, next, o.codec);
    } catch (err) {
      // The trusted state is the caller's: its defects are expectation errors, not a bad proof.
      if (err instanceof MalformedInput) return fail('expectation_invalid', err.message);
      throw err;
    }
    if ('ok' in t) return t;
    const lb = parseLightBlock(untrusted, 'untrusted');
    const r = verifyStep(t, lb, o, mode);
    if (!r.ok) return r;
    return ok(describe(lb, r.hash));
  });
}

/** Verifies the block right after the trusted one: its validators are the trusted next validators, > 2/3 of them signed. */
export function verifyAdjacent(trusted: TrustedStateJson, untrusted: LightBlockJson, opts: EntryOptions): VerifyResult<Verified> {
  return entry(trusted, untrusted, opts, 'adjacent');
}

/** Verifies a later, non-adjacent block: > trust level of the trusted set and > 2/3 of its own set signed it. */
export function verifySkipping(trusted: TrustedStateJson, untrusted: LightBlockJson, opts: EntryOptions): VerifyResult<Verified> {
  return entry(trusted, untrusted, opts, 'skipping');
}

/** Adjacent or skipping, by height. */
export function verifyLightBlock(trusted: TrustedStateJson, untrusted: LightBlockJson, opts: EntryOptions): VerifyResult<Verified> {
  return entry(trusted, untrusted, opts, 'auto');
}

export interface CommitLightResult extends Verified {
  tallied: string;
  total: string;
}

/**
 * Is this signed header committed by more than 2/3 of this validator set?
 * (CometBFT VerifyCommitLight plus the header checks: the set hashes to
 * validators_hash and the header to the commit's block id.) No trust root is
 * involved: use it when the validator set itself is trusted (genesis, governance).
 */
export function verifyCommitLight(
  signedHeader: SignedHeaderJson,
  validatorSet: ValidatorSetJson,
  { codec = 'auto', chainId, onVerify }: { codec?: CodecChoice; chainId?: string; onVerify?: () => void } = {},
): VerifyResult<CommitLightResult> {
  return guard(() => {
    const lb: LightBlock = { signedHeader: parseSignedHeader(signedHeader), validatorSet: parseValidatorSet(validatorSet) };
    const { header, commit } = lb.signedHeader;
    if (chainId !== undefined && header.chainId !== chainId) return fail('untrusted_header', `chain id ${header.chainId} is not ${chainId}`);
    const self = checkUntrusted(lb, codec);
    if (!self.ok) return self;
    const t = tallyCommit(header.chainId, commit, lb.validatorSet, { threshold: TWO_THIRDS, codec: self.codec, ...(onVerify ? { onVerify } : {}) });
    if (!t.ok) return t;
    if (!t.enough) return fail('insufficient_signatures', `${t.tallied} of ${t.total} voting power signed; more than 2/3 needed`);
    return ok({ ...describe(lb, self.hash), tallied: t.tallied.toString(), total: t.total.toString() });
  });
}
