import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak256, toUtf8Bytes } from 'ethers';
import type { Hex } from '../../src/domain/hex.ts';
import { DEMO_RATES } from '../../src/main/settlement-setup.ts';
import { SettlementRejected, hopOutput } from '../../src/settlement/index.ts';
import { until } from '../helpers/services.ts';
import { UNIT, addProvider, balance, corridorOf, openCorridor, startSettlementFixture, type Fixture } from './settlement-fixture.ts';

/**
 * Cross-border settlement end to end on one hub: SettlementHub on the
 * governance chain (a member chain), escrows and demo tokens on the two demo
 * chains, every lock / decision / release / refund an ordinary verified Qiao
 * message. Everything is asserted from the chains: balances, pools, escrow
 * locks and SettlementHub's payment record.
 */
describe('settlement end to end', () => {
  let fx: Fixture;
  let demoAB: number;
  let demoBA: number;
  let late: ReturnType<typeof openLate> | undefined;

  /**
   * A payment whose sender does not lock before its deadline (20 s of governance time), B -> A:
   * it touches the LP's pool on A and nothing on B, so it runs beside the paid settlement.
   */
  async function openLate() {
    const sender = await fx.account();
    const receiver = await fx.account();
    await fx.mint(fx.b, sender.address, 500n * UNIT);
    const amount = 50n * UNIT;
    const c = (await fx.hub.corridor(demoBA))!;
    const out = hopOutput(amount, c.corridor, c.rate).out;
    const before = { sender: await balance(fx.b, sender.address), poolA: await fx.a.client.poolOf(fx.lp, fx.a.token), escrowA: await balance(fx.a, fx.a.escrow) };
    const uetr = fx.newUetr();
    await fx.hub.open(fx.operator, { uetr, corridorIds: [demoBA], amount, sender: sender.address, receiver: receiver.address, deadline: (await fx.govNow()) + 20n, minOut: out });
    return { uetr, sender, receiver, amount, out, before };
  }

  beforeAll(async () => {
    fx = await startSettlementFixture();
    [demoAB, demoBA] = fx.t.hub.settlement!.deployment.state.corridors as [number, number];
  }, 180_000);

  afterAll(async () => {
    await fx?.stop();
  });

  it('is deployed: governance chain a member, escrows bound, demo corridors approved with rates, hub key an operator', async () => {
    const s = fx.t.hub.settlement!.deployment;
    expect(await fx.hub.port()).toEqual({ port: expect.stringMatching(/^0x/i), chainName: fx.t.hub.governanceMember!.chainId });
    for (const c of [fx.a, fx.b]) expect((await fx.hub.escrowOf(c.chainId))?.escrow).toBe(c.escrow);
    expect(await fx.hub.isOperator(fx.operator.address)).toBe(true);
    const corridors = await fx.hub.corridors();
    expect(corridors.map((c) => c.status)).toEqual(['approved', 'approved']);
    expect(corridors[0]!.rate).toBe(DEMO_RATES.forward);
    expect(corridors[1]!.rate).toBe(DEMO_RATES.backward);
    expect(corridors[0]!.corridor.provider).toBe(s.lp);
    expect([fx.a.symbol, fx.b.symbol]).toEqual(['dUSD', 'dEUR']);
    expect(await fx.a.client.poolOf(s.lp, fx.a.token)).toBeGreaterThan(0n);
    expect(await fx.b.client.poolOf(s.lp, fx.b.token)).toBeGreaterThan(0n);
    // The payments API is served by the hub (plugin wired with the settlement deployment).
    const r = await fetch(`${fx.t.hub.apiUrl}/corridors`);
    expect(r.status).toBe(200);
    expect(JSON.stringify(await r.json())).toContain(fx.a.token.toLowerCase());
  });

  it('settles a paid FX payment: dUSD locked on A, dEUR received on B, the LP paid', async () => {
    // The next test's payment runs meanwhile: opened now with a short deadline, its sender never locks.
    late = openLate();
    late.catch(() => undefined); // reported by the test that awaits it
    const sender = await fx.account();
    const receiver = await fx.account();
    await fx.mint(fx.a, sender.address, 1_000n * UNIT);
    const amount = 100n * UNIT;
    const q = await fx.routes({ src: fx.a, dst: fx.b, sender: sender.address, receiver: receiver.address, amount });
    const route = q.routes[0]!;
    expect(route.corridorIds).toEqual([demoAB]);
    const c = (await fx.hub.corridor(demoAB))!;
    const out = hopOutput(amount, c.corridor, c.rate).out;
    expect(route.amountOut).toBe(out);

    const before = {
      sender: await balance(fx.a, sender.address),
      receiver: await balance(fx.b, receiver.address),
      lpA: await balance(fx.a, fx.lp),
      poolB: await fx.b.client.poolOf(fx.lp, fx.b.token),
      escrowA: await balance(fx.a, fx.a.escrow),
      escrowB: await balance(fx.b, fx.b.escrow),
    };
    const uetr = fx.newUetr();
    await fx.hub.open(fx.operator, { uetr, corridorIds: route.corridorIds, amount, sender: sender.address, receiver: receiver.address, deadline: (await fx.govNow()) + 300n, minOut: out });
    const opened = (await fx.hub.payment(uetr))!;
    expect(opened.legs.map((l) => [l.chain, l.amount, l.from, l.to])).toEqual([
      [fx.a.chainId, amount, sender.address, fx.lp],
      [fx.b.chainId, out, fx.lp, receiver.address],
    ]);
    // The sender locks leg 0 himself.
    const tx = sender.on.get(fx.a.chainId)!;
    await fx.a.client.approve(tx, fx.a.token, amount);
    await fx.a.client.lock(tx, { uetr, token: fx.a.token, amount, to: fx.lp });

    const p = await fx.settled(uetr);
    expect(p.state).toBe('committed');
    expect(p.legs.map((l) => l.state)).toEqual(['release_sent', 'release_sent']);
    expect((await fx.a.client.lockOf(uetr, 0)).state).toBe('released');
    expect((await fx.b.client.lockOf(uetr, 1)).state).toBe('released');
    expect(await balance(fx.a, sender.address)).toBe(before.sender - amount);
    expect(await balance(fx.b, receiver.address)).toBe(before.receiver + out);
    expect(await balance(fx.a, fx.lp)).toBe(before.lpA + amount);
    expect(await fx.b.client.poolOf(fx.lp, fx.b.token)).toBe(before.poolB - out);
    // Nothing stays in the escrows but the pools.
    expect(await balance(fx.a, fx.a.escrow)).toBe(before.escrowA);
    expect(await balance(fx.b, fx.b.escrow)).toBe(before.escrowB - out);
  }, 120_000);

  it('refunds every leg when the deadline passes with only the LP leg locked (and a late sender lock)', async () => {
    const { uetr, sender, receiver, amount, before } = await late!;
    // The LP's leg is reserved from its pool on A (a RESERVE message, then LOCKED back); the sender never locks.
    await until(async () => {
      const p = (await fx.hub.payment(uetr))!;
      return p.legs[1]!.state !== 'pending' || p.state !== 'open';
    }, { timeoutMs: 60_000, what: 'the LP leg reported' });
    const p = await fx.settled(uetr);
    expect(p.state).toBe('aborted');
    expect(p.legs[0]!.state).toBe('pending');
    expect(p.legs[1]!.state).toBe('refund_sent');
    expect((await fx.b.client.lockOf(uetr, 0)).state).toBe('none');
    expect((await fx.a.client.lockOf(uetr, 1)).state).toBe('refunded');
    expect(await fx.a.client.poolOf(fx.lp, fx.a.token)).toBe(before.poolA);
    expect(await balance(fx.a, fx.a.escrow)).toBe(before.escrowA);
    expect(await balance(fx.a, receiver.address)).toBe(0n);

    // A sender locking after the decision is refunded at once; the payment stays aborted.
    const tx = sender.on.get(fx.b.chainId)!;
    await fx.b.client.approve(tx, fx.b.token, amount);
    await fx.b.client.lock(tx, { uetr, token: fx.b.token, amount, to: fx.lp });
    await until(async () => (await fx.b.client.lockOf(uetr, 0)).state === 'refunded', { timeoutMs: 60_000, what: 'late lock refunded' });
    const after = (await fx.hub.payment(uetr))!;
    expect(after.state).toBe('aborted');
    expect(after.legs[0]!.state).toBe('refund_sent');
    expect(await balance(fx.b, sender.address)).toBe(before.sender);
  }, 150_000);

  it('routes over another corridor once a corridor\'s limit is exhausted', async () => {
    const lp2 = await addProvider(fx, 100_000n * UNIT);
    // Cheaper than the demo corridor, with a small bucket that barely refills.
    const cheap = await openCorridor(fx, lp2.gov, corridorOf(fx.a, fx.b, lp2.address, { feeBps: 0, spreadBps: 5, bucketCapacity: 150n * UNIT, bucketRefillPerSecond: 1n }), DEMO_RATES.forward);
    const sender = await fx.account();
    const receiver = await fx.account();
    await fx.mint(fx.a, sender.address, 1_000n * UNIT);
    const amount = 100n * UNIT;
    const tx = sender.on.get(fx.a.chainId)!;
    await fx.a.client.approve(tx, fx.a.token, 2n * amount);

    const pay = async (corridorIds: number[], provider: string, minOut: bigint) => {
      const uetr = fx.newUetr();
      await fx.hub.open(fx.operator, { uetr, corridorIds, amount, sender: sender.address, receiver: receiver.address, deadline: (await fx.govNow()) + 300n, minOut });
      await fx.a.client.lock(tx, { uetr, token: fx.a.token, amount, to: provider });
      return fx.settled(uetr);
    };

    const q1 = await fx.routes({ src: fx.a, dst: fx.b, sender: sender.address, receiver: receiver.address, amount });
    expect(q1.routes.map((r) => r.corridorIds)).toEqual([[cheap], [demoAB]]);
    const p1 = await pay([cheap], lp2.address, q1.routes[0]!.amountOut);
    expect(p1.state).toBe('committed');
    expect(await balance(fx.b, receiver.address)).toBe(q1.routes[0]!.amountOut);

    // The cheap corridor has 50 left: the next 100 goes over the demo corridor.
    const q2 = await fx.routes({ src: fx.a, dst: fx.b, sender: sender.address, receiver: receiver.address, amount });
    expect(q2.routes.map((r) => r.corridorIds)).toEqual([[demoAB]]);
    expect(q2.rejected).toContainEqual(expect.objectContaining({ corridorIds: [cheap], reason: 'limit_exhausted' }));
    // The chain agrees: the exhausted corridor is refused by open itself.
    const refused = await fx.hub.open(fx.operator, { uetr: fx.newUetr(), corridorIds: [cheap], amount, sender: sender.address, receiver: receiver.address, deadline: (await fx.govNow()) + 300n, minOut: 0n }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SettlementRejected);
    expect((refused as SettlementRejected).code).toBe('corridor_limit_exhausted');
    const poolLp = await fx.b.client.poolOf(fx.lp, fx.b.token);
    const p2 = await pay([demoAB], fx.lp, q2.routes[0]!.amountOut);
    expect(p2.state).toBe('committed');
    expect(await balance(fx.b, receiver.address)).toBe(q1.routes[0]!.amountOut + q2.routes[0]!.amountOut);
    expect(await fx.b.client.poolOf(fx.lp, fx.b.token)).toBe(poolLp - q2.routes[0]!.amountOut);
    expect(await balance(fx.a, lp2.address)).toBe(amount);
  }, 150_000);

  it('rejects a sender without the required attestation before any funds move, with the reason', async () => {
    const kyc = keccak256(toUtf8Bytes('qiao.test.kyc.v1')) as Hex;
    const lp3 = await addProvider(fx, 10_000n * UNIT);
    const gated = await openCorridor(fx, lp3.gov, corridorOf(fx.b, fx.a, lp3.address, { feeBps: 0, spreadBps: 0, senderSchemas: [kyc] }), DEMO_RATES.backward);
    const sender = await fx.account();
    const receiver = await fx.account();
    await fx.mint(fx.b, sender.address, 100n * UNIT);
    const amount = 40n * UNIT;
    const q = await fx.routes({ src: fx.b, dst: fx.a, sender: sender.address, receiver: receiver.address, amount });
    expect(q.rejected).toContainEqual(expect.objectContaining({ corridorIds: [gated], reason: 'sender_not_compliant' }));
    expect(q.routes.every((r) => !r.corridorIds.includes(gated))).toBe(true);

    const before = {
      sender: await balance(fx.b, sender.address),
      pool: await fx.a.client.poolOf(lp3.address, fx.a.token),
      escrowA: await balance(fx.a, fx.a.escrow),
      escrowB: await balance(fx.b, fx.b.escrow),
      open: (await fx.hub.openUetrs()).length,
    };
    const uetr = fx.newUetr();
    const err = await fx.hub.open(fx.operator, { uetr, corridorIds: [gated], amount, sender: sender.address, receiver: receiver.address, deadline: (await fx.govNow()) + 300n, minOut: 0n }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SettlementRejected);
    const r = err as SettlementRejected;
    expect(r.code).toBe('sender_not_compliant');
    // SenderNotCompliant(corridor, attestation, why): why 1 = missing (no attestation given).
    expect(r.args[0]).toBe(String(gated));
    expect(r.args[2]).toBe('1');
    expect(await fx.hub.payment(uetr)).toBeNull();
    expect((await fx.hub.openUetrs()).length).toBe(before.open);
    expect((await fx.a.client.lockOf(uetr, 1)).state).toBe('none');
    expect(await balance(fx.b, sender.address)).toBe(before.sender);
    expect(await fx.a.client.poolOf(lp3.address, fx.a.token)).toBe(before.pool);
    expect(await balance(fx.a, fx.a.escrow)).toBe(before.escrowA);
    expect(await balance(fx.b, fx.b.escrow)).toBe(before.escrowB);
  }, 120_000);
});
