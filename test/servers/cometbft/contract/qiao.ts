// fromBech32's default limit (Infinity) is refused by the @scure/base it bundles: pass one.
import { fromBech32 } from '@cosmjs/encoding';
import { MsgExecuteContract, MsgExecuteContractResponse } from 'cosmjs-types/cosmwasm/wasm/v1/tx';
import { QuerySmartContractStateRequest, QuerySmartContractStateResponse } from 'cosmjs-types/cosmwasm/wasm/v1/query';
import { Order, type Packet } from 'cosmjs-types/ibc/core/channel/v1/channel';
import { AbiCoder, getBytes, hexlify, keccak256, toUtf8Bytes } from 'ethers';
import { z } from 'zod';
import type { ChainId } from '../../../../src/domain/caip.ts';
import type { Hex } from '../../../../src/domain/hex.ts';
import { decodeMessage, encodeMessage, type QiaoMessage } from '../../../../src/domain/message.ts';
import { type Coin, ModuleError, type QueryContext, type TxContext } from '../node/module.ts';
import type { IbcApp, PacketSender } from '../ibc/app.ts';
import { ibcError } from '../ibc/errors.ts';
import { ModelReceiver } from './receiver.ts';
import { ContractState, type SentRecord } from './state.ts';

export const WASM_STORE = 'wasm';
export const QIAO_VERSION = 'qiao-1';
export const HUB_PORT = 'qiao';
/** Where the escrow of a delivered message goes: "paid" (a module account, sha256(name)[:20]). */
export const SETTLEMENT_MODULE = 'qiao_settlement';
const TEN_YEARS_NS = 10n * 365n * 24n * 3600n * 1_000_000_000n;
const ACK_PAYLOAD = ['uint8', 'bytes32', 'bytes'];
const RESULT_ACK = toUtf8Bytes('{"result":"AQ=="}');
const coder = AbiCoder.defaultAbiCoder();

const hexStr = z.string().regex(/^0x([0-9a-fA-F]{2})*$/);
const u64Str = z.string().regex(/^[0-9]{1,20}$/);
const ExecuteMsg = z.union([
  z
    .object({
      send: z
        .object({
          dst_chain: z.string().min(1),
          dst_port: hexStr,
          receiver: hexStr,
          gas_limit: u64Str,
          timeout_unix_seconds: u64Str,
          payload: hexStr,
        })
        .strict(),
    })
    .strict(),
  z.object({ cancel: z.object({ message: hexStr }).strict() }).strict(),
]);
const QueryMsg = z.union([
  z.object({ receipt: z.object({ id: hexStr }) }).strict(),
  z.object({ ack: z.object({ id: hexStr }) }).strict(),
  z.object({ config: z.object({}) }).strict(),
  z.object({ lane_nonce: z.object({ dst_chain: z.string() }) }).strict(),
  z.object({ received: z.object({ id: hexStr }) }).strict(),
]);

/** wasmd reports a contract error as codespace "wasm", code 5 (ErrExecuteFailed). */
const contractError = (msg: string): ModuleError => new ModuleError('wasm', 5, `${msg}: execute wasm contract failed`);

const utf8Hex = (s: string): Hex => hexlify(toUtf8Bytes(s)) as Hex;

export interface QiaoContractOptions {
  chainId: string;
  contractAddress: string;
  receiverAddress: string;
  settlementAddress: string;
}

/** The Qiao contract model: the IBC app on port wasm.<contract> plus its execute/query entry points. */
export class QiaoContract implements IbcApp {
  readonly portId: string;
  private readonly receiver: ModelReceiver;
  private sender: PacketSender | undefined;

  constructor(private readonly o: QiaoContractOptions) {
    this.portId = `wasm.${o.contractAddress}`;
    this.receiver = new ModelReceiver(fromBech32(o.receiverAddress, 1023).data);
  }

  bind(sender: PacketSender): void {
    this.sender = sender;
  }

  private get srcChain(): ChainId {
    return `cosmos:${this.o.chainId}` as ChainId;
  }

  private state(ctx: { store(name: string): import('../node/module.ts').KV }): ContractState {
    return new ContractState(ctx.store(WASM_STORE));
  }

