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
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { signAttestation, type AttestationDomain } from '../../src/domain/attestation.ts';
import { chainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { decodeMessage, messageId } from '../../src/domain/message.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import type { CompiledSet } from '../../src/governance/solc.ts';
import { revertOf } from '../helpers/revert.ts';

const CHAIN_ID = 4323n;
const CHAIN_NAME = chainId(`eip155:${CHAIN_ID}`);
const GOV_CHAIN_ID = 7743n;
const MESSAGE_LOG = getAddress(`0x${keccak256(toUtf8Bytes('ordered lanes test: MessageLog')).slice(-40)}`);
const SET_ID = 1n;
const MNEMONIC = 'test test test test test test test test test test test junk';
const coder = AbiCoder.defaultAbiCoder();
const attestorKeys = [1, 2, 3].map((i) => new SigningKey(keccak256(toUtf8Bytes(`ordered lanes test: attestor ${i}`))));

/**
 * Ordered lanes at the destination port (issue 5): the test plays the hub
 * (attests 2-of-3, delivers), port A sends, port B delivers to a DemoReceiver.
 * Each test makes the lane (A's chain, A) ordered at B from A's next nonce.
 */
describe('QiaoPort ordered lanes', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let compiled: CompiledSet;
  let admin: Wallet;
  let user: HDNodeWallet;
  let iface: Interface;
  let A: Contract;
  let B: Contract;
  let addrA: Hex;
  let addrB: Hex;
  let receiverAddr: Hex;
  let receiverCode: string;
  const domain: AttestationDomain = { chainId: GOV_CHAIN_ID, verifyingContract: MESSAGE_LOG };
  let nextBatchNo = 1n;

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

  interface Sent {
    m: Hex;
    id: Hex;
    nonce: bigint;
  }

  /** A sends (as `user`) to B. */
  async function send({ timeout = 0n, value = 0n, payload = 'pay', to = receiverAddr }: { timeout?: bigint; value?: bigint; payload?: string; to?: Hex } = {}): Promise<Sent> {
    const f = (A.connect(user) as Contract).getFunction(value > 0n ? 'sendRefundable' : 'send');
    const r = await mined(f(CHAIN_NAME, addrB, to, 150_000n, 0n, timeout, hexlify(toUtf8Bytes(payload)), value > 0n ? { value } : {}));
    const m = eventsOf(r, addrA).find((e) => e.name === 'MessageSent')!.args[3] as Hex;
    return { m, id: messageId(m), nonce: decodeMessage(m).nonce };
  }

  function attest(encoded: Hex[]) {
    const tree = MessageTree.of([...encoded.map(messageId), keccak256(toUtf8Bytes(`pad ${nextBatchNo}`)) as Hex]);
    const batchNo = nextBatchNo++;
    const signatures = [attestorKeys[0]!, attestorKeys[2]!].map((k) => signAttestation(k, domain, { rootType: 1, setId: SET_ID, batchNo, root: tree.root }));
    return { root: tree.root, batchNo, signatures, proofs: encoded.map((m) => tree.proof(messageId(m))) };
  }

  /** Attests and accepts a root on B without delivering; returns the root and proofs. */
  async function accepted(encoded: Hex[]) {
    const b = attest(encoded);
    await mined(fn(B, 'acceptRoot')(SET_ID, b.batchNo, b.root, b.signatures));
    return b;
  }

  async function relay(port: Contract, encoded: Hex[]): Promise<TransactionReceipt> {
    const b = attest(encoded);
    return mined(fn(port, 'deliverBatch')(SET_ID, b.batchNo, b.root, b.signatures, encoded, b.proofs));
  }

  /** What a delivery did at B, in log order: [id, 'ok' | 'failed' | reject code]. */
  const outcomes = (r: TransactionReceipt) =>
    eventsOf(r, addrB)
      .filter((e) => e.name === 'MessageDelivered' || e.name === 'MessageRejected')
      .map((e) => [e.args[0] as string, e.name === 'MessageRejected' ? Number(e.args[1]) : e.args[1] ? 'ok' : 'failed']);

  const lane = async (): Promise<[boolean, bigint]> => {
    const key = keccak256(coder.encode(['bytes32', 'bytes32'], [keccak256(toUtf8Bytes(CHAIN_NAME)), keccak256(addrA)]));
    const [ordered, next] = (await fn(B, 'lanes').staticCall(key)) as [boolean, bigint];
    return [ordered, next];
  };

  /** Makes the lane ordered from A's next nonce (or unordered). */
  async function order(ordered = true): Promise<bigint> {
    const next = (await fn(A, 'laneNonce').staticCall(keccak256(toUtf8Bytes(CHAIN_NAME)))) + 1n;
    await mined(fn(B, 'setOrderedLane')(CHAIN_NAME, addrA, ordered, next));
    return next;
  }

  beforeAll(async () => {
    compiled = { ...(await portArtifacts()) };
    anvil = await startAnvil({ chainId: CHAIN_ID, args: ['--hardfork', 'cancun'] });
    provider = new JsonRpcProvider(anvil.url, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
    admin = new Wallet(ANVIL_DEV_KEY, provider);
    user = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/3").connect(provider);
    [A, B] = [await deployPort(), await deployPort()];
    iface = A.interface;
    [addrA, addrB] = (await Promise.all([A, B].map((c) => c.getAddress()))).map((a) => a.toLowerCase() as Hex) as [Hex, Hex];
    const R = compiled.DemoReceiver!;
    const r = await new ContractFactory(R.abi as never, R.bytecode, admin).deploy(addrB);
    await r.waitForDeployment();
    receiverAddr = (await r.getAddress()).toLowerCase() as Hex;
    receiverCode = await provider.getCode(receiverAddr);
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it('leaves unordered lanes as they were: any order is delivered', async () => {
    expect(await lane()).toEqual([false, 0n]);
    const [m1, m2] = [await send(), await send()];
    expect(outcomes(await relay(B, [m2.m, m1.m]))).toEqual([
      [m2.id, 'ok'],
      [m1.id, 'ok'],
    ]);
    expect(await lane()).toEqual([false, 0n]);
  });

  it('is set only by the admin, with an event', async () => {
    const setAsUser = (B.connect(user) as Contract).getFunction('setOrderedLane');
    expect((await revertOf(iface, setAsUser.staticCall(CHAIN_NAME, addrA, true, 1n))).name).toBe('NotAdmin');
    const r = await mined(fn(B, 'setOrderedLane')(CHAIN_NAME, addrA, true, 7n));
    const ev = eventsOf(r, addrB).find((e) => e.name === 'LaneOrderChanged')!;
    expect([ev.args[1], ev.args[2], ev.args[3], ev.args[4]]).toEqual([CHAIN_NAME, addrA, true, 7n]);
    expect(await lane()).toEqual([true, 7n]);
  });

  it('delivers an ordered lane only in nonce order: code 9 in deliverBatch, OutOfOrder in deliver', async () => {
    const next = await order();
    const [m1, m2, m3] = [await send(), await send(), await send()];
    expect(m1.nonce).toBe(next);
    // A follower alone is refused, and stays deliverable.
    expect(outcomes(await relay(B, [m2.m]))).toEqual([[m2.id, 9]]);
    const b = await accepted([m2.m]);
    const single = await revertOf(iface, fn(B, 'deliver').staticCall(b.root, m2.m, b.proofs[0]));
    expect([single.name, single.args[0], single.args[1]]).toEqual(['OutOfOrder', next, next + 1n]);
    // In one batch, in order: each delivered head makes the next one the head.
    expect(outcomes(await relay(B, [m1.m, m2.m]))).toEqual([
      [m1.id, 'ok'],
      [m2.id, 'ok'],
    ]);
    expect(await lane()).toEqual([true, next + 2n]);
    // Out of order within a batch: the follower listed first is refused, the head delivered.
    const m4 = await send();
    expect(outcomes(await relay(B, [m4.m, m3.m]))).toEqual([
      [m4.id, 9],
      [m3.id, 'ok'],
    ]);
    expect(outcomes(await relay(B, [m4.m]))).toEqual([[m4.id, 'ok']]);
    // Delivered ones stay "already delivered", not "out of order".
    expect(outcomes(await relay(B, [m1.m]))).toEqual([[m1.id, 6]]);
  });

  it('blocks behind a failed head until its retry succeeds', async () => {
    const next = await order();
    // A receiver with no code yet: the head fails, as a reverting receiver would.
    const missing = getAddress(hexlify(keccak256(toUtf8Bytes('ordered lanes: receiver deployed later'))).slice(0, 42)).toLowerCase() as Hex;
    const head = await send({ to: missing });
    const follower = await send();
    expect(outcomes(await relay(B, [head.m, follower.m]))).toEqual([
      [head.id, 'failed'],
      [follower.id, 9],
    ]);
    expect(Number(await fn(B, 'receipts').staticCall(head.id))).toBe(2);
    expect(await lane()).toEqual([true, next]);
    expect(outcomes(await relay(B, [follower.m]))).toEqual([[follower.id, 9]]);

    // The receiver appears; the failed head's retry (a plain re-delivery) succeeds and the lane moves.
    await provider.send('anvil_setCode', [missing, receiverCode]);
    const b = await accepted([head.m]);
    const retry = await mined(fn(B, 'deliver')(b.root, head.m, b.proofs[0]));
    expect(outcomes(retry)).toEqual([[head.id, 'ok']]);
    expect(await lane()).toEqual([true, next + 1n]);
    expect(outcomes(await relay(B, [follower.m]))).toEqual([[follower.id, 'ok']]);
  });

  it('cancels only the head of an ordered lane, and the cancel moves the lane', async () => {
    const next = await order();
    const timeout = (await now()) + 50n;
    const [m1, m2] = [await send({ timeout }), await send({ timeout })];
    await passTime(51);
    const b = await accepted([m1.m, m2.m]);
    const notHead = await revertOf(iface, fn(B, 'cancel').staticCall(b.root, m2.m, b.proofs[1]));
    expect([notHead.name, notHead.args[0], Number(notHead.args[1])]).toEqual(['CannotCancel', m2.id, 9]);
    await mined(fn(B, 'cancel')(b.root, m1.m, b.proofs[0]));
    expect(await lane()).toEqual([true, next + 1n]);
    await mined(fn(B, 'cancel')(b.root, m2.m, b.proofs[1]));
    expect(await lane()).toEqual([true, next + 2n]);
    expect([Number(await fn(B, 'receipts').staticCall(m1.id)), Number(await fn(B, 'receipts').staticCall(m2.id))]).toEqual([3, 3]);
  });

  it('skips only by the admin, only the head; the skip moves the lane and answers like a cancel, so the source refunds', async () => {
    const next = await order();
    const value = parseEther('0.3');
    const head = await send({ timeout: (await now()) + 10_000n, value, payload: 'fail: refused by the receiver' });
    const follower = await send();
    expect(outcomes(await relay(B, [head.m, follower.m]))).toEqual([
      [head.id, 'failed'],
      [follower.id, 9],
    ]);
    const b = await accepted([head.m, follower.m]);
    const reason = hexlify(toUtf8Bytes('operator: receiver refuses it'));

    const asUser = (B.connect(user) as Contract).getFunction('skip');
    expect((await revertOf(iface, asUser.staticCall(b.root, head.m, b.proofs[0], reason))).name).toBe('NotAdmin');
    const notHead = await revertOf(iface, fn(B, 'skip').staticCall(b.root, follower.m, b.proofs[1], reason));
    expect([notHead.name, notHead.args[0], Number(notHead.args[1])]).toEqual(['CannotSkip', follower.id, 9]);

    const r = await mined(fn(B, 'skip')(b.root, head.m, b.proofs[0], reason));
    const evs = eventsOf(r, addrB);
    expect(evs.filter((e) => e.name === 'MessageSkipped').map((e) => [e.args[0], e.args[1]])).toEqual([[head.id, reason]]);
    expect(evs.some((e) => e.name === 'MessageDelivered' || e.name === 'MessageCancelled')).toBe(false);
    expect(Number(await fn(B, 'receipts').staticCall(head.id))).toBe(3);
    expect(await lane()).toEqual([true, next + 1n]);
    // The answer: ack outcome 3 (cancelled) with the reason, from B to A.
    const ack = evs.find((e) => e.name === 'MessageSent')!.args[3] as Hex;
    const [outcome, original, why] = coder.decode(['uint8', 'bytes32', 'bytes'], decodeMessage(ack).payload);
    expect([Number(outcome), original, why]).toEqual([3, head.id, reason]);

    // Never deliverable, never skippable again.
    expect((await revertOf(iface, fn(B, 'deliver').staticCall(b.root, head.m, b.proofs[0]))).name).toBe('Cancelled');
    const twice = await revertOf(iface, fn(B, 'skip').staticCall(b.root, head.m, b.proofs[0], reason));
    expect([twice.name, Number(twice.args[1])]).toEqual(['CannotSkip', 8]);
    // The follower is the head now.
    expect(outcomes(await relay(B, [follower.m]))).toEqual([[follower.id, 'ok']]);

    // At the source the skip reads as a cancel: the escrow comes back.
    const before = await provider.getBalance(user.address);
    const back = await relay(A, [ack]);
    expect(eventsOf(back, addrA).filter((e) => e.name === 'MessageRefunded').map((e) => [e.args[0], e.args[2], e.args[3]])).toEqual([[head.id, value, true]]);
    expect(Number(await fn(A, 'acks').staticCall(head.id))).toBe(3);
    expect(await provider.getBalance(user.address)).toBe(before + value);
  });

  it('refuses to skip on an unordered lane', async () => {
    await order(false);
    const m = await send({ payload: 'fail: unordered' });
    expect(outcomes(await relay(B, [m.m]))).toEqual([[m.id, 'failed']]);
    const b = await accepted([m.m]);
    const r = await revertOf(iface, fn(B, 'skip').staticCall(b.root, m.m, b.proofs[0], '0x'));
    expect([r.name, r.args[0], Number(r.args[1])]).toEqual(['CannotSkip', m.id, 0]);
  });
});
