/**
 * The engine's one door to the hop formula: the shared `tryHopOutput` of
 * `src/settlement/amounts.ts`, the one SettlementHub matches bit for bit, with
 * its refusals (fee eats the input, nothing comes out) as a result, not a throw.
 */
import { tryHopOutput, type HopPricing } from '../amounts.ts';

export type HopFees = HopPricing;

export type HopAmount = { ok: true; fee: bigint; net: bigint; out: bigint } | { ok: false; fee: bigint; why: 'fee_exceeds_amount' | 'zero_output' | 'bad_input' };

export function hopAmount(a: bigint, c: HopFees, rate: bigint): HopAmount {
  const r = tryHopOutput(a, c, rate);
  if ('refused' in r) return { ok: false, fee: c.fixedFee + (a * BigInt(c.feeBps)) / 10_000n, why: r.refused };
  return { ok: true, fee: r.fee, net: r.net, out: r.out };
}