  private ownPortBytes(channelId: string): Hex {
    return utf8Hex(`${this.portId}/${channelId}`);
  }

  // ---- execute -------------------------------------------------------------------------------

  execute(ctx: TxContext, bytes: Uint8Array): Uint8Array {
    const msg = MsgExecuteContract.decode(bytes);
    if (msg.contract !== this.o.contractAddress) throw new ModuleError('wasm', 8, `no such contract: ${msg.contract}: not found`);
    if (ctx.signers.length > 0 && !ctx.signers.includes(msg.sender)) throw ibcError('sdkUnauthorized', `signer ${msg.sender} did not sign`);
    let senderBytes: Uint8Array;
    try {
      senderBytes = fromBech32(msg.sender, 1023).data;
    } catch {
      throw ibcError('sdkInvalidAddress', `invalid sender ${msg.sender}`);
    }
    for (const c of msg.funds) {
      if (!/^[1-9][0-9]*$/.test(c.amount) || !/^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/.test(c.denom)) throw ibcError('sdkInvalidCoins', `${c.amount}${c.denom}`);
    }
    let parsed: z.infer<typeof ExecuteMsg>;
    try {
      parsed = ExecuteMsg.parse(JSON.parse(Buffer.from(msg.msg).toString('utf8')));
    } catch {
      throw contractError('Error parsing into type qiao::msg::ExecuteMsg');
    }
    // wasmd moves the funds to the contract before executing it.
    if (msg.funds.length > 0) ctx.bank.send(msg.sender, this.o.contractAddress, msg.funds);
    const st = this.state(ctx);
    const cfg = st.config();
    if (!cfg?.open) throw contractError('the Qiao channel is not open');
    if ('cancel' in parsed) {
      if (msg.funds.length > 0) throw contractError('cancel takes no funds');
      return this.cancel(ctx, st, cfg.channel_id, parsed.cancel.message as Hex);
    }
    const s = parsed.send;
    let encoded: Hex;
    const nonce = st.laneNonce(s.dst_chain, true);
    try {
      encoded = encodeMessage({
        version: 1,
        srcChain: this.srcChain,
        srcPort: this.ownPortBytes(cfg.channel_id),
        sender: hexlify(senderBytes) as Hex,
        dstChain: s.dst_chain as ChainId,
        dstPort: s.dst_port as Hex,
        receiver: s.receiver as Hex,
        nonce,
        gasLimit: BigInt(s.gas_limit),
        timeoutHeight: 0n,
        timeoutUnixSeconds: BigInt(s.timeout_unix_seconds),
        payload: s.payload as Hex,
      });
    } catch (e) {
      throw contractError(`invalid message: ${e instanceof Error ? e.message : String(e)}`);
    }
    const id = keccak256(encoded).toLowerCase();
    if (st.sent(id)) throw contractError(`message ${id} already sent`);
    const t = BigInt(s.timeout_unix_seconds);
    const timeoutTimestamp = t > 0n ? t * 1_000_000_000n : BigInt(ctx.time.getTime()) * 1_000_000n + TEN_YEARS_NS;
    ctx.emit('execute', [['_contract_address', this.o.contractAddress]]);
    ctx.emit('wasm', [
      ['_contract_address', this.o.contractAddress],
      ['action', 'send'],
      ['qiao_id', id],
      ['dst_chain', s.dst_chain],
      ['nonce', nonce.toString()],
    ]);
    if (!this.sender) throw contractError('contract is not bound to the IBC core');
    const seq = this.sender.sendPacket(ctx, {
      sourcePort: this.portId,
      sourceChannel: cfg.channel_id,
      timeoutHeight: { revisionNumber: 0n, revisionHeight: 0n },
      timeoutTimestamp,
      data: getBytes(encoded),
    });
    st.setSent(id, { sender: msg.sender, sequence: seq.toString(), outcome: 'none', funds: msg.funds.map((c) => ({ denom: c.denom, amount: c.amount })) });
    return MsgExecuteContractResponse.encode({ data: toUtf8Bytes(JSON.stringify({ id, sequence: seq.toString() })) }).finish();
  }

  // ---- IBC callbacks -------------------------------------------------------------------------

