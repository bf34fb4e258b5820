/**
 * Witness cross-checks (CometBFT light/detector.go, simplified): after the
 * primary's chain verified to a target, every witness is asked for the same
 * heights. A witness that agrees is fine; one that disagrees is verified from
 * the last height both agree on. If its conflicting header verifies too, two
 * valid conflicting headers exist: that is misbehaviour, returned as evidence
 * (the caller stores it and freezes the chain). If it does not verify, the
 * witness is faulty and reported as such, and the primary's result stands.
 * Like the bisection, the logic is a generator over block requests, driven
 * synchronously (`detectFork`) or asynchronously (`detectForkAsync`).
 */
import { fail, ok, type Failure, type VerifyResult } from '../result.ts';
import { bisectCore, type BisectOptions, type BisectSuccess, type FetchLightBlock, type FetchLightBlockAsync } from './bisect.ts';
import { MalformedInput, parseSignedHeader, toHex } from './parse.ts';
import { BLOCK_ID_FLAG_COMMIT, type LightBlockJson, type TrustedStateJson } from './types.ts';
import { detectCodec, type Verified } from './verify.ts';

/** Two valid headers for one height of one chain, with the height both sides still agree on. */
export interface ForkEvidence {
  chainId: string;
  height: string;
  /** Last height where primary and witness agree (the common trusted block). */
  commonHeight: string;
  primary: { hash: string; block: LightBlockJson };
  witness: { index: number; hash: string; block: LightBlockJson };
  /** Upper-case hex addresses that committed to both conflicting headers (equivocation). */
  signedBoth: string[];
}

export interface ForkCheck {
  /** Witnesses that served the primary's header at the target. */
  agreed: number[];
  /** Witnesses that served a conflicting header that does not verify, or nothing usable. */
  faulty: { index: number; reason: string; detail: string }[];
}

export type ForkResult = VerifyResult<ForkCheck> | (Failure & { evidence: ForkEvidence });

/** A request for the block at `height` from the primary (source -1) or witness `source`. */
export interface BlockRequest {
  source: number;
  height: string;
}

function hashOf(json: LightBlockJson | undefined): string | undefined {
  if (!json) return undefined;
  try {
    const d = detectCodec(parseSignedHeader(json.signed_header));
    return d ? toHex(d.hash).toUpperCase() : undefined;
  } catch (err) {
    if (err instanceof MalformedInput) return undefined;
    throw err;
  }
}

function signers(json: LightBlockJson): Set<string> {
  const sh = parseSignedHeader(json.signed_header);
  return new Set(sh.commit.signatures.filter((s) => s.flag === BLOCK_ID_FLAG_COMMIT).map((s) => toHex(s.validatorAddress).toUpperCase()));
}

function* forkCore(trusted: TrustedStateJson, trace: Verified[], witnesses: number, opts: BisectOptions): Generator<BlockRequest, ForkResult, LightBlockJson | undefined> {
  const target = trace[trace.length - 1];
  if (!target) return fail('expectation_invalid', 'trace: empty');
  const primaryBlock = yield { source: -1, height: target.height };
  if (!primaryBlock || hashOf(primaryBlock) !== target.hash) return fail('expectation_invalid', `primary no longer serves the verified header at ${target.height}`);
  const agreed: number[] = [];
  const faulty: ForkCheck['faulty'] = [];
  for (let index = 0; index < witnesses; index++) {
    const wTarget = yield { source: index, height: target.height };
    const wHash = hashOf(wTarget);
    if (wHash === target.hash) {
      agreed.push(index);
      continue;
    }
    if (!wTarget || wHash === undefined) {
      faulty.push({ index, reason: 'tendermint_block_unavailable', detail: `no usable header at ${target.height}` });
      continue;
    }
    // The last trace height the witness still agrees on is where its chain is verified from.
    let common: Verified = trace[0]!;
    let commonState: TrustedStateJson = trusted;
    for (const step of trace.slice(1, -1)) {
      const wb = yield { source: index, height: step.height };
      if (!wb || hashOf(wb) !== step.hash) break;
      common = step;
      commonState = wb;
    }
    const it = bisectCore(commonState, BigInt(target.height), opts);
    let st = it.next();
    while (!st.done) st = it.next(yield { source: index, height: st.value.toString() });
    const r = st.value;
    if (!r.ok) {
      faulty.push({ index, reason: r.reason, detail: `conflicting header at ${target.height} does not verify: ${r.detail}` });
      continue;
    }
    const both = signers(primaryBlock);
    const evidence: ForkEvidence = {
      chainId: parseSignedHeader(primaryBlock.signed_header).header.chainId,
      height: target.height,
      commonHeight: common.height,
      primary: { hash: target.hash, block: primaryBlock },
      witness: { index, hash: wHash, block: wTarget },
      signedBoth: [...signers(wTarget)].filter((a) => both.has(a)).sort(),
    };
    const msg = `witness ${index} serves a valid header ${wHash} at height ${target.height} conflicting with ${target.hash} (common height ${common.height})`;
    return { ...fail('tendermint_fork_detected', msg), evidence };
  }
  return ok({ agreed, faulty });
}

function wrapError(err: unknown): Failure {
  if (err instanceof MalformedInput) return fail(err.reason, err.message);
  return fail('proof_malformed', err instanceof Error ? err.message : String(err));
}

/**
 * Cross-checks a verified trace (the `trace` of a successful `bisect`) against
 * each witness. `primary` is the source the trace came from. A witness that
 * throws counts as one that has nothing.
 */
export function detectFork(trusted: TrustedStateJson, verified: Pick<BisectSuccess, 'trace'>, primary: FetchLightBlock, witnesses: FetchLightBlock[], opts: BisectOptions): ForkResult {
  try {
    const it = forkCore(trusted, verified.trace, witnesses.length, opts);
    let st = it.next();
    while (!st.done) {
      const { source, height } = st.value;
      let block: LightBlockJson | undefined;
      try {
        block = source < 0 ? primary(height) : witnesses[source]!(height);
      } catch {
        block = undefined;
      }
      st = it.next(block);
    }
    return st.value;
  } catch (err) {
    return wrapError(err);
  }
}

/** detectFork over asynchronous sources. */
export async function detectForkAsync(trusted: TrustedStateJson, verified: Pick<BisectSuccess, 'trace'>, primary: FetchLightBlockAsync, witnesses: FetchLightBlockAsync[], opts: BisectOptions): Promise<ForkResult> {
  try {
    const it = forkCore(trusted, verified.trace, witnesses.length, opts);
    let st = it.next();
    while (!st.done) {
      const { source, height } = st.value;
      let block: LightBlockJson | undefined;
      try {
        block = await (source < 0 ? primary(height) : witnesses[source]!(height));
      } catch {
        block = undefined;
      }
      st = it.next(block);
    }
    return st.value;
  } catch (err) {
    return wrapError(err);
  }
}

/** Do two light blocks carry the same header? */
export function sameHeader(a: LightBlockJson, b: LightBlockJson): boolean {
  const ha = hashOf(a);
  return ha !== undefined && ha === hashOf(b);
}
