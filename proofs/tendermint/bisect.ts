/**
 * The bisection driver (CometBFT VerifySkipping / tendermint-rs scheduler):
 * try the target from the latest trusted block; on not_enough_trust fetch the
 * midpoint and try again; each verified block becomes the new trusted one.
 * It does no I/O: blocks come from the caller's `fetch`. The algorithm is a
 * generator that asks for heights, so one implementation serves the
 * synchronous driver (`bisect`) and the asynchronous one (`bisectAsync`).
 */
import { fail, ok, type Failure, type VerifyResult } from '../result.ts';
import { MalformedInput, parseLightBlock, parseSignedHeader, parseValidatorSet } from './parse.ts';
import type { LightBlock, LightBlockJson, TrustedStateJson, VerifyOptions } from './types.ts';
import { checkOptions, describe, describeHeader, guard, lightBlockToTrusted, toTrusted, verifyStep, type CodecChoice, type Trusted, type Verified } from './verify.ts';

/** Returns the light block at a height, or undefined when the source has none. */
export type FetchLightBlock = (height: string) => LightBlockJson | undefined;
export type FetchLightBlockAsync = (height: string) => Promise<LightBlockJson | undefined>;

export interface BisectOptions extends VerifyOptions {
  codec?: CodecChoice;
  /** Upper bound on verification steps, so a hostile source cannot keep the driver busy. Default 200. */
  maxSteps?: number;
  onVerify?: () => void;
}

export interface BisectSuccess extends Verified {
  /** Every block verified on the way, trusted root first, target last. */
  trace: Verified[];
  /** Midpoints fetched because a skip lacked trust. */
  bisections: number;
  /** Single-step verifications attempted. */
  steps: number;
}

export type BisectSteps = Generator<bigint, VerifyResult<BisectSuccess>, LightBlockJson | undefined>;

/** The bisection as a generator: yields the heights it needs, receives the light blocks (undefined when missing). */
export function* bisectCore(trustedJson: TrustedStateJson, targetHeight: bigint, opts: BisectOptions): BisectSteps {
  const o = checkOptions(opts);
  if ('ok' in o) return o;
  let root: Trusted | Failure;
  try {
    root = toTrusted(
      parseSignedHeader(trustedJson?.signed_header, 'trusted.signed_header'),
      trustedJson.validator_set ? parseValidatorSet(trustedJson.validator_set, 'trusted.validator_set') : undefined,
      trustedJson.next_validator_set ? parseValidatorSet(trustedJson.next_validator_set, 'trusted.next_validator_set') : undefined,
      o.codec,
    );
  } catch (err) {
    if (err instanceof MalformedInput) return fail('expectation_invalid', err.message);
    throw err;
  }
  if ('ok' in root) return root;
  const maxSteps = opts.maxSteps ?? 200;
  const rootInfo = describeHeader(root.header, root.hash);
  if (targetHeight < root.header.height) return fail('expectation_invalid', `target height ${targetHeight} is below the trusted height ${root.header.height}: backwards verification is not supported`);
  if (targetHeight === root.header.height) return ok({ ...rootInfo, trace: [rootInfo], bisections: 0, steps: 0 });

  const get = function* (h: bigint): Generator<bigint, LightBlock | Failure, LightBlockJson | undefined> {
    const json = yield h;
    if (json === undefined || json === null) return fail('tendermint_block_unavailable', `no light block at height ${h}`);
    try {
      const lb = parseLightBlock(json, `light_block@${h}`);
      if (lb.signedHeader.header.height !== h) return fail('height_mismatch', `asked for height ${h}, got ${lb.signedHeader.header.height}`);
      return lb;
    } catch (err) {
      if (err instanceof MalformedInput) return fail(err.reason, err.message);
      throw err;
    }
  };

  let cur = root;
  const trace: Verified[] = [rootInfo];
  let bisections = 0;
  let steps = 0;
  const first = yield* get(targetHeight);
  if ('ok' in first) return first;
  const pending: LightBlock[] = [first];
  while (pending.length > 0) {
    if (++steps > maxSteps) return fail('not_enough_trust', `gave up after ${maxSteps} verification steps`);
    const lb = pending[pending.length - 1]!;
    const r = verifyStep(cur, lb, o);
    if (r.ok) {
      cur = lightBlockToTrusted(lb, r.codec, r.hash);
      trace.push(describe(lb, r.hash));
      pending.pop();
      continue;
    }
    if (r.reason !== 'not_enough_trust') return fail(r.reason, `height ${lb.signedHeader.header.height}: ${r.detail}`);
    const pivot = (cur.header.height + lb.signedHeader.header.height) / 2n;
    if (pivot <= cur.header.height) return fail('not_enough_trust', `height ${lb.signedHeader.header.height}: ${r.detail}`);
    bisections++;
    const next = yield* get(pivot);
    if ('ok' in next) return next;
    pending.push(next);
  }
  const last = trace[trace.length - 1]!;
  return ok({ ...last, trace, bisections, steps });
}

function heightOf(h: string | number | bigint): bigint | Failure {
  try {
    const b = BigInt(h);
    if (b < 1n) return fail('expectation_invalid', 'target height: must be positive');
    return b;
  } catch {
    return fail('expectation_invalid', 'target height: not an integer');
  }
}

/** Verifies the block at `target` from the trusted state, fetching midpoints as needed (synchronous source). */
export function bisect(trusted: TrustedStateJson, target: string | number | bigint, fetch: FetchLightBlock, opts: BisectOptions): VerifyResult<BisectSuccess> {
  return guard(() => {
    const h = heightOf(target);
    if (typeof h !== 'bigint') return h;
    const it = bisectCore(trusted, h, opts);
    let step = it.next();
    while (!step.done) {
      let block: LightBlockJson | undefined;
      try {
        block = fetch(step.value.toString());
      } catch (err) {
        return fail('tendermint_block_unavailable', `fetch(${step.value}) failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      step = it.next(block);
    }
    return step.value;
  });
}

/** The same driver over an asynchronous source (e.g. an RPC client the caller owns). */
export async function bisectAsync(trusted: TrustedStateJson, target: string | number | bigint, fetch: FetchLightBlockAsync, opts: BisectOptions): Promise<VerifyResult<BisectSuccess>> {
  const h = heightOf(target);
  if (typeof h !== 'bigint') return h;
  let it: BisectSteps;
  try {
    it = bisectCore(trusted, h, opts);
    let step = it.next();
    while (!step.done) {
      let block: LightBlockJson | undefined;
      try {
        block = await fetch(step.value.toString());
      } catch (err) {
        return fail('tendermint_block_unavailable', `fetch(${step.value}) failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      step = it.next(block);
    }
    return step.value;
  } catch (err) {
    if (err instanceof MalformedInput) return fail(err.reason, err.message);
    return fail('proof_malformed', err instanceof Error ? err.message : String(err));
  }
}