  onChanOpenInit(ctx: TxContext, a: { portId: string; channelId: string; order: Order; counterpartyPortId: string; version: string }): string {
    if (a.order !== Order.ORDER_UNORDERED) throw contractError('the Qiao channel must be unordered');
    if (a.version !== '' && a.version !== QIAO_VERSION) throw contractError(`channel version must be ${QIAO_VERSION}`);
    if (a.counterpartyPortId !== HUB_PORT) throw contractError(`counterparty port must be ${HUB_PORT}`);
    const st = this.state(ctx);
    if (st.config()?.open) throw contractError('the Qiao channel is already open');
    st.setConfig({ port_id: a.portId, channel_id: a.channelId, chain_id: this.o.chainId, open: false });
    return QIAO_VERSION;
  }

  onChanOpenAck(ctx: TxContext, a: { channelId: string; counterpartyVersion: string }): void {
    if (a.counterpartyVersion !== QIAO_VERSION) throw contractError(`counterparty version must be ${QIAO_VERSION}`);
    const st = this.state(ctx);
    const cfg = st.config();
    if (!cfg || cfg.channel_id !== a.channelId) throw contractError(`unknown channel ${a.channelId}`);
    st.setConfig({ ...cfg, open: true });
  }

  onRecvPacket(ctx: TxContext, packet: Packet): Uint8Array {
    let m: QiaoMessage;
    try {
      m = decodeMessage(packet.data, 'packet.data');
    } catch {
      throw contractError('packet data is not a Qiao message');
    }
    const ownPort = this.ownPortBytes(packet.destinationChannel);
    if (m.dstChain !== this.srcChain) throw contractError(`message is for ${m.dstChain}, not ${this.srcChain}`);
    if (m.dstPort.toLowerCase() !== ownPort) throw contractError('message is not addressed to this port');
    const id = keccak256(packet.data).toLowerCase();
    const st = this.state(ctx);
    const prior = st.receipt(id);
    // A cancelled id is refused as well (besides IBC's own timeout check): its cancel ack may already be on its way.
    if (prior) throw contractError(`message ${id} was already ${prior.status === 'cancelled' ? 'cancelled' : 'received'}`);
    const height = ctx.height.toString();
    const ack = ackPayload(m);
    if (ack) {
      // An ack answering one of ours: recorded, never answered.
      st.setIncomingAck(ack.originalId, { outcome: ack.outcome, ack_id: id, reason: ack.reason, height });
      st.setReceipt(id, { status: 'delivered', height, tx_hash: ctx.txHash });
      ctx.emit('wasm', [['_contract_address', this.o.contractAddress], ['action', 'receive_ack'], ['qiao_id', id], ['original_id', ack.originalId]]);
      return RESULT_ACK;
    }
    const kv = ctx.store(WASM_STORE);
    const result =
      m.receiver.toLowerCase() === hexlify(this.receiver.addressBytes)
        ? this.receiver.deliver(kv, id, getBytes(m.payload))
        : ({ ok: false, reason: `no receiver at ${m.receiver}` } as const);
    const status = result.ok ? 'delivered' : 'failed';
    const reason = result.ok ? '' : result.reason;
    st.setReceipt(id, { status, ...(result.ok ? {} : { reason }), height, tx_hash: ctx.txHash });
    ctx.emit('wasm', [['_contract_address', this.o.contractAddress], ['action', 'receive'], ['qiao_id', id], ['status', status]]);
    if (m.timeoutHeight === 0n && m.timeoutUnixSeconds === 0n) return RESULT_ACK;
    return getBytes(this.ackMessage(ctx, st, ownPort, m, id, result.ok ? 1 : 2, reason));
  }

  /**
   * The Qiao ack message answering `m` (outcome 1 delivered, 2 failed, 3 cancelled), from this port to m's source port,
   * at the next nonce of the lane (own port -> m.srcChain): as QiaoPort.sol answers.
   */
  private ackMessage(ctx: TxContext, st: ContractState, ownPort: Hex, m: QiaoMessage, id: string, outcome: 1 | 2 | 3, reason: string): Hex {
    const encoded = encodeMessage({
      version: 1,
      srcChain: this.srcChain,
      srcPort: ownPort,
      sender: ownPort,
      dstChain: m.srcChain,
      dstPort: m.srcPort,
      receiver: m.srcPort,
      nonce: st.laneNonce(m.srcChain, true),
      gasLimit: 200_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload: coder.encode(ACK_PAYLOAD, [outcome, id, toUtf8Bytes(reason)]) as Hex,
    });
    ctx.emit('wasm', [['_contract_address', this.o.contractAddress], ['action', 'ack'], ['qiao_id', keccak256(encoded).toLowerCase()], ['original_id', id]]);
    return encoded;
  }

