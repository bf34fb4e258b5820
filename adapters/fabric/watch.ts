import { createHash } from 'node:crypto';
import { common, ledger, peer as pb } from '@hyperledger/fabric-protos';
import type { ObservedMessage } from '../../src/domain/adapter.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { decodeMessage, messageId } from '../../src/domain/message.ts';
import { QiaoError, RpcError } from '../../src/errors.ts';
import type { PeerClient } from './gateway.ts';

/** What the watcher looks for: the port chaincode of one channel, and its Qiao identity. */
export interface PortScope {
  chainId: ChainId;
  channel: string;
  chaincode: string;
  /** hex of UTF-8 "<channel>/<chaincode>", lower case */
  portBytes: Hex;
}

export const TX_VALID = pb.TxValidationCode.VALID;
const TRANSACTIONS_FILTER = common.BlockMetadataIndex.TRANSACTIONS_FILTER;
/** The port's multi-event envelope (adapters/fabric/chaincode/shared/tx.ts EVENTS_BATCH). */
const EVENTS_BATCH = 'QiaoEvents';
/** Room for the events of one transaction in `logIndex` (txIndex * this + k). */
const EVENTS_PER_TX = 1024;

/** One chaincode event of a transaction: the named one, or each entry of a `QiaoEvents` batch. */
export interface TxEvent {
  name: string;
  payload: unknown;
}

export interface DecodedTx {
  index: number;
  txId: string;
  /** the committing peer's flag (TRANSACTIONS_FILTER: outside the block hash, the serving peer's word only) */
  validationCode: number;
  /** the chaincode the client invoked (whose event this is) */
  chaincode: string;
  events: TxEvent[];
  /** key -> value written in the port's namespace (deletes left out) */
  portWrites: Map<string, Uint8Array>;
  /** the channel header's time, seconds */
  time: bigint;
}

export interface DecodedBlock {
  number: bigint;
  hash: Hex;
  txs: DecodedTx[];
}

function der(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

/** Fabric's block header hash: SHA-256 of the ASN.1 DER SEQUENCE {INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash}. */
export function blockHeaderHash(h: common.BlockHeader): Hex {
  let n = BigInt(h.getNumber());
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n > 0n);
  if (bytes[0]! >= 0x80) bytes.unshift(0);
  const seq = der(0x30, Buffer.concat([der(0x02, Buffer.from(bytes)), der(0x04, Buffer.from(h.getPreviousHash_asU8())), der(0x04, Buffer.from(h.getDataHash_asU8()))]));
  return `0x${createHash('sha256').update(seq).digest('hex')}` as Hex;
}

function eventsOf(ev: pb.ChaincodeEvent | null): TxEvent[] {
  if (!ev || !ev.getEventName()) return [];
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(ev.getPayload_asU8()).toString('utf8'));
  } catch {
    // not one of the port's events (a foreign chaincode's): nothing the hub reads
    return [];
  }
  if (ev.getEventName() !== EVENTS_BATCH) return [{ name: ev.getEventName(), payload }];
  if (!Array.isArray(payload)) return [];
  return payload.flatMap((e: unknown) => (e && typeof e === 'object' && typeof (e as TxEvent).name === 'string' ? [{ name: (e as TxEvent).name, payload: (e as TxEvent).payload }] : []));
}

function writesIn(results: Uint8Array, namespace: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (results.length === 0) return out;
  const rw = ledger.rwset.TxReadWriteSet.deserializeBinary(results);
  for (const ns of rw.getNsRwsetList()) {
    if (ns.getNamespace() !== namespace) continue;
    const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
    for (const w of kv.getWritesList()) if (!w.getIsDelete()) out.set(w.getKey(), w.getValue_asU8());
  }
  return out;
}

/**
 * Decodes what the hub reads from a block: its number and header hash, and per endorser transaction its id,
 * the serving peer's validation flag, the invoked chaincode, its events and its writes in the port's namespace.
 * Untrusted input: the relayer's verifier checks the block; here a malformed block is an RpcError of the endpoint.
 */
