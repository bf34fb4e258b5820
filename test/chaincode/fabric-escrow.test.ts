import { Wallet, keccak256 } from 'ethers';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeMessage, type QiaoMessage } from '../../src/domain/message.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { decodeSettlementPayload, encodeSettlementPayload, type SettlementPayload } from '../../src/settlement/payload.ts';
import { newUetr, uetrToBytes16 } from '../../src/settlement/uetr.ts';
import { TxFailed, eventsOf, type TxResult } from './fabric-stub.ts';
import { GOV, PORT, batchOf, enc, inbound, makeHarness, utf8, type Harness } from './fabric-harness.ts';

const HUB = ('0x' + '4b'.repeat(20)) as Hex;
const GOV_PORT = ('0x' + '9c'.repeat(20)) as Hex;
const ESCROW = utf8('qiaoescrow');

async function refused(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(TxFailed);
  expect((e as TxFailed).result.message.split(':')[0]).toBe(code);
}

const sentOf = (r: TxResult): QiaoMessage[] => eventsOf(r).filter((e) => e.name === 'MessageSent').map((e) => decodeMessage(e.payload.encoded as Hex));

describe('fabric escrow chaincode', () => {
  let h: Harness;
  let token: string;
  let alice: string;
  let bob: string;
  let nonce: bigint;
  const fromHub = async (p: SettlementPayload, over: Partial<QiaoMessage> = {}): Promise<TxResult> => {
    nonce += 1n;
    const m = enc(inbound({ srcChain: GOV, srcPort: GOV_PORT, sender: HUB, receiver: ESCROW, nonce, gasLimit: 1_000_000n, payload: encodeSettlementPayload(p), ...over }));
    return h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m], { batchNo: nonce }));
  };
  const statusOf = (r: TxResult) => (JSON.parse(r.text) as { status: string }[])[0]!.status;
  const reasonOf = async (r: TxResult) => {
    const { id } = (JSON.parse(r.text) as { id: string }[])[0]!;
    return (JSON.parse(await h.net.evaluate(h.client, 'qiaoport', 'receipt', id)) as { reason: string }).reason;
  };
  const balance = async (who: string) => BigInt(await h.net.evaluate(h.client, 'qiaoescrow', 'balanceOf', token, who));
  const pool = async (who: string) => BigInt(await h.net.evaluate(h.client, 'qiaoescrow', 'poolOf', who, token));
  const lockOf = async (uetr: string, leg: number) => {
    const s = await h.net.evaluate(h.client, 'qiaoescrow', 'lockOf', uetrToBytes16(uetr), String(leg));
    return s ? (JSON.parse(s) as { state: string; amount: string }) : undefined;
  };
  const lockedTotal = async (legs: [string, number][]) => {
    let t = 0n;
    for (const [u, l] of legs) {
      const x = await lockOf(u, l);
      if (x?.state === 'locked') t += BigInt(x.amount);
    }
    return t;
  };

  beforeEach(async () => {
    h = await makeHarness();
    nonce = 0n;
    token = new Wallet(Wallet.createRandom().privateKey).address;
    await h.net.submit(h.admin, 'qiaoescrow', 'init', JSON.stringify({ port: 'qiaoport', govChain: GOV, settlementHub: HUB, govPort: GOV_PORT }));
    alice = await h.net.evaluate(h.client, 'qiaoescrow', 'whoami');
    bob = await h.net.evaluate(h.other, 'qiaoescrow', 'whoami');
    await h.net.submit(h.admin, 'qiaoescrow', 'mint', token, alice, '100');
    await h.net.submit(h.admin, 'qiaoescrow', 'mint', token, bob, '500');
  });

  it('locks the sender leg and reports LOCKED to SettlementHub through the port, as the escrow', async () => {
    const uetr = newUetr();
    const r = await h.net.submit(h.client, 'qiaoescrow', 'lock', uetrToBytes16(uetr), token, '40', bob);
    expect(await balance(alice)).toBe(60n);
    expect(await lockOf(uetr, 0)).toMatchObject({ state: 'locked', amount: '40', from: alice, to: bob, fromPool: false });
    expect(eventsOf(r).map((e) => e.name)).toEqual(['Locked', 'MessageSent']);
    const [m] = sentOf(r);
    expect(keccak256(eventsOf(r)[1]!.payload.encoded as string)).toBe(r.text);
    expect(m).toMatchObject({ srcPort: PORT, sender: ESCROW, dstChain: GOV, dstPort: GOV_PORT, receiver: HUB, gasLimit: 1_500_000n, timeoutHeight: 0n, timeoutUnixSeconds: 0n });
    expect(decodeSettlementPayload(m!.payload)).toEqual({ kind: 'LOCKED', uetr, leg: 0, body: { token, amount: 40n, from: alice, to: bob } });
    // The port's commitment is part of the escrow's transaction.
    expect(await h.net.evaluate(h.client, 'qiaoport', 'committed', r.text)).toBe('true');
    await refused(h.net.submit(h.client, 'qiaoescrow', 'lock', uetrToBytes16(uetr), token, '1', bob), 'lock_exists');
    await refused(h.net.submit(h.client, 'qiaoescrow', 'lock', uetrToBytes16(newUetr()), token, '61', bob), 'insufficient_balance');
    expect(await balance(alice)).toBe(60n);
  });

  it('releases on RELEASE from the hub, once', async () => {
    const uetr = newUetr();
    await h.net.submit(h.client, 'qiaoescrow', 'lock', uetrToBytes16(uetr), token, '40', bob);
    expect(statusOf(await fromHub({ kind: 'RELEASE', uetr, leg: 0 }))).toBe('delivered');
    expect(await balance(bob)).toBe(540n);
    expect((await lockOf(uetr, 0))?.state).toBe('released');
    const again = await fromHub({ kind: 'RELEASE', uetr, leg: 0 });
    expect(statusOf(again)).toBe('failed');
    expect(await reasonOf(again)).toContain('not_locked');
    expect(statusOf(await fromHub({ kind: 'REFUND', uetr, leg: 0 }))).toBe('failed');
    expect(await balance(bob)).toBe(540n);
    expect(await balance(alice)).toBe(60n);
  });

  it('refunds the sender on REFUND from the hub', async () => {
    const uetr = newUetr();
    await h.net.submit(h.client, 'qiaoescrow', 'lock', uetrToBytes16(uetr), token, '40', bob);
    expect(statusOf(await fromHub({ kind: 'REFUND', uetr, leg: 0 }))).toBe('delivered');
    expect(await balance(alice)).toBe(100n);
    expect((await lockOf(uetr, 0))?.state).toBe('refunded');
    expect(statusOf(await fromHub({ kind: 'RELEASE', uetr, leg: 0 }))).toBe('failed');
    expect(await balance(bob)).toBe(500n);
  });

  it('reserves provider legs from the pool, reports LOCKED or LOCK_FAILED, and refunds to the pool', async () => {
    await h.net.submit(h.other, 'qiaoescrow', 'deposit', token, '300');
    expect(await pool(bob)).toBe(300n);
    const uetr = newUetr();
    const r = await fromHub({ kind: 'RESERVE', uetr, leg: 1, body: { token, amount: 120n, from: bob, to: alice } });
    expect(statusOf(r)).toBe('delivered');
    expect(await pool(bob)).toBe(180n);
    const [locked] = sentOf(r);
    expect(locked).toMatchObject({ sender: ESCROW, dstChain: GOV, dstPort: GOV_PORT, receiver: HUB });
    expect(decodeSettlementPayload(locked!.payload)).toEqual({ kind: 'LOCKED', uetr, leg: 1, body: { token, amount: 120n, from: bob, to: alice } });

    const short = await fromHub({ kind: 'RESERVE', uetr, leg: 2, body: { token, amount: 1000n, from: bob, to: alice } });
    expect(statusOf(short)).toBe('delivered');
    expect(decodeSettlementPayload(sentOf(short)[0]!.payload)).toEqual({ kind: 'LOCK_FAILED', uetr, leg: 2, reason: 'insufficient liquidity' });
    expect(await lockOf(uetr, 2)).toBeUndefined();
    expect(statusOf(await fromHub({ kind: 'RESERVE', uetr, leg: 1, body: { token, amount: 1n, from: bob, to: alice } }))).toBe('failed');

    expect(statusOf(await fromHub({ kind: 'REFUND', uetr, leg: 1 }))).toBe('delivered');
    expect(await pool(bob)).toBe(300n);
    await h.net.submit(h.other, 'qiaoescrow', 'withdraw', token, '300');
    expect(await balance(bob)).toBe(500n);
    await refused(h.net.submit(h.other, 'qiaoescrow', 'withdraw', token, '1'), 'insufficient_balance');
  });

  it('takes messages only from SettlementHub through the port', async () => {
    const uetr = newUetr();
    await h.net.submit(h.client, 'qiaoescrow', 'lock', uetrToBytes16(uetr), token, '40', bob);
    const notHub = await fromHub({ kind: 'RELEASE', uetr, leg: 0 }, { sender: ('0x' + '01'.repeat(20)) as Hex });
    expect(await reasonOf(notHub)).toContain('not_settlement_hub');
    const otherChain = await fromHub({ kind: 'RELEASE', uetr, leg: 0 }, { srcChain: 'eip155:1' as never });
    expect(await reasonOf(otherChain)).toContain('not_settlement_hub');
    await refused(
      h.net.submit(h.client, 'qiaoescrow', 'qiaoReceive', keccak256('0x01'), GOV, HUB, encodeSettlementPayload({ kind: 'RELEASE', uetr, leg: 0 })),
      'not_port',
    );
    await refused(h.net.submit(h.client, 'qiaoescrow', 'mint', token, alice, '1'), 'not_admin');
    expect((await lockOf(uetr, 0))?.state).toBe('locked');
    expect(await balance(bob)).toBe(500n);
  });

  it('conserves value across locks, releases and refunds', async () => {
    await h.net.submit(h.other, 'qiaoescrow', 'deposit', token, '200');
    const [u1, u2, u3] = [newUetr(), newUetr(), newUetr()];
    await h.net.submit(h.client, 'qiaoescrow', 'lock', uetrToBytes16(u1), token, '30', bob);
    await h.net.submit(h.client, 'qiaoescrow', 'lock', uetrToBytes16(u2), token, '20', bob);
    await fromHub({ kind: 'RESERVE', uetr: u3, leg: 1, body: { token, amount: 50n, from: bob, to: alice } });
    await fromHub({ kind: 'RELEASE', uetr: u1, leg: 0 });
    await fromHub({ kind: 'REFUND', uetr: u2, leg: 0 });
    const legs: [string, number][] = [[u1, 0], [u2, 0], [u3, 1]];
    const total = (await balance(alice)) + (await balance(bob)) + (await pool(bob)) + (await lockedTotal(legs));
    expect(total).toBe(BigInt(await h.net.evaluate(h.client, 'qiaoescrow', 'totalSupply', token)));
    expect(total).toBe(600n);
    expect(await balance(alice)).toBe(70n);
    expect(await balance(bob)).toBe(330n);
    expect(uetrToBytes16(u1)).toMatch(/^0x[0-9a-f]{32}$/);
  });
});
