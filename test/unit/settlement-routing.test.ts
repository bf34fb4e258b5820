import { describe, expect, it } from 'vitest';
import { findRoutes, indexGraph, type ComplianceFacts, type GraphCorridor, type GraphSnapshot, type RouteRequest } from '../../src/settlement/routing/index.ts';

// Expected figures below are computed by hand from the spec's formula:
//   fee = fixedFee + a*feeBps/10000; net = a - fee; out = net*r/1e18*(10000-spreadBps)/10000.
const A = 'eip155:1/erc20:0x' + 'aa'.repeat(20);
const B = 'eip155:2/erc20:0x' + 'bb'.repeat(20);
const C = 'eip155:3/erc20:0x' + 'cc'.repeat(20);
const LP1 = '0x' + '11'.repeat(20);
const LP2 = '0x' + '22'.repeat(20);
const LP3 = '0x' + '33'.repeat(20);
const SENDER = '0x' + 'a1'.repeat(20);
const RECEIVER = '0x' + 'b2'.repeat(20);
const S1 = '0x' + '51'.repeat(32);
const S2 = '0x' + '52'.repeat(32);
const NOW = 1_800_000_000;
const E18 = 10n ** 18n;

function corridor(id: number, src: string, dst: string, provider: string, over: Partial<GraphCorridor> = {}): GraphCorridor {
  return {
    id,
    srcChain: src.split('/')[0]!,
    srcAsset: src,
    dstChain: dst.split('/')[0]!,
    dstAsset: dst,
    provider,
    feeBps: 0,
    fixedFee: 0n,
    spreadBps: 0,
    fxSource: 'test',
    minAmount: 1n,
    maxAmount: 10n ** 12n,
    senderSchemas: [],
    receiverSchemas: [],
    expectedSeconds: 5,
    status: 'approved',
    rate: E18,
    rateUpdatedAt: NOW - 10,
    headroom: 10n ** 12n,
    liquidity: 10n ** 12n,
    ...over,
  };
}

/** c1: A->B direct (dearer); c2: A->C and c3: C->B (cheaper two-hop). */
function base(over: { c1?: Partial<GraphCorridor>; c2?: Partial<GraphCorridor>; c3?: Partial<GraphCorridor> } = {}): GraphCorridor[] {
  return [
    corridor(1, A, B, LP1, { feeBps: 30, fixedFee: 100n, spreadBps: 20, rate: (9n * E18) / 10n, minAmount: 1000n, expectedSeconds: 10, ...over.c1 }),
    corridor(2, A, C, LP2, { feeBps: 10, rate: 2n * E18, ...over.c2 }),
    corridor(3, C, B, LP3, { fixedFee: 50n, spreadBps: 10, rate: (45n * E18) / 100n, ...over.c3 }),
  ];
}

const snap = (corridors: GraphCorridor[]): GraphSnapshot => ({ corridors, maxRateAgeSeconds: 3600 });
const req: RouteRequest = { srcAsset: A, srcAccount: SENDER, dstAsset: B, dstAccount: RECEIVER, amount: 1_000_000n };
const none: ComplianceFacts = { sender: new Map(), receiver: new Map() };

function rejectedOf(corridors: GraphCorridor[], r: Partial<RouteRequest> = {}, facts = none) {
  const res = findRoutes(snap(corridors), { ...req, ...r }, facts, { now: NOW });
  return res.rejected.map((x) => ({ ids: x.corridorIds, reason: x.reason, hop: x.hop }));
}

