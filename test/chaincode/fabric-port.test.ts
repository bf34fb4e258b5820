import { AbiCoder, Wallet, keccak256 } from 'ethers';
import { Contract, type Context } from 'fabric-contract-api';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/domain/message.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { QiaoReceiverContract } from '../../adapters/fabric/chaincode/receiver/contract.ts';
import { TxFailed, eventsOf, type TxResult } from './fabric-stub.ts';
import { EVM, EVM_PORT, FABRIC, GOV, GOV_PORT, PORT, RECEIVER, TIMEOUT_AUTHORITY, batchOf, enc, inbound, makeHarness, senderHash, utf8, type Harness } from './fabric-harness.ts';

const abi = AbiCoder.defaultAbiCoder();

/** A receiver that calls the port's send during deliver instead of returning an outbox. */
class Reentrant extends Contract {
  constructor() {
    super('reentrant');
  }
  async qiaoReceive(ctx: Context): Promise<string> {
    const r = await ctx.stub.invokeChaincode('qiaoport', ['send', EVM, EVM_PORT, EVM_PORT, '1', '0', '0', '0x'], ctx.stub.getChannelID());
    if (r.status >= 400) throw new Error(r.message);
    return '';
  }
}

async function refused(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(TxFailed);
  expect((e as TxFailed).result.message.split(':')[0]).toBe(code);
}

const receiptOf = async (h: Harness, id: string) => {
  const s = await h.net.evaluate(h.client, 'qiaoport', 'receipt', id);
  return s ? (JSON.parse(s) as { status: string; reason: string }) : undefined;
};
const count = async (h: Harness) => Number(await h.net.evaluate(h.client, 'qiaoreceiver', 'count'));
const sentOf = (r: TxResult) => eventsOf(r).filter((e) => e.name === 'MessageSent').map((e) => decodeMessage(e.payload.encoded as Hex));

describe('fabric port chaincode: send', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });

  it('assigns lane nonces from 1 per destination, commits and emits MessageSent', async () => {
    const send = (dst: string, payload: string) => h.net.submit(h.client, 'qiaoport', 'send', dst, EVM_PORT, '0x' + '33'.repeat(20), '50000', '0', '0', utf8(payload));
    const r1 = await send(EVM, 'a');
    const r2 = await send(EVM, 'b');
    const r3 = await send('cosmos:hub-1', 'c');
    const ms = [r1, r2, r3].map((r) => {
      expect(r.event?.name).toBe('MessageSent');
      const [ev] = eventsOf(r);
      expect(ev!.payload.id).toBe(r.text);
      expect(keccak256(ev!.payload.encoded as string)).toBe(r.text);
      return decodeMessage(ev!.payload.encoded as Hex);
    });
    expect(ms.map((m) => m.nonce)).toEqual([1n, 2n, 1n]);
    expect(ms[0]).toMatchObject({ srcChain: FABRIC, srcPort: PORT, dstChain: EVM, payload: utf8('a') });
    // The sender is the client's identity hash, sha256(mspId || 0x00 || certificate DER).
    expect(ms[0]!.sender).toBe(senderHash(h.client.mspId, h.client.der));
    expect(await h.net.evaluate(h.client, 'qiaoport', 'laneNonce', EVM)).toBe('2');
    expect(await h.net.evaluate(h.client, 'qiaoport', 'committed', r2.text)).toBe('true');
    expect(await h.net.evaluate(h.client, 'qiaoport', 'committed', keccak256('0x01'))).toBe('false');
    // The commitment is the composite key commit/<id> = 0x01 in the port's namespace.
    expect(h.net.committedValue('qiaoport', `\u0000commit\u0000${r1.text}\u0000`)).toEqual(new Uint8Array([1]));
  });

  it('names a calling chaincode as the sender', async () => {
    const r = await h.net.submit(h.client, 'qiaoreceiver', 'send', EVM, EVM_PORT, '0x' + '33'.repeat(20), '50000', '0', '100', utf8('x'));
    const [m] = sentOf(r);
    expect(m!.sender).toBe(RECEIVER);
    expect(keccak256(encodeMessage(m!))).toBe(r.text);
  });

  it('refuses bad arguments and oversized payloads', async () => {
    await refused(h.net.submit(h.client, 'qiaoport', 'send', 'not a chain', EVM_PORT, '0x01', '1', '0', '0', '0x'), 'bad_argument');
    await refused(h.net.submit(h.client, 'qiaoport', 'send', EVM, 'zz', '0x01', '1', '0', '0', '0x'), 'bad_argument');
    await refused(h.net.submit(h.client, 'qiaoport', 'send', EVM, EVM_PORT, '0x01', '18446744073709551616', '0', '0', '0x'), 'bad_argument');
    await refused(h.net.submit(h.client, 'qiaoport', 'send', EVM, EVM_PORT, '0x01', '1', '0', '0', '0x' + '00'.repeat(64 * 1024 + 1)), 'payload_too_large');
    await refused(h.net.submit(h.client, 'qiaoport', 'init', '{}'), 'already_initialised');
  });
});

