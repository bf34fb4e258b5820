import { randomBytes } from 'node:crypto';
import { AbiCoder } from 'ethers';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubMetrics } from '../../src/api/metrics.ts';
import { buildApi, type HealthReport } from '../../src/api/server.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { ChainAdapter } from '../../src/domain/adapter.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId, messageToJson, type QiaoMessage } from '../../src/domain/message.ts';
import type { LaneFee } from '../../src/governance/lane-fees.ts';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex, MessageRow } from '../../src/index/types.ts';
import type { ConnectedChain } from '../../relayer/context.ts';
import { LANE_FEE_WAIT, LaneFeeGuard, laneFeeWaiting, type LaneHoldStore } from '../../relayer/fees.ts';
import { createTestDatabase } from '../helpers/services.ts';

/*
 * Lane holds across processes: a relayer's LaneFeeGuard (its own index
 * connection, as a `qiao relayer start` worker has) holds a lane; the hub's API
 * and metrics, wired on a second connection to the same PostgreSQL index, see
 * the note and the gauge. Governance and the destination's price are fakes.
 */

const GWEI = 10n ** 9n;
const A = 'eip155:7101' as ChainId;
const B = 'eip155:7102' as ChainId;
const C = 'eip155:7103' as ChainId;
const PORT = `0x${'ab'.repeat(20)}` as Hex;
const silent = pino({ level: 'silent' });
const health = async (): Promise<HealthReport> => ({ ok: true, governance: null, chains: [], queues: {} });

function chain(id: string): ConnectedChain {
  const registration = { chainId: id, family: 'evm', endpoints: ['http://127.0.0.1:1'] } as unknown as ChainRegistration;
  return { registration, adapter: { deliverer: {} } as unknown as ChainAdapter };
}

let nonce = 0n;
function message(src: ChainId, dst: ChainId, { ack = false } = {}): QiaoMessage {
  nonce += 1n;
  const payload = ack ? (AbiCoder.defaultAbiCoder().encode(['uint8', 'bytes32', 'bytes'], [1, `0x${randomBytes(32).toString('hex')}`, '0x']) as Hex) : (`0x${randomBytes(4).toString('hex')}` as Hex);
  return {
    version: 1, srcChain: src, srcPort: PORT, sender: ack ? PORT : `0x${'cd'.repeat(20)}`, dstChain: dst, dstPort: PORT, receiver: ack ? PORT : `0x${'ef'.repeat(20)}`,
    nonce, gasLimit: 100_000n, timeoutHeight: 0n, timeoutUnixSeconds: 0n, payload,
  };
}

/** Messages recorded and moved to `attested`, as the relayer finds them at its deliver stage. */
async function attested(index: MessageIndex, msgs: QiaoMessage[]): Promise<MessageRow[]> {
  const bySrc = new Map<string, QiaoMessage[]>();
  for (const m of msgs) bySrc.set(m.srcChain, [...(bySrc.get(m.srcChain) ?? []), m]);
  const ids: Hex[] = [];
  for (const [src, list] of bySrc) {
    const recs = list.map((m, i) => {
      const encoded = encodeMessage(m);
      return { id: messageId(encoded), encoded, message: messageToJson(m), height: 10n, txHash: `0x${randomBytes(32).toString('hex')}` as Hex, blockHash: `0x${randomBytes(32).toString('hex')}` as Hex, logIndex: i };
    });
    await index.recordSent(src, recs);
    ids.push(...recs.map((r) => r.id));
  }
  for (const to of ['verified', 'committed', 'attested'] as const) await index.transition(ids, to, to === 'committed' ? { batchNo: 1n } : {});
  return index.getMessages(ids);
}

const fee = (src: string, dst: string, max: bigint): LaneFee => ({ srcChain: src, dstChain: dst, fee: 10n, maxDstGasPrice: max, updatedAt: 1n }) as LaneFee;

/** The index as a guard's store, counting its writes. */
function counted(index: MessageIndex) {
  const writes = { set: 0, clear: 0 };
  const store: LaneHoldStore = {
    setLaneHold: async (h) => {
      writes.set += 1;
      return index.setLaneHold(h);
    },
    clearLaneHold: async (s, d) => {
      writes.clear += 1;
      return index.clearLaneHold(s, d);
    },
    laneHolds: (l) => index.laneHolds(l),
  };
  return { store, writes };
}