describe('route engine', () => {
  it('finds the direct and the two-hop route, with amounts, cost and legs, cheaper first', () => {
    const res = findRoutes(snap(base()), req, none, { now: NOW });
    expect(res.rejected).toEqual([]);
    expect(res.considered).toBe(2);
    expect(res.routes.map((r) => r.corridorIds)).toEqual([[2, 3], [1]]);

    const [two, one] = res.routes;
    // c2: fee 1000, net 999000, out 1998000; c3: fee 50, net 1997950, out 1997950*0.45=899077 -> *9990/10000 = 898177.
    expect(two!.hops.map((h) => [h.amountIn, h.fee, h.net, h.amountOut])).toEqual([
      [1_000_000n, 1000n, 999_000n, 1_998_000n],
      [1_998_000n, 50n, 1_997_950n, 898_177n],
    ]);
    // Valued back at 2 * 0.45 = 0.9: 898177 / 0.9 = 997974 -> cost 2026 (20 bps).
    expect([two!.amountOut, two!.cost, two!.costBps, two!.expectedSeconds]).toEqual([898_177n, 2026n, 20, 10]);
    expect(two!.legs).toEqual([
      { leg: 0, chain: 'eip155:1', asset: A, amount: 1_000_000n, from: SENDER, to: LP2 },
      { leg: 1, chain: 'eip155:3', asset: C, amount: 1_998_000n, from: LP2, to: LP3 },
      { leg: 2, chain: 'eip155:2', asset: B, amount: 898_177n, from: LP3, to: RECEIVER },
    ]);

    // c1: fee 100 + 3000 = 3100, net 996900, *0.9 = 897210, *9980/10000 = 895415; value 895415/0.9 = 994905 -> cost 5095.
    expect(one!.hops[0]).toMatchObject({ fee: 3100n, net: 996_900n, amountOut: 895_415n, liquidityAfter: 10n ** 12n - 895_415n, headroomAfter: 10n ** 12n - 1_000_000n });
    expect([one!.cost, one!.costBps, one!.expectedSeconds]).toEqual([5095n, 50, 10]);
    expect(one!.legs).toEqual([
      { leg: 0, chain: 'eip155:1', asset: A, amount: 1_000_000n, from: SENDER, to: LP1 },
      { leg: 1, chain: 'eip155:2', asset: B, amount: 895_415n, from: LP1, to: RECEIVER },
    ]);
  });

  it('ranks equal cost by expected time, and honours maxHops', () => {
    const eq = [corridor(1, A, B, LP1, { expectedSeconds: 30 }), corridor(2, A, C, LP2), corridor(3, C, B, LP3)];
    expect(findRoutes(snap(eq), req, none, { now: NOW }).routes.map((r) => r.corridorIds)).toEqual([[2, 3], [1]]);
    const direct = findRoutes(snap(base()), { ...req, maxHops: 1 }, none, { now: NOW });
    expect(direct.routes.map((r) => r.corridorIds)).toEqual([[1]]);
    expect(direct.considered).toBe(1);
  });

  it('never revisits an asset nor passes through the destination', () => {
    const g = [...base(), corridor(4, B, C, LP1), corridor(5, C, A, LP2), corridor(6, B, A, LP3)];
    const res = findRoutes(snap(g), req, none, { now: NOW });
    expect(res.routes.map((r) => r.corridorIds).sort()).toEqual([[1], [2, 3]]);
    expect(res.considered).toBe(2);
  });

  it('answers nothing for the same asset, an unreachable asset or a zero amount', () => {
    expect(findRoutes(snap(base()), { ...req, dstAsset: A }, none, { now: NOW }).considered).toBe(0);
    expect(findRoutes(snap(base()), { ...req, dstAsset: 'eip155:9/erc20:0x' + '99'.repeat(20) }, none, { now: NOW }).considered).toBe(0);
    expect(findRoutes(snap(base()), { ...req, amount: 0n }, none, { now: NOW }).routes).toEqual([]);
  });

  it('refuses each route with its reason code and the hop that failed', () => {
    expect(rejectedOf(base({ c1: { status: 'suspended' } }))).toEqual([{ ids: [1], reason: 'suspended', hop: 0 }]);
    expect(rejectedOf(base({ c1: { status: 'proposed' } }))).toEqual([{ ids: [1], reason: 'not_approved', hop: 0 }]);
    expect(rejectedOf(base({ c1: { rate: 0n } }))).toEqual([{ ids: [1], reason: 'no_rate', hop: 0 }]);
    // Rate age exactly maxRateAge is still fresh; one second more is stale.
    expect(rejectedOf(base({ c1: { rateUpdatedAt: NOW - 3600 } }))).toEqual([]);
    expect(rejectedOf(base({ c1: { rateUpdatedAt: NOW - 3601 } }))).toEqual([{ ids: [1], reason: 'stale_rate', hop: 0 }]);
    expect(rejectedOf(base({ c1: { minAmount: 1_000_001n } }))).toEqual([{ ids: [1], reason: 'below_minimum', hop: 0 }]);
    expect(rejectedOf(base({ c1: { maxAmount: 999_999n } }))).toEqual([{ ids: [1], reason: 'above_maximum', hop: 0 }]);
    expect(rejectedOf(base({ c1: { minAmount: 1n } }), { amount: 100n })).toContainEqual({ ids: [1], reason: 'below_minimum', hop: 0 });
    expect(rejectedOf(base({ c1: { headroom: 999_999n } }))).toEqual([{ ids: [1], reason: 'limit_exhausted', hop: 0 }]);
    expect(rejectedOf(base({ c1: { headroom: 1_000_000n } }))).toEqual([]);
    expect(rejectedOf(base({ c1: { liquidity: 895_414n } }))).toEqual([{ ids: [1], reason: 'insufficient_liquidity', hop: 0 }]);
    expect(rejectedOf(base({ c1: { liquidity: 895_415n } }))).toEqual([]);
    // A failure on the second hop names the whole path and hop 1: c3's input is 1998000.
    expect(rejectedOf(base({ c3: { headroom: 1_997_999n } }))).toEqual([{ ids: [2, 3], reason: 'limit_exhausted', hop: 1 }]);
    expect(rejectedOf(base({ c3: { liquidity: 898_176n } }))).toEqual([{ ids: [2, 3], reason: 'insufficient_liquidity', hop: 1 }]);
    const detail = findRoutes(snap(base({ c3: { liquidity: 5n } })), req, none, { now: NOW }).rejected[0]!.detail;
    expect(detail).toContain('needs 898177');
  });

  it('uses the per-request headroom over the snapshot (it depends on the sender)', () => {
    const res = findRoutes(snap(base()), req, none, { now: NOW, headroom: new Map([[1, 10n]]) });
    expect(res.rejected.map((r) => [r.corridorIds, r.reason])).toEqual([[[1], 'limit_exhausted']]);
    expect(res.routes.map((r) => r.corridorIds)).toEqual([[2, 3]]);
  });

  it('checks compliance with "requires ANY of" across every hop, and proposes the attestation', () => {
    const g = base({ c1: { senderSchemas: [S1], receiverSchemas: [S2] }, c2: { senderSchemas: [S1, S2] }, c3: { senderSchemas: [S2] } });
    expect(rejectedOf(g)).toEqual([
      { ids: [1], reason: 'sender_not_compliant', hop: null },
      { ids: [2, 3], reason: 'sender_not_compliant', hop: null },
    ]);
    // S1 satisfies c1 and c2 but not c3; the receiver holds nothing for c1.
    const s1: ComplianceFacts = { sender: new Map([[S1, '0xatt1']]), receiver: new Map() };
    expect(rejectedOf(g, {}, s1)).toEqual([
      { ids: [1], reason: 'receiver_not_compliant', hop: null },
      { ids: [2, 3], reason: 'sender_not_compliant', hop: null },
    ]);
    const both: ComplianceFacts = { sender: new Map([[S1, '0xatt1'], [S2, '0xatt2']]), receiver: new Map([[S2, '0xrcv']]) };
    const res = findRoutes(snap(g), req, both, { now: NOW });
    expect(res.rejected).toEqual([]);
    const byIds = new Map(res.routes.map((r) => [r.corridorIds.join(','), r]));
    expect([byIds.get('1')!.senderAttestation, byIds.get('1')!.receiverAttestation]).toEqual(['0xatt1', '0xrcv']);
    expect([byIds.get('2,3')!.senderAttestation, byIds.get('2,3')!.receiverAttestation]).toEqual(['0xatt2', null]);
  });

  it('stops at maxCandidates and says so; an index is reusable across requests', () => {
    const idx = indexGraph(snap(base()));
    const capped = findRoutes(idx, req, none, { now: NOW, maxCandidates: 1 });
    expect([capped.considered, capped.truncated]).toEqual([1, true]);
    expect(findRoutes(idx, req, none, { now: NOW }).truncated).toBe(false);
  });
});
