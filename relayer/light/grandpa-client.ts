import type { Logger } from 'pino';
import { ScaleError } from '../../proofs/substrate/bytes.ts';
import { QiaoError } from '../../src/errors.ts';
import { checkAuthoritySet, decodeHeader, grandpaLogs, verifyGrandpaJustification, type AuthoritySet, type AuthorityWeight, type SubstrateHeader } from '../../proofs/substrate/index.ts';
import { loadRuntime, type SubstrateRuntime } from '../../proofs/substrate/remarks.ts';
import type { Hex } from '../../src/domain/hex.ts';
import type { GrandpaAnchor } from './grandpa-trust.ts';

interface PendingChange {
  enactAt: number;
  next: AuthorityWeight[];
  signalled: number;
}

export type GrandpaTrusted = { ok: true; hash: Hex; stateRoot: Hex } | { ok: false; reason: string; detail: string };

/** What the light client reads from the chain (an adapter's RPC); nothing it returns is trusted. */
export interface GrandpaBlockSource {
  /** The highest height the endpoint says GRANDPA finalized. */
  finalizedHeight(): Promise<number>;
  /** The SCALE header at a height and the GRANDPA justification the block carries, if any. */
  blockAt(height: number): Promise<{ header: Uint8Array; justification: Uint8Array | null }>;
  /** The metadata bytes at a block (`state_getMetadata(at)`); checked against the pinned hash. */
  metadataAt(hash: Hex): Promise<Uint8Array>;
}

/** Reason given for heights that run a runtime governance has not pinned: the lane waits for a re-anchor. */
export const RUNTIME_NOT_APPROVED = 'runtime_not_approved';

/**
 * What the relayer asks of a Substrate chain's light client, solo
 * (`GrandpaLightClient`) or parachain (`ParachainLightClient`): whether a
 * height is final and which block and state root it is, and the pinned runtime
 * that decodes the chain's events. `trustedAt` answers `not_final` and
 * `runtime_not_approved` for heights that wait; any other reason is a refusal.
 */
export interface SubstrateLightClient {
  /** Why the client stopped trusting the chain, or null while it follows it. */
  readonly halted: { reason: string; detail: string } | null;
  /** The highest height it vouches for so far. */
  readonly height: number;
  trustedAt(height: bigint): Promise<GrandpaTrusted>;
  runtime(): Promise<SubstrateRuntime>;
  /** Closes connections the client opened itself (a parachain client's relay endpoints). */
  close?(): Promise<void>;
}

/** Verified heights kept to answer for blocks behind the client's head. */
const KEEP = 4096;
/** Headers waiting for a justification before the walk gives up (a chain that never justifies). */
const MAX_UNJUSTIFIED = 4096;

/**
 * A GRANDPA light client for one Substrate chain, on the relayer side. From
 * the registered trust root (a block hash, the authority set that finalizes
 * its descendants, the runtime pins) it walks every header by parent hash and
 * trusts a run of headers once a justification for its last block verifies
 * under the current set (proofs/substrate `verifyGrandpaJustification`). It
 * follows `ScheduledChange` digests (the set hands over once the enacting
 * block, which must carry a justification of the old set, is final), refuses a
 * `ForcedChange` (not signed off by the current set: it halts until governance
 * registers a new trust root), and stops at a block that changes the runtime
 * (`RuntimeEnvironmentUpdated` digest): later heights answer
 * `runtime_not_approved` until governance re-anchors with new pins. Like the
 * BFT client it lives in memory and restarts from the registry's trust root.
 */
export class GrandpaLightClient implements SubstrateLightClient {
  private head: { number: number; hash: Hex } | null = null;
  private set: AuthoritySet;
  private pending: PendingChange | null = null;
  private readonly verified = new Map<number, { hash: Hex; stateRoot: Hex }>();
  private advancing: Promise<void> = Promise.resolve();
  private failure: { reason: string; detail: string } | null = null;
  /** The first height that runs another runtime than the pinned one. */
  private runtimeChangedAt: number | null = null;
  private loadedRuntime: Promise<SubstrateRuntime> | null = null;

  constructor(
    private readonly trust: GrandpaAnchor,
    private readonly source: GrandpaBlockSource,
    private readonly logger?: Logger,
  ) {
    const c = checkAuthoritySet({ setId: trust.setId, authorities: trust.authorities.map((a) => ({ publicKey: a.key, weight: a.weight })) });
    if (!c.ok) throw new Error(`GRANDPA trust root: ${c.detail}`);
    this.set = c.set;
  }