describe('fabric port chaincode: deliver', () => {
  it('delivers a 1-of-1 attested message to the receiver chaincode', async () => {
    const h = await makeHarness();
    const m = inbound();
    const r = await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [enc(m)]));
    const id = keccak256(enc(m));
    expect(JSON.parse(r.text)).toEqual([{ id, status: 'delivered' }]);
    expect(eventsOf(r)).toEqual([{ name: 'MessageDelivered', payload: { id, status: 'delivered', reason: '' } }]);
    expect(await receiptOf(h, id)).toEqual({ status: 'delivered', reason: '' });
    expect(await count(h)).toBe(1);
    expect(JSON.parse(await h.net.evaluate(h.client, 'qiaoreceiver', 'last'))).toEqual({ id, srcChain: EVM, sender: m.sender, payload: m.payload });
  });

  it('delivers under 2-of-3 and refuses below the threshold, duplicates and non-members', async () => {
    const h = await makeHarness({ members: 3, threshold: 2 });
    const [a, b, c] = h.attestors as [Wallet, Wallet, Wallet];
    const m1 = enc(inbound({ nonce: 1n }));
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m1], { signers: [a] })), 'not_enough_signatures');
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m1], { signers: [a, a] })), 'not_enough_signatures');
    const outsider = new Wallet(Wallet.createRandom().privateKey);
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m1], { signers: [a, outsider] })), 'not_enough_signatures');
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m1], { signers: [a, c], setId: 2n })), 'wrong_set');
    expect(await count(h)).toBe(0);
    await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m1], { signers: [c, b] }));
    expect(await count(h)).toBe(1);
  });

  it('refuses forged and tampered signatures', async () => {
    const h = await makeHarness();
    const m = enc(inbound());
    const good = JSON.parse(await batchOf(h, [m])) as { signatures: string[]; batchNo: string };
    // Signed for another batch number: the digest differs, the recovered key is no member.
    const replayed = JSON.parse(await batchOf(h, [m])) as { batchNo: string };
    replayed.batchNo = '2';
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', JSON.stringify(replayed)), 'not_enough_signatures');
    const sig = good.signatures[0]!;
    const flipped = sig.slice(0, 10) + (sig[10] === '0' ? '1' : '0') + sig.slice(11);
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', JSON.stringify({ ...good, signatures: [flipped] })), 'not_enough_signatures');
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', JSON.stringify({ ...good, signatures: ['0x1234'] })), 'not_enough_signatures');
    const forger = new Wallet(Wallet.createRandom().privateKey);
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m], { signers: [forger] })), 'not_enough_signatures');
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', 'not json'), 'bad_batch');
    expect(await count(h)).toBe(0);
  });

  it('refuses a bad Merkle proof and a message outside the root', async () => {
    const h = await makeHarness();
    const m1 = enc(inbound({ nonce: 1n }));
    const m2 = enc(inbound({ nonce: 2n }));
    const b = JSON.parse(await batchOf(h, [m1], { others: [keccak256(enc(inbound({ nonce: 3n }))) as Hex] })) as { items: { encoded: string; proof: string[] }[] };
    const wrongProof = { ...b, items: [{ encoded: m1, proof: [keccak256('0x02')] }] };
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', JSON.stringify(wrongProof)), 'not_in_batch');
    const notInRoot = { ...b, items: [{ encoded: m2, proof: b.items[0]!.proof }] };
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', JSON.stringify(notInRoot)), 'not_in_batch');
    expect(await count(h)).toBe(0);
  });

  it('refuses a message for another chain or another port', async () => {
    const h = await makeHarness();
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [enc(inbound({ dstChain: 'fabric:qiaonet_other' as never }))])), 'wrong_destination');
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [enc(inbound({ dstPort: utf8('payments/otherport') }))])), 'wrong_port');
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [enc(inbound({ receiver: utf8('no chaincode!') }))])), 'bad_receiver');
    expect(await count(h)).toBe(0);
  });

  it('refuses an id delivered twice, in a later transaction and inside one batch', async () => {
    const h = await makeHarness();
    const m = enc(inbound());
    await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m]));
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m], { batchNo: 2n })), 'already_delivered');
    // Fabric reads do not see the transaction's own writes: the port must still catch the repeat.
    const m2 = enc(inbound({ nonce: 2n }));
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m2, m2], { batchNo: 3n })), 'already_delivered');
    expect(await count(h)).toBe(1);
  });

  it('delivers a batch to several receivers and answers each timed message with an ack on its lane', async () => {
    const h = await makeHarness();
    h.net.install('qiaoreceiver2', new QiaoReceiverContract());
    h.net.install('qiaoreceiver3', new QiaoReceiverContract());
    const receivers = [RECEIVER, utf8('qiaoreceiver2'), utf8('qiaoreceiver3')];
    const ms = receivers.map((receiver, i) => enc(inbound({ nonce: BigInt(i + 1), receiver, timeoutUnixSeconds: 2_000_000_000n })));
    const r = await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, ms));
    expect(r.event?.name).toBe('QiaoEvents');
    const acks = sentOf(r);
    // One lane back to the source: nonces 1, 2, 3 although every read saw the committed nonce 0.
    expect(acks.map((a) => a.nonce)).toEqual([1n, 2n, 3n]);
    for (const [i, a] of acks.entries()) {
      expect(a).toMatchObject({ srcChain: FABRIC, srcPort: PORT, sender: PORT, dstChain: EVM, dstPort: EVM_PORT, receiver: EVM_PORT, gasLimit: 200_000n, timeoutHeight: 0n, timeoutUnixSeconds: 0n });
      const [outcome, id, reason] = abi.decode(['uint8', 'bytes32', 'bytes'], a.payload);
      expect([Number(outcome), id, reason]).toEqual([1, keccak256(ms[i]!), '0x']);
    }
    expect(await h.net.evaluate(h.client, 'qiaoport', 'laneNonce', EVM)).toBe('3');
    for (const name of ['qiaoreceiver', 'qiaoreceiver2', 'qiaoreceiver3']) expect(await h.net.evaluate(h.client, name, 'count')).toBe('1');
  });

  it('invokes a receiver once per transaction and defers its other messages', async () => {
    const h = await makeHarness();
    const ms = [1n, 2n, 3n].map((n) => enc(inbound({ nonce: n })));
    const ids = ms.map((m) => keccak256(m));
    const r = await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, ms));
    expect(JSON.parse(r.text)).toEqual([
      { id: ids[0], status: 'delivered' },
      { id: ids[1], status: 'deferred' },
      { id: ids[2], status: 'deferred' },
    ]);
    expect(await receiptOf(h, ids[1]!)).toBeUndefined();
    expect(await count(h)).toBe(1);
    // The relayer resubmits what was deferred; the count the receiver keeps stays exact.
    await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [ms[1]!], { batchNo: 2n }));
    await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [ms[2]!], { batchNo: 3n }));
    expect(await count(h)).toBe(3);
  });

  it('records a failing receiver as a failed receipt with an error ack, and lets it be retried', async () => {
    const h = await makeHarness();
    const m = enc(inbound({ payload: utf8('fail please'), timeoutHeight: 900n }));
    const id = keccak256(m);
    const r = await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m]));
    const receipt = await receiptOf(h, id);
    expect(receipt?.status).toBe('failed');
    expect(receipt?.reason).toContain('receiver_refused');
    expect(eventsOf(r).find((e) => e.name === 'MessageDelivered')?.payload).toMatchObject({ id, status: 'failed' });
    const [ack] = sentOf(r);
    const [outcome, ackId, reason] = abi.decode(['uint8', 'bytes32', 'bytes'], ack!.payload);
    expect([Number(outcome), ackId]).toEqual([2, id]);
    expect(Buffer.from((reason as string).slice(2), 'hex').toString()).toContain('refused: fail please');
    expect(await count(h)).toBe(0);
    // Failed is retryable; failing again sends no second ack.
    const again = await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [m], { batchNo: 2n }));
    expect(sentOf(again)).toEqual([]);
    expect((await receiptOf(h, id))?.status).toBe('failed');
  });
});

