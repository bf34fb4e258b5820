import type { Logger } from 'pino';
import { bisectAsync, detectForkAsync, verifyCommitLight, type BisectOptions, type BisectSuccess, type ForkEvidence, type LightBlockJson, type TrustedStateJson } from '../../proofs/tendermint/index.ts';
import { MalformedInput, parseHeader, toHex } from '../../proofs/tendermint/parse.ts';
import type { ChainAdapter } from '../../src/domain/adapter.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError } from '../../src/errors.ts';
import type { MisbehaviourEvidence } from '../../src/index/types.ts';
import { decodeCometTrustRoot, type CometTrustRoot } from './cometbft-trust.ts';

/**
 * What the light client reads from the chain's CometBFT RPC (the Cosmos
 * adapter's `comet` capability, adapters/cosmos/adapter.ts `CometBlocks`; kept
 * structural here so the relayer depends on the shape, not the adapter).
 * Nothing it returns is trusted.
 */
export interface CometBlockSource {
  latestHeight(endpoint?: number): Promise<bigint>;
  /** `/commit` signed_header + `/validators` at a height (all pages), raw RPC JSON. */
  lightBlock(height: bigint, endpoint?: number): Promise<{ signedHeader: unknown; validators: unknown }>;
  endpointCount(): number;
}

export type CometTrusted =
  | { ok: true; height: bigint; hash: Hex; appHash: Hex; time: string }
  | { ok: false; reason: string; detail: string; evidence?: ForkEvidence };

/** Reason of a height the chain has not produced (or committed) yet: the caller waits, nothing is refused. */
export const COMET_NOT_FINAL = 'not_final';
/** Reason once two valid conflicting headers were seen: the client is halted and the chain is to be frozen. */
export const COMET_MISBEHAVIOUR = 'misbehaviour';

export interface CometClientOptions {
  logger?: Logger;
  /** The relayer's clock (trusting period, clock drift). */
  now?: () => Date;
  /** The registered endpoint URLs, by index, named in misbehaviour evidence. */
  endpoints?: readonly string[];
  /** The registered CAIP-2 chain id, named in misbehaviour evidence (default `cosmos:<chain-id>`). */
  chainId?: string;
  /** Called once, with the evidence, when a witness serves a second valid header; the client is halted by then. */
  onMisbehaviour?: (e: MisbehaviourEvidence) => Promise<void> | void;
}

interface Entry {
  hash: Hex;
  appHash: Hex;
  time: string;
  timeMs: number;
  state: TrustedStateJson;
}

/** Verified heights kept (each with the state to verify onwards from). */
const KEEP = 4096;

/**
 * A CometBFT light client for one Cosmos chain, on the relayer side
 * (proofs/tendermint does the verification). From the registered trust root
 * (a header hash and its validator set) it verifies the header at a requested
 * height by bisection from the highest verified header below it, within the
 * trusting period and clock drift, then cross-checks that header with every
 * other endpoint (CometBFT's detector): a conflicting header that also
 * verifies is misbehaviour — the client halts and hands the evidence to
 * `onMisbehaviour` (the relayer stores it and freezes the chain). A primary
 * endpoint whose header does not verify is skipped for the next one, so one
 * bad endpoint cannot censor the chain. Lives in memory; restarts from the
 * registry's trust root.
 */
export class CometLightClient {
  private readonly verified = new Map<bigint, Entry>();
  private advancing: Promise<unknown> = Promise.resolve();
  private failure: { reason: string; detail: string; evidence?: ForkEvidence } | null = null;
  private started = false;
  private readonly logger: Logger | undefined;
  private readonly now: () => Date;
  private readonly endpoints: readonly string[];
  private readonly chainId: string;
  private readonly onMisbehaviour: CometClientOptions['onMisbehaviour'];

  constructor(
    private readonly trust: CometTrustRoot,
    private readonly blocks: CometBlockSource,
    { logger, now = () => new Date(), endpoints = [], chainId, onMisbehaviour }: CometClientOptions = {},
  ) {
    this.logger = logger;
    this.now = now;
    this.endpoints = endpoints;
    this.chainId = chainId ?? `cosmos:${trust.chainId}`;
    this.onMisbehaviour = onMisbehaviour;
  }

