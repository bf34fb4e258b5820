import { join } from 'node:path';
import { StargateClient } from '@cosmjs/stargate';
import { Contract, Interface, Wallet, hexlify, parseEther, randomBytes, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { queryAck, queryReceipt, sendViaContract, smartQuery } from '../../adapters/cosmos/contract.ts';
import { connectComet, disconnectComet, type CometEndpoint } from '../../adapters/cosmos/rpc.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { loadOrCreateKeys, type HubKeys } from '../../src/governance/keys.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { startRpcProxy } from '../helpers/rpc-proxy.ts';
import { bech32Of, startCosmosMember } from '../helpers/cosmos-member.ts';
import { registerMember } from '../helpers/member-chain.ts';
import { until } from '../helpers/services.ts';
import { addressBytes, type CometTestServer } from '../servers/cometbft/index.ts';

const utf8 = (s: string) => hexlify(Buffer.from(s, 'utf8')) as Hex;

/**
 * A Cosmos chain (the CometBFT model: real ed25519 commits, IAVL + multistore
 * proofs, ibc-go handlers with the 06-solomachine client, the Qiao contract)
 * joined through `connectCosmosChain` and registered through governance with a
 * CometBFT trust root. Everything is asserted on the chains: the EVM port's
 * events and receipts, the Qiao contract's state and the bank balances on the
 * Cosmos chain.
 */
describe('Cosmos <-> EVM over IBC, the hub as a solo machine', () => {
  let t: TestHub;
  let srv: CometTestServer;
  let ep: CometEndpoint;
  let bank: StargateClient;
  let keys: HubKeys;
  let C: ChainId;
  let port: Hex;
  let proxy: Awaited<ReturnType<typeof startRpcProxy>>;
  let forgeProofs = false;
  let iface: Interface;
  let dest: { chainId: string; port: string; receiver: string; url: string; numericId: string };
  let dp: JsonRpcProvider;
  let evmPort: Contract;
  const userKey = hexlify(randomBytes(32)) as Hex;
  let user: string;

  const status = async (id: Hex) => (await t.hub.index.getMessage(id))?.status;
  const evmDelivered = async (id: Hex) => (await dp.getLogs({ address: dest.port, topics: [iface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' })).length;
  const evmNow = async () => BigInt((await dp.getBlock('latest'))!.timestamp);

  async function fromCosmos(payload: string, o: { timeout?: bigint; funds?: { denom: string; amount: string }[] } = {}): Promise<Hex> {
    const r = await sendViaContract({
      rpcUrl: srv.url,
      key: userKey,
      contract: srv.contractAddress,
      dstChain: dest.chainId,
      dstPort: dest.port.toLowerCase() as Hex,
      receiver: dest.receiver.toLowerCase() as Hex,
      gasLimit: 200_000n,
      timeoutUnixSeconds: o.timeout ?? 0n,
      payload: utf8(payload),
      ...(o.funds ? { funds: o.funds } : {}),
    });
    return r.id;
  }

  beforeAll(async () => {
    t = await startTestHub();
    ({ keys } = await loadOrCreateKeys(join(t.dataDir, 'keys.json')));
    user = bech32Of(userKey);
    const coins = [{ denom: 'stake', amount: '100000000000' }, { denom: 'uatom', amount: '1000000000' }];
    // The hub's data folder: the solo machine's records and journal are the ones its adapter keeps using.
    const member = await startCosmosMember(t, keys, { chainId: 'qiaoe2e-1', users: [userKey], coins });
    srv = member.srv;
    C = member.link.chainId as ChainId;
    port = member.link.port;
    ep = await connectComet(srv.url);
    bank = await StargateClient.connect(srv.url);
    // The registered endpoint is a proxy that can serve forged ICS-23 proofs (abci_query answers with proofs).
    proxy = await startRpcProxy(srv.url, (method, result) => {
      if (!forgeProofs || method !== 'abci_query') return result;
      const ops = (result as { response?: { proofOps?: { ops?: { data: string }[] } } }).response?.proofOps?.ops;
      if (!ops?.[0]) return result;
      const data = Buffer.from(ops[0].data, 'base64');
      data[data.length - 5] = data[data.length - 5]! ^ 0x01;
      ops[0].data = data.toString('base64');
      return result;
    });
    await registerMember(t, keys, member.registration([proxy.url]));
    iface = new Interface((await portArtifacts()).QiaoPort.abi as never);
    dest = t.hub.demo!.chains[0]!;
    dp = makeProvider(dest.url, BigInt(dest.numericId), { pollingMs: 100 });
    evmPort = new Contract(dest.port, iface, dp);
  }, 180_000);

  afterAll(async () => {
    dp?.destroy();
    if (ep) disconnectComet(ep);
    bank?.disconnect();
    await t?.stop();
    await proxy?.close();
    await srv?.stop();
  });

  it('Cosmos -> EVM: delivered once after the light client and the ICS-23 proof, acknowledged back on the Cosmos chain', async () => {
    const id = await fromCosmos('hello from cosmos', { timeout: (await evmNow()) + 3600n });
    await until(async () => (await status(id)) === 'acknowledged', { timeoutMs: 150_000, what: 'delivered and acknowledged' });
    const verified = (await t.hub.index.timeline(id)).find((x) => x.status === 'verified')!.proof as { lightClient: string; kind: string; anchor: { kind: string } };
    expect(verified).toMatchObject({ lightClient: 'tendermint', kind: 'cosmos-ibc', anchor: { kind: 'app-hash' } });
    // ON the chains: one delivery on the EVM port; the Qiao contract recorded the delivered ack (MsgAcknowledgement).
    expect(await evmDelivered(id)).toBe(1);
    expect(Number(await evmPort.getFunction('receipts')(id))).toBe(1);
    expect((await queryAck(ep, srv.contractAddress, id)).outcome).toBe('delivered');
  }, 180_000);

  it('EVM -> Cosmos: received once through MsgRecvPacket with the solo machine\'s proof; a failing receiver acks an error back', async () => {
    const wallet = Wallet.createRandom();
    await dp.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
    const sender = new TxSender(wallet.privateKey, dp);
    const receiver = hexlify(addressBytes(srv.receiverAddress)) as Hex;
    const timeout = (await evmNow()) + 3600n;
    const sendTo = async (payload: string) => {
      const data = iface.encodeFunctionData('send', [C, port, receiver, 200_000n, 0n, timeout, new TextEncoder().encode(payload)]);
      const r = await sender.send({ to: dest.port, data });
      const sent = r.logs.filter((l) => l.address.toLowerCase() === dest.port.toLowerCase()).map((l) => iface.parseLog(l)!).find((e) => e.name === 'MessageSent')!;
      return messageId((sent.args[3] as string).toLowerCase() as Hex);
    };
    const ok = await sendTo('hello cosmos');
    const bad = await sendTo('fail: the receiver refuses');
    await until(async () => (await status(ok)) === 'acknowledged', { timeoutMs: 150_000, what: 'delivered and acknowledged' });
    await until(async () => (await status(bad)) === 'failed', { timeoutMs: 90_000, what: 'failed' });
    // ON the Cosmos chain: the contract's receipts, and the receiver got the good payload.
    expect(await queryReceipt(ep, srv.contractAddress, ok)).toMatchObject({ status: 'delivered' });
    expect(await queryReceipt(ep, srv.contractAddress, bad)).toMatchObject({ status: 'failed' });
    // ON the EVM source port: a delivered ack and an error ack, carried back as ICS-23-proven acknowledgements.
    expect(Number(await evmPort.getFunction('acks')(ok))).toBe(1);
    await until(async () => Number(await evmPort.getFunction('acks')(bad)) === 2, { timeoutMs: 120_000, intervalMs: 500, what: 'error ack on the source port' });
  }, 300_000);

  it('a Cosmos message past its timeout: the EVM port\'s cancel marker, then MsgTimeout on the Cosmos chain refunds the escrow', async () => {
    const admin = new TxSender(keys.governor, dp);
    await admin.send({ to: dest.port, data: iface.encodeFunctionData('pause', [true]) });
    try {
      const balance = async () => BigInt((await bank.getBalance(user, 'uatom')).amount);
      const before = await balance();
      const id = await fromCosmos('pay, or give it back', { timeout: (await evmNow()) + 30n, funds: [{ denom: 'uatom', amount: '2500' }] });
      expect(await balance()).toBe(before - 2500n);
      // The destination's clock passes the timeout while its port is paused.
      await dp.send('evm_increaseTime', [120]);
      await dp.send('evm_mine', []);
      await until(async () => Number(await evmPort.getFunction('receipts')(id)) === 3, { timeoutMs: 120_000, intervalMs: 500, what: 'cancel marker on the EVM port' });
      await until(async () => (await status(id)) === 'refunded', { timeoutMs: 150_000, what: 'refunded' });
      // ON the Cosmos chain: the contract took MsgTimeout and paid the escrow back; never delivered on the EVM chain.
      expect(await queryAck(ep, srv.contractAddress, id)).toMatchObject({ outcome: 'cancelled', refund: { sender: user, paid: true } });
      expect(await balance()).toBe(before);
      expect(await evmDelivered(id)).toBe(0);
      const tl = (await t.hub.index.timeline(id)).map((x) => x.status);
      expect(tl.slice(-2)).toEqual(['timed_out', 'refunded']);
    } finally {
      await admin.send({ to: dest.port, data: iface.encodeFunctionData('pause', [false]) });
    }
  }, 300_000);

  it('an EVM message to Cosmos past its timeout: the Qiao contract\'s cancel marker, its cancel ack carried back, the EVM port refunds', async () => {
    const wallet = Wallet.createRandom();
    await dp.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
    const sender = new TxSender(wallet.privateKey, dp);
    const receiver = hexlify(addressBytes(srv.receiverAddress)) as Hex;
    const value = parseEther('0.3');
    // The receiver chain holds deliveries back (the contract refuses MsgRecvPacket): the message can only time out.
    srv.faults.refuseRecv = true;
    try {
      const cosmosNow = BigInt(Math.floor((await ep.client.status()).syncInfo.latestBlockTime.getTime() / 1000));
      const data = iface.encodeFunctionData('sendRefundable', [C, port, receiver, 200_000n, 0n, cosmosNow + 8n, new TextEncoder().encode('pay, or give it back')]);
      const r = await sender.send({ to: dest.port, data, value });
      const sent = r.logs.filter((l) => l.address.toLowerCase() === dest.port.toLowerCase()).map((l) => iface.parseLog(l)!).find((e) => e.name === 'MessageSent')!;
      const id = messageId((sent.args[3] as string).toLowerCase() as Hex);
      const afterSend = await dp.getBalance(wallet.address);
      expect((await evmPort.getFunction('escrows')(id))[1]).toBe(value);

      // ON the Cosmos chain: the contract's cancel marker, written by the hub's timeout stage past the timeout on its clock.
      await until(async () => (await queryReceipt(ep, srv.contractAddress, id)).status === 'cancelled', { timeoutMs: 150_000, intervalMs: 500, what: 'cancel marker on the Qiao contract' });
      // ON the EVM source port: the cancel ack arrived (outcome 3) and the escrow went back to the sender.
      await until(async () => Number(await evmPort.getFunction('acks')(id)) === 3, { timeoutMs: 150_000, intervalMs: 500, what: 'cancel ack on the source port' });
      expect(await dp.getBalance(wallet.address)).toBe(afterSend + value);
      expect((await evmPort.getFunction('escrows')(id))[1]).toBe(0n);
      const refunds = await dp.getLogs({ address: dest.port, topics: [iface.getEvent('MessageRefunded')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
      expect(refunds).toHaveLength(1);
      await until(async () => (await status(id)) === 'refunded', { timeoutMs: 60_000, what: 'index shows refunded' });
      const tl = (await t.hub.index.timeline(id)).map((x) => x.status);
      expect(tl.slice(-2)).toEqual(['timed_out', 'refunded']);
      expect(tl).not.toContain('delivered');
      // Never received on the Cosmos chain: the receiver recorded nothing, and the cancelled id can no longer arrive.
      expect(await smartQuery(ep, srv.contractAddress, { received: { id } }, z.object({ payload: z.string().optional() }))).toEqual({});
      expect(await queryReceipt(ep, srv.contractAddress, id)).toMatchObject({ status: 'cancelled' });
    } finally {
      srv.faults.refuseRecv = false;
    }
    // Held back, not broken: nothing was signed for the refused chain, so the next message is delivered at once.
    const next = iface.encodeFunctionData('send', [C, port, receiver, 200_000n, 0n, 0n, new TextEncoder().encode('after the pause')]);
    const r2 = await sender.send({ to: dest.port, data: next });
    const sent2 = r2.logs.filter((l) => l.address.toLowerCase() === dest.port.toLowerCase()).map((l) => iface.parseLog(l)!).find((e) => e.name === 'MessageSent')!;
    const id2 = messageId((sent2.args[3] as string).toLowerCase() as Hex);
    await until(async () => (await status(id2)) === 'delivered', { timeoutMs: 120_000, what: 'delivered after the pause' });
    expect(await queryReceipt(ep, srv.contractAddress, id2)).toMatchObject({ status: 'delivered' });
  }, 300_000);

  it('refuses a forged ICS-23 proof and a forged commit signature; nothing of them arrives, an honest message after them does', async () => {
    forgeProofs = true;
    const forgedProof = await fromCosmos('forged proof');
    await until(async () => (await status(forgedProof)) === 'quarantined', { timeoutMs: 90_000, what: 'forged proof quarantined' });
    forgeProofs = false;
    expect((await t.hub.index.getMessage(forgedProof))!.reason).toMatch(/^proof_invalid:/);

    // Every commit signature of the next blocks is corrupted as the RPC serves it: the light client refuses the header after the message.
    const from = srv.height() + 1;
    for (let h = from; h < from + 40; h++) srv.corruptCommitSignature(h, 'all');
    const forgedCommit = await fromCosmos('forged commit');
    await until(async () => (await status(forgedCommit)) === 'quarantined', { timeoutMs: 90_000, what: 'forged commit quarantined' });
    srv.clearFaults();
    expect((await t.hub.index.getMessage(forgedCommit))!.reason).toMatch(/^header_invalid:/);

    await until(async () => srv.height() >= from + 40, { timeoutMs: 60_000, what: 'past the corrupted blocks' });
    const honest = await fromCosmos('after the forgeries');
    await until(async () => (await status(honest)) === 'delivered', { timeoutMs: 120_000, what: 'honest delivered' });
    expect(await evmDelivered(forgedProof)).toBe(0);
    expect(await evmDelivered(forgedCommit)).toBe(0);
    expect(await evmDelivered(honest)).toBe(1);
  }, 360_000);
});
