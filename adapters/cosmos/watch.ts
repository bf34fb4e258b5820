import { sha256 } from '@noble/hashes/sha2.js';
import type { ObservedMessage } from '../../src/domain/adapter.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { decodeMessage, messageId, type QiaoMessage } from '../../src/domain/message.ts';
import { QiaoError, RpcError } from '../../src/errors.ts';
import type { CosmosPortChannel } from './chain-id.ts';
import type { CosmosPacket } from './proof.ts';
import { rpc, toHex, type CometEndpoint } from './rpc.ts';

/** One event as CometBFT v0.38 serves it (attributes are plain strings). */
export interface CometEvent {
  readonly type: string;
  readonly attributes: readonly { readonly key: string; readonly value: string }[];
}

/** One transaction's result at a height. */
export interface TxEvents {
  height: bigint;
  /** position in the block */
  index: number;
  /** 0x sha256 of the tx bytes */
  hash: Hex;
  code: number;
  events: readonly CometEvent[];
}

/** A Qiao message found in an IBC event of the registered channel. */
export interface FoundItem extends ObservedMessage {
  kind: 'packet' | 'ack';
  packet: CosmosPacket;
  /** kind `ack`: the acknowledgement bytes (= `encoded`) */
  ack?: Hex;
}

export interface ChannelScope {
  chainId: ChainId;
  channel: CosmosPortChannel;
  /** hex of UTF-8 "<port>/<channel>": the Qiao srcPort of this chain's messages */
  portBytes: Hex;
}

/** Events per tx above this many would overflow the chain-order index; no real tx comes near. */
const EVENTS_PER_TX = 100_000;

function attrsOf(e: CometEvent): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of e.attributes) if (!m.has(a.key)) m.set(a.key, a.value);
  return m;
}

function hexAttr(v: string | undefined): Hex | null {
  if (v === undefined || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) return null;
  return `0x${v.toLowerCase()}` as Hex;
}

function u64Attr(v: string | undefined): string | null {
  return v !== undefined && /^\d{1,20}$/.test(v) && BigInt(v) < 1n << 64n ? BigInt(v).toString() : null;
}

/** `packet_timeout_height` is "<revision>-<height>". */
function timeoutHeightAttr(v: string | undefined): { revisionNumber: string; revisionHeight: string } | null {
  const m = v === undefined ? null : /^(\d{1,20})-(\d{1,20})$/.exec(v);
  if (!m) return null;
  const [rn, rh] = [u64Attr(m[1]), u64Attr(m[2])];
  return rn !== null && rh !== null ? { revisionNumber: rn, revisionHeight: rh } : null;
}

function packetOf(a: Map<string, string>): CosmosPacket | null {
  const sequence = u64Attr(a.get('packet_sequence'));
  const data = hexAttr(a.get('packet_data_hex'));
  const timeoutHeight = timeoutHeightAttr(a.get('packet_timeout_height'));
  const timeoutTimestamp = u64Attr(a.get('packet_timeout_timestamp'));
  const [sourcePort, sourceChannel, destinationPort, destinationChannel] = ['packet_src_port', 'packet_src_channel', 'packet_dst_port', 'packet_dst_channel'].map((k) => a.get(k));
  if (sequence === null || data === null || !timeoutHeight || timeoutTimestamp === null || !sourcePort || !sourceChannel || !destinationPort || !destinationChannel) return null;
  return { sequence, sourcePort, sourceChannel, destinationPort, destinationChannel, data, timeoutHeight, timeoutTimestamp };
}

function decodeOwn(bytes: Hex, scope: ChannelScope): QiaoMessage | null {
  try {
    const m = decodeMessage(bytes, 'packet');
    return m.srcChain === scope.chainId && m.srcPort.toLowerCase() === scope.portBytes.toLowerCase() ? m : null;
  } catch (cause) {
    if (cause instanceof QiaoError) return null;
    throw cause;
  }
}

/**
 * The Qiao messages one tx emitted on the registered channel, in event order:
 * `send_packet` from it (a message this chain sends), and
 * `write_acknowledgement` on it whose ack bytes are a Qiao ack message of this
 * chain and port (the contract answering a hub -> Cosmos message). Anything
 * else (another channel, bytes that are not a Qiao message of this chain and
 * port, a failed tx) is not ours. Nothing here is trusted: the relayer
 * verifies the commitment against the light client's app hash.
 */
export function qiaoItemsOf(tx: TxEvents, blockHash: Hex, scope: ChannelScope): FoundItem[] {
  if (tx.code !== 0) return [];
  const { portId, channelId } = scope.channel;
  const out: FoundItem[] = [];
  tx.events.forEach((e, i) => {
    if (e.type !== 'send_packet' && e.type !== 'write_acknowledgement') return;
    const a = attrsOf(e);
    const packet = packetOf(a);
    if (!packet) return;
    const base = { height: tx.height, blockHash, txHash: tx.hash, logIndex: tx.index * EVENTS_PER_TX + i };
    if (e.type === 'send_packet') {
      if (packet.sourcePort !== portId || packet.sourceChannel !== channelId) return;
      const message = decodeOwn(packet.data, scope);
      if (message) out.push({ ...base, kind: 'packet', packet, id: messageId(packet.data), encoded: packet.data, message });
      return;
    }
    if (packet.destinationPort !== portId || packet.destinationChannel !== channelId) return;
    const ack = hexAttr(a.get('packet_ack_hex'));
    const message = ack ? decodeOwn(ack, scope) : null;
    if (ack && message) out.push({ ...base, kind: 'ack', packet, ack, id: messageId(ack), encoded: ack, message });
  });
  return out;
}

