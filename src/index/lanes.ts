/**
 * Lane nonce bookkeeping, as a pure function over one lane's state.
 *
 * The rule: a lane (source chain, source port, destination chain) numbers its
 * messages from 1. `last` is the highest nonce such that every nonce 1..last has
 * been seen. Nonces seen above last + 1 are kept as disjoint ranges, so a late
 * nonce that fills a hole advances `last` over everything seen after it, and a
 * hole that is never filled costs one range, not one row per later message.
 *
 * Within one call the nonces are sorted first (a block's logs may arrive in any
 * order). A nonce is a duplicate, and ignored, when it is <= last or inside a kept
 * range. A new nonce more than one above the highest nonce seen so far opens a
 * gap: `expected` is the first missing nonce, `seen` the nonce that revealed it.
 * Each hole is reported once, when it is first skipped; filling it later does
 * not report it again, and a replayed call reports nothing.
 */

export interface LaneState {
  last: bigint;
  /** Sorted, disjoint, non-adjacent, each above last + 1. */
  seenAbove: [bigint, bigint][];
}

export interface LaneGap {
  expected: bigint;
  seen: bigint;
}

export function applyLaneNonces(state: LaneState, nonces: readonly bigint[]): { state: LaneState; gaps: LaneGap[] } {
  let last = state.last;
  const ranges: [bigint, bigint][] = state.seenAbove.map(([lo, hi]) => [lo, hi]);
  let highest = ranges.length > 0 ? ranges[ranges.length - 1]![1] : last;
  const gaps: LaneGap[] = [];
  const sorted = [...new Set(nonces)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  for (const n of sorted) {
    if (n <= last || ranges.some(([lo, hi]) => n >= lo && n <= hi)) continue;
    if (n > highest + 1n) gaps.push({ expected: highest + 1n, seen: n });
    if (n > highest) highest = n;
    insertNonce(ranges, n);
  }
  // Absorb the ranges that now continue the contiguous prefix.
  while (ranges.length > 0 && ranges[0]![0] <= last + 1n) {
    const [, hi] = ranges.shift()!;
    if (hi > last) last = hi;
  }
  return { state: { last, seenAbove: ranges }, gaps };
}

function insertNonce(ranges: [bigint, bigint][], n: bigint): void {
  let i = 0;
  while (i < ranges.length && ranges[i]![1] < n - 1n) i++;
  const cur = ranges[i];
  if (cur === undefined || cur[0] > n + 1n) {
    ranges.splice(i, 0, [n, n]);
    return;
  }
  // n touches ranges[i]: widen it, then merge with the next one if they now meet.
  if (n < cur[0]) cur[0] = n;
  if (n > cur[1]) cur[1] = n;
  const next = ranges[i + 1];
  if (next !== undefined && next[0] <= cur[1] + 1n) {
    cur[1] = next[1] > cur[1] ? next[1] : cur[1];
    ranges.splice(i + 1, 1);
  }
}
