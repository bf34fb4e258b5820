import { QiaoError } from '../errors.ts';

/** The parts of a corridor the amount formula needs. */
export interface HopPricing {
  feeBps: number;
  fixedFee: bigint;
  spreadBps: number;
}

export interface HopAmounts {
  /** The hop's input. */
  input: bigint;
  fee: bigint;
  net: bigint;
  /** What the hop delivers on its destination chain (the next hop's input). */
  out: bigint;
}

export const RATE_SCALE = 10n ** 18n;
export const BPS = 10_000n;

/** The amount cannot cross the hop: the fee eats it, or nothing comes out. */
export class UnroutableAmount extends QiaoError {
  constructor(
    readonly reason: 'fee_exceeds_amount' | 'zero_output' | 'bad_input',
    message: string,
    data: Record<string, unknown> = {},
  ) {
    super(reason, message, { data: { reason, ...data } });
  }
}

/**
 * The one amount formula, bit for bit what SettlementHub._hopOutput computes:
 *   fee = fixedFee + a*feeBps/10000
 *   net = a - fee                       (refused when a < fee or net == 0)
 *   out = net * r / 1e18 * (10000 - spreadBps) / 10000   (each step integer division, in this order)
 * Also refused when out == 0 (the contract's ZeroOutput): a leg of nothing cannot be locked.
 * Returns null instead of throwing; see hopOutput for the throwing form.
 */
export function tryHopOutput(a: bigint, c: HopPricing, rate: bigint): HopAmounts | { refused: 'fee_exceeds_amount' | 'zero_output' | 'bad_input' } {
  if (a < 0n || rate < 0n || c.feeBps < 0 || c.feeBps > 10_000 || c.spreadBps < 0 || c.spreadBps > 10_000 || c.fixedFee < 0n) return { refused: 'bad_input' };
  const fee = c.fixedFee + (a * BigInt(c.feeBps)) / BPS;
  if (a <= fee) return { refused: 'fee_exceeds_amount' };
  const net = a - fee;
  const out = (((net * rate) / RATE_SCALE) * (BPS - BigInt(c.spreadBps))) / BPS;
  if (out === 0n) return { refused: 'zero_output' };
  return { input: a, fee, net, out };
}

export function hopOutput(a: bigint, c: HopPricing, rate: bigint): HopAmounts {
  const r = tryHopOutput(a, c, rate);
  if ('refused' in r) throw new UnroutableAmount(r.refused, `amount ${a} cannot cross the hop: ${r.refused}`, { amount: a.toString() });
  return r;
}

/** Hop by hop: the output of each hop is the next hop's input. Throws UnroutableAmount. */
export function routeAmounts(amount: bigint, hops: readonly { pricing: HopPricing; rate: bigint }[]): HopAmounts[] {
  const out: HopAmounts[] = [];
  let a = amount;
  for (const h of hops) {
    const r = hopOutput(a, h.pricing, h.rate);
    out.push(r);
    a = r.out;
  }
  return out;
}

/** A leg as SettlementHub builds it from a route (see the design's "Legs"). */
export interface PlannedLeg {
  index: number;
  chain: string;
  asset: string;
  amount: bigint;
  from: string;
  to: string;
}

/**
 * The h+1 legs of a route, as open() stores them: leg 0 the sender's amount on the first
 * hop's source chain to its provider; leg i the output of hop i-1 on its destination chain,
 * from that hop's provider to the next provider (or the receiver on the last leg).
 */
export function planLegs(
  amount: bigint,
  hops: readonly { srcChain: string; srcAsset: string; dstChain: string; dstAsset: string; provider: string; pricing: HopPricing; rate: bigint }[],
  sender: string,
  receiver: string,
): PlannedLeg[] {
  if (hops.length === 0) throw new UnroutableAmount('bad_input', 'a route needs at least one hop');
  const amounts = routeAmounts(
    amount,
    hops.map((h) => ({ pricing: h.pricing, rate: h.rate })),
  );
  const legs: PlannedLeg[] = [{ index: 0, chain: hops[0]!.srcChain, asset: hops[0]!.srcAsset, amount, from: sender, to: hops[0]!.provider }];
  hops.forEach((h, i) => {
    legs.push({ index: i + 1, chain: h.dstChain, asset: h.dstAsset, amount: amounts[i]!.out, from: h.provider, to: i + 1 < hops.length ? hops[i + 1]!.provider : receiver });
  });
  return legs;
}