  /** Why the client stopped trusting the chain, or null while it walks. */
  get halted(): { reason: string; detail: string } | null {
    return this.failure;
  }

  get height(): number {
    return this.head?.number ?? this.trust.height;
  }

  get setId(): bigint {
    return this.set.setId;
  }

  /** The pinned runtime (metadata fetched at the trust block and checked against the pinned hash). */
  runtime(): Promise<SubstrateRuntime> {
    const pins = this.trust.runtime;
    if (!pins) return Promise.reject(new RuntimeRefusedError('runtime_unpinned', 'this client anchors a relay chain: its trust root pins no runtime'));
    this.loadedRuntime ??= (async () => {
      const bytes = await this.source.metadataAt(this.trust.hash);
      const r = await loadRuntime(bytes, pins);
      if (!r.ok) throw new RuntimeRefusedError(r.reason, r.detail);
      return r.runtime;
    })();
    // A failed load (endpoint down, wrong metadata) is tried again on the next call.
    this.loadedRuntime.catch(() => (this.loadedRuntime = null));
    return this.loadedRuntime;
  }

  async trustedAt(height: bigint): Promise<GrandpaTrusted> {
    if (height > 0xffffffffn || height < 0n) return { ok: false, reason: 'height_mismatch', detail: `height ${height} is not a u32 block number` };
    const n = Number(height);
    const answer = (): GrandpaTrusted | null => {
      if (this.runtimeChangedAt !== null && n >= this.runtimeChangedAt) {
        return { ok: false, reason: RUNTIME_NOT_APPROVED, detail: `block #${n} runs a runtime upgraded at #${this.runtimeChangedAt - 1}; governance must re-anchor with new runtime pins` };
      }
      const known = this.verified.get(n);
      return known ? { ok: true, ...known } : null;
    };
    const now = answer();
    if (now) return now;
    if (n < this.trust.height || (this.head && n <= this.head.number)) return { ok: false, reason: 'untrusted_header', detail: `height ${n} is below the trust root #${this.trust.height} or outside the kept window` };
    const run = this.advancing.then(() => this.advanceTo(n));
    this.advancing = run.catch(() => undefined);
    await run;
    const after = answer();
    if (after) return after;
    return { ok: false, ...(this.failure ?? { reason: 'not_final', detail: `height ${n} is not finalized by a verified justification yet` }) };
  }

  private halt(reason: string, detail: string): void {
    this.failure = { reason, detail };
    this.logger?.error({ reason, detail }, 'GRANDPA light client halted; the chain needs a new trust root');
  }

