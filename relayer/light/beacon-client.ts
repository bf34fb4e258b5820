import type { Logger } from 'pino';
import {
  checkSyncPeriod,
  finalizedExecution,
  initializeStore,
  periodAtSlot,
  processFinalityUpdate,
  processUpdate,
  type BeaconChainConfig,
  type LightClientFinalityUpdate,
  type LightClientStore,
  type LightClientUpdate,
} from '../../proofs/beacon/index.ts';
import { hashHeader } from '../../proofs/evm/header.ts';
import type { ChainAdapter } from '../../src/domain/adapter.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError, RpcError, ValidationError, findCause } from '../../src/errors.ts';
import { BeaconApiClient, MAX_UPDATES_PER_REQUEST, type BeaconApiSource } from './beacon-api.ts';
import { beaconChainConfig, decodeBeaconTrustRoot, type BeaconTrustRoot } from './beacon-trust.ts';
import type { HeaderSource, TrustedBlock } from './bft-client.ts';

/** Reason of a height above the finalized execution block: the lane waits, nothing is refused. */
export const BEACON_NOT_FINAL = 'not_final';

/** Verified execution heights kept to answer for blocks behind the finalized one. */
const KEEP = 4096;
/** Execution headers fetched per request while linking a height to the finalized block. */
const STEP = 64;
/** How far ahead of our clock a beacon node's slot may be (MAXIMUM_GOSSIP_CLOCK_DISPARITY). */
const CLOCK_DISPARITY_MS = 500;
/** Catch-up requests per advance (each covers up to MAX_UPDATES_PER_REQUEST periods). */
const MAX_CATCH_UP_ROUNDS = 8;

/**
 * Outcomes of proofs/beacon that say "nothing new here", not "this is
 * forged": an update the store already has, one signed in a slot our clock
 * has not reached, one signed by a committee the store does not know yet, one
 * nobody signed. The client just does not advance on them.
 */
const NO_PROGRESS = new Set(['beacon_update_not_newer', 'beacon_slot_order', 'beacon_sync_committee_unknown', 'insufficient_signatures', 'trust_expired']);

interface Refusal {
  reason: string;
  detail: string;
}

interface Verified {
  hash: Hex;
  stateRoot: Hex;
  parentHash: Hex;
}

