import { Contract, type Context } from 'fabric-contract-api';

import { z } from 'zod';
import {
  MAX_PAYLOAD, asChainId, asHex, asU64, byteLength, decodeAck, decodeMessage, encodeAck, encodeMessage, hexUtf8, messageId, utf8Hex,
  type Message,
} from '../shared/abi.ts';
import { included, parseBatch, requireAttested, type Batch } from '../shared/attest.ts';
import { ChaincodeError } from '../shared/errors.ts';
import { EventLog, TxState, creatorHash, functionName, outerInvocation } from '../shared/tx.ts';
import { parsePortConfig, type PortConfig } from './config.ts';

export const PORT_CONTRACT = 'qiaoport';
export const OUTCOME = { delivered: 1, failed: 2, cancelled: 3 } as const;
export type ReceiptStatus = keyof typeof OUTCOME;
/** Gas limit written into ack messages, as QiaoPort.ACK_GAS_LIMIT. */
export const ACK_GAS_LIMIT = 200_000n;
const MAX_REASON = 256;
const CHAINCODE_NAME = /^[A-Za-z0-9_.+-]{1,64}$/;

export interface Receipt {
  status: ReceiptStatus;
  reason: string;
}

/** What the source port keeps for a timed send: who must answer, and which chaincode to refund. */
interface AckPeer {
  dstChain: string;
  dstPort: string;
  senderChaincode?: string;
}

export interface AckRecord {
  outcome: ReceiptStatus;
  reason: string;
  /** Set on a cancelled ack of a chaincode's message: whether its qiaoRefund accepted. */
  refunded?: boolean;
  refundError?: string;
}

/** What a receiver may return from qiaoReceive: messages the port sends with the receiver as sender. */
const outboxSchema = z.object({
  send: z
    .array(
      z.object({
        dstChain: z.string(),
        dstPort: z.string(),
        receiver: z.string(),
        gasLimit: z.string(),
        timeoutHeight: z.string().default('0'),
        timeoutUnixSeconds: z.string().default('0'),
        payload: z.string(),
      }),
    )
    .max(16),
});

interface Tx {
  st: TxState;
  ev: EventLog;
  cfg: PortConfig;
}

interface SendArgs {
  dstChain: string;
  dstPort: string;
  receiver: string;
  gasLimit: string;
  timeoutHeight: string;
  timeoutUnixSeconds: string;
  payload: string;
}

const K = {
  config: (st: TxState) => st.key('config'),
  commit: (st: TxState, id: string) => st.key('commit', id),
  lane: (st: TxState, dstChain: string) => st.key('lane', dstChain),
  receipt: (st: TxState, id: string) => st.key('receipt', id),
  ackPeer: (st: TxState, id: string) => st.key('ackpeer', id),
  ack: (st: TxState, id: string) => st.key('ack', id),
};

async function loadTx(ctx: Context): Promise<Tx> {
  const st = new TxState(ctx.stub);
  const raw = await st.getString(K.config(st));
  if (raw === undefined) throw new ChaincodeError('not_initialised', 'the port has no configuration: call init first');
  return { st, ev: new EventLog(), cfg: parsePortConfig(raw) };
}

/**
 * The Qiao sender of a send. A client's send is its identity hash. When the
 * client invoked another chaincode that calls the port, that outer chaincode is
 * the sender (its name as bytes): the hub tells an escrow's messages from its
 * users' by this. A receiver calling back into the port during deliver is
 * refused (the peer refuses A -> B -> A already; this check would also catch
 * a peer that did not, whose nested send would read stale lane nonces):
 * receivers return an outbox instead.
 */
function senderOf(ctx: Context, cfg: PortConfig): { sender: string; chaincode?: string } {
  const outer = outerInvocation(ctx.stub);
  if (outer && outer.chaincode !== cfg.chaincode) return { sender: utf8Hex(outer.chaincode), chaincode: outer.chaincode };
  if (outer) {
    const fn = functionName(outer.args[0]);
    const own = functionName(ctx.stub.getFunctionAndParameters().fcn);
    if (fn !== own) throw new ChaincodeError('reentrant_send', `send during ${fn}: a receiver must return its messages from qiaoReceive`);
  }
  return { sender: creatorHash(ctx.stub) };
}

