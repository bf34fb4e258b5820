import type { Logger } from 'pino';
import { parseBftHeader, verifyBftChain } from '../../proofs/qbft/index.ts';
import { toHex } from '../../proofs/evm/bytes.ts';
import type { Hex } from '../../src/domain/hex.ts';
import type { MisbehaviourEvidence } from '../../src/index/types.ts';
import type { BftTrustRoot } from './bft-trust.ts';

export type TrustedBlock = { ok: true; hash: Hex; stateRoot: Hex } | { ok: false; reason: string; detail: string };

/** How many verified heights are kept to answer for blocks behind the head of the client. */
const KEEP = 4096;
/** Headers fetched and verified per step. */
const STEP = 64;

/** Headers [from, to] from one registered endpoint (0: the primary, others: witnesses). */
export type HeaderSource = (from: bigint, to: bigint, endpoint?: number) => Promise<Record<string, unknown>[]>;

export interface BftWitnessOptions {
  /** The chain, as named in the evidence. */
  chainId: string;
  /** The registered endpoints, primary first; every other one is a witness cross-checked after each step. */
  endpoints: readonly string[];
  /** Called once, with the evidence, when a witness serves a second validly sealed header; the client is halted by then. */
  onMisbehaviour?: (e: MisbehaviourEvidence) => Promise<void> | void;
}

/**
 * A QBFT / IBFT 2.0 light client for one chain: walks every header from the
 * trust root with proofs/qbft (seals from the parent's validators, quorum,
 * links, validator hand-offs) and answers which block hash and state root are
 * final at a height. Advancing is serialised; verified heights are kept in a
 * bounded window. It lives in memory and restarts from the registry's trust
 * root (re-walking the headers) when the relayer restarts.
 *
 * With witnesses, each verified step is compared with the same heights from
 * every other endpoint before it is trusted. A witness header that differs
 * and is also sealed by a quorum of the same parent's validators is
 * misbehaviour (the validators signed two blocks): the client halts and hands
 * the two headers to `onMisbehaviour`. One that differs but does not verify is
 * only a lying endpoint: it is flagged and the walk goes on.
 */
export class BftLightClient {
  private head: { height: bigint; hash: Hex; validators: string[] };
  private readonly verified = new Map<bigint, { hash: Hex; stateRoot: Hex }>();
  private advancing: Promise<void> = Promise.resolve();
  private failure: { reason: string; detail: string } | null = null;
  private readonly lying = new Set<number>();

  constructor(
    trust: BftTrustRoot,
    private readonly variant: 'qbft' | 'ibft2',
    private readonly fetchHeaders: HeaderSource,
    private readonly logger?: Logger,
    private readonly witness?: BftWitnessOptions,
  ) {
    this.head = { height: trust.height, hash: trust.hash, validators: trust.validators };
  }

  /** Witness endpoints (by index) that served a conflicting header without valid seals. */
  get flaggedWitnesses(): number[] {
    return [...this.lying].sort((a, b) => a - b);
  }

  /** Why the client stopped trusting the chain, or null while it walks. */
  get halted(): { reason: string; detail: string } | null {
    return this.failure;
  }

  get height(): bigint {
    return this.head.height;
  }

  async trustedAt(height: bigint): Promise<TrustedBlock> {
    const known = this.verified.get(height);
    if (known) return { ok: true, ...known };
    if (height <= this.head.height) return { ok: false, reason: 'untrusted_header', detail: `height ${height} is at or below the trust root / outside the kept window` };
    const run = this.advancing.then(() => this.advanceTo(height));
    this.advancing = run.catch(() => undefined);
    await run;
    const got = this.verified.get(height);
    if (got) return { ok: true, ...got };
    return { ok: false, ...(this.failure ?? { reason: 'untrusted_header', detail: `height ${height} was not reached` }) };
  }