  /** Why the client stopped trusting the chain (misbehaviour, or a trust root the chain does not have), or null. */
  get halted(): { reason: string; detail: string } | null {
    return this.failure;
  }

  /** The highest verified height (the trust root's before the first verification). */
  get height(): bigint {
    let top = this.trust.height;
    for (const h of this.verified.keys()) if (h > top) top = h;
    return top;
  }

  /**
   * Unix seconds at which the newest verified header leaves the trusting
   * period: from then on nothing new verifies until governance re-anchors the
   * chain. Null before the trust root's header is verified (its time is not
   * known yet).
   */
  trustExpiresAt(): number | null {
    let newest: Entry | undefined;
    for (const e of this.verified.values()) if (!newest || e.timeMs > newest.timeMs) newest = e;
    return newest ? Math.floor(newest.timeMs / 1000) + this.trust.trustingPeriodSeconds : null;
  }

  /**
   * The header at `height`, verified: its hash, app hash (the state after
   * block height-1) and time. Endpoint failures (RpcError from the source)
   * are thrown: they are a wait, not a verdict.
   */
  async trustedAt(height: bigint): Promise<CometTrusted> {
    const run = this.advancing.then(() => this.verifyTo(height));
    this.advancing = run.catch(() => undefined);
    return run;
  }

  private answer(height: bigint, e: Entry): CometTrusted {
    return { ok: true, height, hash: e.hash, appHash: e.appHash, time: e.time };
  }

  private async verifyTo(height: bigint): Promise<CometTrusted> {
    if (this.failure) return { ok: false, ...this.failure };
    const known = this.verified.get(height);
    if (known) return this.answer(height, known);
    if (height < this.trust.height) return { ok: false, reason: 'untrusted_header', detail: `height ${height} is below the trust root ${this.trust.height}` };
    if (!this.started && !(await this.start())) return { ok: false, ...this.failure! };
    const again = this.verified.get(height);
    if (again) return this.answer(height, again);
    const latest = await this.blocks.latestHeight(0);
    if (height > latest) return { ok: false, reason: COMET_NOT_FINAL, detail: `the chain is at height ${latest}, ${height} is not committed yet` };

    const base = this.baseFor(height);
    if (!base) return { ok: false, reason: 'untrusted_header', detail: `height ${height} is below every verified header kept (from ${this.trust.height})` };
    const periodMs = this.trust.trustingPeriodSeconds * 1000;
    if (base.timeMs + periodMs <= this.now().getTime()) {
      return {
        ok: false,
        reason: 'trust_expired',
        detail: `the newest verified header below ${height} (time ${base.time}) is older than the trusting period of ${this.trust.trustingPeriodSeconds} s: governance must re-anchor the chain with a new trust root`,
      };
    }
    const opts: BisectOptions = {
      now: this.now(),
      trustingPeriodSeconds: this.trust.trustingPeriodSeconds,
      clockDriftSeconds: this.trust.maxClockDriftSeconds,
      trustLevel: this.trust.trustLevel,
    };
    const count = Math.max(1, this.blocks.endpointCount());
    let first: { reason: string; detail: string } | null = null;
    let down: unknown = null;
    for (let primary = 0; primary < count; primary++) {
      const fetched = new Map<string, LightBlockJson>();
      let rpcError: unknown = null;
      const fetchPrimary = async (h: string): Promise<LightBlockJson | undefined> => {
        try {
          const b = await this.blockJson(BigInt(h), primary);
          fetched.set(h, b);
          return b;
        } catch (err) {
          rpcError ??= err;
          throw err;
        }
      };
      const r = await bisectAsync(base.state, height, fetchPrimary, opts);
      if (!r.ok) {
        if (r.reason === 'tendermint_block_unavailable' && rpcError !== null) {
          down ??= rpcError;
          continue;
        }
        if (r.reason === 'trust_expired') return { ok: false, reason: r.reason, detail: `${r.detail}: governance must re-anchor the chain with a new trust root` };
        this.logger?.warn({ endpoint: primary, height: String(height), reason: r.reason, detail: r.detail }, 'CometBFT header refused from this endpoint');
        first ??= { reason: r.reason, detail: `endpoint ${primary}: ${r.detail}` };
        continue;
      }
      const fork = await this.crossCheck(base.state, r, primary, (h) => fetched.get(h) ?? fetchPrimary(h), opts);
      if (fork) return fork;
      for (const step of r.trace) {
        const b = fetched.get(step.height);
        if (b) this.remember(BigInt(step.height), b, step.time);
      }
      this.evict();
      const got = this.verified.get(height);
      if (got) return this.answer(height, got);
      return { ok: false, reason: 'untrusted_header', detail: `height ${height} verified but its block was not kept` };
    }
    if (first) return { ok: false, ...first };
    throw down;
  }

