import { createHash, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { Contract, Interface, Wallet, hexlify, parseEther, toUtf8Bytes, type JsonRpcProvider } from 'ethers';
import type { Gateway, Network } from 'fabric-network';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { signaturesFor } from '../../relayer/stages/deliver.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { encodeMessage, messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { loadOrCreateKeys, type HubKeys } from '../../src/governance/keys.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { FABRIC_PORT, FABRIC_RECEIVER, startFabricMember } from '../helpers/fabric-member.ts';
import { registerMember } from '../helpers/member-chain.ts';
import { until } from '../helpers/services.ts';
import { type FabricTestNetwork } from '../servers/fabric/index.ts';

const utf8 = (s: string) => hexlify(toUtf8Bytes(s)) as Hex;
const text = (b: Uint8Array) => Buffer.from(b).toString();

/**
 * A Fabric network (the model: gRPC peers of two organisations and an orderer,
 * real protobuf blocks, X.509 identities, the port and receiver chaincode)
 * registered through governance with its genesis config block as trust root:
 * messages are relayed only once orderer signatures, endorsements under the
 * port's policy and two organisations' signed validation answers check out.
 * Asserted on the chains: the EVM port's events and acks, the Fabric port's
 * receipts and the receiver chaincode's count, read through fabric-network.
 */
describe('Fabric <-> EVM through orderer signatures, endorsement policy and k organisations\' answers', () => {
  let t: TestHub;
  let net: FabricTestNetwork;
  let client: { gateway: Gateway; network: Network };
  let keys: HubKeys;
  let iface: Interface;
  let dest: { chainId: string; port: string; receiver: string; url: string; numericId: string };
  let dp: JsonRpcProvider;
  let evmPort: Contract;
  let F: ChainId;
  const PORT = FABRIC_PORT;
  const RECEIVER = FABRIC_RECEIVER;

  const status = async (id: Hex) => (await t.hub.index.getMessage(id))?.status;
  const evmDelivered = async (id: Hex) => (await dp.getLogs({ address: dest.port, topics: [iface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' })).length;
  const evmNow = async () => BigInt((await dp.getBlock('latest'))!.timestamp);
  const port = () => client.network.getContract('qiaoport');
  const receiverCount = async () => Number(text(await client.network.getContract('qiaoreceiver').evaluateTransaction('count')));

  async function fromFabric(payload: string, timeout = 0n): Promise<Hex> {
    return text(await port().submitTransaction('send', dest.chainId, dest.port.toLowerCase(), dest.receiver.toLowerCase(), '200000', '0', timeout.toString(), utf8(payload))) as Hex;
  }

  beforeAll(async () => {
    // Settlement on: the governance chain is a member chain, whose port carries the hub's cancel orders to Fabric.
    t = await startTestHub({ settlement: true });
    ({ keys } = await loadOrCreateKeys(join(t.dataDir, 'keys.json')));
    const member = await startFabricMember(t, keys);
    ({ net, client, chainId: F } = member);
    await registerMember(t, keys, member.registration);
    iface = new Interface((await portArtifacts()).QiaoPort.abi as never);
    dest = t.hub.demo!.chains[0]!;
    dp = makeProvider(dest.url, BigInt(dest.numericId), { pollingMs: 100 });
    evmPort = new Contract(dest.port, iface, dp);
  }, 180_000);

  afterAll(async () => {
    dp?.destroy();
    client?.gateway.disconnect();
    await t?.stop();
    await net?.stop();
  });

  it('Fabric -> EVM: delivered once after the block and the validation answers verify, acknowledged on the Fabric port', async () => {
    const id = await fromFabric('hello from fabric', (await evmNow()) + 3600n);
    await until(async () => (await status(id)) === 'acknowledged', { timeoutMs: 150_000, what: 'delivered and acknowledged' });
    const verified = (await t.hub.index.timeline(id)).find((x) => x.status === 'verified')!.proof as { lightClient: string; kind: string };
    expect(verified).toMatchObject({ lightClient: 'fabric', kind: 'fabric-tx' });
    expect(await evmDelivered(id)).toBe(1);
    // ON the Fabric port: the ack recorded for its own message.
    expect(JSON.parse(text(await port().evaluateTransaction('ack', id)))).toMatchObject({ outcome: 'delivered' });
  }, 180_000);

  it('EVM -> Fabric: the port chaincode delivers once to the receiver chaincode; a failing receiver acks an error back', async () => {
    const wallet = Wallet.createRandom();
    await dp.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
    const sender = new TxSender(wallet.privateKey, dp);
    const timeout = (await evmNow()) + 3600n;
    const sendTo = async (payload: string) => {
      const data = iface.encodeFunctionData('send', [F, PORT, RECEIVER, 200_000n, 0n, timeout, new TextEncoder().encode(payload)]);
      const r = await sender.send({ to: dest.port, data });
      const sent = r.logs.filter((l) => l.address.toLowerCase() === dest.port.toLowerCase()).map((l) => iface.parseLog(l)!).find((e) => e.name === 'MessageSent')!;
      const encoded = (sent.args[3] as string).toLowerCase() as Hex;
      return { id: messageId(encoded), encoded };
    };
    const before = await receiverCount();
    const ok = await sendTo('hello fabric');
    const bad = await sendTo('fail: the receiver refuses');
    await until(async () => (await status(ok.id)) === 'acknowledged', { timeoutMs: 150_000, what: 'delivered and acknowledged' });
    await until(async () => (await status(bad.id)) === 'failed', { timeoutMs: 90_000, what: 'failed' });
    // ON Fabric: the port's receipts and the receiver chaincode's count.
    expect(JSON.parse(text(await port().evaluateTransaction('receipt', ok.id)))).toMatchObject({ status: 'delivered' });
    expect(JSON.parse(text(await port().evaluateTransaction('receipt', bad.id)))).toMatchObject({ status: 'failed' });
    expect(await receiverCount()).toBe(before + 1);
    // ON the EVM source port: a delivered ack and an error ack, relayed from the Fabric port's own ack messages.
    expect(Number(await evmPort.getFunction('acks')(ok.id))).toBe(1);
    await until(async () => Number(await evmPort.getFunction('acks')(bad.id)) === 2, { timeoutMs: 120_000, intervalMs: 500, what: 'error ack on the source port' });

    // The same attested delivery submitted again straight to the chaincode is refused there: an id is delivered once.
    const row = (await t.hub.index.getMessage(ok.id))!;
    const batch = (await t.hub.index.getBatch(BigInt(row.batchNo!)))!;
    const signed = await signaturesFor(t.hub.relayer.ctx, t.hub.relayer.ctx.chains.get(F)!, BigInt(row.batchNo!));
    const replay = { setId: signed.setId.toString(), batchNo: row.batchNo, root: batch.root, signatures: signed.signatures, items: [{ encoded: ok.encoded, proof: MessageTree.of(batch.ids).proof(ok.id) }] };
    const outcome = await port().submitTransaction('deliver', JSON.stringify(replay)).then(
      (r) => ({ refused: false, answer: text(r) }),
      (err: unknown) => ({ refused: true, answer: String((err as Error).message) }),
    );
    expect(outcome.refused).toBe(true);
    expect(await receiverCount()).toBe(before + 1);
  }, 300_000);

  it('EVM -> Fabric past its timeout: the hub\'s attested cancel order cancels it on the Fabric port and the EVM port refunds', async () => {
    const wallet = Wallet.createRandom();
    await dp.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
    const user = new TxSender(wallet.privateKey, dp);
    const value = parseEther('0.3');
    const before = await receiverCount();
    // Deterministic, no race with delivery: the timeout is the Fabric channel's own clock now (its newest transaction
    // time, which only Fabric transactions move), so the message is past its timeout there from the start. The hub's
    // Fabric deliverer then never delivers it (as an EVM port refuses a late message) and the timeout stage sends the
    // cancel order, whichever of the two looks at it first. The EVM source port takes any timeout at send.
    const fabricNow = (await t.hub.relayer.ctx.chains.get(F)!.adapter.deliverer.clock!()).time;
    const data = iface.encodeFunctionData('sendRefundable', [F, PORT, RECEIVER, 200_000n, 0n, fabricNow, new TextEncoder().encode('too late')]);
    const r = await user.send({ to: dest.port, data, value });
    const sent = r.logs.filter((l) => l.address.toLowerCase() === dest.port.toLowerCase()).map((l) => iface.parseLog(l)!).find((e) => e.name === 'MessageSent')!;
    const id = messageId((sent.args[3] as string).toLowerCase() as Hex);
    const afterSend = await dp.getBalance(wallet.address);

    // ON the Fabric port: the cancel marker, written by the attested order the governance chain's port carried.
    await until(async () => text(await port().evaluateTransaction('receipt', id)) !== '', { timeoutMs: 150_000, intervalMs: 500, what: 'a receipt on the Fabric port' });
    expect(JSON.parse(text(await port().evaluateTransaction('receipt', id)))).toEqual({ status: 'cancelled', reason: '' });
    // ON the EVM source port: the cancel ack recorded and the escrow returned to the user.
    await until(async () => Number(await evmPort.getFunction('acks')(id)) === 3, { timeoutMs: 150_000, intervalMs: 500, what: 'cancel recorded on the source port' });
    expect(await dp.getBalance(wallet.address)).toBe(afterSend + value);
    expect((await evmPort.getFunction('escrows')(id))[1]).toBe(0n);
    await until(async () => (await status(id)) === 'refunded', { timeoutMs: 60_000, what: 'index shows refunded' });
    const tl = (await t.hub.index.timeline(id)).map((x) => x.status);
    expect(tl.slice(-2)).toEqual(['timed_out', 'refunded']);
    expect(tl).not.toContain('delivered');
    // Never delivered to the receiver chaincode; delivering the attested original now is refused by the port.
    expect(await receiverCount()).toBe(before);
    const row = (await t.hub.index.getMessage(id))!;
    const batch = (await t.hub.index.getBatch(BigInt(row.batchNo!)))!;
    const signed = await signaturesFor(t.hub.relayer.ctx, t.hub.relayer.ctx.chains.get(F)!, BigInt(row.batchNo!));
    const late = { setId: signed.setId.toString(), batchNo: row.batchNo, root: batch.root, signatures: signed.signatures, items: [{ encoded: row.encoded, proof: MessageTree.of(batch.ids).proof(id) }] };
    const refused = await port().submitTransaction('deliver', JSON.stringify(late)).then(() => false, () => true);
    expect(refused).toBe(true);
    expect(await receiverCount()).toBe(before);
  }, 300_000);

  it('does not relay a transaction that one peer calls valid and the others do not, nor one with a forged endorsement', async () => {
    const [org1, org2] = net.orgs as [FabricTestNetwork['orgs'][number], FabricTestNetwork['orgs'][number]];
    // Two sends endorsed on the same lane nonce: the one ordered second is an MVCC conflict on every peer.
    // The primary peer (org 1) lies about both: it calls them VALID.
    const a = port().createTransaction('send');
    const b = port().createTransaction('send');
    for (const tx of [a, b]) net.faults.flipValidation(org1.peerName, tx.getTransactionId());
    const nonce = BigInt(text(await port().evaluateTransaction('laneNonce', dest.chainId)));
    const args = (p: string) => [dest.chainId, dest.port.toLowerCase(), dest.receiver.toLowerCase(), '200000', '0', '0', utf8(p)];
    const results = await Promise.allSettled([a.submit(...args('race a')), b.submit(...args('race b'))]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    const lost = results[0]!.status === 'rejected' ? 'race a' : 'race b';
    const won = text((results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Uint8Array>).value) as Hex;
    // The losing message's id, computed from what it would have been: same lane nonce, its own payload.
    const cert = new X509Certificate(net.identity('Org2MSP', 'client').credentials.certificate);
    const sender = `0x${createHash('sha256').update('Org2MSP').update(Buffer.from([0])).update(cert.raw).digest('hex')}` as Hex;
    const lostId = messageId(
      encodeMessage({ version: 1, srcChain: F, srcPort: PORT, sender, dstChain: dest.chainId as ChainId, dstPort: dest.port.toLowerCase() as Hex, receiver: dest.receiver.toLowerCase() as Hex, nonce: nonce + 1n, gasLimit: 200_000n, timeoutHeight: 0n, timeoutUnixSeconds: 0n, payload: utf8(lost) }),
    );
    await until(async () => (await status(lostId)) === 'quarantined', { timeoutMs: 90_000, what: 'the conflicting tx quarantined' });
    expect((await t.hub.index.getMessage(lostId))!.reason).toBe('proof_invalid:validation_not_confirmed');
    await until(async () => (await status(won)) === 'delivered', { timeoutMs: 120_000, what: 'the winner delivered' });

    // Org 2's peer endorses with a key its MSP never issued; the primary peer again calls the tx VALID.
    net.faults.forgeEndorsement(org2.peerName, true);
    const forged = port().createTransaction('send');
    net.faults.flipValidation(org1.peerName, forged.getTransactionId());
    const forgedId = text(await forged.submit(...args('forged endorsement')).catch(() => new Uint8Array())) as Hex;
    net.faults.forgeEndorsement(org2.peerName, false);
    const forgedNonce = nonce + 2n;
    const fid = forgedId.startsWith('0x')
      ? forgedId
      : messageId(encodeMessage({ version: 1, srcChain: F, srcPort: PORT, sender, dstChain: dest.chainId as ChainId, dstPort: dest.port.toLowerCase() as Hex, receiver: dest.receiver.toLowerCase() as Hex, nonce: forgedNonce, gasLimit: 200_000n, timeoutHeight: 0n, timeoutUnixSeconds: 0n, payload: utf8('forged endorsement') }));
    await until(async () => (await status(fid)) === 'quarantined', { timeoutMs: 90_000, what: 'the forged endorsement quarantined' });
    expect((await t.hub.index.getMessage(fid))!.reason).toMatch(/^proof_invalid:/);

    // An honest message after them goes through; nothing of the refused ones arrived on the EVM chain.
    const honest = await fromFabric('after the refusals');
    await until(async () => (await status(honest)) === 'delivered', { timeoutMs: 120_000, what: 'honest delivered' });
    expect(await evmDelivered(lostId)).toBe(0);
    expect(await evmDelivered(fid)).toBe(0);
    expect(await evmDelivered(honest)).toBe(1);
  }, 360_000);
});
