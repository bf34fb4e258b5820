import type { Logger } from 'pino';
import type { Hex } from '../src/domain/hex.ts';
import { RpcError } from '../src/errors.ts';
import { LaneFeeClient, type LaneFee } from '../src/governance/lane-fees.ts';
import type { LaneHold, MessageIndex, MessageRow } from '../src/index/types.ts';
import type { ConnectedChain, StageContext } from './context.ts';
import { ackTarget } from './stages/ack.ts';

/** The note a held message carries (no new status: it stays `attested`). */
export const LANE_FEE_WAIT = 'lane_fee_below_gas_price';

export type { LaneHold } from '../src/index/types.ts';

export interface LaneFeeReads {
  /** Every lane fee governance set (an empty list: no registry, nothing is checked). */
  laneFees(): Promise<LaneFee[]>;
  /** The destination's gas price now in wei/gas; null where the family has none to compare. */
  gasPrice(chain: ConnectedChain): Promise<bigint | null>;
}

/** Where held lanes are kept for every process to read: the message index. */
export type LaneHoldStore = Pick<MessageIndex, 'setLaneHold' | 'clearLaneHold' | 'laneHolds'>;

export interface LaneFeeGuardOptions {
  /** How long governance's fees, and the index's list of held lanes, are reused. */
  cacheMs?: number;
  /** A held lane whose count and prices did not change is written again after this long. */
  refreshMs?: number;
  now?: () => number;
  /** Without one, holds stay in this process (unit tests of the decision alone). */
  store?: LaneHoldStore;
}

interface Held extends Omit<LaneHold, 'waiting'> {
  ids: Set<Hex>;
}

/** What this guard last wrote for a lane, to skip writes that would change nothing. */
interface Written {
  waiting: number;
  gasPrice: bigint;
  maxDstGasPrice: bigint;
  at: number;
}

/**
 * The relayer's side of lane fees (issue 5). The source port already refused
 * every send that did not pay its lane's fee; what can still go wrong is price
 * drift: governance took the fee to cover delivery up to `maxDstGasPrice`, and
 * the destination's price rose above it. Those lanes' messages are not
 * delivered; they stay `attested` and the deliver job comes back later, until
 * governance raises the bound (and the fee) or the price falls. Acks are never
 * held: the port sends them itself, without a fee, and refunds wait on them.
 *
 * Held lanes are written to the index (`store`), the truth every process reads:
 * the API's `waiting` note and the `qiao_lane_fee_blocked` gauge are served by
 * the hub, while the holding relayer may be a worker process of its own. Each
 * check writes a held lane at most once (when its count or prices changed, or
 * `refreshMs` passed) and clears a released one. A process that dies while
 * holding leaves its rows behind: the next check of that lane by any process
 * refreshes the row (still held) or clears it (this guard reads the index's
 * held lanes once per `cacheMs` to find rows it did not write). Until then the
 * row says what the last check saw. The memory below is this process's cache.
 */