  /**
   * Compares the verified header with every other endpoint; a CometTrusted
   * failure when one proved misbehaviour (the client is then halted) or the
   * check could not be made, null when the header stands.
   */
  private async crossCheck(
    base: TrustedStateJson,
    r: BisectSuccess,
    primary: number,
    fetchPrimary: (h: string) => LightBlockJson | undefined | Promise<LightBlockJson | undefined>,
    opts: BisectOptions,
  ): Promise<CometTrusted | null> {
    const count = this.blocks.endpointCount();
    const witnesses = Array.from({ length: count }, (_, i) => i).filter((i) => i !== primary);
    if (witnesses.length === 0) return null;
    const fork = await detectForkAsync(
      base,
      r,
      async (h) => fetchPrimary(h),
      witnesses.map((ep) => (h: string) => this.blockJson(BigInt(h), ep)),
      opts,
    );
    if (fork.ok) {
      for (const f of fork.faulty) {
        this.logger?.warn({ endpoint: witnesses[f.index], height: r.height, reason: f.reason, detail: f.detail }, 'witness endpoint did not confirm the verified CometBFT header; endpoint flagged');
      }
      return null;
    }
    if (!('evidence' in fork)) {
      return { ok: false, reason: COMET_NOT_FINAL, detail: `witness cross-check of height ${r.height} could not be made: ${fork.reason}: ${fork.detail}` };
    }
    const ev = fork.evidence;
    const witness = witnesses[ev.witness.index]!;
    const detail = `two valid headers at height ${ev.height}: ${ev.primary.hash} (endpoint ${primary}) and ${ev.witness.hash} (endpoint ${witness}), common height ${ev.commonHeight}`;
    this.failure = { reason: COMET_MISBEHAVIOUR, detail, evidence: ev };
    this.logger?.fatal({ height: ev.height, endpoints: [primary, witness], hashA: ev.primary.hash, hashB: ev.witness.hash, signedBoth: ev.signedBoth.length }, 'CometBFT misbehaviour: two valid conflicting headers; light client halted');
    const evidence: MisbehaviourEvidence = {
      chainId: this.chainId,
      height: BigInt(ev.height),
      headerA: ev.primary.block as unknown as Record<string, unknown>,
      headerB: ev.witness.block as unknown as Record<string, unknown>,
      endpoints: [this.endpoints[primary] ?? `endpoint ${primary}`, this.endpoints[witness] ?? `endpoint ${witness}`],
    };
    try {
      await this.onMisbehaviour?.(evidence);
    } catch (err) {
      this.logger?.error({ err, height: ev.height }, 'misbehaviour handler failed; the light client stays halted');
    }
    return { ok: false, ...this.failure };
  }