export interface BeaconClientOptions {
  logger?: Logger;
  /** The relayer's clock in ms: the current slot (signature slots, sync periods) is read from it. */
  now?: () => number;
  /** Registered execution endpoints `headers` can be asked from (0 is the primary). Default 1. */
  executionEndpoints?: number;
}

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}` as Hex;

/**
 * An Ethereum sync-committee light client for one chain, on the relayer side
 * (proofs/beacon does the verification). It bootstraps from the registered
 * trusted block root, catches up period by period with the Beacon API's
 * best updates, then follows finality updates; optimistic updates are never
 * used, and nothing forced (without a finality proof) anchors anything. The
 * finalized header's execution payload header vouches for one execution block
 * (number, hash, state root); a lower height is trusted once its header links
 * to that block by parent hashes (keccak of each header recomputed here).
 *
 * A Beacon API answer that does not verify leaves the store where it was and
 * is the verdict for heights it cannot vouch for (the messages there end
 * quarantined, as with forged QBFT seals); the next call fetches again. A
 * store that falls a full sync period behind (no updates bridge the gap)
 * answers `trust_expired` until governance re-anchors the chain. Advancing is
 * serialised; the client lives in memory and bootstraps again after a restart.
 */
export class BeaconLightClient {
  private store: LightClientStore | null = null;
  private final: { number: bigint } & Verified | null = null;
  private readonly verified = new Map<bigint, Verified>();
  private advancing: Promise<unknown> = Promise.resolve();
  private refusal: Refusal | null = null;
  private expired: Refusal | null = null;
  private lastPollMs: number | null = null;
  private readonly cfg: BeaconChainConfig;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly executionEndpoints: number;

  constructor(
    private readonly trust: BeaconTrustRoot,
    private readonly sources: readonly BeaconApiSource[],
    private readonly headers: HeaderSource,
    { logger, now = () => Date.now(), executionEndpoints = 1 }: BeaconClientOptions = {},
  ) {
    if (sources.length === 0) throw new ConfigError('trustRoot.beaconEndpoints', 'needs at least one Beacon API endpoint');
    this.cfg = beaconChainConfig(trust);
    this.logger = logger;
    this.now = now;
    this.executionEndpoints = Math.max(1, executionEndpoints);
  }

  /** Why the client cannot follow the chain until governance re-anchors it (trust expired), or null. */
  get halted(): { reason: string; detail: string } | null {
    return this.expired;
  }

  /** The finalized execution block number the client vouches for (-1 before its bootstrap). */
  get height(): bigint {
    return this.final?.number ?? -1n;
  }

  /**
   * Unix seconds at which the store falls a full sync period behind (from
   * then on it needs a new trust root unless updates bridge the gap); null
   * before the bootstrap.
   */
  trustExpiresAt(): number | null {
    if (!this.store) return null;
    const period = periodAtSlot(this.cfg, this.store.finalizedHeader.beacon.slot);
    const slotsPerPeriod = this.cfg.preset.slotsPerEpoch * this.cfg.preset.epochsPerSyncCommitteePeriod;
    return this.trust.genesisTime + (period + 2) * slotsPerPeriod * this.trust.secondsPerSlot;
  }

  /**
   * The execution block at `height`, verified: its hash and state root. A
   * height above the finalized block answers BEACON_NOT_FINAL (or, when the
   * Beacon API served something that does not verify, that reason). When
   * every endpoint is down the RpcError is thrown: a wait, not a verdict.
   */
  async trustedAt(height: bigint): Promise<TrustedBlock> {
    const run = this.advancing.then(() => this.answer(height));
    this.advancing = run.catch(() => undefined);
    return run;
  }

  /** Follows the chain without a height to answer for (keeps the store, and `trustExpiresAt`, current). */
  async refresh(): Promise<void> {
    const run = this.advancing.then(() => this.advance(true));
    this.advancing = run.catch(() => undefined);
    await run;
  }

  private async answer(height: bigint): Promise<TrustedBlock> {
    const known = this.verified.get(height);
    if (known) return { ok: true, hash: known.hash, stateRoot: known.stateRoot };
    if (!this.final || height > this.final.number) {
      try {
        await this.advance(false);
      } catch (err) {
        // Endpoints down: a wait for heights above the finalized block, nothing to do with those below it.
        if (!this.final || height > this.final.number) throw err;
      }
    }
    if (!this.final || height > this.final.number) {
      if (this.refusal) return { ok: false, ...this.refusal };
      if (this.expired) return { ok: false, ...this.expired };
      const at = this.final ? `the finalized execution block is ${this.final.number}` : 'the client has not bootstrapped yet';
      return { ok: false, reason: BEACON_NOT_FINAL, detail: `${at}; ${height} is not final yet` };
    }
    return this.link(height);
  }

  private currentSlot(): number {
    const ms = this.now() + CLOCK_DISPARITY_MS - this.trust.genesisTime * 1000;
    return Math.max(0, Math.floor(ms / (this.trust.secondsPerSlot * 1000)));
  }

  /**
   * Bootstrap (first time), catch up with period updates, then the finality
   * update. A verified success is not asked again within half a slot (the
   * finality update changes at most once a slot); after a refusal the next
   * call always asks again, so a refusal is only ever the verdict of a fresh
   * answer.
   */
  private async advance(force: boolean): Promise<void> {
    const nowMs = this.now();
    if (!force && this.refusal === null && this.lastPollMs !== null && nowMs - this.lastPollMs < (this.trust.secondsPerSlot * 1000) / 2) return;
    this.refusal = null;
    const slot = this.currentSlot();
    try {
      if (!this.store && !(await this.bootstrap())) return;
      if (!(await this.catchUp(slot))) return;
      if (await this.fromSources('finality_update', (s) => s.finalityUpdate(), (fu) => this.applyFinality(fu, slot))) this.lastPollMs = nowMs;
    } finally {
      // Whatever was verified before an endpoint failed counts.
      if (this.store) {
        this.checkExpiry(slot);
        this.takeFinal();
      }
    }
  }

  private async bootstrap(): Promise<boolean> {
    const root = this.trust.trustedBlockRoot;
    return this.fromSources(
      'bootstrap',
      (s) => s.bootstrap(root),
      (b) => {
        const r = initializeStore(this.cfg, b, Uint8Array.from(Buffer.from(root.slice(2), 'hex')));
        if (!r.ok) return { reason: r.reason, detail: `bootstrap: ${r.detail}` };
        this.store = r.store;
        this.logger?.info({ slot: r.store.finalizedHeader.beacon.slot, root }, 'beacon light client bootstrapped from the trusted block root');
        this.takeFinal();
        return null;
      },
    );
  }

  /** Period updates until the store knows the committees of the current period; false when an answer was refused. */
  private async catchUp(slot: number): Promise<boolean> {
    for (let round = 0; round < MAX_CATCH_UP_ROUNDS; round++) {
      const store = this.store!;
      const storePeriod = periodAtSlot(this.cfg, store.finalizedHeader.beacon.slot);
      const currentPeriod = periodAtSlot(this.cfg, slot);
      // Knowing this period's committee and the next one, finality updates are enough.
      if (storePeriod >= currentPeriod && store.nextSyncCommittee !== null) return true;
      const count = Math.min(Math.max(1, currentPeriod - storePeriod + 1), MAX_UPDATES_PER_REQUEST);
      const before = progressKey(store);
      const ok = await this.fromSources('updates', (s) => s.updates(storePeriod, count), (us) => this.applyUpdates(us, slot));
      if (!ok) return false;
      if (progressKey(this.store!) === before) return true;
    }
    return true;
  }

  private applyUpdates(updates: LightClientUpdate[], slot: number): Refusal | null {
    let store = this.store!;
    for (const u of updates) {
      const r = processUpdate(store, u, slot, this.cfg);
      if (!r.ok) {
        if (NO_PROGRESS.has(r.reason)) continue;
        this.store = store;
        return { reason: r.reason, detail: `update signed at slot ${u.signature_slot}: ${r.detail}` };
      }
      const rotated = periodAtSlot(this.cfg, r.store.finalizedHeader.beacon.slot) > periodAtSlot(this.cfg, store.finalizedHeader.beacon.slot);
      if (rotated) this.logger?.info({ period: periodAtSlot(this.cfg, r.store.finalizedHeader.beacon.slot) }, 'beacon light client moved to the next sync committee');
      store = r.store;
    }
    this.store = store;
    return null;
  }

  private applyFinality(fu: LightClientFinalityUpdate, slot: number): Refusal | null {
    const r = processFinalityUpdate(this.store!, fu, slot, this.cfg);
    if (!r.ok) return NO_PROGRESS.has(r.reason) ? null : { reason: r.reason, detail: `finality update signed at slot ${fu.signature_slot}: ${r.detail}` };
    this.store = r.store;
    return null;
  }

  private checkExpiry(slot: number): void {
    const c = checkSyncPeriod(this.store!, slot, this.cfg);
    if (c.ok) {
      if (this.expired) this.logger?.info('beacon light client follows the chain again');
      this.expired = null;
      return;
    }
    if (!this.expired) {
      this.logger?.error({ detail: c.detail }, 'beacon light client trust expired: the store is a full sync period behind and no updates bridge the gap; governance must re-anchor the chain with a new checkpoint');
    }
    this.expired = { reason: c.reason, detail: `${c.detail}; governance must re-anchor the chain with a new checkpoint` };
  }

  /** The store's finalized execution block becomes the anchor every lower height links to. */
  private takeFinal(): void {
    const store = this.store;
    if (!store) return;
    const e = finalizedExecution(store, this.cfg);
    // Only a forced update (never applied here) or a pre-Capella header has no anchor: nothing to vouch for yet.
    if (!e.ok) return;
    const number = e.anchor.blockNumber;
    if (this.final && number <= this.final.number) return;
    const v: Verified = { hash: e.anchor.blockHash.toLowerCase() as Hex, stateRoot: e.anchor.stateRoot.toLowerCase() as Hex, parentHash: hex(store.finalizedHeader.execution.parent_hash) };
    const known = this.verified.get(number);
    if (known && known.hash !== v.hash) {
      // Cannot happen with a sound light client: two finalized blocks at one height. Nothing linked before is kept.
      this.logger?.fatal({ height: String(number), linked: known.hash, finalized: v.hash }, 'beacon finalized execution block differs from a block linked earlier');
      this.verified.clear();
    }
    this.final = { number, ...v };
    this.verified.set(number, v);
    this.logger?.debug({ height: String(number), hash: v.hash, slot: store.finalizedHeader.beacon.slot }, 'beacon finality advanced');
  }

  /**
   * Asks each Beacon API endpoint in turn until one answer is accepted by
   * `use`. True when one was; false (with `refusal` set) when every endpoint
   * that answered served something refused; throws the RpcError when none
   * answered.
   */
  private async fromSources<T>(what: string, get: (s: BeaconApiSource) => Promise<T>, use: (v: T) => Refusal | null): Promise<boolean> {
    let down: unknown = null;
    let first: Refusal | null = null;
    for (const s of this.sources) {
      let v: T;
      try {
        v = await get(s);
      } catch (err) {
        if (findCause(err, RpcError)) {
          down ??= err;
          this.logger?.debug({ err, endpoint: s.name, what }, 'Beacon API endpoint did not answer');
          continue;
        }
        const bad = findCause(err, ValidationError);
        if (!bad) throw err;
        first ??= { reason: 'proof_malformed', detail: `${s.name}: ${bad.message}` };
        this.logger?.warn({ endpoint: s.name, what, detail: bad.message }, 'Beacon API endpoint served an answer that does not decode; endpoint flagged');
        continue;
      }
      const refused = use(v);
      if (!refused) return true;
      first ??= { reason: refused.reason, detail: `${s.name}: ${refused.detail}` };
      this.logger?.warn({ endpoint: s.name, what, reason: refused.reason, detail: refused.detail }, 'beacon light client refused an answer; endpoint flagged, the client does not advance on it');
    }
    if (first) {
      this.refusal = first;
      return false;
    }
    throw down ?? new RpcError('beacon', `no Beacon API endpoint answered ${what}`);
  }

  /** Links the execution header at `height` to the lowest verified block above it, walking parent hashes down. */
  private async link(height: bigint): Promise<TrustedBlock> {
    const known = this.verified.get(height);
    if (known) return { ok: true, hash: known.hash, stateRoot: known.stateRoot };
    let top: bigint | null = null;
    for (const k of this.verified.keys()) if (k > height && (top === null || k < top)) top = k;
    if (top === null) return { ok: false, reason: 'untrusted_header', detail: `no verified block above ${height} to link it to` };
    let cursor = top - 1n;
    while (cursor >= height) {
      const from = cursor - BigInt(STEP) + 1n > height ? cursor - BigInt(STEP) + 1n : height;
      const r = await this.linkStep(from, cursor);
      if (r) return { ok: false, ...r };
      cursor = from - 1n;
    }
    const got = this.verified.get(height)!;
    this.evict();
    return { ok: true, hash: got.hash, stateRoot: got.stateRoot };
  }

  /** Verifies headers [from, to] against the parent hash of block to+1, from the first execution endpoint that serves a linking chain. */
  private async linkStep(from: bigint, to: bigint): Promise<Refusal | null> {
    const expectTop = this.verified.get(to + 1n)!.parentHash;
    let down: unknown = null;
    let first: Refusal | null = null;
    for (let ep = 0; ep < this.executionEndpoints; ep++) {
      let served: Record<string, unknown>[];
      try {
        served = await this.headers(from, to, ep);
      } catch (err) {
        if (!findCause(err, RpcError)) throw err;
        down ??= err;
        continue;
      }
      const r = checkLinks(served, from, to, expectTop);
      if ('refusal' in r) {
        first ??= { reason: r.refusal.reason, detail: `execution endpoint ${ep}: ${r.refusal.detail}` };
        this.logger?.warn({ endpoint: ep, from: String(from), to: String(to), reason: r.refusal.reason, detail: r.refusal.detail }, 'execution header does not link to the finalized block; endpoint flagged');
        continue;
      }
      for (const [h, v] of r.blocks) this.verified.set(h, v);
      return null;
    }
    if (first) return first;
    throw down ?? new RpcError('execution', `no execution endpoint served headers ${from}..${to}`);
  }

  private evict(): void {
    if (this.verified.size <= KEEP) return;
    const heights = [...this.verified.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const h of heights.slice(0, heights.length - KEEP)) if (h !== this.final?.number) this.verified.delete(h);
  }
}

/** The headers [from, to] as served, checked from the top: each must hash to the parent hash its child names. */
function checkLinks(served: Record<string, unknown>[], from: bigint, to: bigint, expectTop: Hex): { blocks: [bigint, Verified][] } | { refusal: Refusal } {
  if (!Array.isArray(served) || BigInt(served.length) !== to - from + 1n) return { refusal: { reason: 'header_malformed', detail: `asked for headers ${from}..${to}, got ${Array.isArray(served) ? served.length : typeof served}` } };
  const blocks: [bigint, Verified][] = [];
  let expect = expectTop.toLowerCase();
  for (let h = to; h >= from; h--) {
    const r = hashHeader(served[Number(h - from)]);
    if (!r.ok) return { refusal: { reason: r.reason, detail: `header ${h}: ${r.detail}` } };
    if (r.header.number !== h) return { refusal: { reason: 'height_mismatch', detail: `header served for ${h} is block ${r.header.number}` } };
    if (r.hash.toLowerCase() !== expect) return { refusal: { reason: 'header_hash_mismatch', detail: `header ${h} hashes to ${r.hash}, its child names parent ${expect}` } };
    const v: Verified = { hash: r.hash.toLowerCase() as Hex, stateRoot: r.header.stateRoot.toLowerCase() as Hex, parentHash: r.header.parentHash.toLowerCase() as Hex };
    blocks.push([h, v]);
    expect = v.parentHash;
  }
  return { blocks };
}

/** What changes when an update advanced the store (finality, or a newly known next committee). */
function progressKey(s: LightClientStore): string {
  return `${s.finalizedHeader.beacon.slot}:${s.nextSyncCommittee === null ? 0 : 1}`;
}

/**
 * The light client of a registered `lightClient: 'eth-sync-committee'` chain:
 * Beacon API endpoints from its trust root, execution headers from its
 * adapter (what the relayer, the rebuild and the attestors' source checks each
 * connect). Throws ConfigError when the trust root does not decode or the
 * adapter cannot serve headers.
 */
export function beaconLightClientFor(reg: ChainRegistration, adapter: ChainAdapter, { logger, now }: Pick<BeaconClientOptions, 'logger' | 'now'> = {}): BeaconLightClient {
  const trust = decodeBeaconTrustRoot(reg.trustRoot, reg.chainId);
  const rawHeaders = adapter.watcher.rawHeaders?.bind(adapter.watcher);
  if (!rawHeaders) throw new ConfigError(`chains.${reg.chainId}.lightClient`, `the ${reg.family} adapter cannot serve headers for a beacon light client`);
  const preset = beaconChainConfig(trust).preset;
  return new BeaconLightClient(
    trust,
    trust.beaconEndpoints.map((u) => new BeaconApiClient(u, preset)),
    rawHeaders,
    { executionEndpoints: adapter.prover.endpointCount(), ...(logger ? { logger: logger.child({ light: 'eth-sync-committee' }) } : {}), ...(now ? { now } : {}) },
  );
}