/** One relayer "process": its own guard and clock over a store; governance and the price are the test's to set. */
function relayer(store: LaneHoldStore, world: { fees: LaneFee[]; price: bigint }) {
  let t = 0;
  const guard = new LaneFeeGuard({ laneFees: async () => world.fees, gasPrice: async () => world.price }, silent, { cacheMs: 1000, refreshMs: 5000, store, now: () => t });
  return { guard, advance: (ms: number) => void (t += ms) };
}

describe('lane holds written by a relayer process, read by the hub', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let relayerIndex: MessageIndex;
  let hubIndex: MessageIndex;
  let app: FastifyInstance;

  const waitingOf = async (id: Hex) => {
    const r = await app.inject({ method: 'GET', url: `/messages/${id}` });
    expect(r.statusCode).toBe(200);
    return (r.json() as { waiting?: string }).waiting ?? null;
  };
  const gauge = async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    return text.split('\n').filter((l) => l.startsWith('qiao_lane_fee_blocked{'));
  };
  const line = (src: string, dst: string, n: number) => `qiao_lane_fee_blocked{src_chain="${src}",dst_chain="${dst}"} ${n}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    relayerIndex = await openIndex({ databaseUrl: db.url, poolSize: 2 });
    hubIndex = await openIndex({ databaseUrl: db.url, poolSize: 2 });
    // The hub's wiring (src/main/hub.ts): nothing of the relayer's memory, only the index.
    const metrics = new HubMetrics({ index: hubIndex, health, laneFeeHolds: () => hubIndex.laneHolds() });
    app = buildApi({ index: hubIndex, health, logger: silent, waitingOf: laneFeeWaiting(hubIndex), plugins: [metrics.plugin()] });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await relayerIndex?.close();
    await hubIndex?.close();
    await db?.drop();
  });

  it('a held lane shows as waiting and in the gauge on the other wiring; refreshed at most once per check; gone once released', async () => {
    const world = { fees: [fee(A, B, 50n * GWEI)], price: 80n * GWEI };
    const { store, writes } = counted(relayerIndex);
    const p1 = relayer(store, world);
    const rows = await attested(relayerIndex, [message(A, B), message(A, B), message(A, B, { ack: true }), message(C, B)]);
    const [held1, held2, ack, other] = rows as [MessageRow, MessageRow, MessageRow, MessageRow];

    const out = await p1.guard.deliverable(chain(B), rows);
    expect(out.map((r) => r.id)).toEqual([ack.id, other.id]);
    expect(writes).toEqual({ set: 1, clear: 0 });
    expect(await waitingOf(held1.id)).toBe(LANE_FEE_WAIT);
    expect(await waitingOf(held2.id)).toBe(LANE_FEE_WAIT);
    // Acks pass a held lane, and other lanes are not held.
    expect(await waitingOf(ack.id)).toBeNull();
    expect(await waitingOf(other.id)).toBeNull();
    expect(await gauge()).toEqual([line(A, B, 2)]);
    const [row] = await hubIndex.laneHolds();
    expect(row).toMatchObject({ srcChain: A, dstChain: B, maxDstGasPrice: (50n * GWEI).toString(), gasPrice: (80n * GWEI).toString(), waiting: 2, since: new Date(0) });

    // The job comes back: nothing changed, nothing written; a new price is written once, however many messages the check held.
    await p1.guard.deliverable(chain(B), [held1, held2]);
    expect(writes.set).toBe(1);
    world.price = 90n * GWEI;
    await p1.guard.deliverable(chain(B), [held1, held2]);
    expect(writes.set).toBe(2);
    expect((await hubIndex.laneHolds({ srcChain: A, dstChain: B }))[0]).toMatchObject({ gasPrice: (90n * GWEI).toString(), waiting: 2, since: new Date(0) });
    // Unchanged but older than refreshMs: written again (its updatedAt says a relayer still holds it).
    p1.advance(5000);
    await p1.guard.deliverable(chain(B), [held1, held2]);
    expect(writes.set).toBe(3);

    // Governance raises the bound: released, and the hub sees it gone.
    world.fees = [fee(A, B, 100n * GWEI)];
    p1.advance(1000);
    expect((await p1.guard.deliverable(chain(B), [held1, held2])).map((r) => r.id)).toEqual([held1.id, held2.id]);
    expect(writes).toEqual({ set: 3, clear: 1 });
    expect(await hubIndex.laneHolds()).toEqual([]);
    expect(await waitingOf(held1.id)).toBeNull();
    expect(await gauge()).toEqual([]);
    // Free and not held before: no write at all.
    await p1.guard.deliverable(chain(B), [held1]);
    expect(writes).toEqual({ set: 3, clear: 1 });
  });

  it('a row left by a process that died while holding is refreshed, or cleared, by the next check of any process', async () => {
    const world = { fees: [fee(C, A, 50n * GWEI)], price: 80n * GWEI };
    const rows = await attested(relayerIndex, [message(C, A), message(C, A)]);
    const dead = relayer(relayerIndex, world);
    dead.advance(1234);
    await dead.guard.deliverable(chain(A), rows);
    expect(await waitingOf(rows[0]!.id)).toBe(LANE_FEE_WAIT);
    // `dead` is gone: its memory with it, its row stays.

    const { store, writes } = counted(relayerIndex);
    const next = relayer(store, world);
    next.advance(99_000);
    await next.guard.deliverable(chain(A), rows.slice(0, 1));
    expect(await hubIndex.laneHolds({ srcChain: C, dstChain: A })).toEqual([
      expect.objectContaining({ waiting: 1, gasPrice: (80n * GWEI).toString(), since: new Date(1234) }),
    ]);
    expect(await gauge()).toEqual([line(C, A, 1)]);

    // Again a process that never held it: the price fell; the row it finds in the index goes.
    const again = relayer(hubIndex, world);
    world.price = 10n * GWEI;
    expect(await again.guard.deliverable(chain(A), rows)).toHaveLength(2);
    expect(await hubIndex.laneHolds()).toEqual([]);
    expect(await waitingOf(rows[1]!.id)).toBeNull();
    expect(writes.clear).toBe(0);
  });

  it('a lane whose held messages all left `attested` another way is cleared at the next check', async () => {
    const world = { fees: [fee(B, C, 1n)], price: 2n };
    const rows = await attested(relayerIndex, [message(B, C)]);
    const p = relayer(relayerIndex, world);
    await p.guard.deliverable(chain(C), rows);
    expect(await gauge()).toEqual([line(B, C, 1)]);
    await relayerIndex.transition([rows[0]!.id], 'timed_out', { reason: 'timeout' });
    // What the deliver stage does with such a batch: forget, then check what is left (nothing).
    p.guard.forget([rows[0]!.id]);
    expect(await p.guard.deliverable(chain(C), [])).toEqual([]);
    expect(await hubIndex.laneHolds()).toEqual([]);
    expect(await gauge()).toEqual([]);
  });

  it('a failed index write changes no delivery decision and is made again at the next check', async () => {
    const world = { fees: [fee(C, B, 1n)], price: 2n };
    const rows = await attested(relayerIndex, [message(C, B)]);
    let down = true;
    const flaky: LaneHoldStore = {
      setLaneHold: async (h) => (down ? Promise.reject(new Error('index down')) : relayerIndex.setLaneHold(h)),
      clearLaneHold: (s, d) => relayerIndex.clearLaneHold(s, d),
      laneHolds: (l) => relayerIndex.laneHolds(l),
    };
    const p = relayer(flaky, world);
    expect(await p.guard.deliverable(chain(B), rows)).toEqual([]);
    expect(await hubIndex.laneHolds()).toEqual([]);
    down = false;
    expect(await p.guard.deliverable(chain(B), rows)).toEqual([]);
    expect(await hubIndex.laneHolds()).toEqual([expect.objectContaining({ srcChain: C, dstChain: B, waiting: 1 })]);
    world.price = 1n;
    p.advance(1000);
    expect(await p.guard.deliverable(chain(B), rows)).toHaveLength(1);
    expect(await hubIndex.laneHolds()).toEqual([]);
  });
});
