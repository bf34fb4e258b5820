/**
 * The pure route engine: every simple path of 1..maxHops corridors from the
 * source asset to the destination asset, each checked the way SettlementHub.open
 * will check it (status, rate age, amount bounds, limit headroom, provider
 * liquidity, compliance), ranked by cost then expected time. Every candidate that
 * fails says why. No I/O: the caller passes the snapshot, the facts and `now`.
 */
import { hopAmount } from './hop-amount.ts';
import type {
  ComplianceFacts,
  GraphCorridor,
  GraphSnapshot,
  HopQuote,
  LegPlan,
  RejectedRoute,
  RejectReason,
  Route,
  RouteRequest,
  RouteResult,
} from './types.ts';

const ONE = 10n ** 18n;
export const MAX_HOPS = 3;

/** Adjacency by asset, built once per snapshot (the service caches it with the snapshot). */
export interface GraphIndex {
  snapshot: GraphSnapshot;
  out: ReadonlyMap<string, readonly GraphCorridor[]>;
  in: ReadonlyMap<string, readonly GraphCorridor[]>;
  byId: ReadonlyMap<number, GraphCorridor>;
}

export function indexGraph(snapshot: GraphSnapshot): GraphIndex {
  const out = new Map<string, GraphCorridor[]>();
  const inc = new Map<string, GraphCorridor[]>();
  const byId = new Map<number, GraphCorridor>();
  // Sorted by id so the candidate order, and so ties in the ranking, never depend on load order.
  const sorted = [...snapshot.corridors].sort((a, b) => a.id - b.id);
  for (const c of sorted) {
    byId.set(c.id, c);
    if (c.srcAsset === c.dstAsset) continue;
    (out.get(c.srcAsset) ?? out.set(c.srcAsset, []).get(c.srcAsset)!).push(c);
    (inc.get(c.dstAsset) ?? inc.set(c.dstAsset, []).get(c.dstAsset)!).push(c);
  }
  return { snapshot, out, in: inc, byId };
}

export interface FindRoutesOptions {
  /** Unix seconds (the governance chain's clock as the caller knows it). */
  now: number;
  /** Per-request limit headroom by corridor id, overriding the snapshot's (it depends on the sender). */
  headroom?: ReadonlyMap<number, bigint>;
  /** Stop enumerating after this many candidate paths (dense graphs); `truncated` says so. */
  maxCandidates?: number;
}

/** Minimum hop count from each asset to `dst` (backward BFS), up to `maxHops`. */
function distancesTo(index: GraphIndex, dst: string, maxHops: number): Map<string, number> {
  const dist = new Map<string, number>([[dst, 0]]);
  let frontier = [dst];
  for (let d = 1; d <= maxHops && frontier.length; d++) {
    const next: string[] = [];
    for (const a of frontier) {
      for (const c of index.in.get(a) ?? []) {
        if (!dist.has(c.srcAsset)) {
          dist.set(c.srcAsset, d);
          next.push(c.srcAsset);
        }
      }
    }
    frontier = next;
  }
  return dist;
}

/**
 * Every simple path (no asset visited twice, the destination only at the end)
 * of at most `maxHops` corridors; only edges that can still reach the
 * destination in the hops left are followed, so the work is proportional to the
 * candidates, not to the graph.
 */
export function candidatePaths(index: GraphIndex, srcAsset: string, dstAsset: string, maxHops: number, maxCandidates = 10_000): { paths: GraphCorridor[][]; truncated: boolean } {
  const paths: GraphCorridor[][] = [];
  if (srcAsset === dstAsset || maxHops < 1) return { paths, truncated: false };
  const dist = distancesTo(index, dstAsset, maxHops);
  if (!dist.has(srcAsset)) return { paths, truncated: false };
  const visited = new Set<string>([srcAsset]);
  const path: GraphCorridor[] = [];
  let truncated = false;
  const walk = (asset: string, left: number): void => {
    for (const c of index.out.get(asset) ?? []) {
      if (paths.length >= maxCandidates) {
        truncated = true;
        return;
      }
      const d = dist.get(c.dstAsset);
      if (d === undefined || d > left - 1 || visited.has(c.dstAsset)) continue;
      path.push(c);
      if (c.dstAsset === dstAsset) paths.push([...path]);
      else {
        visited.add(c.dstAsset);
        walk(c.dstAsset, left - 1);
        visited.delete(c.dstAsset);
      }
      path.pop();
    }
  };
  walk(srcAsset, maxHops);
  return { paths, truncated };
}

