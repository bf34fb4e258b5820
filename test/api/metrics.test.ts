import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubMetrics, reasonLabel } from '../../src/api/metrics.ts';
import { buildApi, type HealthReport } from '../../src/api/server.ts';
import { chainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId, messageToJson, type QiaoMessage } from '../../src/domain/message.ts';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex, SentRecord } from '../../src/index/types.ts';

const A = chainId('eip155:3001');
const B = chainId('eip155:3002');
const rnd = (n: number): Hex => `0x${randomBytes(n).toString('hex')}`;
const PORT = rnd(20);

function sent(nonce: bigint): SentRecord {
  const m: QiaoMessage = { version: 1, srcChain: A, srcPort: PORT, sender: rnd(20), dstChain: B, dstPort: PORT, receiver: rnd(20), nonce, gasLimit: 1n, timeoutHeight: 0n, timeoutUnixSeconds: 0n, payload: '0x' };
  const encoded = encodeMessage(m);
  return { id: messageId(encoded), encoded, message: messageToJson(m), height: 5n, txHash: rnd(32), blockHash: rnd(32), logIndex: 0 };
}

const HEALTH: HealthReport = {
  ok: true,
  governance: { url: 'http://127.0.0.1:1', chainId: '77', head: '10' },
  chains: [{ chainId: A, status: 'approved', head: '20', finalized: '18', checkpoint: '15', lag: '3' }],
  queues: { verify: { waiting: 4, delayed: 1, active: 2, dead: 0 }, deliver: { waiting: 0, delayed: 0, active: 0, dead: 7 } },
};

/** A metric's value from the text format, by name and exact label set. */
function value(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('Prometheus metrics', () => {
  let index: MessageIndex;
  let metrics: HubMetrics;

  beforeAll(async () => {
    index = await openIndex({});
    await index.upsertChain({ chainId: A, family: 'evm', genesisHash: `0x${'11'.repeat(32)}`, port: PORT, lightClient: 'local-dev', trustRoot: '0x', finality: { kind: 'depth', depth: 2 }, endpoints: ['http://127.0.0.1:1'], status: 'approved' });
    // History before the metrics start is not replayed into the counters.
    const old = sent(1n);
    await index.recordSent(A, [old]);
    await index.transition([old.id], 'failed', { reason: 'receiver_revert: old' });
    // No timer-driven poll during the test: it polls explicitly.
    metrics = new HubMetrics({ index, health: async () => HEALTH, pollMs: 3_600_000 });
    await metrics.start();
  });
  afterAll(async () => {
    await metrics?.stop();
    await index?.close();
  });

  it('maps failure reasons to a bounded set of labels', () => {
    expect(reasonLabel('proof_invalid:endpoint 1 served a forged proof')).toBe('proof_invalid');
    expect(reasonLabel('refused_by_port:timed_out')).toBe('refused_by_port');
    expect(reasonLabel('demo receiver refuses payloads starting with fail')).toBe('receiver_revert');
    expect(reasonLabel(null)).toBe('unknown');
  });

  it('exposes queue depth, head lag, lane counts, latency and failures from what the index recorded', async () => {
    const recs = [2n, 3n, 4n].map(sent);
    await index.recordSent(A, recs);
    const rows = await index.getMessages(recs.map((r) => r.id));
    const created = new Map(rows.map((r) => [r.id, r.createdAt.getTime()]));
    await index.transition([recs[0]!.id], 'delivered', { at: new Date(created.get(recs[0]!.id)! + 1500) });
    await index.transition([recs[1]!.id], 'delivered', { at: new Date(created.get(recs[1]!.id)! + 40_000) });
    await index.transition([recs[2]!.id], 'quarantined', { reason: 'proof_invalid: every endpoint' });
    // Two deliveries and a quarantine (the sends are not outcomes).
    expect(await metrics.poll()).toBe(3);
    // Nothing new: nothing read, and nothing counted twice.
    expect(await metrics.poll()).toBe(0);

    const app = buildApi({ index, health: async () => HEALTH, plugins: [metrics.plugin()] });
    await app.ready();
    try {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      const t = res.body;
      expect(value(t, 'qiao_queue_jobs', 'stage="verify",state="waiting"')).toBe(4);
      expect(value(t, 'qiao_queue_jobs', 'stage="deliver",state="dead"')).toBe(7);
      expect(value(t, 'qiao_chain_head_lag_blocks', `chain="${A}"`)).toBe(3);
      expect(value(t, 'qiao_chain_status', `chain="${A}",status="approved"`)).toBe(1);
      expect(value(t, 'qiao_governance_up', '')).toBe(1);
      expect(value(t, 'qiao_lane_messages', `src_chain="${A}",dst_chain="${B}",status="delivered"`)).toBe(2);
      expect(value(t, 'qiao_lane_messages', `src_chain="${A}",dst_chain="${B}",status="failed"`)).toBe(1);
      const lane = `src_chain="${A}",dst_chain="${B}"`;
      expect(value(t, 'qiao_delivery_latency_seconds_bucket', `le="1",${lane}`)).toBe(0);
      expect(value(t, 'qiao_delivery_latency_seconds_bucket', `le="2",${lane}`)).toBe(1);
      expect(value(t, 'qiao_delivery_latency_seconds_bucket', `le="60",${lane}`)).toBe(2);
      expect(value(t, 'qiao_delivery_latency_seconds_count', lane)).toBe(2);
      expect(value(t, 'qiao_message_failures_total', `dst_chain="${B}",status="quarantined",reason="proof_invalid"`)).toBe(1);
      // The failure from before start() is not counted.
      expect(t).not.toMatch(/status="failed",reason="receiver_revert"/);
      const docs = (await app.inject({ method: 'GET', url: '/docs' })).json() as { paths: Record<string, unknown> };
      expect(docs.paths['/metrics']).toBeDefined();
      const ready = await app.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ ready: true, reasons: [] });
    } finally {
      await app.close();
    }
  });

  it('is not ready while the governance chain does not answer', async () => {
    const app = buildApi({ index, health: async () => ({ ...HEALTH, ok: false, governance: null }) });
    await app.ready();
    try {
      const ready = await app.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ ready: false, reasons: ['governance chain unreachable'] });
    } finally {
      await app.close();
    }
  });
});
