import {
  AbiCoder,
  Contract,
  ContractFactory,
  HDNodeWallet,
  Interface,
  JsonRpcProvider,
  SigningKey,
  Wallet,
  getAddress,
  hexlify,
  keccak256,
  parseEther,
  toUtf8Bytes,
  type ContractTransactionResponse,
  type LogDescription,
  type TransactionReceipt,
} from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAttestation, type AttestationDomain } from '../../src/domain/attestation.ts';
import { chainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { decodeMessage, encodeMessage, messageId, type QiaoMessage } from '../../src/domain/message.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import type { CompiledSet } from '../../src/governance/solc.ts';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { revertOf } from '../helpers/revert.ts';

const CHAIN_ID = 4322n;
const CHAIN_NAME = chainId(`eip155:${CHAIN_ID}`);
const GOV_CHAIN_ID = 7742n;
const MESSAGE_LOG = getAddress(`0x${keccak256(toUtf8Bytes('port acks test: MessageLog')).slice(-40)}`);
const SET_ID = 1n;
const MNEMONIC = 'test test test test test test test test test test test junk';
const ACK_PAYLOAD = ['uint8', 'bytes32', 'bytes'];
const coder = AbiCoder.defaultAbiCoder();
const attestorKeys = [1, 2, 3].map((i) => new SigningKey(keccak256(toUtf8Bytes(`port acks test: attestor ${i}`))));


/**
 * Acknowledgements and timeouts between two ports on one anvil chain: the
 * source port A sends to the destination port B; the test plays the hub
 * (it attests batches 2-of-3 and delivers them), so every answer travels as a
 * message B sends and A receives.
 */
describe('QiaoPort acknowledgements, cancel markers and refunds', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let compiled: CompiledSet;
  let admin: Wallet;
  let user: HDNodeWallet;
  let iface: Interface;
  let A: Contract;
  let B: Contract;
  let C: Contract;
  let addrA: Hex;
  let addrB: Hex;
  let addrC: Hex;
  let receiver: Contract;
  let receiverAddr: Hex;
  const domain: AttestationDomain = { chainId: GOV_CHAIN_ID, verifyingContract: MESSAGE_LOG };
  let nextBatchNo = 1n;
  let forgedNonce = 1_000n;

  const fn = (c: Contract, name: string) => c.getFunction(name);
  const mined = async (p: Promise<ContractTransactionResponse>): Promise<TransactionReceipt> => (await (await p).wait())!;
  const eventsOf = (r: TransactionReceipt, at: Hex): LogDescription[] => r.logs.filter((l) => l.address.toLowerCase() === at).map((l) => iface.parseLog(l)!);
  const now = async () => BigInt((await provider.getBlock('latest'))!.timestamp);
  const passTime = async (seconds: number) => {
    await provider.send('evm_increaseTime', [seconds]);
    await provider.send('evm_mine', []);
  };

  async function deployPort(): Promise<Contract> {
    const P = compiled.QiaoPort!;
    const c = await new ContractFactory(P.abi as never, P.bytecode, admin).deploy(CHAIN_NAME, GOV_CHAIN_ID, MESSAGE_LOG, attestorKeys.map((k) => new Wallet(k).address), 2, SET_ID, 3600, 86_400);
    await c.waitForDeployment();
    return c as unknown as Contract;
  }

  /** A sends (as `user`) to B's receiver; returns the emitted bytes. */
  async function send({ timeout = 0n, value = 0n, refundable = value > 0n, payload = 'pay' }: { timeout?: bigint; value?: bigint; refundable?: boolean; payload?: string } = {}) {
    const f = (A.connect(user) as Contract).getFunction(refundable ? 'sendRefundable' : 'send');
    const r = await mined(f(CHAIN_NAME, addrB, receiverAddr, 150_000n, 0n, timeout, hexlify(toUtf8Bytes(payload)), refundable ? { value } : {}));
    const m = eventsOf(r, addrA).find((e) => e.name === 'MessageSent')!.args[3] as Hex;
    return { m, id: messageId(m), gasCost: r.gasUsed * r.gasPrice };
  }

  /** Attests a root over the messages (2-of-3) and returns it with proofs. */
  function attest(encoded: Hex[]) {
    const tree = MessageTree.of([...encoded.map(messageId), keccak256(toUtf8Bytes(`pad ${nextBatchNo}`)) as Hex]);
    const batchNo = nextBatchNo++;
    const signatures = [attestorKeys[0]!, attestorKeys[2]!].map((k) => signAttestation(k, domain, { rootType: 1, setId: SET_ID, batchNo, root: tree.root }));
    return { root: tree.root, batchNo, signatures, proofs: encoded.map((m) => tree.proof(messageId(m))) };
  }

  /** Delivers messages on a port as the hub would (deliverBatch). */
  async function relay(port: Contract, encoded: Hex[]): Promise<TransactionReceipt> {
    const b = attest(encoded);
    return mined(fn(port, 'deliverBatch')(SET_ID, b.batchNo, b.root, b.signatures, encoded, b.proofs));
  }

  /** The ack messages a port sent in a transaction, decoded. */
  function acksIn(r: TransactionReceipt, from: Hex) {
    return eventsOf(r, from)
      .filter((e) => e.name === 'MessageSent')
      .map((e) => {
        const m = e.args[3] as Hex;
        const msg = decodeMessage(m);
        const [outcome, original, reason] = coder.decode(ACK_PAYLOAD, msg.payload);
        return { m, msg, outcome: Number(outcome), original: (original as string).toLowerCase() as Hex, reason: reason as string };
      });
  }

  /** A message no port sent, claiming to be an ack: only the test's attestation makes it deliverable. */
  function forgedAck(over: Partial<QiaoMessage>, outcome: number, original: Hex): Hex {
    return encodeMessage({
      version: 1,
      srcChain: CHAIN_NAME,
      srcPort: addrB,
      sender: addrB,
      dstChain: CHAIN_NAME,
      dstPort: addrA,
      receiver: addrA,
      nonce: forgedNonce++,
      gasLimit: 200_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload: coder.encode(ACK_PAYLOAD, [outcome, original, '0x']) as Hex,
      ...over,
    });
  }

  const delivered = (r: TransactionReceipt, at: Hex) => eventsOf(r, at).filter((e) => e.name === 'MessageDelivered').map((e) => ({ id: e.args[0] as string, ok: e.args[1] as boolean, reason: e.args[2] as string }));
  const portError = (reason: string) => iface.parseError(reason);

  beforeAll(async () => {
    compiled = { ...(await portArtifacts()) };
    anvil = await startAnvil({ chainId: CHAIN_ID, args: ['--hardfork', 'cancun'] });
    provider = new JsonRpcProvider(anvil.url, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
    admin = new Wallet(ANVIL_DEV_KEY, provider);
    user = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/2").connect(provider);
    [A, B, C] = [await deployPort(), await deployPort(), await deployPort()];
    iface = A.interface;
    [addrA, addrB, addrC] = (await Promise.all([A, B, C].map((c) => c.getAddress()))).map((a) => a.toLowerCase() as Hex) as [Hex, Hex, Hex];
    const R = compiled.DemoReceiver!;
    const r = await new ContractFactory(R.abi as never, R.bytecode, admin).deploy(addrB);
    await r.waitForDeployment();
    receiver = r as unknown as Contract;
    receiverAddr = (await receiver.getAddress()).toLowerCase() as Hex;
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it('answers a delivered message once: the source records the ack and settles the escrow, nothing flows back', async () => {
    const value = parseEther('1');
    const { m, id } = await send({ timeout: (await now()) + 10_000n, value });
    expect(await fn(A, 'escrows').staticCall(id)).toEqual([getAddress(user.address), value]);
    const userBefore = await provider.getBalance(user.address);

    const r = await relay(B, [m]);
    expect(delivered(r, addrB)).toEqual([{ id, ok: true, reason: '0x' }]);
    const [ack, ...more] = acksIn(r, addrB);
    expect(more).toEqual([]);
    expect(ack!.outcome).toBe(1);
    expect(ack!.original).toBe(id);
    // From B itself to A itself, never timing out (acks are not answered).
    expect([ack!.msg.srcPort, ack!.msg.sender, ack!.msg.dstPort, ack!.msg.receiver]).toEqual([addrB, addrB, addrA, addrA]);
    expect([ack!.msg.timeoutHeight, ack!.msg.timeoutUnixSeconds]).toEqual([0n, 0n]);

    const back = await relay(A, [ack!.m]);
    expect(delivered(back, addrA)).toEqual([{ id: messageId(ack!.m), ok: true, reason: '0x' }]);
    const evs = eventsOf(back, addrA);
    expect(evs.filter((e) => e.name === 'Acknowledged').map((e) => [e.args[0], Number(e.args[1])])).toEqual([[id, 1]]);
    expect(evs.filter((e) => e.name === 'EscrowSettled').map((e) => [e.args[0], e.args[1]])).toEqual([[id, value]]);
    expect(evs.some((e) => e.name === 'MessageRefunded' || e.name === 'MessageSent')).toBe(false);
    expect(Number(await fn(A, 'acks').staticCall(id))).toBe(1);
    expect(await provider.getBalance(user.address)).toBe(userBefore);
    expect(await provider.getBalance(addrA)).toBe(value);

    // Recorded once: the same ack again is a duplicate; a later cancel claim from B is refused.
    const again = await relay(A, [ack!.m]);
    expect(eventsOf(again, addrA).filter((e) => e.name === 'MessageRejected').map((e) => Number(e.args[1]))).toEqual([6]);
    const lateCancel = await relay(A, [forgedAck({}, 3, id)]);
    const [refused] = delivered(lateCancel, addrA);
    expect(refused!.ok).toBe(false);
    const err = portError(refused!.reason)!;
    expect(err.name).toBe('AckNotExpected');
    expect([err.args[0], Number(err.args[1]), Number(err.args[2])]).toEqual([id, 1, 3]);
    expect(Number(await fn(A, 'acks').staticCall(id))).toBe(1);
    expect(await provider.getBalance(user.address)).toBe(userBefore);
    expect(await provider.getBalance(addrA)).toBe(value);

    // Past its timeout, a delivered message cannot be cancelled at the destination either.
    await passTime(10_001);
    const b = attest([m]);
    await mined(fn(B, 'acceptRoot')(SET_ID, b.batchNo, b.root, b.signatures));
    const c = await revertOf(iface, fn(B, 'cancel').staticCall(b.root, m, b.proofs[0]));
    expect(c.name).toBe('CannotCancel');
    expect([c.args[0], Number(c.args[1])]).toEqual([id, 6]);
  });

  it('writes the cancel marker only past the timeout, for an attested message, and delivery is refused for good after it', async () => {
    const value = parseEther('0.5');
    const { m, id } = await send({ timeout: (await now()) + 100n, value });
    const b = attest([m]);
    // Not attested on B yet.
    expect((await revertOf(iface, fn(B, 'cancel').staticCall(b.root, m, b.proofs[0]))).name).toBe('RootNotAttested');
    await mined(fn(B, 'acceptRoot')(SET_ID, b.batchNo, b.root, b.signatures));
    const early = await revertOf(iface, fn(B, 'cancel').staticCall(b.root, m, b.proofs[0]));
    expect([early.name, early.args[0]]).toEqual(['NotTimedOut', id]);

    await passTime(101);
    // A paused port still takes cancel markers (no receiver is called), and the marker is permanent.
    await mined(fn(B, 'pause')(true));
    const r = await mined(fn(B, 'cancel')(b.root, m, b.proofs[0]));
    await mined(fn(B, 'pause')(false));
    expect(eventsOf(r, addrB).filter((e) => e.name === 'MessageCancelled').map((e) => e.args[0])).toEqual([id]);
    expect(Number(await fn(B, 'receipts').staticCall(id))).toBe(3);
    const [ack] = acksIn(r, addrB);
    expect([ack!.outcome, ack!.original]).toEqual([3, id]);

    const twice = await revertOf(iface, fn(B, 'cancel').staticCall(b.root, m, b.proofs[0]));
    expect([twice.name, twice.args[0], Number(twice.args[1])]).toEqual(['CannotCancel', id, 8]);
    const late = await revertOf(iface, fn(B, 'deliver').staticCall(b.root, m, b.proofs[0]));
    expect([late.name, late.args[0]]).toEqual(['Cancelled', id]);
    const lateBatch = await relay(B, [m]);
    expect(eventsOf(lateBatch, addrB).filter((e) => e.name === 'MessageRejected').map((e) => [e.args[0], Number(e.args[1])])).toEqual([[id, 8]]);
    expect(Number(await fn(receiver, 'timesReceived').staticCall(id))).toBe(0);

    // The refund: only a cancel coming from B, the port the message was sent to, releases the escrow.
    const userBefore = await provider.getBalance(user.address);
    const portBefore = await provider.getBalance(addrA);
    const fromC = forgedAck({ srcPort: addrC, sender: addrC }, 3, id);
    const fromElsewhere = forgedAck({ srcChain: chainId('eip155:1') }, 3, id);
    const forged = await relay(A, [fromC, fromElsewhere]);
    for (const d of delivered(forged, addrA)) {
      expect(d.ok).toBe(false);
      expect(portError(d.reason)!.name).toBe('AckFromWrongPort');
    }
    expect(delivered(forged, addrA)).toHaveLength(2);
    expect(Number(await fn(A, 'acks').staticCall(id))).toBe(0);
    expect(await provider.getBalance(user.address)).toBe(userBefore);
    expect((await revertOf(iface, fn(A, 'qiaoReceive').staticCall(id, CHAIN_NAME, addrB, ack!.msg.payload))).name).toBe('OnlySelf');

    const back = await relay(A, [ack!.m]);
    const refunded = eventsOf(back, addrA).filter((e) => e.name === 'MessageRefunded').map((e) => [e.args[0], e.args[1], e.args[2], e.args[3]]);
    expect(refunded).toEqual([[id, getAddress(user.address), value, true]]);
    expect(Number(await fn(A, 'acks').staticCall(id))).toBe(3);
    expect(await provider.getBalance(user.address)).toBe(userBefore + value);
    expect(await provider.getBalance(addrA)).toBe(portBefore - value);
    expect(await fn(A, 'escrows').staticCall(id)).toEqual([getAddress('0x0000000000000000000000000000000000000000'), 0n]);
    // Once refunded, nothing more comes back for it.
    const replay = await relay(A, [forgedAck({}, 3, id), forgedAck({}, 1, id)]);
    expect(delivered(replay, addrA).map((d) => [d.ok, portError(d.reason)!.name])).toEqual([
      [false, 'AckNotExpected'],
      [false, 'AckNotExpected'],
    ]);
    expect(await provider.getBalance(user.address)).toBe(userBefore + value);
  });

  it('answers a failed message with an error ack that releases nothing; past its timeout it is cancelled and refunded', async () => {
    const value = parseEther('0.25');
    const { m, id } = await send({ timeout: (await now()) + 100n, value, payload: 'fail: refused' });
    const r = await relay(B, [m]);
    expect(delivered(r, addrB).map((d) => d.ok)).toEqual([false]);
    const [errAck, ...none] = acksIn(r, addrB);
    expect(none).toEqual([]);
    expect([errAck!.outcome, errAck!.original]).toEqual([2, id]);
    // A retry that fails again is not answered a second time.
    const retry = await relay(B, [m]);
    expect(delivered(retry, addrB).map((d) => d.ok)).toEqual([false]);
    expect(acksIn(retry, addrB)).toEqual([]);

    const userBefore = await provider.getBalance(user.address);
    const back = await relay(A, [errAck!.m]);
    expect(eventsOf(back, addrA).filter((e) => e.name === 'Acknowledged').map((e) => Number(e.args[1]))).toEqual([2]);
    expect(Number(await fn(A, 'acks').staticCall(id))).toBe(2);
    expect((await fn(A, 'escrows').staticCall(id))[1]).toBe(value);

    await passTime(101);
    const b = attest([m]);
    await mined(fn(B, 'acceptRoot')(SET_ID, b.batchNo, b.root, b.signatures));
    const cancelled = await mined(fn(B, 'cancel')(b.root, m, b.proofs[0]));
    const [cancelAck] = acksIn(cancelled, addrB);
    await relay(A, [cancelAck!.m]);
    expect(Number(await fn(A, 'acks').staticCall(id))).toBe(3);
    expect(await provider.getBalance(user.address)).toBe(userBefore + value);
  });

  it('only answers messages with a timeout, and escrows only with one', async () => {
    const { m, id } = await send();
    const r = await relay(B, [m]);
    expect(delivered(r, addrB)).toEqual([{ id, ok: true, reason: '0x' }]);
    expect(acksIn(r, addrB)).toEqual([]);
    expect(await fn(A, 'ackPeer').staticCall(id)).toBe(`0x${'0'.repeat(64)}`);
    const noTimeout = await revertOf(iface, (A.connect(user) as Contract).getFunction('sendRefundable').staticCall(CHAIN_NAME, addrB, receiverAddr, 1n, 0n, 0n, '0x', { value: 1n }));
    expect(noTimeout.name).toBe('NeedsTimeout');
    // An ack for a message that was never sent with a timeout is refused.
    const stray = await relay(A, [forgedAck({}, 3, id)]);
    expect(delivered(stray, addrA).map((d) => portError(d.reason)!.name)).toEqual(['AckFromWrongPort']);
  });
});
