import type { Hex } from '../../src/domain/hex.ts';
import type { MessageIndex } from '../../src/index/types.ts';
import { percentile } from './stats.ts';

/** When each message reached each status (epoch ms), from the index's transitions. */
export type StageTimes = Map<Hex, Map<string, number>>;

/**
 * Reads the transitions written after `afterSeq` (page by page). The index is
 * the hub's own record, fine for where the time goes; the latency itself is
 * read from the chains.
 */
export async function readStageTimes(index: MessageIndex, afterSeq: string): Promise<StageTimes> {
  const out: StageTimes = new Map();
  let seq = afterSeq;
  for (;;) {
    const page = await index.transitionsAfter(seq, 1000);
    for (const t of page) {
      let m = out.get(t.messageId);
      if (!m) out.set(t.messageId, (m = new Map()));
      if (!m.has(t.status)) m.set(t.status, t.at.getTime());
    }
    if (page.length < 1000) return out;
    seq = page[page.length - 1]!.seq;
  }
}

/** The steps between source finality and the delivery block, in pipeline order. */
const STEPS = [
  ['final', 'sent', 'watcher'],
  ['sent', 'verified', 'verify'],
  ['verified', 'committed', 'commit'],
  ['committed', 'attested', 'attest'],
  ['attested', 'deliveryBlock', 'deliver'],
] as const;

export interface StageSplit {
  step: string;
  p50: number;
  p99: number;
}

/**
 * Per message, the time spent in each step (ms): `final` is when the source
 * block that made it final was first seen, `deliveryBlock` when the block with
 * its delivery was (both epoch ms); the statuses are the index's. Messages the
 * index has no full record of are left out (counted in `missing`).
 */
export function splitStages(times: StageTimes, perMessage: { id: Hex; final: number; deliveryBlock: number }[]): { steps: StageSplit[]; missing: number } {
  const spans = new Map<string, number[]>(STEPS.map(([, , name]) => [name, []]));
  let missing = 0;
  for (const m of perMessage) {
    const at = new Map(times.get(m.id) ?? []);
    at.set('final', m.final);
    at.set('deliveryBlock', m.deliveryBlock);
    if (STEPS.some(([a, b]) => at.get(a) === undefined || at.get(b) === undefined)) {
      missing++;
      continue;
    }
    for (const [a, b, name] of STEPS) spans.get(name)!.push(at.get(b)! - at.get(a)!);
  }
  const steps = STEPS.map(([, , name]) => {
    const xs = spans.get(name)!.sort((x, y) => x - y);
    return { step: name, p50: percentile(xs, 50), p99: percentile(xs, 99) };
  });
  return { steps, missing };
}

export function formatStages(s: { steps: StageSplit[]; missing: number }): string {
  const parts = s.steps.map((x) => `${x.step} ${(x.p50 / 1000).toFixed(2)}/${(x.p99 / 1000).toFixed(2)} s`);
  return `per step p50/p99 (index transition times): ${parts.join(', ')}${s.missing ? ` (${s.missing} messages without a full record)` : ''}`;
}