  /**
   * The cancel marker (QiaoPort.cancel's equivalent). Anyone may ask: the contract judges by its own clock and receipts.
   * A message to this port, past its timeout at this block and never received (a failed receipt may be cancelled: it was
   * retryable only until its timeout) gets receipt `cancelled`, so it can never be received; the cancel ack (outcome 3)
   * goes to the hub as an ordinary packet of this port, which the hub carries to the source port (it refunds).
   */
  private cancel(ctx: TxContext, st: ContractState, channelId: string, encoded: Hex): Uint8Array {
    let m: QiaoMessage;
    try {
      m = decodeMessage(encoded, 'cancel.message');
    } catch {
      throw contractError('cancel: not a Qiao message');
    }
    const id = keccak256(encoded).toLowerCase();
    const ownPort = this.ownPortBytes(channelId);
    if (m.dstChain !== this.srcChain) throw contractError(`message is for ${m.dstChain}, not ${this.srcChain}`);
    if (m.dstPort.toLowerCase() !== ownPort) throw contractError('message is not addressed to this port');
    if (m.timeoutHeight === 0n && m.timeoutUnixSeconds === 0n) throw contractError(`message ${id} has no timeout`);
    const now = BigInt(Math.floor(ctx.time.getTime() / 1000));
    const past = (m.timeoutUnixSeconds !== 0n && now >= m.timeoutUnixSeconds) || (m.timeoutHeight !== 0n && ctx.height >= m.timeoutHeight);
    if (!past) throw contractError(`message ${id} is not past its timeout`);
    const prior = st.receipt(id);
    if (prior && prior.status !== 'failed') throw contractError(`message ${id} was already ${prior.status}`);
    st.setReceipt(id, { status: 'cancelled', height: ctx.height.toString(), tx_hash: ctx.txHash });
    ctx.emit('execute', [['_contract_address', this.o.contractAddress]]);
    ctx.emit('wasm', [['_contract_address', this.o.contractAddress], ['action', 'cancel'], ['qiao_id', id]]);
    const ack = this.ackMessage(ctx, st, ownPort, m, id, 3, '');
    if (!this.sender) throw contractError('contract is not bound to the IBC core');
    const seq = this.sender.sendPacket(ctx, {
      sourcePort: this.portId,
      sourceChannel: channelId,
      timeoutHeight: { revisionNumber: 0n, revisionHeight: 0n },
      timeoutTimestamp: BigInt(ctx.time.getTime()) * 1_000_000n + TEN_YEARS_NS,
      data: getBytes(ack),
    });
    return MsgExecuteContractResponse.encode({ data: toUtf8Bytes(JSON.stringify({ id, ack_id: keccak256(ack).toLowerCase(), sequence: seq.toString() })) }).finish();
  }

  private settle(ctx: TxContext, id: string, rec: SentRecord, outcome: 'delivered' | 'failed' | 'cancelled'): void {
    if (rec.funds.length > 0) {
      const to = outcome === 'delivered' ? this.o.settlementAddress : rec.sender;
      ctx.bank.send(this.o.contractAddress, to, rec.funds);
    }
    this.state(ctx).setSent(id, { ...rec, outcome, height: ctx.height.toString(), tx_hash: ctx.txHash, paid: true });
    ctx.emit('wasm', [['_contract_address', this.o.contractAddress], ['action', 'settle'], ['qiao_id', id], ['outcome', outcome]]);
  }

  private sentFor(ctx: TxContext, packet: Packet): { id: string; rec: SentRecord } {
    const id = keccak256(packet.data).toLowerCase();
    const rec = this.state(ctx).sent(id);
    if (!rec) throw contractError(`no message ${id} was sent`);
    if (rec.outcome !== 'none') throw contractError(`message ${id} is already settled`);
    return { id, rec };
  }