/** One schema the holder has a valid attestation for that is in every non-empty required set ("requires ANY of"). */
function satisfying(required: readonly (readonly string[])[], held: ReadonlyMap<string, string>): { ok: true; attestation: string | null } | { ok: false; missing: readonly string[] } {
  const sets = required.filter((s) => s.length > 0);
  if (sets.length === 0) return { ok: true, attestation: null };
  for (const schema of sets[0]!) {
    const att = held.get(schema);
    if (att !== undefined && sets.every((s) => s.includes(schema))) return { ok: true, attestation: att };
  }
  return { ok: false, missing: sets[0]! };
}

type Checked = { ok: true; route: Route } | { ok: false; rejected: RejectedRoute };

/** Checks one path as SettlementHub.open would and computes its amounts; the first failure wins. */
export function evaluatePath(path: readonly GraphCorridor[], req: RouteRequest, facts: ComplianceFacts, opts: FindRoutesOptions & { maxRateAgeSeconds: number }): Checked {
  const ids = path.map((c) => c.id);
  const reject = (reason: RejectReason, hop: number | null, detail: string): Checked => ({ ok: false, rejected: { corridorIds: ids, reason, hop, detail } });
  const hops: HopQuote[] = [];
  let a = req.amount;
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    const at = `hop ${i} (corridor ${c.id})`;
    if (c.status === 'proposed') return reject('not_approved', i, `${at} is proposed, not approved by governance`);
    if (c.status === 'suspended') return reject('suspended', i, `${at} is suspended`);
    if (c.rate === 0n || c.rateUpdatedAt === 0) return reject('no_rate', i, `${at} has no FX rate`);
    const age = opts.now - c.rateUpdatedAt;
    if (age > opts.maxRateAgeSeconds) return reject('stale_rate', i, `${at} rate is ${age} s old, max ${opts.maxRateAgeSeconds} s`);
    if (a < c.minAmount) return reject('below_minimum', i, `${at} input ${a} is below the minimum ${c.minAmount}`);
    if (a > c.maxAmount) return reject('above_maximum', i, `${at} input ${a} is above the maximum ${c.maxAmount}`);
    const amt = hopAmount(a, c, c.rate);
    if (!amt.ok) {
      return reject('below_minimum', i, amt.why === 'zero_output' ? `${at} input ${a} gives nothing after fee, rate and spread` : `${at} input ${a} does not cover the fee ${amt.fee}`);
    }
    const headroom = opts.headroom?.get(c.id) ?? c.headroom;
    if (headroom < a) return reject('limit_exhausted', i, `${at} limit headroom ${headroom} is below the input ${a}`);
    if (c.liquidity < amt.out) return reject('insufficient_liquidity', i, `${at} provider ${c.provider} holds ${c.liquidity} of ${c.dstAsset}, needs ${amt.out}`);
    hops.push({
      corridorId: c.id,
      srcChain: c.srcChain,
      srcAsset: c.srcAsset,
      dstChain: c.dstChain,
      dstAsset: c.dstAsset,
      provider: c.provider,
      amountIn: a,
      fee: amt.fee,
      net: amt.net,
      rate: c.rate,
      spreadBps: c.spreadBps,
      amountOut: amt.out,
      expectedSeconds: c.expectedSeconds,
      liquidity: c.liquidity,
      liquidityAfter: c.liquidity - amt.out,
      headroom,
      headroomAfter: headroom - a,
    });
    a = amt.out;
  }
  const sender = satisfying(
    path.map((c) => c.senderSchemas),
    facts.sender,
  );
  if (!sender.ok) return reject('sender_not_compliant', null, `sender holds no valid attestation of a schema every hop accepts (${sender.missing.join(', ')})`);
  const last = path[path.length - 1]!;
  const receiver = satisfying([last.receiverSchemas], facts.receiver);
  if (!receiver.ok) return reject('receiver_not_compliant', null, `receiver holds no valid attestation of schema ${receiver.missing.join(' or ')}`);

  const amountOut = a;
  // Value the output back in source units at the route's own rate (product of the hop rates).
  let num = amountOut;
  let den = 1n;
  for (const h of hops) {
    num *= ONE;
    den *= h.rate;
  }
  const valueInSrc = num / den;
  const cost = req.amount > valueInSrc ? req.amount - valueInSrc : 0n;
  return {
    ok: true,
    route: {
      corridorIds: ids,
      hops,
      legs: legsOf(hops, req),
      amountIn: req.amount,
      amountOut,
      cost,
      costBps: Number((cost * 10_000n) / req.amount),
      expectedSeconds: hops.reduce((s, h) => s + h.expectedSeconds, 0),
      minLiquidityAfter: hops.reduce((m, h) => (h.liquidityAfter < m ? h.liquidityAfter : m), hops[0]!.liquidityAfter),
      minHeadroomAfter: hops.reduce((m, h) => (h.headroomAfter < m ? h.headroomAfter : m), hops[0]!.headroomAfter),
      senderAttestation: sender.attestation,
      receiverAttestation: receiver.attestation,
    },
  };
}

