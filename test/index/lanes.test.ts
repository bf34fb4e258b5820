import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/index/cursor.ts';
import { applyLaneNonces, type LaneGap, type LaneState } from '../../src/index/lanes.ts';
import { ValidationError } from '../../src/errors.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

/** The rule of lanes.ts restated over a plain set of seen nonces. */
class Model {
  seen = new Set<bigint>();
  highest = 0n;
  apply(nonces: bigint[]): LaneGap[] {
    const gaps: LaneGap[] = [];
    for (const n of [...new Set(nonces)].sort((x, y) => (x < y ? -1 : 1))) {
      if (this.seen.has(n)) continue;
      if (n > this.highest + 1n) gaps.push({ expected: this.highest + 1n, seen: n });
      if (n > this.highest) this.highest = n;
      this.seen.add(n);
    }
    return gaps;
  }
  last(): bigint {
    let k = 0n;
    while (this.seen.has(k + 1n)) k++;
    return k;
  }
  above(): bigint[] {
    return [...this.seen].filter((n) => n > this.last()).sort((x, y) => (x < y ? -1 : 1));
  }
}

function expand(state: LaneState): bigint[] {
  const out: bigint[] = [];
  for (const [lo, hi] of state.seenAbove) for (let n = lo; n <= hi; n++) out.push(n);
  return out;
}

describe('applyLaneNonces', () => {
  it('follows the model over random out-of-order, duplicated, gappy calls', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rand = seededRandom(seed);
      const model = new Model();
      let state: LaneState = { last: 0n, seenAbove: [] };
      for (let call = 0; call < 12; call++) {
        const nonces = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => BigInt(1 + Math.floor(rand() * 40)));
        const r = applyLaneNonces(state, nonces);
        expect(r.gaps).toEqual(model.apply(nonces));
        state = r.state;
        expect(state.last).toBe(model.last());
        expect(expand(state)).toEqual(model.above());
        // Ranges stay disjoint and non-adjacent, all above last + 1.
        let prev = state.last + 1n;
        for (const [lo, hi] of state.seenAbove) {
          expect(lo > prev).toBe(true);
          expect(hi >= lo).toBe(true);
          prev = hi + 1n;
        }
      }
    }
  });

  it('keeps one range, not one entry per message, behind a hole that never fills', () => {
    let state: LaneState = { last: 0n, seenAbove: [] };
    const first = applyLaneNonces(state, [1n, 3n]);
    expect(first.gaps).toEqual([{ expected: 2n, seen: 3n }]);
    state = first.state;
    for (let n = 4n; n < 200n; n++) {
      const r = applyLaneNonces(state, [n]);
      expect(r.gaps).toEqual([]);
      state = r.state;
    }
    expect(state).toEqual({ last: 1n, seenAbove: [[3n, 199n]] });
    expect(applyLaneNonces(state, [2n]).state).toEqual({ last: 199n, seenAbove: [] });
  });

  it('does not modify the state it is given', () => {
    const state: LaneState = { last: 2n, seenAbove: [[5n, 6n]] };
    applyLaneNonces(state, [3n, 4n, 8n]);
    expect(state).toEqual({ last: 2n, seenAbove: [[5n, 6n]] });
  });
});

describe('page cursor', () => {
  it('round-trips a seq and rejects anything else', () => {
    expect(decodeCursor(encodeCursor('1'))).toBe('1');
    expect(decodeCursor(encodeCursor('9223372036854775807'))).toBe('9223372036854775807');
    for (const bad of [undefined, 5, '', 'MQ=', 'M Q', encodeCursor('01'), encodeCursor('9223372036854775808'), encodeCursor('1 '), 'x'.repeat(40)]) {
      expect(() => decodeCursor(bad)).toThrow(ValidationError);
    }
  });
});
