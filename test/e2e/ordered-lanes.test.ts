import { join } from 'node:path';
import { Contract, Interface, Wallet, getAddress, hexlify, keccak256, parseEther, toUtf8Bytes, type JsonRpcProvider, type Log } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { laneKey } from '../../adapters/evm/adapter.ts';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import { orderedHeadJobId, skipBlockedHead } from '../../relayer/stages/ordered.ts';
import type { JobQueue } from '../../relayer/queue/types.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { decodeMessage, messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { loadOrCreateKeys } from '../../src/governance/keys.ts';
import { runCliInProcess } from '../helpers/cli.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';

interface Side {
  chainId: string;
  port: Hex;
  receiver: string;
  provider: JsonRpcProvider;
  user: TxSender;
  portContract: Contract;
}

/**
 * An ordered lane through a running hub (issue 5), asserted on the chains: the
 * lane A → B is made ordered with `qiao lanes order`; a head the receiver
 * refuses blocks it (its followers are not delivered, the destination port says
 * so) and shows in the dead letters; the operator's skip skips it on chain, the
 * followers are then delivered in nonce order, the head never, and its value is
 * refunded at the source. A second blocked head is retried instead, once its
 * receiver exists, and the lane moves on.
 */
describe('ordered lanes end to end', () => {
  let t: TestHub;
  let artifacts: PortArtifacts;
  let iface: Interface;
  let a: Side;
  let b: Side;
  let deliver: JobQueue<unknown>;

  beforeAll(async () => {
    t = await startTestHub();
    artifacts = await portArtifacts();
    iface = new Interface(artifacts.QiaoPort.abi as never);
    deliver = t.hub.relayer.ctx.queues.deliver as unknown as JobQueue<unknown>;
    await loadOrCreateKeys(join(t.dataDir, 'keys.json'));
    const sides: Side[] = [];
    for (const c of t.hub.demo!.chains) {
      const provider = makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 });
      const wallet = Wallet.createRandom();
      await provider.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
      sides.push({ chainId: c.chainId, port: c.port.toLowerCase() as Hex, receiver: c.receiver, provider, user: new TxSender(wallet.privateKey, provider), portContract: new Contract(c.port, iface, provider) });
    }
    [a, b] = sides as [Side, Side];
  });

  afterAll(async () => {
    for (const s of [a, b]) s?.provider.destroy();
    await t?.stop();
  });

  const now = async (s: Side) => BigInt((await s.provider.getBlock('latest'))!.timestamp);
  const receiptAt = async (s: Side, id: Hex) => Number(await s.portContract.getFunction('receipts')(id));
  const laneAtB = async () => (await b.portContract.getFunction('lanes')(laneKey(a.chainId, a.port))) as [boolean, bigint];
  const status = async (id: Hex) => (await t.hub.index.getMessage(id))?.status;
  const logsAt = (s: Side, event: string, id?: Hex): Promise<Log[]> =>
    s.provider.getLogs({ address: s.port, topics: [iface.getEvent(event)!.topicHash, ...(id ? [id] : [])], fromBlock: 0n, toBlock: 'latest' });

  async function send(payload: string, opts: { value?: bigint; timeout?: bigint; to?: string } = {}): Promise<{ id: Hex; nonce: bigint }> {
    const refundable = (opts.value ?? 0n) > 0n;
    const data = iface.encodeFunctionData(refundable ? 'sendRefundable' : 'send', [b.chainId, b.port, opts.to ?? b.receiver, 200_000n, 0n, opts.timeout ?? 0n, toUtf8Bytes(payload)]);
    const receipt = await a.user.send({ to: a.port, data, ...(refundable ? { value: opts.value } : {}) });
    const sent = receipt.logs.filter((l) => l.address.toLowerCase() === a.port).map((l) => iface.parseLog(l)!).find((e) => e.name === 'MessageSent')!;
    const encoded = (sent.args[3] as string).toLowerCase() as Hex;
    return { id: messageId(encoded), nonce: decodeMessage(encoded).nonce };
  }

  /** The dead letter of a blocked head, once the deliver stage has recorded it. */
  const letterOf = (id: Hex) => until(async () => (await deliver.deadLetters(1000)).find((l) => l.id === orderedHeadJobId(id)), { timeoutMs: 60_000, what: `dead letter of ${id}` });

  it('is made ordered by the port admin through `qiao lanes order`', async () => {
    const next = (await a.portContract.getFunction('laneNonce')(keccak256(toUtf8Bytes(b.chainId)))) + 1n;
    const r = await runCliInProcess(['lanes', 'order', b.chainId, '--src-chain', a.chainId, '--next', String(next), '--data-dir', t.dataDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dstChain: b.chainId, srcChain: a.chainId, srcPort: a.port, ordered: true, next: String(next) });
    expect(await laneAtB()).toEqual([true, next]);
  });

  it('blocks behind a refused head, which waits in the dead letters; skipped, the followers go in order and the head is refunded', async () => {
    const value = parseEther('0.2');
    const head = await send('fail: the receiver refuses this one', { value, timeout: (await now(b)) + 100_000n });
    const followers = [await send('after 1'), await send('after 2'), await send('after 3')];
    // The user sends nothing more from here: the only change to come is the refund.
    const balanceAfterSend = await a.provider.getBalance(a.user.address);
    expect(followers.map((f) => f.nonce)).toEqual([head.nonce + 1n, head.nonce + 2n, head.nonce + 3n]);

    // The head fails at the receiver and shows in the dead letters with the lane and nonce.
    const letter = await letterOf(head.id);
    expect(letter.reason).toContain(`blocked at nonce ${head.nonce}`);
    expect(letter.reason).toContain('demo receiver refuses payloads starting with fail');
    expect(await receiptAt(b, head.id)).toBe(2);
    // The followers are attested, and the destination port still waits for the head: none of them delivered.
    await until(async () => (await Promise.all(followers.map((f) => status(f.id)))).every((s) => s === 'attested'), { timeoutMs: 60_000, what: 'followers attested' });
    expect(await laneAtB()).toEqual([true, head.nonce]);
    for (const f of followers) {
      expect(await receiptAt(b, f.id)).toBe(0);
      expect(await logsAt(b, 'MessageDelivered', f.id)).toEqual([]);
    }
    expect(await status(head.id)).toBe('failed');

    // The operator skips it (what `qiao dlq skip` does on either backend): on chain, by the port admin.
    await skipBlockedHead(deliver, letter, 'the receiver refuses it');
    await until(async () => (await Promise.all(followers.map((f) => receiptAt(b, f.id)))).every((r) => r === 1), { timeoutMs: 60_000, intervalMs: 500, what: 'followers delivered' });

    // In nonce order on chain, each exactly once; the head never.
    const delivered = (await logsAt(b, 'MessageDelivered')).map((l) => ({ id: l.topics[1]!.toLowerCase(), ok: iface.parseLog(l)!.args[1] as boolean }));
    const ofLane = delivered.filter((d) => followers.some((f) => f.id === d.id) || d.id === head.id);
    expect(ofLane).toEqual([{ id: head.id, ok: false }, ...followers.map((f) => ({ id: f.id, ok: true }))]);
    const receiver = new Contract(b.receiver, artifacts.DemoReceiver.abi as never, b.provider);
    expect(Number(await receiver.getFunction('timesReceived')(head.id))).toBe(0);
    for (const f of followers) expect(Number(await receiver.getFunction('timesReceived')(f.id))).toBe(1);
    expect(await receiptAt(b, head.id)).toBe(3);
    const skipped = await logsAt(b, 'MessageSkipped', head.id);
    expect(skipped.map((l) => iface.parseLog(l)!.args[1])).toEqual([hexlify(toUtf8Bytes('the receiver refuses it'))]);
    expect(await laneAtB()).toEqual([true, head.nonce + 4n]);

    // The error acknowledgement: a cancel from B, so the source refunds the sender.
    await until(async () => Number(await a.portContract.getFunction('acks')(head.id)) === 3, { timeoutMs: 60_000, intervalMs: 500, what: 'cancel ack recorded at the source' });
    const refunds = await logsAt(a, 'MessageRefunded', head.id);
    expect(refunds.map((l) => iface.parseLog(l)!.args.slice(1, 4))).toEqual([[getAddress(a.user.address), value, true]]);
    expect(await a.provider.getBalance(a.user.address)).toBe(balanceAfterSend + value);

    await until(async () => (await status(head.id)) === 'refunded', { timeoutMs: 30_000, what: 'index shows the head refunded' });
    // Waiting behind the head was never a failure of theirs.
    await until(async () => (await Promise.all(followers.map((f) => status(f.id)))).every((x) => x === 'delivered'), { timeoutMs: 30_000, what: 'index shows the followers delivered' });
    for (const f of followers) expect((await t.hub.index.timeline(f.id)).map((x) => x.status)).toEqual(['sent', 'verified', 'committed', 'attested', 'delivered']);
    expect((await deliver.deadLetters(1000)).filter((l) => l.id === orderedHeadJobId(head.id))).toEqual([]);
  });

  it('cancels a follower past its timeout only once it is the head, then refunds it', async () => {
    const timeouts = t.hub.relayer.ctx.queues.timeout!;
    const head = await send('fail: blocks the lane again');
    const value = parseEther('0.1');
    const follower = await send('times out behind the head', { value, timeout: (await now(b)) + 30n });
    const letter = await letterOf(head.id);
    await b.provider.send('evm_increaseTime', [120]);
    await b.provider.send('evm_mine', []);
    // The timeout stage tries to cancel it and is told to wait (not the head): its job waits, it is not dead.
    await until(async () => (await timeouts.counts()).delayed > 0, { timeoutMs: 30_000, what: 'the follower\'s timeout job waiting' });
    expect(await receiptAt(b, follower.id)).toBe(0);
    expect(await laneAtB()).toEqual([true, head.nonce]);

    await skipBlockedHead(deliver, letter, 'unblock');
    await until(async () => Number(await a.portContract.getFunction('acks')(follower.id)) === 3, { timeoutMs: 60_000, intervalMs: 500, what: 'the follower cancelled and refunded' });
    expect(await receiptAt(b, follower.id)).toBe(3);
    expect(await logsAt(b, 'MessageCancelled', follower.id)).toHaveLength(1);
    expect(await logsAt(b, 'MessageDelivered', follower.id)).toEqual([]);
    expect(await laneAtB()).toEqual([true, head.nonce + 2n]);
    await until(async () => (await status(follower.id)) === 'refunded', { timeoutMs: 30_000, what: 'index shows the follower refunded' });
    expect(await timeouts.deadLetters()).toEqual([]);
  });

  it('moves on when the operator retries a blocked head that can be delivered now', async () => {
    // A receiver that does not exist yet: the head fails ("receiver has no code").
    const later = getAddress(keccak256(toUtf8Bytes(`ordered e2e: receiver deployed later ${Date.now()}`)).slice(0, 42));
    const head = await send('to a receiver deployed later', { to: later });
    const follower = await send('after the retried head');
    const letter = await letterOf(head.id);
    expect(letter.reason).toContain('receiver has no code');
    expect(await receiptAt(b, follower.id)).toBe(0);

    await b.provider.send('anvil_setCode', [later, await b.provider.getCode(b.receiver)]);
    expect(await deliver.retryDead(letter.id)).toBe(true);
    await until(async () => (await receiptAt(b, head.id)) === 1 && (await receiptAt(b, follower.id)) === 1, { timeoutMs: 60_000, intervalMs: 500, what: 'head and follower delivered' });
    const order = (await logsAt(b, 'MessageDelivered')).map((l) => l.topics[1]!.toLowerCase()).filter((id) => id === head.id || id === follower.id);
    expect(order).toEqual([head.id, head.id, follower.id]);
    await until(async () => (await status(head.id)) === 'delivered' && (await status(follower.id)) === 'delivered', { timeoutMs: 30_000, what: 'index shows both delivered' });
    expect((await t.hub.index.timeline(head.id)).map((x) => x.status)).toEqual(['sent', 'verified', 'committed', 'attested', 'failed', 'delivered']);
  });
});