describe('fabric port chaincode: cancel and acks', () => {
  /** An attested cancel order: the timeout authority's message on the governance chain's port, carrying the original's bytes. */
  const cancelOrder = (original: Hex, over: Partial<Parameters<typeof inbound>[0]> = {}) =>
    enc(
      inbound({
        srcChain: GOV,
        srcPort: GOV_PORT,
        sender: TIMEOUT_AUTHORITY,
        receiver: PORT,
        payload: abi.encode(['uint8', 'bytes32', 'bytes'], [3, keccak256(original), original]) as Hex,
        ...over,
      }),
    );

  it('applies a cancel order delivered as an ordinary item: cancel marker, cancel ack to the source, a later deliver refused', async () => {
    const h = await makeHarness();
    const original = enc(inbound({ timeoutUnixSeconds: 1_700_000_000n }));
    const other = enc(inbound({ nonce: 2n }));
    const id = keccak256(original);
    const order = cancelOrder(original);
    const r = await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [order, other]));
    expect(JSON.parse(r.text)).toEqual([
      { id: keccak256(order), status: 'delivered' },
      { id: keccak256(other), status: 'delivered' },
    ]);
    expect(await receiptOf(h, id)).toEqual({ status: 'cancelled', reason: '' });
    expect(eventsOf(r).find((e) => e.name === 'MessageCancelled')?.payload).toEqual({ id, order: keccak256(order) });
    const [ack] = sentOf(r);
    expect(ack).toMatchObject({ dstChain: EVM, dstPort: EVM_PORT, receiver: EVM_PORT, sender: PORT, timeoutHeight: 0n, timeoutUnixSeconds: 0n });
    const [outcome, ackId] = abi.decode(['uint8', 'bytes32', 'bytes'], ack!.payload);
    expect([Number(outcome), ackId]).toEqual([3, id]);
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [original], { batchNo: 2n })), 'cancelled');
    // The same order again is a seen id; a second order for the same message is a failed receipt, no second ack.
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [order], { batchNo: 3n })), 'already_delivered');
    const again = cancelOrder(original, { nonce: 5n });
    const r2 = await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [again], { batchNo: 4n }));
    expect(await receiptOf(h, keccak256(again))).toEqual({ status: 'failed', reason: 'already_cancelled' });
    expect(sentOf(r2)).toEqual([]);
    expect(await count(h)).toBe(1);
  });

  it('gives an order for a delivered message a failed receipt (cannot_cancel) while the other items go on; cancels a failed one', async () => {
    const h = await makeHarness();
    const delivered = enc(inbound({ timeoutUnixSeconds: 1_700_000_000n }));
    const failing = enc(inbound({ nonce: 2n, timeoutUnixSeconds: 1_700_000_000n, payload: utf8('fail: no') }));
    // One receiver call per transaction: two deliveries.
    await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [delivered]));
    await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [failing], { batchNo: 5n }));
    expect((await receiptOf(h, keccak256(failing)))?.status).toBe('failed');
    const late = enc(inbound({ nonce: 3n }));
    const [o1, o2] = [cancelOrder(delivered), cancelOrder(failing, { nonce: 2n })];
    const r = await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [o1, late, o2], { batchNo: 2n }));
    expect(JSON.parse(r.text)).toEqual([
      { id: keccak256(o1), status: 'failed' },
      { id: keccak256(late), status: 'delivered' },
      { id: keccak256(o2), status: 'delivered' },
    ]);
    expect(await receiptOf(h, keccak256(o1))).toEqual({ status: 'failed', reason: 'cannot_cancel' });
    expect((await receiptOf(h, keccak256(delivered)))?.status).toBe('delivered');
    expect((await receiptOf(h, keccak256(failing)))?.status).toBe('cancelled');
    const acks = sentOf(r).map((m) => abi.decode(['uint8', 'bytes32', 'bytes'], m.payload));
    expect(acks.map(([o, i]) => [Number(o), i])).toEqual([[3, keccak256(failing)]]);
  });

  it('treats look-alike orders as ordinary messages or refuses them: another sender, another port, a wrong original', async () => {
    const h = await makeHarness();
    const original = enc(inbound({ timeoutUnixSeconds: 1_700_000_000n }));
    const id = keccak256(original);
    // Not the authority, or not the governance port: an ordinary message to the port itself (an ack it does not expect).
    const forged = cancelOrder(original, { sender: ('0x' + '66'.repeat(20)) as Hex });
    const fromEvm = cancelOrder(original, { srcChain: EVM, nonce: 2n });
    await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [forged, fromEvm]));
    expect((await receiptOf(h, keccak256(forged)))?.status).toBe('failed');
    expect((await receiptOf(h, keccak256(fromEvm)))?.status).toBe('failed');
    // The authority's order whose bytes are not the original's, or whose original has no timeout.
    const wrongBytes = cancelOrder(original, { nonce: 3n, payload: abi.encode(['uint8', 'bytes32', 'bytes'], [3, id, enc(inbound({ nonce: 9n }))]) as Hex });
    const noTimeout = enc(inbound({ nonce: 4n }));
    const untimed = cancelOrder(noTimeout, { nonce: 4n });
    await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [wrongBytes, untimed], { batchNo: 2n }));
    expect(await receiptOf(h, keccak256(wrongBytes))).toEqual({ status: 'failed', reason: 'bad_original' });
    expect(await receiptOf(h, keccak256(untimed))).toEqual({ status: 'failed', reason: 'no_timeout' });
    expect(await receiptOf(h, id)).toBeUndefined();
    // Unattested: the whole transaction is refused.
    const stranger = new Wallet(Wallet.createRandom().privateKey);
    await refused(h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [cancelOrder(original, { nonce: 6n })], { signers: [stranger], batchNo: 3n })), 'not_enough_signatures');
    expect(await receiptOf(h, id)).toBeUndefined();
  });

  it('the cancel transaction applies orders only, and fails unless every one takes effect', async () => {
    const h = await makeHarness();
    const original = enc(inbound({ timeoutUnixSeconds: 1_700_000_000n }));
    const id = keccak256(original);
    await refused(h.net.submit(h.client, 'qiaoport', 'cancel', await batchOf(h, [original])), 'not_a_cancel_order');
    const r = await h.net.submit(h.client, 'qiaoport', 'cancel', await batchOf(h, [cancelOrder(original)], { batchNo: 2n }));
    expect(JSON.parse(r.text)).toEqual([id]);
    expect(await receiptOf(h, id)).toEqual({ status: 'cancelled', reason: '' });
    await refused(h.net.submit(h.client, 'qiaoport', 'cancel', await batchOf(h, [cancelOrder(original, { nonce: 2n })], { batchNo: 3n })), 'already_cancelled');
    const d = enc(inbound({ nonce: 2n, timeoutUnixSeconds: 1_700_000_000n }));
    await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [d], { batchNo: 4n }));
    await refused(h.net.submit(h.client, 'qiaoport', 'cancel', await batchOf(h, [cancelOrder(d, { nonce: 3n })], { batchNo: 5n })), 'cannot_cancel');
    expect((await receiptOf(h, keccak256(d)))?.status).toBe('delivered');
  });

  it('records acks for its own messages and refunds the sending chaincode on cancelled', async () => {
    const h = await makeHarness();
    const sendTimed = async (p: string) =>
      (await h.net.submit(h.client, 'qiaoreceiver', 'send', EVM, EVM_PORT, '0x' + '33'.repeat(20), '50000', '0', '1700000000', utf8(p))).text;
    const delivered = await sendTimed('one');
    const cancelled = await sendTimed('two');
    const ackFrom = (nonce: bigint, outcome: number, id: string, over: Partial<Parameters<typeof inbound>[0]> = {}) =>
      enc(inbound({ srcChain: EVM, srcPort: EVM_PORT, sender: EVM_PORT, receiver: PORT, nonce, gasLimit: 200_000n, payload: abi.encode(['uint8', 'bytes32', 'bytes'], [outcome, id, '0x']) as Hex, ...over }));
    const fromWrongPort = ackFrom(1n, 1, delivered, { srcPort: ('0x' + '99'.repeat(20)) as Hex, sender: ('0x' + '99'.repeat(20)) as Hex });
    const r = await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [ackFrom(1n, 1, delivered), ackFrom(2n, 3, cancelled), fromWrongPort]));
    expect(JSON.parse(r.text).map((x: { status: string }) => x.status)).toEqual(['delivered', 'delivered', 'failed']);
    expect(JSON.parse(await h.net.evaluate(h.client, 'qiaoport', 'ack', delivered))).toEqual({ outcome: 'delivered', reason: '' });
    expect(JSON.parse(await h.net.evaluate(h.client, 'qiaoport', 'ack', cancelled))).toMatchObject({ outcome: 'cancelled', refunded: true });
    expect(await h.net.evaluate(h.client, 'qiaoreceiver', 'refunded', cancelled)).toBe('true');
    expect(await h.net.evaluate(h.client, 'qiaoreceiver', 'refunded', delivered)).toBe('false');
    expect((await receiptOf(h, keccak256(fromWrongPort)))?.reason).toContain('ack_from_wrong_port');
    // Acks are never answered, and a final ack is not overwritten.
    expect(sentOf(r)).toEqual([]);
    const late = await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [ackFrom(3n, 3, delivered)], { batchNo: 2n }));
    expect(JSON.parse(late.text)[0].status).toBe('failed');
    expect(JSON.parse(await h.net.evaluate(h.client, 'qiaoport', 'ack', delivered)).outcome).toBe('delivered');
  });

  it('gives a failed receipt for a receiver that is not installed or calls the port back', async () => {
    const h = await makeHarness();
    h.net.install('reentrant', new Reentrant());
    const missing = enc(inbound({ receiver: utf8('nosuchcc') }));
    const back = enc(inbound({ receiver: utf8('reentrant'), nonce: 2n }));
    const r = await h.net.submit(h.client, 'qiaoport', 'deliver', await batchOf(h, [missing, back]));
    expect(JSON.parse(r.text).map((x: { status: string }) => x.status)).toEqual(['failed', 'failed']);
    expect((await receiptOf(h, keccak256(missing)))?.reason).toContain('receiver unreachable');
    // The peer refuses A -> B -> A outright; the port's own check stays as a second line.
    expect((await receiptOf(h, keccak256(back)))?.reason).toMatch(/exists|reentrant_send/);
    expect(await h.net.evaluate(h.client, 'qiaoport', 'laneNonce', EVM)).toBe('0');
  });

  it('refuses a client calling the receiver directly', async () => {
    const h = await makeHarness();
    await refused(h.net.submit(h.client, 'qiaoreceiver', 'qiaoReceive', keccak256('0x01'), EVM, EVM_PORT, utf8('hi')), 'not_port');
    await refused(h.net.submit(h.client, 'qiaoreceiver', 'qiaoRefund', keccak256('0x01')), 'not_port');
  });

  it('exposes the attestor set', async () => {
    const h = await makeHarness({ members: 3, threshold: 2 });
    expect(JSON.parse(await h.net.evaluate(h.client, 'qiaoport', 'attestorSet'))).toEqual({ setId: '1', threshold: 2, members: h.attestors.map((w) => w.address) });
  });
});