function hasTimeout(m: Pick<Message, 'timeoutHeight' | 'timeoutUnixSeconds'>): boolean {
  return m.timeoutHeight !== 0n || m.timeoutUnixSeconds !== 0n;
}

async function sendMessage(tx: Tx, sender: string, a: SendArgs, senderChaincode?: string): Promise<{ id: string; encoded: string; nonce: string }> {
  const { st, ev, cfg } = tx;
  const dstChain = asChainId(a.dstChain, 'dstChain');
  const payload = asHex(a.payload, 'payload');
  if (byteLength(payload) > MAX_PAYLOAD) throw new ChaincodeError('payload_too_large', `payload is ${byteLength(payload)} bytes, the limit is ${MAX_PAYLOAD}`);
  const laneKey = K.lane(st, dstChain);
  const nonce = BigInt((await st.getString(laneKey)) ?? '0') + 1n;
  const m: Message = {
    version: 1,
    srcChain: cfg.chainId,
    srcPort: cfg.port,
    sender,
    dstChain,
    dstPort: asHex(a.dstPort, 'dstPort'),
    receiver: asHex(a.receiver, 'receiver'),
    nonce,
    gasLimit: asU64(a.gasLimit, 'gasLimit'),
    timeoutHeight: asU64(a.timeoutHeight, 'timeoutHeight'),
    timeoutUnixSeconds: asU64(a.timeoutUnixSeconds, 'timeoutUnixSeconds'),
    payload,
  };
  const encoded = encodeMessage(m);
  const id = messageId(encoded);
  await st.putString(laneKey, nonce.toString());
  await st.put(K.commit(st, id), new Uint8Array([1]));
  if (hasTimeout(m)) {
    const peer: AckPeer = { dstChain, dstPort: m.dstPort, ...(senderChaincode ? { senderChaincode } : {}) };
    await st.putJson(K.ackPeer(st, id), peer);
  }
  ev.add('MessageSent', { id, encoded });
  return { id, encoded, nonce: nonce.toString() };
}

async function sendAck(tx: Tx, original: Message, id: string, outcome: number, reason: string): Promise<void> {
  await sendMessage(tx, tx.cfg.port, {
    dstChain: original.srcChain,
    dstPort: original.srcPort,
    receiver: original.srcPort,
    gasLimit: ACK_GAS_LIMIT.toString(),
    timeoutHeight: '0',
    timeoutUnixSeconds: '0',
    payload: encodeAck(outcome, id, reason),
  });
}

/** Checks common to deliver and cancel: inclusion, version, addressed to this port. */
function checkItem(cfg: PortConfig, batch: Batch, item: Batch['items'][number]): { id: string; m: Message } {
  const encoded = asHex(item.encoded, 'encoded');
  const id = messageId(encoded);
  if (!included(batch.root, id, item.proof)) throw new ChaincodeError('not_in_batch', `${id} is not in the attested root`, { data: { id } });
  const m = decodeMessage(encoded);
  if (m.version !== 1) throw new ChaincodeError('wrong_version', `${id} has version ${m.version}`, { data: { id } });
  if (m.dstChain !== cfg.chainId) throw new ChaincodeError('wrong_destination', `${id} is addressed to ${m.dstChain}, this is ${cfg.chainId}`, { data: { id } });
  if (m.dstPort.toLowerCase() !== cfg.port) throw new ChaincodeError('wrong_port', `${id} is addressed to port ${m.dstPort}`, { data: { id } });
  return { id, m };
}

function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  return bytes.length <= MAX_REASON ? reason : new TextDecoder().decode(bytes.subarray(0, MAX_REASON)).replace(/\uFFFD$/, '');
}

