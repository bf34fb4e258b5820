import { DirectSecp256k1Wallet, type EncodeObject } from '@cosmjs/proto-signing';
import { GasPrice, SigningStargateClient, type Coin, type StdFee } from '@cosmjs/stargate';
import { QuerySmartContractStateRequest, QuerySmartContractStateResponse } from 'cosmjs-types/cosmwasm/wasm/v1/query';
import { MsgExecuteContract } from 'cosmjs-types/cosmwasm/wasm/v1/tx';
import { z } from 'zod';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { QiaoError, RpcError, ValidationError } from '../../src/errors.ts';
import { qiaoCosmosRegistry, MSG_EXECUTE_CONTRACT } from './registry.ts';
import { fromHex, grpcQuery, rpc, type CometEndpoint } from './rpc.ts';

/** The Qiao contract's address in its IBC port id `wasm.<bech32>`. */
export function contractOfPort(portId: string): string {
  if (!portId.startsWith('wasm.') || portId.length <= 5) throw new ValidationError('port', `"${portId}" is not a CosmWasm port id (wasm.<contract>)`);
  return portId.slice(5);
}

const SMART_QUERY = '/cosmwasm.wasm.v1.Query/SmartContractState';

/** A smart query of a contract (latest state, or at a height), its JSON answer checked with `schema`. */
export async function smartQuery<T>(e: CometEndpoint, contract: string, msg: unknown, schema: z.ZodType<T, z.ZodTypeDef, unknown>, height?: bigint): Promise<T> {
  const req = QuerySmartContractStateRequest.encode({ address: contract, queryData: new TextEncoder().encode(JSON.stringify(msg)) }).finish();
  const raw = await grpcQuery(e, SMART_QUERY, req, height);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(QuerySmartContractStateResponse.decode(raw).data));
  } catch (cause) {
    throw new RpcError(e.url, `${SMART_QUERY}: the answer is not JSON`, { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new RpcError(e.url, `${SMART_QUERY} ${Object.keys(msg as object)[0] ?? ''}: unexpected answer`, { cause: parsed.error });
  return parsed.data;
}

const U64 = z.union([z.string().regex(/^\d{1,20}$/), z.number().int().nonnegative()]).transform((v) => BigInt(v));
/** tx hashes as CometBFT gives them (upper or lower hex, with or without 0x) -> 0x-lowercase */
const TxHash = z
  .string()
  .regex(/^(0x)?[0-9a-fA-F]{64}$/)
  .transform((s) => `0x${s.replace(/^0x/, '').toLowerCase()}` as Hex);
const CoinSchema = z.object({ denom: z.string(), amount: z.string().regex(/^\d+$/) });

export const ReceiptAnswer = z.object({
  /** `cancelled`: the contract's cancel marker (past the timeout, never received) */
  status: z.enum(['none', 'delivered', 'failed', 'cancelled']),
  reason: z.string().nullish(),
  height: U64.nullish(),
  tx_hash: TxHash.nullish(),
});
export type ReceiptAnswer = z.infer<typeof ReceiptAnswer>;

export const AckAnswer = z.object({
  outcome: z.enum(['none', 'delivered', 'failed', 'cancelled']),
  height: U64.nullish(),
  tx_hash: TxHash.nullish(),
  refund: z.object({ sender: z.string(), amount: z.array(CoinSchema), paid: z.boolean() }).nullish(),
});
export type AckAnswer = z.infer<typeof AckAnswer>;

/** `paused`: the contract refuses MsgRecvPacket for now (its admin paused it); absent = not paused. */
export const ConfigAnswer = z.object({ port_id: z.string(), channel_id: z.string(), chain_id: z.string(), paused: z.boolean().nullish() });
const LaneNonceAnswer = z.object({ next: U64 });

export const queryReceipt = (e: CometEndpoint, contract: string, id: Hex) => smartQuery(e, contract, { receipt: { id: id.toLowerCase() } }, ReceiptAnswer);
export const queryAck = (e: CometEndpoint, contract: string, id: Hex) => smartQuery(e, contract, { ack: { id: id.toLowerCase() } }, AckAnswer);
export const queryConfig = (e: CometEndpoint, contract: string) => smartQuery(e, contract, { config: {} }, ConfigAnswer);
export async function queryLaneNonce(e: CometEndpoint, contract: string, dstChain: string, height?: bigint): Promise<bigint> {
  return (await smartQuery(e, contract, { lane_nonce: { dst_chain: dstChain } }, LaneNonceAnswer, height)).next;
}

/**
 * The contract's cancel marker request, `{"cancel": {"message": "0x.."}}` (anyone may send it; the contract judges by
 * its own clock and receipts), as a message of `sender`'s tx.
 */
export function cancelExecute(sender: string, contract: string, encoded: Hex): EncodeObject {
  const msg = { cancel: { message: encoded.toLowerCase() } };
  return { typeUrl: MSG_EXECUTE_CONTRACT, value: MsgExecuteContract.fromPartial({ sender, contract, msg: new TextEncoder().encode(JSON.stringify(msg)), funds: [] }) };
}

/** The default fee of a tx the adapter signs: gas in `stake` (a real chain's minimum gas price may ask for more: pass `fee`). */
export const DEFAULT_FEE: StdFee = { amount: [{ denom: 'stake', amount: '5000' }], gas: '2000000' };

/** The gas price of simulated (`auto`) fees; a chain's minimum may be higher. */
export const DEFAULT_GAS_PRICE = '0.025stake';

/** How often a broadcast tx is looked for in blocks (cosmjs's default, 3 s, is several CometBFT blocks). */
const BROADCAST_POLL_MS = 500;

/** A signing client paying with a secp256k1 hex key (bech32 prefix `cosmos`); the key is never logged. */
export async function cosmosSigner(rpcUrl: string, key: Hex, { prefix = 'cosmos', gasPrice = DEFAULT_GAS_PRICE }: { prefix?: string; gasPrice?: string } = {}): Promise<{ client: SigningStargateClient; address: string }> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new ValidationError('relayerKey', 'a secp256k1 private key is 0x and 64 hex digits');
  const wallet = await DirectSecp256k1Wallet.fromKey(fromHex(key), prefix);
  const [account] = await wallet.getAccounts();
  const client = await rpc(rpcUrl, 'connect', () => SigningStargateClient.connectWithSigner(rpcUrl, wallet, { registry: qiaoCosmosRegistry(), broadcastPollIntervalMs: BROADCAST_POLL_MS, gasPrice: GasPrice.fromString(gasPrice) }));
  return { client, address: account!.address };
}

export interface SendViaContract {
  rpcUrl: string;
  /** the sender's secp256k1 key (hex); its account pays the fee and is the message's sender */
  key: Hex;
  contract: string;
  dstChain: string;
  dstPort: Hex;
  receiver: Hex;
  gasLimit: bigint;
  /** 0: no timeout (the contract still gives the IBC packet a far one) */
  timeoutUnixSeconds?: bigint;
  payload: Hex;
  /** escrowed under the message id, refunded on a failed or cancelled delivery */
  funds?: Coin[];
  fee?: StdFee;
}

export class ContractTxError extends QiaoError {
  constructor(readonly txHash: Hex, readonly txCode: number, log: string) {
    super('cosmos_tx_failed', `tx ${txHash} failed with code ${txCode}: ${log.slice(0, 300)}`, { data: { txHash, code: txCode } });
  }
}

/**
 * Emits one Qiao message through the contract (`{"send": ...}`), as a user or a
 * test does; resolves once the tx is in a block, with the message id taken
 * from the `send_packet` event's data.
 */
export async function sendViaContract(o: SendViaContract): Promise<{ id: Hex; encoded: Hex; txHash: Hex; height: bigint; sequence: bigint; sender: string }> {
  const { client, address } = await cosmosSigner(o.rpcUrl, o.key);
  try {
    const msg = {
      send: {
        dst_chain: o.dstChain,
        dst_port: o.dstPort.toLowerCase(),
        receiver: o.receiver.toLowerCase(),
        gas_limit: o.gasLimit.toString(),
        timeout_unix_seconds: (o.timeoutUnixSeconds ?? 0n).toString(),
        payload: o.payload.toLowerCase(),
      },
    };
    const value = MsgExecuteContract.fromPartial({ sender: address, contract: o.contract, msg: new TextEncoder().encode(JSON.stringify(msg)), funds: o.funds ?? [] });
    const r = await rpc(o.rpcUrl, 'broadcast', () => client.signAndBroadcast(address, [{ typeUrl: MSG_EXECUTE_CONTRACT, value }], o.fee ?? DEFAULT_FEE));
    const txHash = `0x${r.transactionHash.toLowerCase()}` as Hex;
    if (r.code !== 0) throw new ContractTxError(txHash, r.code, r.rawLog ?? '');
    for (const ev of r.events) {
      if (ev.type !== 'send_packet') continue;
      const attr = (k: string) => ev.attributes.find((a) => a.key === k)?.value;
      if (attr('packet_src_port') !== `wasm.${o.contract}`) continue;
      const data = attr('packet_data_hex');
      const seq = attr('packet_sequence');
      if (!data || !seq || !/^(?:[0-9a-fA-F]{2})+$/.test(data) || !/^\d+$/.test(seq)) continue;
      const encoded = `0x${data.toLowerCase()}` as Hex;
      return { id: messageId(encoded), encoded, txHash, height: BigInt(r.height), sequence: BigInt(seq), sender: address };
    }
    throw new RpcError(o.rpcUrl, `tx ${txHash} emitted no send_packet of wasm.${o.contract}`);
  } finally {
    client.disconnect();
  }
}