  private async advanceTo(target: bigint): Promise<void> {
    // A chain that once failed verification stays failed: it needs a new trust root through governance.
    while (!this.failure && this.head.height < target) {
      const from = this.head.height + 1n;
      const to = from + BigInt(STEP) - 1n < target ? from + BigInt(STEP) - 1n : target;
      const headers = await this.fetchHeaders(from, to);
      const r = verifyBftChain(this.head.validators, headers, { variant: this.variant, trustedParentHash: this.head.hash });
      if (!r.ok) {
        this.failure = { reason: r.reason, detail: r.detail };
        this.logger?.error({ from: String(from), to: String(to), reason: r.reason, detail: r.detail }, 'BFT light client refused a header; the chain needs a new trust root');
        return;
      }
      // verifyBftChain reports the last header; the per-height hashes come from the verified headers' own fields.
      if (headers.some((h) => typeof h.hash !== 'string')) {
        this.failure = { reason: 'header_malformed', detail: 'an endpoint served headers without their hash' };
        return;
      }
      if (!(await this.crossCheck(headers))) return;
      for (const h of headers) this.verified.set(BigInt(h.number as string), { hash: String(h.hash).toLowerCase() as Hex, stateRoot: String(h.stateRoot).toLowerCase() as Hex });
      this.head = { height: r.number, hash: r.hash, validators: r.validators };
      for (const k of this.verified.keys()) if (this.verified.size > KEEP && k < this.head.height - BigInt(KEEP)) this.verified.delete(k);
    }
  }

  /**
   * Compares a verified step with every witness; false when one proved
   * misbehaviour (the client is then halted). A witness that cannot answer is
   * skipped for this step: availability is not evidence of anything.
   */
  private async crossCheck(headers: Record<string, unknown>[]): Promise<boolean> {
    const endpoints = this.witness?.endpoints ?? [];
    const from = this.head.height + 1n;
    const to = from + BigInt(headers.length) - 1n;
    for (let ep = 1; ep < endpoints.length; ep++) {
      let theirs: Record<string, unknown>[];
      try {
        theirs = await this.fetchHeaders(from, to, ep);
      } catch (err) {
        this.logger?.warn({ err, endpoint: ep, from: String(from), to: String(to) }, 'witness endpoint did not serve the headers; step not cross-checked by it');
        continue;
      }
      const conflict = this.firstConflict(headers, theirs);
      if (!conflict) continue;
      const { index, parent } = conflict;
      const height = from + BigInt(index);
      const r = verifyBftChain(parent.validators, [theirs[index]!], { variant: this.variant, trustedParentHash: parent.hash });
      if (!r.ok) {
        this.lying.add(ep);
        this.logger?.warn({ endpoint: ep, height: String(height), reason: r.reason, detail: r.detail }, 'witness endpoint served a conflicting header that does not verify; endpoint flagged');
        continue;
      }
      // The same block (e.g. served without its hash field) is agreement, not a conflict.
      if (r.hash === String(headers[index]!.hash).toLowerCase()) continue;
      const evidence: MisbehaviourEvidence = {
        chainId: this.witness!.chainId,
        height,
        headerA: headers[index]!,
        headerB: theirs[index]!,
        endpoints: [endpoints[0]!, endpoints[ep]!],
      };
      this.failure = { reason: 'bft_misbehaviour', detail: `two validly sealed headers at height ${height}: ${String(headers[index]!.hash)} (endpoint 0) and ${r.hash} (endpoint ${ep})` };
      this.logger?.fatal({ height: String(height), endpoint: ep, hashA: headers[index]!.hash, hashB: r.hash }, 'BFT misbehaviour: the validators sealed two blocks at one height; light client halted');
      try {
        await this.witness!.onMisbehaviour?.(evidence);
      } catch (err) {
        this.logger?.error({ err, height: String(height) }, 'misbehaviour handler failed; the light client stays halted');
      }
      return false;
    }
    return true;
  }

  /**
   * The first height where a witness names another block than the verified
   * step, with that height's trusted parent (hash and the validators it
   * names); null when the witness agrees on every height it served.
   */
  private firstConflict(ours: Record<string, unknown>[], theirs: Record<string, unknown>[]): { index: number; parent: { hash: Hex; validators: string[] } } | null {
    let parent = { hash: this.head.hash, validators: this.head.validators };
    for (const [i, mine] of ours.entries()) {
      const other = theirs[i];
      if (!other || typeof other !== 'object') return null;
      if (typeof other.hash === 'string' && other.hash.toLowerCase() === String(mine.hash).toLowerCase()) {
        // Already verified: its extraData parses and names the next set.
        const p = parseBftHeader(mine, this.variant);
        if (!p.ok) return null;
        parent = { hash: String(mine.hash).toLowerCase() as Hex, validators: p.extra.validators.map((v) => toHex(v) as string) };
        continue;
      }
      return { index: i, parent };
    }
    return null;
  }
}
