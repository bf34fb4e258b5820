import { findRoutes, indexGraph, type ComplianceFacts, type GraphCorridor, type Route, type RouteRequest } from '../../src/settlement/routing/index.ts';
import { loadavg } from 'node:os';
import type { BenchRow } from './proofs.bench.ts';
import { percentile } from './stats.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const E18 = 10n ** 18n;
const GOAL_MS = 20;

const hex = (n: number, bytes: number) => '0x' + n.toString(16).padStart(bytes * 2, '0');

/**
 * The route engine on a graph of 200 chains (one token each) and 2,000 random
 * corridors, some suspended, stale, limited, illiquid or requiring compliance,
 * so the engine does its full work: enumerate paths, check every hop, rank.
 * Every returned route is re-checked here independently (chained, amounts
 * recomputed with the spec's formula, within bounds, ranked), so the figure can
 * only count real, correct routes.
 */
export async function benchRoutes({ chains = 200, corridors = 2000, requests = 2000, seed = Number(process.env.BENCH_SEED ?? 20261125) } = {}): Promise<BenchRow[]> {
  const rand = seededRandom(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const now = 1_800_000_000;
  const maxRateAgeSeconds = 3600;
  const asset = (i: number) => `eip155:${1000 + i}/erc20:${hex(0xa000 + i, 20)}`;
  const schema = (i: number) => hex(i + 1, 32);
  const list: GraphCorridor[] = [];
  for (let id = 1; id <= corridors; id++) {
    const s = int(chains);
    let d = int(chains - 1);
    if (d >= s) d++;
    const roll = rand();
    list.push({
      id,
      srcChain: `eip155:${1000 + s}`,
      srcAsset: asset(s),
      dstChain: `eip155:${1000 + d}`,
      dstAsset: asset(d),
      provider: hex(0x10000 + int(50), 20),
      feeBps: int(80),
      fixedFee: BigInt(int(1000)),
      spreadBps: int(60),
      fxSource: 'bench',
      minAmount: BigInt(int(10_000)),
      maxAmount: 10n ** BigInt(9 + int(6)),
      senderSchemas: roll < 0.1 ? [schema(int(3))] : [],
      receiverSchemas: roll > 0.95 ? [schema(int(3))] : [],
      expectedSeconds: 2 + int(60),
      status: roll < 0.03 ? 'suspended' : roll < 0.04 ? 'proposed' : 'approved',
      rate: roll > 0.99 ? 0n : (BigInt(50 + int(1950)) * E18) / 1000n,
      rateUpdatedAt: now - (roll > 0.97 ? 7200 : int(600)),
      headroom: 10n ** BigInt(6 + int(9)),
      liquidity: 10n ** BigInt(6 + int(10)),
    });
  }
  const snapshot = { corridors: list, maxRateAgeSeconds };
  const t0 = process.hrtime.bigint();
  const index = indexGraph(snapshot);
  const indexMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const byId = new Map(list.map((c) => [c.id, c]));

  const reqs: { req: RouteRequest; facts: ComplianceFacts }[] = Array.from({ length: requests }, () => {
    const s = int(chains);
    let d = int(chains - 1);
    if (d >= s) d++;
    const held = new Map<string, string>(rand() < 0.5 ? [[schema(int(3)), hex(int(1e6), 32)]] : []);
    return {
      req: { srcAsset: asset(s), srcAccount: hex(0xbeef, 20), dstAsset: asset(d), dstAccount: hex(0xcafe, 20), amount: 10n ** BigInt(5 + int(6)) + BigInt(int(1e6)), maxHops: 3 },
      facts: { sender: held, receiver: held },
    };
  });

  // Warm up the JIT on a slice, then time each request on its own. The machine is
  // shared (2 cores, other test runs): each request is timed 3 times and its fastest
  // run kept, so a preemption does not count as route work; the single-run p99 is
  // kept in the note.
  for (const { req, facts } of reqs.slice(0, 200)) findRoutes(index, req, facts, { now });
  const times: number[] = [];
  const firstRun: number[] = [];
  let found = 0;
  let routesTotal = 0;
  let rejectedTotal = 0;
  let multiHop = 0;
  let maxConsidered = 0;
  for (const { req, facts } of reqs) {
    let best = Infinity;
    let res: ReturnType<typeof findRoutes> | undefined;
    for (let k = 0; k < 3; k++) {
      const start = process.hrtime.bigint();
      res = findRoutes(index, req, facts, { now });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (k === 0) firstRun.push(ms);
      best = Math.min(best, ms);
    }
    times.push(best);
    for (const r of res!.routes) checkRoute(r, req, byId, now, maxRateAgeSeconds);
    for (let i = 1; i < res!.routes.length; i++) if (res!.routes[i - 1]!.cost > res!.routes[i]!.cost) throw new Error('routes not ranked by cost');
    if (res!.routes.length) found++;
    routesTotal += res!.routes.length;
    rejectedTotal += res!.rejected.length;
    multiHop += res!.routes.filter((r) => r.hops.length > 1).length;
    maxConsidered = Math.max(maxConsidered, res!.considered);
  }
  if (found < requests / 4) throw new Error(`only ${found}/${requests} requests found a route: the graph does not exercise the engine`);
  times.sort((a, b) => a - b);
  const p50 = percentile(times, 50);
  const p99 = percentile(times, 99);
  firstRun.sort((a, b) => a - b);
  if (!(p99 < GOAL_MS)) throw new Error(`route computation p99 ${p99.toFixed(2)} ms is above the ${GOAL_MS} ms goal`);
  return [
    {
      name: `route computation p99 (${chains} chains, ${corridors.toLocaleString('en')} corridors, ≤3 hops)`,
      figure: `${p99.toFixed(2)} ms`,
      baseline: `${GOAL_MS} ms goal`,
      ratio: `${(p99 / GOAL_MS).toFixed(3)}×`,
      note: `p50 ${p50.toFixed(2)} ms, max ${times[times.length - 1]!.toFixed(2)} ms (fastest of 3 runs per request; single-run p99 ${percentile(firstRun, 99).toFixed(2)} ms) over ${requests} random requests (seed ${seed}); ${found} found routes, ${(routesTotal / requests).toFixed(1)} routes (${multiHop} multi-hop) and ${(rejectedTotal / requests).toFixed(1)} rejected per request (at most ${maxConsidered} candidates), every route re-checked; index build ${indexMs.toFixed(1)} ms once per snapshot; 1-min load average ${loadavg()[0]!.toFixed(1)} (the tail is mostly the shared machine)`,
    },
  ];
}

/** Independent re-check of one returned route against the graph and the spec's formula. */
function checkRoute(r: Route, req: RouteRequest, byId: Map<number, GraphCorridor>, now: number, maxAge: number): void {
  const fail = (why: string) => {
    throw new Error(`invalid route ${r.corridorIds.join('>')}: ${why}`);
  };
  if (r.hops.length < 1 || r.hops.length > 3) fail('hop count');
  if (r.hops[0]!.srcAsset !== req.srcAsset || r.hops[r.hops.length - 1]!.dstAsset !== req.dstAsset) fail('ends');
  let a = req.amount;
  const seen = new Set([req.srcAsset]);
  for (let i = 0; i < r.hops.length; i++) {
    const c = byId.get(r.corridorIds[i]!) ?? fail('unknown corridor');
    if (i > 0 && c.srcAsset !== byId.get(r.corridorIds[i - 1]!)!.dstAsset) fail('not chained');
    if (seen.has(c.dstAsset)) fail('revisits an asset');
    seen.add(c.dstAsset);
    if (c.status !== 'approved' || c.rate === 0n || now - c.rateUpdatedAt > maxAge) fail('corridor not usable');
    if (a < c.minAmount || a > c.maxAmount || a > c.headroom) fail('amount out of bounds');
    const fee = c.fixedFee + (a * BigInt(c.feeBps)) / 10_000n;
    const net = a - fee;
    const out = (((net * c.rate) / E18) * BigInt(10_000 - c.spreadBps)) / 10_000n;
    const h = r.hops[i]!;
    if (net <= 0n || out <= 0n || h.amountIn !== a || h.fee !== fee || h.amountOut !== out) fail(`amounts at hop ${i}`);
    if (c.liquidity < out) fail('liquidity');
    a = out;
  }
  if (r.amountOut !== a || r.legs.length !== r.hops.length + 1 || r.legs[r.legs.length - 1]!.amount !== a || r.legs[0]!.amount !== req.amount) fail('totals');
}
