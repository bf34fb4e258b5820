import type { Logger } from 'pino';
import { verifyBftChain } from '../../proofs/qbft/index.ts';
import type { Hex } from '../../src/domain/hex.ts';
import type { BftTrustRoot } from './bft-trust.ts';

export type TrustedBlock = { ok: true; hash: Hex; stateRoot: Hex } | { ok: false; reason: string; detail: string };

/** How many verified heights are kept to answer for blocks behind the head of the client. */
const KEEP = 4096;
/** Headers fetched and verified per step. */
const STEP = 64;

/**
 * A QBFT / IBFT 2.0 light client for one chain: walks every header from the
 * trust root with proofs/qbft (seals from the parent's validators, quorum,
 * links, validator hand-offs) and answers which block hash and state root are
 * final at a height. Advancing is serialised; verified heights are kept in a
 * bounded window. It lives in memory and restarts from the registry's trust
 * root (re-walking the headers) when the relayer restarts.
 */
export class BftLightClient {
  private head: { height: bigint; hash: Hex; validators: string[] };
  private readonly verified = new Map<bigint, { hash: Hex; stateRoot: Hex }>();
  private advancing: Promise<void> = Promise.resolve();
  private failure: { reason: string; detail: string } | null = null;

  constructor(
    trust: BftTrustRoot,
    private readonly variant: 'qbft' | 'ibft2',
    private readonly fetchHeaders: (from: bigint, to: bigint) => Promise<Record<string, unknown>[]>,
    private readonly logger?: Logger,
  ) {
    this.head = { height: trust.height, hash: trust.hash, validators: trust.validators };
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
      for (const h of headers) this.verified.set(BigInt(h.number as string), { hash: String(h.hash).toLowerCase() as Hex, stateRoot: String(h.stateRoot).toLowerCase() as Hex });
      this.head = { height: r.number, hash: r.hash, validators: r.validators };
      for (const k of this.verified.keys()) if (this.verified.size > KEEP && k < this.head.height - BigInt(KEEP)) this.verified.delete(k);
    }
  }
}
