import { join } from 'node:path';
import { Contract, Interface, Wallet, getAddress, parseEther, type JsonRpcProvider, type TransactionReceipt } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { loadOrCreateKeys } from '../../src/governance/keys.ts';
import { openIndex } from '../../src/index/open.ts';
import { ADAPTER_FACTORIES } from '../../adapters/index.ts';
import { rebuildIndex } from '../../relayer/rebuild.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';

interface Side {
  chainId: string;
  port: string;
  receiver: string;
  provider: JsonRpcProvider;
  user: TxSender;
  /** The port's admin (the hub's governor key deployed the demo ports). */
  admin: TxSender;
  portContract: Contract;
}

/**
 * Acknowledgements and timeouts through a running hub, asserted from the chains:
 * a message to a paused port runs past its timeout, gets the cancel marker on
 * the destination, the cancel travels back and the source port refunds the
 * escrow; a late delivery is refused. A normal message ends acknowledged, with
 * the ack recorded on its source port.
 */
describe('acknowledgements and timeouts end to end', () => {
  let t: TestHub;
  let artifacts: PortArtifacts;
  let iface: Interface;
  let a: Side;
  let b: Side;
  /** The messages the tests below end as refunded and as acknowledged. */
  let refundedId: Hex | undefined;
  let acknowledgedId: Hex | undefined;

  beforeAll(async () => {
    t = await startTestHub();
    artifacts = await portArtifacts();
    iface = new Interface(artifacts.QiaoPort.abi as never);
    const { keys } = await loadOrCreateKeys(join(t.dataDir, 'keys.json'));
    const sides: Side[] = [];
    for (const c of t.hub.demo!.chains) {
      const provider = makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 });
      const wallet = Wallet.createRandom();
      await provider.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
      sides.push({
        chainId: c.chainId,
        port: c.port,
        receiver: c.receiver,
        provider,
        user: new TxSender(wallet.privateKey, provider),
        admin: new TxSender(keys.governor, provider),
        portContract: new Contract(c.port, iface, provider),
      });
    }
    [a, b] = sides as [Side, Side];
  });

  afterAll(async () => {
    for (const s of [a, b]) s?.provider.destroy();
    await t?.stop();
  });

  const now = async (s: Side) => BigInt((await s.provider.getBlock('latest'))!.timestamp);
  const portEvents = (r: TransactionReceipt, port: string) => r.logs.filter((l) => l.address.toLowerCase() === port.toLowerCase()).map((l) => iface.parseLog(l)!);

  async function sendRefundable(from: Side, to: Side, value: bigint, timeoutUnixSeconds: bigint): Promise<{ id: Hex; encoded: Hex; receipt: TransactionReceipt }> {
    const data = iface.encodeFunctionData('sendRefundable', [to.chainId, to.port, to.receiver, 200_000n, 0n, timeoutUnixSeconds, new TextEncoder().encode('pay')]);
    const receipt = await from.user.send({ to: from.port, data, value });
    const sent = portEvents(receipt, from.port).find((e) => e.name === 'MessageSent')!;
    const encoded = (sent.args[3] as string).toLowerCase() as Hex;
    return { id: messageId(encoded), encoded, receipt };
  }

  const status = async (id: Hex) => (await t.hub.index.getMessage(id))?.status;

  it('refunds a message that timed out at a paused port, after the cancel marker; a late delivery is refused', async () => {
    const value = parseEther('0.2');
    await b.admin.send({ to: b.port, data: iface.encodeFunctionData('pause', [true]) });
    const { id, encoded } = await sendRefundable(a, b, value, (await now(b)) + 30n);
    refundedId = id;
    const afterSend = await a.provider.getBalance(a.user.address);
    expect((await a.portContract.getFunction('escrows')(id))[1]).toBe(value);
    // The destination's clock passes the timeout while its port is paused.
    await b.provider.send('evm_increaseTime', [120]);
    await b.provider.send('evm_mine', []);

    // The cancel marker on the destination port (receipt code 3), written by the hub's timeout stage.
    await until(async () => Number(await b.portContract.getFunction('receipts')(id)) === 3, { timeoutMs: 90_000, intervalMs: 500, what: 'cancel marker on the destination' });
    // The cancel travels back: the source port records it and returns the escrow.
    await until(async () => Number(await a.portContract.getFunction('acks')(id)) === 3, { timeoutMs: 90_000, intervalMs: 500, what: 'cancel recorded on the source port' });
    expect(await a.provider.getBalance(a.user.address)).toBe(afterSend + value);
    const refunds = await a.provider.getLogs({ address: a.port, topics: [iface.getEvent('MessageRefunded')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
    expect(refunds.map((l) => iface.parseLog(l)!.args.slice(1, 4))).toEqual([[getAddress(a.user.address), value, true]]);
    expect((await a.portContract.getFunction('escrows')(id))[1]).toBe(0n);

    // Never delivered: no MessageDelivered for it, the receiver never saw it.
    const deliveredTopic = iface.getEvent('MessageDelivered')!.topicHash;
    expect(await b.provider.getLogs({ address: b.port, topics: [deliveredTopic, id], fromBlock: 0n, toBlock: 'latest' })).toEqual([]);
    const receiver = new Contract(b.receiver, artifacts.DemoReceiver.abi as never, b.provider);
    expect(Number(await receiver.getFunction('timesReceived')(id))).toBe(0);

    await until(async () => (await status(id)) === 'refunded', { timeoutMs: 30_000, what: 'index shows refunded' });
    const tl = (await t.hub.index.timeline(id)).map((x) => x.status);
    expect(tl.slice(-2)).toEqual(['timed_out', 'refunded']);
    expect(tl).not.toContain('delivered');

    // A late delivery of the same attested message, once the port is unpaused, is refused for good.
    await b.admin.send({ to: b.port, data: iface.encodeFunctionData('pause', [false]) });
    const row = (await t.hub.index.getMessage(id))!;
    const batch = (await t.hub.index.getBatch(BigInt(row.batchNo!)))!;
    const late = iface.encodeFunctionData('deliver', [batch.root, encoded, MessageTree.of(batch.ids).proof(id)]);
    let refused: string | undefined;
    try {
      await b.provider.call({ to: b.port, data: late });
    } catch (err) {
      refused = iface.parseError((err as { data: string }).data)?.name;
    }
    expect(refused).toBe('Cancelled');
  });

  it('acknowledges a delivered message: the ack is recorded on the source port and the escrow is settled, not refunded', async () => {
    const value = parseEther('0.1');
    const { id } = await sendRefundable(b, a, value, (await now(a)) + 100_000n);
    acknowledgedId = id;
    const afterSend = await b.provider.getBalance(b.user.address);
    await until(async () => Number(await b.portContract.getFunction('acks')(id)) === 1, { timeoutMs: 90_000, intervalMs: 500, what: 'ack recorded on the source port' });
    expect(Number(await a.portContract.getFunction('receipts')(id))).toBe(1);
    const settled = await b.provider.getLogs({ address: b.port, topics: [iface.getEvent('EscrowSettled')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
    expect(settled.map((l) => iface.parseLog(l)!.args[1])).toEqual([value]);
    expect(await b.provider.getBalance(b.user.address)).toBe(afterSend);
    await until(async () => (await status(id)) === 'acknowledged', { timeoutMs: 30_000, what: 'index shows acknowledged' });
    expect((await t.hub.index.timeline(id)).map((x) => x.status)).toEqual(['sent', 'verified', 'committed', 'attested', 'delivered', 'acknowledged']);
  });

  it('an index rebuilt from the chains alone derives timed_out, refunded and acknowledged, with the live evidence', async () => {
    const ids = [refundedId, acknowledgedId];
    if (!ids.every(Boolean)) throw new Error('needs the two tests above');
    const live = new Map<Hex, Awaited<ReturnType<TestHub['hub']['index']['timeline']>>>();
    for (const id of ids as Hex[]) live.set(id, await t.hub.index.timeline(id));
    // The rebuild reads up to each chain's finalized height (depth 2): wait until the last recorded block is final there.
    for (const s of [a, b]) {
      const last = Math.max(...[...live.values()].flat().filter((x) => x.chain === s.chainId).map((x) => Number(x.height ?? 0)));
      await until(async () => (await s.provider.getBlockNumber()) - 2 >= last, { timeoutMs: 30_000, what: `block ${last} final on ${s.chainId}` });
    }
    const dir = await mkdtemp(join(tmpdir(), 'qiao-rebuild-'));
    const idx = await openIndex({ dataDir: dir });
    try {
      const summary = await rebuildIndex({ index: idx, gov: t.hub.governance.client, adapterFactories: ADAPTER_FACTORIES, allowLocalDev: () => true });
      const sum = (k: 'timedOut' | 'acknowledged' | 'refunded') => summary.chains.reduce((n, c) => n + c[k], 0);
      expect(sum('timedOut')).toBe(1);
      expect(sum('refunded')).toBe(1);
      expect(sum('acknowledged')).toBe(1);
      const evidence = (rows: Awaited<ReturnType<TestHub['hub']['index']['timeline']>>) => rows.map((x) => ({ status: x.status, chain: x.chain, height: x.height, txHash: x.txHash, reason: x.reason, proof: x.proof }));
      for (const [id, rows] of live) {
        const rebuilt = await idx.timeline(id);
        expect(evidence(rebuilt), `timeline of ${id}`).toEqual(evidence(rows));
      }
      expect((await idx.getMessage(refundedId!))!.status).toBe('refunded');
      expect((await idx.getMessage(acknowledgedId!))!.status).toBe('acknowledged');
    } finally {
      await idx.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