/** An ack delivered to this port for one of its own messages (QiaoPort.qiaoReceive). */
async function receiveAck(ctx: Context, tx: Tx, m: Message): Promise<void> {
  const { st, ev } = tx;
  const a = decodeAck(m.payload);
  const peer = await st.getJson<AckPeer>(K.ackPeer(st, a.id));
  if (!peer || peer.dstChain !== m.srcChain || peer.dstPort.toLowerCase() !== m.sender.toLowerCase()) {
    throw new ChaincodeError('ack_from_wrong_port', `no ack for ${a.id} is expected from ${m.srcChain}`);
  }
  const outcome = (Object.keys(OUTCOME) as ReceiptStatus[]).find((k) => OUTCOME[k] === a.outcome);
  if (!outcome) throw new ChaincodeError('bad_ack', `unknown outcome ${a.outcome}`);
  const current = await st.getJson<AckRecord>(K.ack(st, a.id));
  // Recorded once: delivered and cancelled are final; failed may still become either.
  if (current && (current.outcome !== 'failed' || current.outcome === outcome)) {
    throw new ChaincodeError('ack_not_expected', `${a.id} is already acknowledged ${current.outcome}`);
  }
  const record: AckRecord = { outcome, reason: hexUtf8(a.reason) ?? a.reason };
  ev.add('Acknowledged', { id: a.id, outcome, reason: a.reason });
  if (outcome === 'cancelled' && peer.senderChaincode) {
    // The analogue of IQiaoSender.qiaoRefund: the chaincode that sent the message returns what it held.
    let r: Awaited<ReturnType<typeof ctx.stub.invokeChaincode>>;
    try {
      r = await ctx.stub.invokeChaincode(peer.senderChaincode, ['qiaoRefund', a.id], ctx.stub.getChannelID());
    } catch (e) {
      r = { status: 500, message: e instanceof Error ? e.message : String(e) };
    }
    record.refunded = r.status < 400;
    if (!record.refunded) record.refundError = truncateReason(r.message ?? '');
    ev.add('MessageRefunded', { id: a.id, chaincode: peer.senderChaincode, refunded: record.refunded });
  }
  await st.putJson(K.ack(st, a.id), record);
}

/** The chaincode delivering `m` invokes: its receiver, or for an ack the sending chaincode to refund. */
async function calledChaincode(tx: Tx, m: Message): Promise<string | undefined> {
  if (m.receiver.toLowerCase() !== tx.cfg.port) return hexUtf8(m.receiver);
  let a: ReturnType<typeof decodeAck>;
  try {
    a = decodeAck(m.payload);
  } catch {
    return undefined;
  }
  if (a.outcome !== OUTCOME.cancelled) return undefined;
  return (await tx.st.getJson<AckPeer>(K.ackPeer(tx.st, a.id)))?.senderChaincode;
}

/** Calls the receiver; a refusal is a failed receipt, never a failed transaction. */
async function callReceiver(ctx: Context, tx: Tx, id: string, m: Message): Promise<Receipt> {
  const { cfg } = tx;
  if (m.receiver.toLowerCase() === cfg.port) {
    try {
      await receiveAck(ctx, tx, m);
      return { status: 'delivered', reason: '' };
    } catch (e) {
      return { status: 'failed', reason: truncateReason(e instanceof Error ? e.message : String(e)) };
    }
  }
  const name = hexUtf8(m.receiver);
  if (!name || !CHAINCODE_NAME.test(name) || name === cfg.chaincode) {
    throw new ChaincodeError('bad_receiver', `${id}: receiver ${m.receiver} is not a chaincode name`, { data: { id } });
  }
  let r: Awaited<ReturnType<typeof ctx.stub.invokeChaincode>>;
  try {
    r = await ctx.stub.invokeChaincode(name, ['qiaoReceive', id, m.srcChain, m.sender, m.payload], cfg.channel);
  } catch (e) {
    // The peer could not run it (no such chaincode on this channel): as a receiver without code on EVM.
    return { status: 'failed', reason: truncateReason(`receiver unreachable: ${e instanceof Error ? e.message : String(e)}`) };
  }
  if (r.status >= 400) return { status: 'failed', reason: truncateReason(r.message ?? `status ${r.status}`) };
  const body = r.payload && r.payload.length > 0 ? new TextDecoder().decode(r.payload) : '';
  if (!body.startsWith('{')) return { status: 'delivered', reason: '' };
  let outbox: z.infer<typeof outboxSchema>;
  try {
    outbox = outboxSchema.parse(JSON.parse(body));
  } catch {
    return { status: 'failed', reason: 'receiver returned a malformed outbox' };
  }
  for (const s of outbox.send) await sendMessage(tx, utf8Hex(name), s, name);
  return { status: 'delivered', reason: '' };
}