const byChainOrder = (a: FoundItem, b: FoundItem) => (a.height === b.height ? a.logIndex - b.logIndex : a.height < b.height ? -1 : 1);

/** 0x-lowercase hex of a block's header hash, or null when the endpoint has no such block. */
export async function blockHashOf(e: CometEndpoint, height: bigint): Promise<Hex | null> {
  if (height < 1n) return null;
  const latest = await latestHeightOf(e);
  if (height > latest) return null;
  const b = await rpc(e.url, `block ${height}`, () => e.client.block(Number(height)));
  return toHex(b.blockId.hash);
}

export async function latestHeightOf(e: CometEndpoint): Promise<bigint> {
  const s = await rpc(e.url, 'status', () => e.client.status());
  return BigInt(s.syncInfo.latestBlockHeight);
}

/** The txs of one block with their events (block_results) and hashes (sha256 of the block's txs). */
export async function txsAt(e: CometEndpoint, height: bigint): Promise<{ blockHash: Hex; txs: TxEvents[] }> {
  const [block, results] = await Promise.all([
    rpc(e.url, `block ${height}`, () => e.client.block(Number(height))),
    rpc(e.url, `block_results ${height}`, () => e.client.blockResults(Number(height))),
  ]);
  const raw = block.block.txs;
  if (raw.length !== results.results.length) throw new RpcError(e.url, `block ${height}: ${raw.length} txs but ${results.results.length} results`);
  const txs = results.results.map((r, index) => ({ height, index, hash: toHex(sha256(raw[index]!)), code: r.code, events: r.events }));
  return { blockHash: toHex(block.blockId.hash), txs };
}

/** The Qiao messages of the registered channel in one block, in chain order. */
export async function itemsAt(e: CometEndpoint, height: bigint, scope: ChannelScope): Promise<FoundItem[]> {
  const { blockHash, txs } = await txsAt(e, height);
  return txs.flatMap((tx) => qiaoItemsOf(tx, blockHash, scope));
}

export interface ScanOptions {
  /** ranges up to this many heights are read block by block; longer ones through tx_search (the kv tx indexer) */
  blockByBlockMax?: number;
  perPage?: number;
}

/**
 * The Qiao messages of the registered channel in heights [from, to], in chain
 * order. Short ranges (the relayer's usual step) read block_results, which
 * needs no tx indexer; long ones page through tx_search for the two event
 * kinds, so a range of a million empty blocks costs a few calls.
 */
export async function itemsIn(e: CometEndpoint, from: bigint, to: bigint, scope: ChannelScope, { blockByBlockMax = 32, perPage = 100 }: ScanOptions = {}): Promise<FoundItem[]> {
  const lo = from < 1n ? 1n : from;
  if (to < lo) return [];
  if (to - lo + 1n <= BigInt(blockByBlockMax)) {
    const out: FoundItem[] = [];
    for (let h = lo; h <= to; h++) out.push(...(await itemsAt(e, h, scope)));
    return out;
  }
  const { portId, channelId } = scope.channel;
  const range = `tx.height>=${lo} AND tx.height<=${to}`;
  const queries = [
    `send_packet.packet_src_port='${portId}' AND send_packet.packet_src_channel='${channelId}' AND ${range}`,
    `write_acknowledgement.packet_dst_port='${portId}' AND write_acknowledgement.packet_dst_channel='${channelId}' AND ${range}`,
  ];
  const txs = new Map<string, TxEvents>();
  for (const query of queries) {
    for (let page = 1; ; page++) {
      const r = await rpc(e.url, 'tx_search', () => e.client.txSearch({ query, page, per_page: perPage, order_by: 'asc' }));
      for (const t of r.txs) txs.set(toHex(t.hash), { height: BigInt(t.height), index: t.index, hash: toHex(t.hash), code: t.result.code, events: t.result.events });
      if (r.txs.length === 0 || page * perPage >= r.totalCount) break;
    }
  }
  const hashes = new Map<bigint, Hex>();
  const out: FoundItem[] = [];
  for (const tx of txs.values()) {
    let bh = hashes.get(tx.height);
    if (!bh) {
      const h = await blockHashOf(e, tx.height);
      if (!h) throw new RpcError(e.url, `block ${tx.height} of tx ${tx.hash} not found`);
      hashes.set(tx.height, (bh = h));
    }
    out.push(...qiaoItemsOf(tx, bh, scope));
  }
  return out.sort(byChainOrder);
}