  private async advanceTo(target: number): Promise<void> {
    if (!this.head && !(await this.start())) return;
    // A chain that once failed verification stays failed: it needs a new trust root through governance.
    while (!this.failure && this.head!.number < target && (this.runtimeChangedAt === null || this.head!.number < this.runtimeChangedAt)) {
      const finalized = await this.source.finalizedHeight();
      if (finalized < target) return;
      const run: SubstrateHeader[] = [];
      let parent = this.head!.hash;
      let justified = false;
      // Digest effects are applied only once the run is justified: an unfinished run is re-read on the next call.
      let pending = this.pending;
      let runtimeChangedAt = this.runtimeChangedAt;
      for (let n = this.head!.number + 1; n <= finalized && run.length < MAX_UNJUSTIFIED; n++) {
        const b = await this.source.blockAt(n);
        let header: SubstrateHeader;
        try {
          header = decodeHeader(b.header);
        } catch (e) {
          if (e instanceof ScaleError) return this.halt('header_malformed', `#${n}: ${e.message}`);
          throw e;
        }
        if (header.number !== n) return this.halt('height_mismatch', `asked for #${n}, the endpoint served #${header.number}`);
        if (header.parentHash !== parent) return this.halt('untrusted_header', `#${n} has parent ${header.parentHash}, the trusted chain has ${parent}`);
        const d = this.readDigest(header, pending);
        if (!d) return;
        pending = d.pending;
        // frame_system deposits this digest in the block that sets new code; the new runtime runs from the next block.
        // An unpinned (relay-chain) client reads no events, so its chain's upgrades do not stop it.
        if (runtimeChangedAt === null && d.runtimeUpdated && this.trust.runtime) runtimeChangedAt = n + 1;
        run.push(header);
        parent = header.hash;
        const enacting = pending !== null && pending.enactAt === n;
        if (!b.justification) {
          if (enacting) return this.halt('grandpa_unsupported_change', `block #${n} enacts the set change signalled at #${pending!.signalled} but carries no justification`);
          continue;
        }
        const v = verifyGrandpaJustification(b.justification, this.set, { hash: header.hash, number: n });
        if (!v.ok) return this.halt(v.reason, `justification of #${n} (${header.hash}) under set ${this.set.setId}: ${v.detail}`);
        for (const h of run) this.verified.set(h.number, { hash: h.hash, stateRoot: h.stateRoot });
        this.head = { number: n, hash: header.hash };
        if (runtimeChangedAt !== this.runtimeChangedAt) {
          this.runtimeChangedAt = runtimeChangedAt;
          this.logger?.warn({ at: (runtimeChangedAt ?? 0) - 1, pinned: this.trust.runtime?.specVersion }, 'runtime upgraded: later blocks wait for governance to re-anchor with new runtime pins');
        }
        if (enacting) {
          const next = checkAuthoritySet({ setId: this.set.setId + 1n, authorities: pending!.next });
          if (!next.ok) return this.halt('header_malformed', `next authority set signalled at #${pending!.signalled}: ${next.detail}`);
          this.set = next.set;
          pending = null;
          this.logger?.info({ setId: String(this.set.setId), at: n }, 'GRANDPA authority set handed over');
        }
        this.pending = pending;
        justified = true;
        break;
      }
      for (const k of this.verified.keys()) if (this.verified.size > KEEP && k < this.head!.number - KEEP) this.verified.delete(k);
      if (!justified) {
        if (run.length >= MAX_UNJUSTIFIED) return this.halt('insufficient_signatures', `${run.length} headers after #${this.head!.number} without a justification`);
        return;
      }
    }
  }

  /** Checks the trust block against its registered hash and trusts its state root. */
  private async start(): Promise<boolean> {
    const b = await this.source.blockAt(this.trust.height);
    let header: SubstrateHeader;
    try {
      header = decodeHeader(b.header);
    } catch (e) {
      if (e instanceof ScaleError) {
        this.halt('header_malformed', `trust block #${this.trust.height}: ${e.message}`);
        return false;
      }
      throw e;
    }
    if (header.hash !== this.trust.hash) {
      this.halt('header_hash_mismatch', `the endpoint's block #${this.trust.height} is ${header.hash}, the trust root names ${this.trust.hash}`);
      return false;
    }
    this.verified.set(header.number, { hash: header.hash, stateRoot: header.stateRoot });
    this.head = { number: header.number, hash: header.hash };
    return true;
  }

  /** GRANDPA and runtime digests of a header on the walked chain; null when the client halted. */
  private readDigest(header: SubstrateHeader, pending: PendingChange | null): { pending: PendingChange | null; runtimeUpdated: boolean } | null {
    let logs;
    try {
      logs = grandpaLogs(header);
    } catch (e) {
      if (e instanceof ScaleError) {
        this.halt('header_malformed', `#${header.number}: GRANDPA digest: ${e.message}`);
        return null;
      }
      throw e;
    }
    if (logs.some((l) => l.kind === 'forcedChange')) {
      this.halt('grandpa_forced_change', `block #${header.number} (${header.hash}) signals a forced authority-set change: governance must register a new trust root`);
      return null;
    }
    const scheduled = logs.filter((l) => l.kind === 'scheduledChange');
    if (scheduled.length > 1 || (scheduled.length === 1 && pending)) {
      this.halt('grandpa_unsupported_change', `block #${header.number} signals a scheduled change while another is pending`);
      return null;
    }
    const change = scheduled[0];
    return {
      pending: change ? { enactAt: header.number + change.delay, next: change.nextAuthorities, signalled: header.number } : pending,
      runtimeUpdated: header.digest.some((d) => d.kind === 'runtimeEnvironmentUpdated'),
    };
  }
}

/** The chain's metadata does not match the runtime pinned in its trust root. */
export class RuntimeRefusedError extends QiaoError {
  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {
    super('runtime_refused', `${reason}: ${detail}`, { data: { reason } });
  }
}