  /** Checks the trust root's header on the chain (hash and >2/3 of the registered validators) and trusts it. */
  private async start(): Promise<boolean> {
    const count = Math.max(1, this.blocks.endpointCount());
    const validatorSet = { validators: this.trust.validators };
    let down: unknown = null;
    const seen: string[] = [];
    for (let ep = 0; ep < count; ep++) {
      let b: LightBlockJson;
      try {
        b = await this.blockJson(this.trust.height, ep);
      } catch (err) {
        down ??= err;
        continue;
      }
      const v = verifyCommitLight(b.signed_header, validatorSet, { chainId: this.trust.chainId });
      if (!v.ok) {
        seen.push(`endpoint ${ep}: ${v.reason}: ${v.detail}`);
        continue;
      }
      if (`0x${v.hash.toLowerCase()}` !== this.trust.hash) {
        seen.push(`endpoint ${ep}: header ${v.hash} at ${this.trust.height}`);
        continue;
      }
      this.remember(this.trust.height, { signed_header: b.signed_header, validator_set: validatorSet }, v.time);
      this.started = true;
      return true;
    }
    if (seen.length === 0) throw down;
    this.failure = {
      reason: 'header_hash_mismatch',
      detail: `no endpoint serves the trust root header ${this.trust.hash} at ${this.trust.height} signed by its validators (${seen.join('; ')}): governance must re-anchor`,
    };
    this.logger?.error(this.failure, 'CometBFT light client cannot start from its trust root');
    return false;
  }

  private remember(height: bigint, b: LightBlockJson, time: string): void {
    let appHash: Hex;
    let timeMs: number;
    try {
      const header = parseHeader(b.signed_header.header);
      appHash = `0x${toHex(header.appHash)}` as Hex;
      timeMs = Number(header.time.ns / 1_000_000n);
    } catch (err) {
      // Verified blocks parsed already; a failure here is a bug, not chain data.
      if (err instanceof MalformedInput) throw new Error(`verified header at ${height} does not parse: ${err.message}`);
      throw err;
    }
    const hash = `0x${String(b.signed_header.commit.block_id.hash).toLowerCase()}` as Hex;
    const state: TrustedStateJson = { signed_header: b.signed_header, validator_set: b.validator_set };
    if (b.next_validator_set) state.next_validator_set = b.next_validator_set;
    this.verified.set(height, { hash, appHash, time, timeMs, state });
  }

  private evict(): void {
    if (this.verified.size <= KEEP) return;
    const heights = [...this.verified.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const h of heights.slice(0, heights.length - KEEP)) this.verified.delete(h);
  }

  /** The highest verified header below `height`: the shortest (and freshest) bisection to it. */
  private baseFor(height: bigint): Entry | undefined {
    let best: bigint | null = null;
    for (const h of this.verified.keys()) if (h < height && (best === null || h > best)) best = h;
    return best === null ? undefined : this.verified.get(best);
  }

  /** The adapter's raw answer in the RPC light-block shape proofs/tendermint parses. */
  private async blockJson(height: bigint, endpoint: number): Promise<LightBlockJson> {
    const b = await this.blocks.lightBlock(height, endpoint);
    const sh = b.signedHeader as Record<string, unknown> | null;
    // Accept `/commit`'s whole result as well as its signed_header.
    const signedHeader = sh && typeof sh === 'object' && 'signed_header' in sh ? sh.signed_header : sh;
    const validators = Array.isArray(b.validators) ? { validators: b.validators } : b.validators;
    return { signed_header: signedHeader, validator_set: validators } as LightBlockJson;
  }
}

/**
 * The light client of a registered `lightClient: 'tendermint'` chain, over its
 * adapter's `comet` capability (what the relayer, the rebuild and the
 * attestors' source checks each connect). Throws ConfigError when the trust
 * root does not decode or the adapter cannot serve light blocks.
 */
export function cometLightClientFor(
  reg: ChainRegistration,
  adapter: ChainAdapter,
  { logger, now, onMisbehaviour }: Pick<CometClientOptions, 'logger' | 'now' | 'onMisbehaviour'> = {},
): CometLightClient {
  const blocks = (adapter as { comet?: CometBlockSource }).comet;
  if (!blocks) throw new ConfigError(`chains.${reg.chainId}.lightClient`, `the ${reg.family} adapter cannot serve light blocks for a CometBFT light client`);
  return new CometLightClient(decodeCometTrustRoot(reg.trustRoot, reg.chainId), blocks, {
    chainId: reg.chainId,
    endpoints: reg.endpoints,
    ...(logger ? { logger: logger.child({ light: 'tendermint' }) } : {}),
    ...(now ? { now } : {}),
    ...(onMisbehaviour ? { onMisbehaviour } : {}),
  });
}
