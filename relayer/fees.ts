import type { Logger } from 'pino';
import type { Hex } from '../src/domain/hex.ts';
import { RpcError } from '../src/errors.ts';
import { LaneFeeClient, type LaneFee } from '../src/governance/lane-fees.ts';
import type { MessageRow } from '../src/index/types.ts';
import type { ConnectedChain, StageContext } from './context.ts';
import { ackTarget } from './stages/ack.ts';

/** The note a held message carries (no new status: it stays `attested`). */
export const LANE_FEE_WAIT = 'lane_fee_below_gas_price';

/** A lane whose messages wait because the destination's gas price passed the lane's governance bound. */
export interface LaneHold {
  srcChain: string;
  dstChain: string;
  /** Messages of the lane this process holds now. */
  waiting: number;
  maxDstGasPrice: bigint;
  /** The destination's gas price (wei/gas) when the lane was last checked. */
  gasPrice: bigint;
  since: Date;
}

export interface LaneFeeReads {
  /** Every lane fee governance set (an empty list: no registry, nothing is checked). */
  laneFees(): Promise<LaneFee[]>;
  /** The destination's gas price now in wei/gas; null where the family has none to compare. */
  gasPrice(chain: ConnectedChain): Promise<bigint | null>;
}

interface Held extends Omit<LaneHold, 'waiting'> {
  ids: Set<Hex>;
}

/**
 * The relayer's side of lane fees (issue 5). The source port already refused
 * every send that did not pay its lane's fee; what can still go wrong is price
 * drift: governance took the fee to cover delivery up to `maxDstGasPrice`, and
 * the destination's price rose above it. Those lanes' messages are not
 * delivered; they stay `attested` and the deliver job comes back later, until
 * governance raises the bound (and the fee) or the price falls. Acks are never
 * held: the port sends them itself, without a fee, and refunds wait on them.
 */
export class LaneFeeGuard {
  private readonly held = new Map<string, Held>();
  private cached: { at: number; fees: Promise<Map<string, LaneFee>> } | null = null;

  constructor(
    private readonly reads: LaneFeeReads,
    private readonly logger: Logger,
    private readonly opts: { cacheMs?: number; now?: () => number } = {},
  ) {}

  /** The rows that may be delivered now; the others are recorded as held (and logged once per lane). */
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
    for (const r of rows) {
      const f = bounded.get(r.srcChain);
      const lane = laneId(r.srcChain, dst);
      if (f && price !== null && ackTarget(r.message) === null && price > f.maxDstGasPrice) {
        this.hold(lane, r, f, price);
        continue;
      }
      this.release(lane, r.id, price);
      out.push(r);
    }
    return out;
  }

  /** Lanes held now, for metrics (`qiao_lane_fee_blocked{src_chain,dst_chain}`) and operators. */
  holds(): LaneHold[] {
    return [...this.held.values()].map(({ ids, ...h }) => ({ ...h, waiting: ids.size }));
  }

  /** LANE_FEE_WAIT when this process holds the message, else null (for the API's message view). */
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
        if (h.ids.delete(id) && h.ids.size === 0) this.held.delete(lane);
      }
    }
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

const laneId = (src: string, dst: string) => `${src}>${dst}`;

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
 * The guard of one relayer (one StageContext): the deliver stage, metrics and the
 * API's message view share it through the relayer's `ctx`.
 */
export function laneFeeGuard(ctx: StageContext): LaneFeeGuard {
  let g = guards.get(ctx);
  if (!g) {
    g = new LaneFeeGuard(governanceLaneFeeReads(ctx), ctx.logger.child({ part: 'lane-fees' }));
    guards.set(ctx, g);
  }
  return g;
}