export class LaneFeeGuard {
  private readonly held = new Map<string, Held>();
  private readonly written = new Map<string, Written>();
  /** Lanes whose row must go at the next check: emptied by forget(), or a clear that failed. */
  private readonly stale = new Set<string>();
  private cached: { at: number; fees: Promise<Map<string, LaneFee>> } | null = null;
  private indexView: { at: number; lanes: Promise<Set<string>> } | null = null;
  /** Index writes of overlapping checks go one after the other, each from the memory as it is then. */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly reads: LaneFeeReads,
    private readonly logger: Logger,
    private readonly opts: LaneFeeGuardOptions = {},
  ) {}

  /** The rows that may be delivered now; the others are recorded as held (logged once per lane, written to the index). */
  async deliverable(chain: ConnectedChain, rows: readonly MessageRow[]): Promise<MessageRow[]> {
    const dst = chain.registration.chainId;
    const fees = await this.fees();
    const bounded = new Map<string, LaneFee>();
    for (const r of rows) {
      const f = fees.get(laneId(r.srcChain, dst));
      if (f && f.maxDstGasPrice > 0n && ackTarget(r.message) === null) bounded.set(r.srcChain, f);
    }
    const price = bounded.size > 0 ? await this.reads.gasPrice(chain) : null;
    const out: MessageRow[] = [];
    // Lanes this check decided, by their non-ack messages (an ack passes a held lane; it says nothing of it).
    const checked = new Map<string, { srcChain: string; dstChain: string }>();
    for (const r of rows) {
      const f = bounded.get(r.srcChain);
      const lane = laneId(r.srcChain, dst);
      const ack = ackTarget(r.message) !== null;
      if (!ack) checked.set(lane, { srcChain: r.srcChain, dstChain: dst });
      if (f && price !== null && !ack && price > f.maxDstGasPrice) {
        this.hold(lane, r, f, price);
        continue;
      }
      this.release(lane, r.id, price);
      out.push(r);
    }
    await this.sync(checked);
    return out;
  }

  /** Lanes this process holds now (the index has every process's: `laneHolds()`). */
  holds(): LaneHold[] {
    return [...this.held.values()].map(({ ids, ...h }) => ({ ...h, waiting: ids.size }));
  }

  /** LANE_FEE_WAIT when this process holds the message, else null (the API reads the index: laneFeeWaiting). */
  waiting(id: Hex): typeof LANE_FEE_WAIT | null {
    for (const h of this.held.values()) if (h.ids.has(id)) return LANE_FEE_WAIT;
    return null;
  }

  private hold(lane: string, r: MessageRow, f: LaneFee, price: bigint): void {
    let h = this.held.get(lane);
    if (!h) {
      h = { srcChain: r.srcChain, dstChain: f.dstChain, maxDstGasPrice: f.maxDstGasPrice, gasPrice: price, since: new Date(this.now()), ids: new Set() };
      this.held.set(lane, h);
      this.logger.warn(
        { srcChain: r.srcChain, dstChain: f.dstChain, gasPrice: price.toString(), maxDstGasPrice: f.maxDstGasPrice.toString(), fee: f.fee.toString(), reason: LANE_FEE_WAIT },
        'lane held: the destination gas price is above what the lane fee covers; its messages wait until governance raises the fee or the price falls',
      );
    }
    h.maxDstGasPrice = f.maxDstGasPrice;
    h.gasPrice = price;
    h.ids.add(r.id);
  }

  private release(lane: string, id: Hex, price: bigint | null): void {
    const h = this.held.get(lane);
    if (!h || !h.ids.delete(id) || h.ids.size > 0) return;
    this.held.delete(lane);
    this.logger.info({ srcChain: h.srcChain, dstChain: h.dstChain, gasPrice: price?.toString() ?? null, heldSince: h.since.toISOString() }, 'lane released: its fee covers the destination gas price again');
  }

  /** Messages that left `attested` another way (timed out, delivered by another process) no longer count. */
  forget(ids: Iterable<Hex>): void {
    for (const id of ids) {
      for (const [lane, h] of this.held) {
        if (h.ids.delete(id) && h.ids.size === 0) {
          this.held.delete(lane);
          // Cleared at the next check (the deliver stage checks right after forgetting), unless it holds the lane again.
          this.stale.add(lane);
        }
      }
    }
  }

  /** Brings the index in line with this check: each lane it decided, and the lanes left stale, once. */
  private sync(checked: ReadonlyMap<string, { srcChain: string; dstChain: string }>): Promise<void> {
    const store = this.opts.store;
    if (!store || (checked.size === 0 && this.stale.size === 0)) return Promise.resolve();
    const run = this.writes.then(() => this.flush(store, checked));
    // flush() handles its own failures; whatever escapes must not stop the writes after it.
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async flush(store: LaneHoldStore, checked: ReadonlyMap<string, { srcChain: string; dstChain: string }>): Promise<void> {
    const lanes = new Map(checked);
    for (const lane of this.stale) if (!lanes.has(lane)) lanes.set(lane, splitLane(lane));
    for (const [lane, { srcChain, dstChain }] of lanes) {
      const h = this.held.get(lane);
      try {
        if (h) {
          this.stale.delete(lane);
          const w = this.written.get(lane);
          const now = this.now();
          const waiting = h.ids.size;
          if (w && w.waiting === waiting && w.gasPrice === h.gasPrice && w.maxDstGasPrice === h.maxDstGasPrice && now - w.at < (this.opts.refreshMs ?? 1000)) continue;
          await store.setLaneHold({ srcChain, dstChain, maxDstGasPrice: h.maxDstGasPrice, gasPrice: h.gasPrice, waiting, since: h.since });
          this.written.set(lane, { waiting, gasPrice: h.gasPrice, maxDstGasPrice: h.maxDstGasPrice, at: now });
          continue;
        }
        // Free now: clear what this process wrote, or a row another process left (found in the index's list).
        if (!this.written.has(lane) && !this.stale.has(lane) && !(await this.heldInIndex(store)).has(lane)) continue;
        this.stale.add(lane);
        await store.clearLaneHold(srcChain, dstChain);
        this.stale.delete(lane);
        this.written.delete(lane);
        // The cached list of the index's holds no longer has it: later checks in this cache period write nothing.
        this.indexView?.lanes.then((s) => s.delete(lane)).catch(() => undefined);
      } catch (err) {
        // Delivery decisions stand; the row is put right by the next check (a failed clear stays in `stale`).
        this.written.delete(lane);
        this.logger.warn({ err, srcChain, dstChain }, 'writing the lane hold to the index failed; the next check writes it again');
      }
    }
  }

  /** Lanes the index lists as held, read at most once per cacheMs (a failed read is not kept). */
  private heldInIndex(store: LaneHoldStore): Promise<Set<string>> {
    const now = this.now();
    if (this.indexView && now - this.indexView.at < (this.opts.cacheMs ?? 1000)) return this.indexView.lanes;
    const lanes = store.laneHolds().then((rows) => new Set(rows.map((r) => laneId(r.srcChain, r.dstChain))));
    lanes.catch(() => {
      if (this.indexView?.lanes === lanes) this.indexView = null;
    });
    this.indexView = { at: now, lanes };
    return lanes;
  }

  private fees(): Promise<Map<string, LaneFee>> {
    const now = this.now();
    if (this.cached && now - this.cached.at < (this.opts.cacheMs ?? 1000)) return this.cached.fees;
    const fees = this.reads.laneFees().then((list) => new Map(list.map((f) => [laneId(f.srcChain, f.dstChain), f])));
    // A failed read is not cached: the next job asks again.
    fees.catch(() => {
      if (this.cached?.fees === fees) this.cached = null;
    });
    this.cached = { at: now, fees };
    return fees;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

/**
 * The API's note on an attested message: LANE_FEE_WAIT while the index holds
 * its lane (whichever relayer process holds it). Acks are never held. One
 * indexed read, for the single-message view only.
 */
export function laneFeeWaiting(index: Pick<MessageIndex, 'laneHolds'>): (row: MessageRow) => Promise<typeof LANE_FEE_WAIT | null> {
  return async (row) => {
    if (row.status !== 'attested' || ackTarget(row.message) !== null) return null;
    const held = await index.laneHolds({ srcChain: row.srcChain, dstChain: row.dstChain });
    return held.length > 0 ? LANE_FEE_WAIT : null;
  };
}

// CAIP-2 ids cannot contain `>`, so a lane id splits back into its chains.
const laneId = (src: string, dst: string) => `${src}>${dst}`;
const splitLane = (lane: string) => {
  const [srcChain = '', dstChain = ''] = lane.split('>');
  return { srcChain, dstChain };
};

/** The governance registry and the destinations' own RPC endpoints. */
export function governanceLaneFeeReads(ctx: Pick<StageContext, 'gov'>, { timeoutMs = 5000 }: { timeoutMs?: number } = {}): LaneFeeReads {
  const address = ctx.gov.addresses.laneFeeRegistry;
  const client = address ? new LaneFeeClient(ctx.gov.provider, address) : null;
  return {
    laneFees: async () => (client ? client.list('latest') : []),
    async gasPrice(chain) {
      // Only EVM destinations price gas in wei/gas; other families have no bound to compare with (yet).
      if (chain.registration.family !== 'evm') return null;
      let last: unknown;
      for (const url of chain.registration.endpoints) {
        try {
          return await ethGasPrice(url, timeoutMs);
        } catch (err) {
          last = err;
        }
      }
      throw new RpcError(chain.registration.endpoints[0] ?? chain.registration.chainId, 'eth_gasPrice failed at every endpoint', { cause: last });
    },
  };
}

async function ethGasPrice(url: string, timeoutMs: number): Promise<bigint> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_gasPrice', params: [] }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new RpcError(url, `eth_gasPrice: HTTP ${res.status}`);
  const body = (await res.json()) as { result?: unknown; error?: { message?: unknown } };
  if (typeof body.result !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(body.result)) throw new RpcError(url, `eth_gasPrice: bad answer ${JSON.stringify(body.error ?? body.result ?? null).slice(0, 120)}`);
  return BigInt(body.result);
}

const guards = new WeakMap<StageContext, LaneFeeGuard>();

/**
 * The guard of one relayer (one StageContext), used by its deliver stage. Other
 * processes (the API, metrics) read the holds it writes to the index.
 */
export function laneFeeGuard(ctx: StageContext): LaneFeeGuard {
  let g = guards.get(ctx);
  if (!g) {
    g = new LaneFeeGuard(governanceLaneFeeReads(ctx), ctx.logger.child({ part: 'lane-fees' }), { store: ctx.index });
    guards.set(ctx, g);
  }
  return g;
}