/**
 * A cancel order: an ordinary Qiao message the hub's timeout authority sent on the governance
 * chain's QiaoPort to this port itself. Chaincode has no trustworthy clock, so whether a message is
 * past its timeout is decided off-chain (the hub reads this channel's latest block time) and arrives
 * here attested like any message. Without `govPort` configured there are no cancel orders.
 */
function isCancelOrder(cfg: PortConfig, m: Message): boolean {
  return (
    cfg.govPort !== undefined &&
    m.srcChain === cfg.govChain &&
    m.srcPort.toLowerCase() === cfg.govPort.toLowerCase() &&
    m.sender.toLowerCase() === cfg.timeoutAuthority &&
    m.receiver.toLowerCase() === cfg.port
  );
}

/**
 * Applies one cancel order (payload abi.encode(uint8 3, bytes32 originalId, bytes original)):
 * the original gets the cancel marker unless it was delivered (a failed one may be cancelled: it
 * was retryable only until its timeout), and the cancel ack goes to its source. The order's own
 * receipt is returned, never thrown: a refused order must not sink the other items of a batch.
 */
async function applyCancelOrder(tx: Tx, orderId: string, order: Message): Promise<{ receipt: Receipt; detail: string; cancelled?: string }> {
  const { st, ev, cfg } = tx;
  const refuse = (reason: string, detail: string) => ({ receipt: { status: 'failed' as const, reason }, detail });
  let a: ReturnType<typeof decodeAck>;
  try {
    a = decodeAck(order.payload);
  } catch {
    return refuse('bad_cancel_order', 'payload is not abi.encode(uint8, bytes32, bytes)');
  }
  if (a.outcome !== OUTCOME.cancelled) return refuse('bad_cancel_order', `outcome ${a.outcome} is not a cancel`);
  if (a.reason === '0x' || messageId(a.reason) !== a.id) return refuse('bad_original', `the order must carry the bytes of ${a.id}`);
  let original: Message;
  try {
    original = decodeMessage(a.reason);
  } catch {
    return refuse('bad_original', `the bytes of ${a.id} are not a Qiao message`);
  }
  if (original.dstChain !== cfg.chainId || original.dstPort.toLowerCase() !== cfg.port) return refuse('wrong_destination', `${a.id} is not addressed to this port`);
  if (!hasTimeout(original)) return refuse('no_timeout', `${a.id} has no timeout`);
  const current = await st.getJson<Receipt>(K.receipt(st, a.id));
  if (current?.status === 'delivered') return refuse('cannot_cancel', `${a.id} was delivered`);
  if (current?.status === 'cancelled') return refuse('already_cancelled', `${a.id} was cancelled already`);
  await st.putJson(K.receipt(st, a.id), { status: 'cancelled', reason: '' } satisfies Receipt);
  ev.add('MessageCancelled', { id: a.id, order: orderId });
  await sendAck(tx, original, a.id, OUTCOME.cancelled, '0x');
  return { receipt: { status: 'delivered', reason: '' }, detail: '', cancelled: a.id };
}

/**
 * The Qiao port of a Fabric channel: the counterpart of adapters/evm/contracts/QiaoPort.sol.
 * Every public method is a transaction (no decorators: fabric-contract-api then
 * treats all non-underscore methods as transactions); helpers live outside the class.
 */
