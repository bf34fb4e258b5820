import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interface, Wallet } from 'ethers';
import { pausePort } from '../../relayer/attestor/pause.ts';
import { hopOutput, type PaymentView } from '../../src/settlement/index.ts';
import { UNIT, balance, startSettlementFixture, type Chain, type Fixture } from './settlement-fixture.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const SEED = Number(process.env.QIAO_SEED ?? randomInt(1, 2 ** 31 - 1));
const N = Number(process.env.QIAO_SETTLEMENT_N ?? 6);

interface Planned {
  uetr: string;
  src: Chain;
  dst: Chain;
  corridor: number;
  amount: bigint;
  out: bigint;
  sender: number;
  receiver: number;
  locks: boolean;
  lockDelayMs: number;
}

/**
 * Property: under random faults (lock delays, a relayer restart, a port paused
 * by an attestor then resumed, senders that never lock), every payment ends
 * either committed with every leg released, or aborted with every locked leg
 * refunded - never both - and every token is where the outcomes say, read from
 * the chains. The seed is printed; QIAO_SEED=<seed> replays it.
 */
describe(`settlement under faults (seed ${SEED})`, () => {
  let fx: Fixture;

  beforeAll(async () => {
    console.log(`settlement-faults seed=${SEED} (replay with QIAO_SEED=${SEED})`);
    fx = await startSettlementFixture();
  }, 180_000);

  afterAll(async () => {
    await fx?.stop();
  });

  it(`${N} random payments: all-or-nothing per payment, value conserved`, async () => {
    const rand = seededRandom(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const { a, b, lp } = fx;
    const [ab, ba] = fx.t.hub.settlement!.deployment.state.corridors as [number, number];
    const senders = await Promise.all([0, 1, 2].map(() => fx.account()));
    const receivers = await Promise.all([0, 1].map(() => fx.account()));
    const FUND = 5_000n * UNIT;
    await Promise.all(senders.flatMap((s) => [a, b].map((c) => fx.mint(c, s.address, FUND))));
    await Promise.all(senders.flatMap((s) => [a, b].map((c) => c.client.approve(s.on.get(c.chainId)!, c.token, FUND))));

    // Everyone whose balance may move, and the escrows.
    const accounts = [...senders.map((s) => s.address), ...receivers.map((r) => r.address), lp];
    const snapshot = async () => {
      const m = new Map<string, bigint>();
      for (const c of [a, b]) {
        for (const x of [...accounts, c.escrow]) m.set(`${c.chainId}/${x}`, await balance(c, x));
        m.set(`${c.chainId}/pool`, await c.client.poolOf(lp, c.token));
      }
      return m;
    };
    const before = await snapshot();

    // ------------------------------------------------------------- the plan
    const corridors = new Map([ab, ba].map((id) => [id, null as null | Awaited<ReturnType<typeof fx.hub.corridor>>]));
    for (const id of corridors.keys()) corridors.set(id, await fx.hub.corridor(id));
    const plan: Planned[] = [];
    for (let i = 0; i < N; i++) {
      const forward = rand() < 0.5;
      const corridor = forward ? ab : ba;
      const cv = corridors.get(corridor)!;
      const amount = BigInt(1 + Math.floor(rand() * 300)) * UNIT + BigInt(Math.floor(rand() * Number(UNIT)));
      plan.push({
        uetr: fx.newUetr(),
        src: forward ? a : b,
        dst: forward ? b : a,
        corridor,
        amount,
        out: hopOutput(amount, cv.corridor, cv.rate).out,
        sender: Math.floor(rand() * senders.length),
        receiver: Math.floor(rand() * receivers.length),
        locks: rand() < 0.7,
        lockDelayMs: Math.floor(rand() * 4000),
      });
    }
    // At least one of each kind, whatever the seed.
    plan[0]!.locks = true;
    plan[N - 1]!.locks = false;
    const restartAfter = Math.floor(rand() * N);
    const pauseChain = pick([a, b]);
    const pauseAfter = Math.floor(rand() * N);
    const pauseMs = 2000 + Math.floor(rand() * 3000);
    console.log(
      `plan: ${plan.map((p, i) => `#${i} ${p.src === a ? 'A->B' : 'B->A'} ${p.amount} ${p.locks ? `lock+${p.lockDelayMs}ms` : 'never locks'}`).join('; ')}; relayer restart after #${restartAfter}; pause ${pauseChain.chainId} after #${pauseAfter} for ${pauseMs} ms`,
    );

    // ------------------------------------------------------------------ run
    const portIface = new Interface(['function pause(bool p)', 'function paused() view returns (bool)']);
    const portOf = (c: Chain) => fx.t.hub.demo!.chains.find((d) => d.chainId === c.chainId)!.port;
    // Attached at once, so a failing step is reported with the test, never as an unhandled rejection.
    const background: Promise<unknown>[] = [];
    const failures: unknown[] = [];
    const track = (p: Promise<unknown>) => background.push(p.catch((e: unknown) => failures.push(e)));
    // The attestor key pays for its pause transaction.
    await pauseChain.provider.send('anvil_setBalance', [new Wallet(fx.keys.attestor).address, '0x3635C9ADC5DEA00000']);
    for (const [i, p] of plan.entries()) {
      const now = await fx.govNow();
      // Senders that never lock get a short deadline (the keeper aborts); the others a long one.
      const deadline = now + (p.locks ? 150n : 12n + BigInt(Math.floor(rand() * 8)));
      await fx.hub.open(fx.operator, {
        uetr: p.uetr,
        corridorIds: [p.corridor],
        amount: p.amount,
        sender: senders[p.sender]!.address,
        receiver: receivers[p.receiver]!.address,
        deadline,
        minOut: p.out,
      });
      if (p.locks) {
        const tx = senders[p.sender]!.on.get(p.src.chainId)!;
        const cv = corridors.get(p.corridor)!;
        track(
          new Promise((r) => setTimeout(r, p.lockDelayMs)).then(() => p.src.client.lock(tx, { uetr: p.uetr, token: p.src.token, amount: p.amount, to: cv.corridor.provider })),
        );
      }
      if (i === restartAfter) track(fx.t.hub.restartRelayer());
      if (i === pauseAfter) {
        track(
          (async () => {
            // Any single attestor pauses a port; only its admin (the hub's governor key, which deployed it) resumes.
            await pausePort({ privateKey: fx.keys.attestor, port: portOf(pauseChain), rpcUrl: pauseChain.url });
            await new Promise((r) => setTimeout(r, pauseMs));
            await pauseChain.owner.send({ to: portOf(pauseChain), data: portIface.encodeFunctionData('pause', [false]) });
          })(),
        );
      }
    }
    await Promise.all(background);
    expect(failures).toEqual([]);

    // -------------------------------------------------------------- outcome
    const results: PaymentView[] = [];
    for (const p of plan) results.push(await fx.settled(p.uetr, 120_000));
    const expected = new Map(before);
    const add = (k: string, v: bigint) => expected.set(k, expected.get(k)! + v);
    for (const [i, p] of plan.entries()) {
      const r = results[i]!;
      const chains = [p.src, p.dst];
      const locks = await Promise.all(r.legs.map((_, leg) => chains[leg]!.client.lockOf(p.uetr, leg)));
      const states = locks.map((l) => l.state);
      if (r.state === 'committed') {
        expect(r.legs.map((l) => l.state)).toEqual(['release_sent', 'release_sent']);
        expect(states).toEqual(['released', 'released']);
        add(`${p.src.chainId}/${senders[p.sender]!.address}`, -p.amount);
        add(`${p.src.chainId}/${lp}`, p.amount);
        add(`${p.dst.chainId}/${receivers[p.receiver]!.address}`, p.out);
        add(`${p.dst.chainId}/pool`, -p.out);
        add(`${p.dst.chainId}/${p.dst.escrow}`, -p.out);
      } else {
        expect(r.state).toBe('aborted');
        // Never both: nothing released, and every lock that was made came back.
        expect(states).not.toContain('released');
        expect(states).not.toContain('locked');
        for (const [leg, l] of r.legs.entries()) {
          if (states[leg] === 'refunded') expect(l.state).toBe('refund_sent');
          else expect(['pending', 'lock_failed']).toContain(l.state);
        }
        if (!p.locks) expect(states[0]).toBe('none');
      }
    }
    console.log(`outcomes: ${results.map((r, i) => `#${i} ${r.state}`).join(', ')}`);
    expect(results.filter((r) => r.state === 'committed').length).toBeGreaterThanOrEqual(1);
    expect(results.filter((r) => r.state === 'aborted').length).toBeGreaterThanOrEqual(1);

    // Every balance, pool and escrow holding is exactly what the outcomes say.
    const after = await snapshot();
    for (const [k, v] of expected) expect(`${k}=${after.get(k)}`).toBe(`${k}=${v}`);
    for (const c of [a, b]) {
      // No tokens left in an escrow beyond the LP's pool: nothing stuck in a lock.
      expect(after.get(`${c.chainId}/${c.escrow}`)).toBe(after.get(`${c.chainId}/pool`));
      let total = 0n;
      let totalBefore = 0n;
      for (const x of [...accounts, c.escrow]) {
        total += after.get(`${c.chainId}/${x}`)!;
        totalBefore += before.get(`${c.chainId}/${x}`)!;
      }
      expect(total).toBe(totalBefore);
    }
    expect(await fx.hub.openUetrs()).toEqual([]);
  }, 200_000);
});