  onAcknowledgementPacket(ctx: TxContext, packet: Packet, acknowledgement: Uint8Array): void {
    const { id, rec } = this.sentFor(ctx, packet);
    let outcome: 'delivered' | 'failed';
    try {
      const ackMsg = decodeMessage(acknowledgement, 'acknowledgement');
      const a = ackPayload(ackMsg);
      if (!a || a.originalId !== id) throw new Error('not an ack of this message');
      outcome = a.outcome === 1 ? 'delivered' : 'failed';
    } catch {
      // A plain ICS-04 acknowledgement (the original carried no timeout, so no Qiao ack).
      let json: { result?: unknown; error?: unknown };
      try {
        json = JSON.parse(Buffer.from(acknowledgement).toString('utf8')) as typeof json;
      } catch {
        throw contractError('acknowledgement is neither a Qiao ack nor an ICS-04 acknowledgement');
      }
      outcome = json.result !== undefined ? 'delivered' : 'failed';
    }
    this.settle(ctx, id, rec, outcome);
  }

  onTimeoutPacket(ctx: TxContext, packet: Packet): void {
    const { id, rec } = this.sentFor(ctx, packet);
    this.settle(ctx, id, rec, 'cancelled');
  }

  // ---- queries -------------------------------------------------------------------------------

  query(ctx: QueryContext, req: Uint8Array): Uint8Array {
    const { address, queryData } = QuerySmartContractStateRequest.decode(req);
    if (address !== this.o.contractAddress) throw new ModuleError('wasm', 8, `no such contract: ${address}: not found`);
    let q: z.infer<typeof QueryMsg>;
    try {
      q = QueryMsg.parse(JSON.parse(Buffer.from(queryData).toString('utf8')));
    } catch {
      throw new ModuleError('wasm', 9, 'Error parsing into type qiao::msg::QueryMsg: query wasm contract failed');
    }
    const st = this.state(ctx);
    const out = (v: unknown): Uint8Array => QuerySmartContractStateResponse.encode({ data: toUtf8Bytes(JSON.stringify(v)) }).finish();
    if ('receipt' in q) {
      const r = st.receipt(q.receipt.id.toLowerCase());
      return out(r ? { status: r.status, ...(r.reason ? { reason: r.reason } : {}), height: r.height, tx_hash: r.tx_hash } : { status: 'none' });
    }
    if ('ack' in q) {
      const r = st.sent(q.ack.id.toLowerCase());
      if (!r) return out({ outcome: 'none' });
      const refund = r.funds.length > 0 && r.outcome !== 'delivered' ? { refund: { sender: r.sender, amount: r.funds, paid: r.paid === true } } : {};
      return out({ outcome: r.outcome, ...(r.height ? { height: r.height, tx_hash: r.tx_hash } : {}), ...refund });
    }
    if ('config' in q) {
      const c = st.config();
      return out({ port_id: this.portId, channel_id: c?.channel_id ?? '', chain_id: this.o.chainId });
    }
    if ('lane_nonce' in q) return out({ next: st.laneNonce(q.lane_nonce.dst_chain, false).toString() });
    const rec = this.receiver.record(ctx.store(WASM_STORE), q.received.id.toLowerCase());
    return out(rec ? { payload: hexlify(rec) } : {});
  }
}

/** The ack payload of a Qiao ack message (sender = srcPort, receiver = dstPort), else undefined. */
export function ackPayload(m: QiaoMessage): { outcome: number; originalId: string; reason: string } | undefined {
  if (m.sender.toLowerCase() !== m.srcPort.toLowerCase() || m.receiver.toLowerCase() !== m.dstPort.toLowerCase()) return undefined;
  try {
    const [outcome, original, reason] = coder.decode(ACK_PAYLOAD, m.payload) as unknown as [bigint, string, string];
    const o = Number(outcome);
    if (o < 1 || o > 3) return undefined;
    return { outcome: o, originalId: original.toLowerCase(), reason: Buffer.from(getBytes(reason)).toString('utf8') };
  } catch {
    return undefined;
  }
}

export type { Coin };
