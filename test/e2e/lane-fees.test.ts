import { Interface, Wallet, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { LaneFeeClient } from '../../src/governance/lane-fees.ts';
import { laneFeeGuard, LANE_FEE_WAIT } from '../../relayer/fees.ts';
import { revertOf } from '../helpers/revert.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';

interface Member {
  chainId: string;
  port: string;
  receiver: string;
  provider: JsonRpcProvider;
  user: TxSender;
}

const GWEI = 10n ** 9n;
const FEE = 10n ** 15n;

/**
 * Lane fees end to end, on one hub with the two demo chains A and B:
 * governance sets a fee on A > B, the hub carries it to A's port, a send that
 * does not pay it is refused on chain, one that pays is delivered; then B's gas
 * price passes the lane's bound: a new A > B message waits (still attested,
 * visibly) while B > A traffic goes through, until governance raises the bound.
 * Every safety assertion reads the chains.
 */
describe('lane fees through governance, the source port and the relayer', () => {
  let t: TestHub;
  let portIface: Interface;
  let a: Member;
  let b: Member;
  let fees: LaneFeeClient;

  async function member(c: { chainId: string; url: string; numericId: string; port: string; receiver: string }): Promise<Member> {
    const provider = makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 });
    const wallet = Wallet.createRandom();
    await provider.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
    return { chainId: c.chainId, port: c.port, receiver: c.receiver, provider, user: new TxSender(wallet.privateKey, provider) };
  }

  const sendData = (to: Member, payload: string) => portIface.encodeFunctionData('send', [to.chainId, to.port, to.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(payload)]);

  async function send(from: Member, to: Member, payload: string, value = 0n): Promise<{ id: Hex; height: bigint }> {
    const r = await from.user.send({ to: from.port, data: sendData(to, payload), value });
    const log = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
    return { id: messageId(log.args[3] as Hex), height: BigInt(r.blockNumber) };
  }

  /** Read on the destination chain itself: the port's receipt for `id` (1 = delivered). */
  const receipt = async (m: Member, id: Hex) => Number(await m.provider.call({ to: m.port, data: portIface.encodeFunctionData('receipts', [id]) }).then((d) => BigInt(d)));
  const deliveredLogs = async (m: Member, id: Hex) =>
    (await m.provider.getLogs({ address: m.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' })).length;
  const portFee = async (m: Member, dst: string) => BigInt(await m.provider.call({ to: m.port, data: portIface.encodeFunctionData('laneFee', [dst]) }));
  const apiMessage = async (id: Hex) => (await (await fetch(`${t.hub.apiUrl}/messages/${id}`)).json()) as { status: string; waiting?: string };

  beforeAll(async () => {
    t = await startTestHub({ config: { registry: { snapshotIntervalMs: 300 } } });
    portIface = new Interface((await portArtifacts()).QiaoPort.abi as never);
    const [da, db] = t.hub.demo!.chains;
    a = await member(da!);
    b = await member(db!);
    fees = new LaneFeeClient(t.hub.governance.client.provider, t.hub.governance.contracts.laneFeeRegistry);
  });

  afterAll(async () => {
    for (const m of [a, b]) m?.provider.destroy();
    await t?.stop();
  });

  it('a fee set through governance reaches the source port: unpaid sends are refused on chain, paid ones delivered', async () => {
    await fees.set(t.hub.governance.path, { srcChain: a.chainId, dstChain: b.chainId, fee: FEE, maxDstGasPrice: 100n * GWEI });
    await until(async () => (await portFee(a, b.chainId)) === FEE, { timeoutMs: 60_000, what: 'the lane fee at the source port' });

    // Refused by A's port itself (the simulation reverts with the port's typed error; nothing is mined).
    const unpaid = await revertOf(portIface, a.provider.call({ from: a.user.address, to: a.port, data: sendData(b, 'unpaid') }));
    expect(unpaid.name).toBe('InsufficientFee');
    expect([...unpaid.args]).toEqual([b.chainId, FEE, 0n]);

    const paid = await send(a, b, 'paid', FEE);
    await until(async () => (await receipt(b, paid.id)) === 1, { timeoutMs: 60_000, what: 'the paid message delivered on B' });
    expect(await deliveredLogs(b, paid.id)).toBe(1);
  });

  it('when B\'s gas price passes the bound, A > B waits (attested, visibly) while B > A goes through; raising the bound delivers it', async () => {
    // B > A first, final on B before B's price is pinned (B stops mining, so its price cannot drift back).
    const other = await send(b, a, 'other lane');
    await until(async () => BigInt(await b.provider.getBlockNumber()) >= other.height + 3n, { what: 'the B > A message final on B' });
    await b.provider.send('evm_setIntervalMining', [0]);
    await b.provider.send('anvil_setNextBlockBaseFeePerGas', [`0x${(1000n * GWEI).toString(16)}`]);
    const price = BigInt(await b.provider.send('eth_gasPrice', []));
    expect(price).toBeGreaterThan(100n * GWEI);

    const held = await send(a, b, 'held', FEE);
    await until(async () => (await receipt(a, other.id)) === 1 && (await apiMessage(held.id)).waiting === LANE_FEE_WAIT, { timeoutMs: 60_000, what: 'B > A delivered and A > B waiting' });
    // Read on B: never delivered while its price is above the bound; the index keeps it attested, with the note.
    expect(await receipt(b, held.id)).toBe(0);
    expect(await deliveredLogs(b, held.id)).toBe(0);
    expect(BigInt(await b.provider.send('eth_gasPrice', []))).toBe(price);
    expect(await apiMessage(held.id)).toMatchObject({ status: 'attested', waiting: LANE_FEE_WAIT });
    expect(laneFeeGuard(t.hub.relayer.ctx).holds()).toEqual([expect.objectContaining({ srcChain: a.chainId, dstChain: b.chainId, waiting: 1, maxDstGasPrice: 100n * GWEI, gasPrice: price })]);
    const metrics = await (await fetch(`${t.hub.apiUrl}/metrics`)).text();
    expect(metrics).toContain(`qiao_lane_fee_blocked{src_chain="${a.chainId}",dst_chain="${b.chainId}"} 1`);

    // Governance raises the bound (and the fee); B mines again.
    await fees.set(t.hub.governance.path, { srcChain: a.chainId, dstChain: b.chainId, fee: 2n * FEE, maxDstGasPrice: 5000n * GWEI });
    await b.provider.send('evm_setIntervalMining', [1]);
    await until(async () => (await receipt(b, held.id)) === 1, { timeoutMs: 60_000, what: 'the held message delivered on B' });
    expect(await deliveredLogs(b, held.id)).toBe(1);
    expect((await apiMessage(held.id)).waiting).toBeUndefined();
    expect(laneFeeGuard(t.hub.relayer.ctx).holds()).toEqual([]);
    // The new fee follows to A's port with the next snapshot.
    await until(async () => (await portFee(a, b.chainId)) === 2n * FEE, { timeoutMs: 60_000, what: 'the raised fee at the source port' });
  });
});