export function decodeBlock(bytes: Uint8Array, portChaincode: string, source = 'block'): DecodedBlock {
  try {
    const block = common.Block.deserializeBinary(bytes);
    const header = block.getHeader();
    if (!header) throw new Error('no header');
    const meta = block.getMetadata()?.getMetadataList_asU8() ?? [];
    const flags = meta[TRANSACTIONS_FILTER] ?? new Uint8Array();
    const txs: DecodedTx[] = [];
    block
      .getData()
      ?.getDataList_asU8()
      .forEach((envBytes, index) => {
        const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(envBytes).getPayload_asU8());
        const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8());
        if (ch.getType() !== common.HeaderType.ENDORSER_TRANSACTION) return;
        const tx = pb.Transaction.deserializeBinary(payload.getData_asU8());
        const first = tx.getActionsList()[0];
        if (!first) return;
        const cap = pb.ChaincodeActionPayload.deserializeBinary(first.getPayload_asU8());
        const prp = pb.ProposalResponsePayload.deserializeBinary(cap.getAction()!.getProposalResponsePayload_asU8());
        const action = pb.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
        const evBytes = action.getEvents_asU8();
        txs.push({
          index,
          txId: ch.getTxId(),
          // a block without the filter (as the orderer serves it) says nothing: not valid
          validationCode: flags[index] ?? pb.TxValidationCode.NOT_VALIDATED,
          chaincode: action.getChaincodeId()?.getName() ?? '',
          events: evBytes.length > 0 ? eventsOf(pb.ChaincodeEvent.deserializeBinary(evBytes)) : [],
          portWrites: writesIn(action.getResults_asU8(), portChaincode),
          time: BigInt(ch.getTimestamp()?.getSeconds() ?? 0),
        });
      });
    return { number: BigInt(header.getNumber()), hash: blockHeaderHash(header), txs };
  } catch (cause) {
    if (cause instanceof QiaoError) throw cause;
    throw new RpcError(source, 'served bytes that are not a decodable common.Block', { cause });
  }
}

/** The port's world-state key of a commitment: Fabric composite key `\u0000commit\u0000<0xid>\u0000`. */
export function commitKey(id: Hex): string {
  return `\u0000commit\u0000${id.toLowerCase()}\u0000`;
}

export interface TxMessage extends ObservedMessage {
  txId: string;
}

/**
 * The Qiao messages of one transaction: its `MessageSent` events whose id the port committed in this same
 * transaction (a chaincode calling the port re-emits the event; any other chaincode could emit one too, so the
 * commitment write in the port's namespace is what counts) and whose source is this chain and port.
 */
export function messagesOfTx(b: DecodedBlock, tx: DecodedTx, scope: PortScope): TxMessage[] {
  const out: TxMessage[] = [];
  tx.events.forEach((ev, k) => {
    if (ev.name !== 'MessageSent' || !ev.payload || typeof ev.payload !== 'object') return;
    const encoded = (ev.payload as { encoded?: unknown }).encoded;
    if (typeof encoded !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(encoded)) return;
    const enc = encoded.toLowerCase() as Hex;
    const id = messageId(enc);
    const w = tx.portWrites.get(commitKey(id));
    if (!w || w.length !== 1 || w[0] !== 1) return;
    let message;
    try {
      message = decodeMessage(enc, 'MessageSent.encoded');
    } catch {
      return;
    }
    if (message.srcChain !== scope.chainId || message.srcPort.toLowerCase() !== scope.portBytes) return;
    out.push({ id, encoded: enc, message, height: b.number, blockHash: b.hash, txHash: txHashOf(tx.txId), logIndex: tx.index * EVENTS_PER_TX + k, txId: tx.txId });
  });
  return out;
}

/** Messages of the transactions the serving peer flagged VALID, in block order. */
export function messagesOfBlock(b: DecodedBlock, scope: PortScope): TxMessage[] {
  return b.txs.filter((t) => t.validationCode === TX_VALID).flatMap((t) => messagesOfTx(b, t, scope));
}

/** A Fabric tx id (64 hex digits) as a Qiao tx hash. */
export function txHashOf(txId: string): Hex {
  if (!/^[0-9a-fA-F]{64}$/.test(txId)) throw new RpcError('block', `tx id "${txId}" is not 64 hex digits`);
  return `0x${txId.toLowerCase()}` as Hex;
}

/** Ledger height - 1 as the peer says (qscc GetChainInfo); -1 on an empty ledger cannot happen on a joined channel. */
export async function latestBlock(p: PeerClient, channel: string): Promise<bigint> {
  const info = common.BlockchainInfo.deserializeBinary(await p.qscc(channel, 'GetChainInfo', [channel]));
  const h = BigInt(info.getHeight());
  if (h < 1n) throw new RpcError(p.endpoint.url, `channel ${channel} has no blocks`);
  return h - 1n;
}

export function rawBlock(p: PeerClient, channel: string, n: bigint): Promise<Uint8Array> {
  return p.qscc(channel, 'GetBlockByNumber', [channel, n.toString()]);
}

/** Runs `f` over [from, to] a few at a time, results in order. */
export async function mapRange<T>(from: bigint, to: bigint, f: (n: bigint) => Promise<T>, { parallel = 4 } = {}): Promise<T[]> {
  const out: T[] = [];
  for (let n = from; n <= to; n += BigInt(parallel)) {
    const batch: Promise<T>[] = [];
    for (let k = n; k <= to && k < n + BigInt(parallel); k++) batch.push(f(k));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}