/** The h+1 legs of a route, as the spec's "Legs" section and SettlementHub.open define them. */
export function legsOf(hops: readonly HopQuote[], req: Pick<RouteRequest, 'srcAccount' | 'dstAccount' | 'amount'>): LegPlan[] {
  const legs: LegPlan[] = [{ leg: 0, chain: hops[0]!.srcChain, asset: hops[0]!.srcAsset, amount: req.amount, from: req.srcAccount, to: hops[0]!.provider }];
  for (let i = 1; i <= hops.length; i++) {
    const h = hops[i - 1]!;
    legs.push({ leg: i, chain: h.dstChain, asset: h.dstAsset, amount: h.amountOut, from: h.provider, to: i < hops.length ? hops[i]!.provider : req.dstAccount });
  }
  return legs;
}

/** Ranking: lower cost, then faster, then fewer hops, then lower corridor ids (deterministic). */
export function compareRoutes(x: Route, y: Route): number {
  if (x.cost !== y.cost) return x.cost < y.cost ? -1 : 1;
  if (x.expectedSeconds !== y.expectedSeconds) return x.expectedSeconds - y.expectedSeconds;
  if (x.hops.length !== y.hops.length) return x.hops.length - y.hops.length;
  for (let i = 0; i < x.corridorIds.length; i++) {
    const d = x.corridorIds[i]! - y.corridorIds[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Routes for one request, ranked, and every refused candidate with its reason. */
export function findRoutes(graph: GraphIndex | GraphSnapshot, req: RouteRequest, facts: ComplianceFacts, opts: FindRoutesOptions): RouteResult {
  const index = 'byId' in graph ? graph : indexGraph(graph);
  const maxHops = Math.max(1, Math.min(MAX_HOPS, req.maxHops ?? MAX_HOPS));
  if (req.amount <= 0n) return { routes: [], rejected: [], considered: 0, truncated: false };
  const { paths, truncated } = candidatePaths(index, req.srcAsset, req.dstAsset, maxHops, opts.maxCandidates);
  const routes: Route[] = [];
  const rejected: RejectedRoute[] = [];
  const evalOpts = { ...opts, maxRateAgeSeconds: index.snapshot.maxRateAgeSeconds };
  for (const p of paths) {
    const r = evaluatePath(p, req, facts, evalOpts);
    if (r.ok) routes.push(r.route);
    else rejected.push(r.rejected);
  }
  routes.sort(compareRoutes);
  return { routes, rejected, considered: paths.length, truncated };
}