export class QiaoPortContract extends Contract {
  constructor() {
    super(PORT_CONTRACT);
  }

  async init(ctx: Context, configJson: string): Promise<string> {
    const st = new TxState(ctx.stub);
    if ((await st.get(K.config(st))) !== undefined) throw new ChaincodeError('already_initialised', 'the port is configured already');
    const cfg = parsePortConfig(configJson);
    if (cfg.channel !== ctx.stub.getChannelID()) throw new ChaincodeError('bad_config', `port names channel ${cfg.channel}, this is ${ctx.stub.getChannelID()}`);
    await st.putString(K.config(st), configJson);
    return cfg.chainId;
  }

  async send(ctx: Context, dstChain: string, dstPortHex: string, receiverHex: string, gasLimit: string, timeoutHeight: string, timeoutUnixSeconds: string, payloadHex: string): Promise<string> {
    return (await this.sendMessage(ctx, dstChain, dstPortHex, receiverHex, gasLimit, timeoutHeight, timeoutUnixSeconds, payloadHex)).id;
  }

  /** As send, returning {id, encoded, nonce}: a chaincode calling the port re-emits the event (a callee's events are lost). */
  async sendMessage(ctx: Context, dstChain: string, dstPortHex: string, receiverHex: string, gasLimit: string, timeoutHeight: string, timeoutUnixSeconds: string, payloadHex: string): Promise<{ id: string; encoded: string; nonce: string }> {
    const tx = await loadTx(ctx);
    const { sender, chaincode } = senderOf(ctx, tx.cfg);
    const out = await sendMessage(tx, sender, { dstChain, dstPort: dstPortHex, receiver: receiverHex, gasLimit, timeoutHeight, timeoutUnixSeconds, payload: payloadHex }, chaincode);
    tx.ev.flush(ctx.stub);
    return out;
  }

  /**
   * Delivers every item of one attested batch or none: any bad item fails the
   * transaction. Each chaincode is invoked at most once per transaction; later
   * items for it come back `deferred` (no receipt) for the relayer to resubmit.
   * No clock check: Fabric has no trustworthy one, timeouts are
   * decided by the hub's cancel orders (applied here as items), and delivery and cancel
   * exclude each other through the one receipt slot.
   */
  async deliver(ctx: Context, batchJson: string): Promise<string> {
    const tx = await loadTx(ctx);
    const { st, ev, cfg } = tx;
    const batch = parseBatch(batchJson);
    requireAttested({ govChainId: cfg.govChainId, messageLog: cfg.messageLog }, cfg.attestorSet, batch);
    const out: { id: string; status: ReceiptStatus | 'deferred' }[] = [];
    const called = new Set<string>();
    for (const item of batch.items) {
      const { id, m } = checkItem(cfg, batch, item);
      const before = await st.getJson<Receipt>(K.receipt(st, id));
      if (before?.status === 'delivered') throw new ChaincodeError('already_delivered', `${id} was delivered already`, { data: { id } });
      if (before?.status === 'cancelled') throw new ChaincodeError('cancelled', `${id} was cancelled`, { data: { id } });
      if (isCancelOrder(cfg, m)) {
        // Applied here, no receiver called; an order for a delivered message gets a failed receipt.
        const r = await applyCancelOrder(tx, id, m);
        await st.putJson(K.receipt(st, id), r.receipt);
        ev.add('MessageDelivered', { id, status: r.receipt.status, reason: r.receipt.reason });
        out.push({ id, status: r.receipt.status });
        continue;
      }
      // A second invocation of one chaincode in this transaction would read the
      // committed state, not what the first wrote (lost updates: a balance
      // credited twice keeps one credit). Such an item waits for the next transaction.
      const target = await calledChaincode(tx, m);
      if (target !== undefined) {
        if (called.has(target)) {
          out.push({ id, status: 'deferred' });
          ev.add('MessageDeferred', { id, chaincode: target });
          continue;
        }
        called.add(target);
      }
      const answered = hasTimeout(m) && m.receiver.toLowerCase() !== cfg.port;
      const receipt = await callReceiver(ctx, tx, id, m);
      await st.putJson(K.receipt(st, id), receipt);
      ev.add('MessageDelivered', { id, status: receipt.status, reason: receipt.reason });
      // The first receipt is answered; a failed retry that fails again adds nothing new.
      if (answered && (receipt.status === 'delivered' || !before)) {
        await sendAck(tx, m, id, OUTCOME[receipt.status], receipt.status === 'failed' ? utf8Hex(receipt.reason) : '0x');
      }
      out.push({ id, status: receipt.status });
    }
    ev.flush(ctx.stub);
    return JSON.stringify(out);
  }

