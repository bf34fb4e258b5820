import { Contract, type Context } from 'fabric-contract-api';
import { asBytes32, hexUtf8 } from '../shared/abi.ts';
import { ChaincodeError } from '../shared/errors.ts';
import { EventLog, TxState, outerInvocation } from '../shared/tx.ts';

export const RECEIVER_CONTRACT = 'qiaoreceiver';
const DEFAULT_PORT = 'qiaoport';

/**
 * The model receiver (the counterpart of the EVM demo receiver): counts
 * deliveries, keeps the last one, refuses payloads whose UTF-8 starts with
 * "fail". It also sends through the port as a chaincode sender and records the
 * port's qiaoRefund calls, so tests can follow a cancelled message home.
 *
 * Checks come before writes: Fabric does not roll back a called chaincode's
 * writes when it returns an error, the caller's transaction keeps them.
 */
export class QiaoReceiverContract extends Contract {
  constructor() {
    super(RECEIVER_CONTRACT);
  }

  /** Optional: the port chaincode name (default qiaoport). */
  async init(ctx: Context, portChaincode: string): Promise<void> {
    const st = new TxState(ctx.stub);
    if (await st.get(st.key('port'))) throw new ChaincodeError('already_initialised', 'receiver is configured already');
    await st.putString(st.key('port'), portChaincode);
  }

  async qiaoReceive(ctx: Context, idHex: string, srcChain: string, senderHex: string, payloadHex: string): Promise<string> {
    const st = new TxState(ctx.stub);
    await requirePort(ctx, st);
    const id = asBytes32(idHex, 'id');
    const text = hexUtf8(payloadHex) ?? '';
    if (text.startsWith('fail')) throw new ChaincodeError('receiver_refused', `refused: ${text.slice(0, 64)}`);
    const count = Number((await st.getString(st.key('count'))) ?? '0') + 1;
    await st.putString(st.key('count'), String(count));
    await st.putJson(st.key('last'), { id, srcChain, sender: senderHex, payload: payloadHex });
    return '';
  }

  /** The port calls this when a message this chaincode sent came back cancelled. */
  async qiaoRefund(ctx: Context, idHex: string): Promise<void> {
    const st = new TxState(ctx.stub);
    await requirePort(ctx, st);
    const id = asBytes32(idHex, 'id');
    if (await st.get(st.key('refund', id))) throw new ChaincodeError('already_refunded', `${id} was refunded already`);
    await st.putString(st.key('refund', id), '1');
  }

  /** Sends through the port with this chaincode as the Qiao sender. */
  async send(ctx: Context, dstChain: string, dstPortHex: string, receiverHex: string, gasLimit: string, timeoutHeight: string, timeoutUnixSeconds: string, payloadHex: string): Promise<string> {
    const st = new TxState(ctx.stub);
    const port = await portName(st);
    const r = await ctx.stub.invokeChaincode(port, ['sendMessage', dstChain, dstPortHex, receiverHex, gasLimit, timeoutHeight, timeoutUnixSeconds, payloadHex], ctx.stub.getChannelID());
    if (r.status >= 400) throw new ChaincodeError('port_refused', r.message ?? `status ${r.status}`);
    const sent = JSON.parse(new TextDecoder().decode(r.payload)) as { id: string; encoded: string };
    // Only the outer-most chaincode's event reaches clients: re-emit the port's.
    const ev = new EventLog();
    ev.add('MessageSent', { id: sent.id, encoded: sent.encoded });
    ev.flush(ctx.stub);
    return sent.id;
  }

  async count(ctx: Context): Promise<string> {
    const st = new TxState(ctx.stub);
    return (await st.getString(st.key('count'))) ?? '0';
  }

  async last(ctx: Context): Promise<string> {
    const st = new TxState(ctx.stub);
    return (await st.getString(st.key('last'))) ?? '';
  }

  async refunded(ctx: Context, idHex: string): Promise<boolean> {
    const st = new TxState(ctx.stub);
    return (await st.get(st.key('refund', idHex.toLowerCase()))) !== undefined;
  }
}

async function portName(st: TxState): Promise<string> {
  return (await st.getString(st.key('port'))) ?? DEFAULT_PORT;
}

/** Only the port delivers: the client's proposal must have invoked the port chaincode. */
async function requirePort(ctx: Context, st: TxState): Promise<void> {
  const port = await portName(st);
  const outer = outerInvocation(ctx.stub);
  if (outer?.chaincode !== port) throw new ChaincodeError('not_port', `only ${port} may call this (invoked via ${outer?.chaincode ?? 'unknown'})`);
}