  /**
   * Applies attested cancel orders only (the same rule as deliver applies to them), for a
   * relayer that wants the transaction to fail unless every order takes effect: an order
   * the port does not apply (cannot_cancel, already_cancelled, ...) refuses the transaction.
   * Returns the cancelled original ids.
   */
  async cancel(ctx: Context, batchJson: string): Promise<string> {
    const tx = await loadTx(ctx);
    const { st, ev, cfg } = tx;
    const batch = parseBatch(batchJson);
    requireAttested({ govChainId: cfg.govChainId, messageLog: cfg.messageLog }, cfg.attestorSet, batch);
    const cancelled: string[] = [];
    for (const item of batch.items) {
      const { id: orderId, m: order } = checkItem(cfg, batch, item);
      if (!isCancelOrder(cfg, order)) throw new ChaincodeError('not_a_cancel_order', `${orderId} is not a cancel order of the hub's timeout authority`, { data: { id: orderId } });
      if (await st.get(K.receipt(st, orderId))) throw new ChaincodeError('already_delivered', `cancel order ${orderId} was used already`, { data: { id: orderId } });
      const r = await applyCancelOrder(tx, orderId, order);
      if (r.receipt.status !== 'delivered') throw new ChaincodeError(r.receipt.reason, `cancel order ${orderId}: ${r.detail}`, { data: { id: orderId } });
      await st.putJson(K.receipt(st, orderId), r.receipt);
      ev.add('MessageDelivered', { id: orderId, status: r.receipt.status, reason: r.receipt.reason });
      cancelled.push(r.cancelled!);
    }
    ev.flush(ctx.stub);
    return JSON.stringify(cancelled);
  }

  async receipt(ctx: Context, idHex: string): Promise<string> {
    const st = new TxState(ctx.stub);
    return (await st.getString(K.receipt(st, idHex.toLowerCase()))) ?? '';
  }

  async ack(ctx: Context, idHex: string): Promise<string> {
    const st = new TxState(ctx.stub);
    return (await st.getString(K.ack(st, idHex.toLowerCase()))) ?? '';
  }

  async committed(ctx: Context, idHex: string): Promise<boolean> {
    const st = new TxState(ctx.stub);
    return (await st.get(K.commit(st, idHex.toLowerCase()))) !== undefined;
  }

  async laneNonce(ctx: Context, dstChain: string): Promise<string> {
    const st = new TxState(ctx.stub);
    return (await st.getString(K.lane(st, dstChain))) ?? '0';
  }

  async attestorSet(ctx: Context): Promise<string> {
    const tx = await loadTx(ctx);
    return JSON.stringify(tx.cfg.attestorSet);
  }

  async config(ctx: Context): Promise<string> {
    const tx = await loadTx(ctx);
    return JSON.stringify({ ...tx.cfg, channel: undefined, chaincode: undefined });
  }
}

/** World-state keys, for the relayer's proofs of Fabric commitments (composite keys of the port's namespace). */
export const PORT_KEYS = { commit: 'commit', lane: 'lane', receipt: 'receipt', ack: 'ack', ackPeer: 'ackpeer', config: 'config' } as const;
