import { sha256 } from '@noble/hashes/sha2.js';
import { CosmosIbcProofSchema, type CosmosIbcItem, type CosmosPacket } from '../adapters/cosmos/proof.ts';
import { verifyCosmosStoreProof } from '../proofs/ics23/cosmos.ts';
import type { Hex } from '../src/domain/hex.ts';
import { decodeMessage, messageId, type QiaoMessage } from '../src/domain/message.ts';
import { QiaoError } from '../src/errors.ts';

/** The closed set of reasons a Cosmos source proof is refused for. */
export type CosmosRefusal = 'proof_malformed' | 'expectation_invalid' | 'height_mismatch' | 'untrusted_header' | 'wrong_address' | 'missing_slot' | 'storage_proof_invalid' | 'commitment_mismatch';

export type CosmosVerdict = { ok: true } | { ok: false; reason: CosmosRefusal; detail: string };

/** What the CometBFT light client vouches for: header H+1, whose app hash commits the state after block H. */
export interface AppHashAnchor {
  height: bigint;
  hash: Hex;
  appHash: Hex;
}

const utf8 = new TextEncoder();

function u64be(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
}

function bytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h.slice(2), 'hex'));
}

function hex(b: Uint8Array): Hex {
  return `0x${Buffer.from(b).toString('hex')}` as Hex;
}

/** ibc-go v7+ CommitPacket: sha256(timeout_timestamp ‖ timeout revision number ‖ timeout revision height ‖ sha256(data)), all BE u64. */
export function packetCommitment(p: CosmosPacket): Uint8Array {
  const buf = new Uint8Array(24 + 32);
  buf.set(u64be(BigInt(p.timeoutTimestamp)), 0);
  buf.set(u64be(BigInt(p.timeoutHeight.revisionNumber)), 8);
  buf.set(u64be(BigInt(p.timeoutHeight.revisionHeight)), 16);
  buf.set(sha256(bytes(p.data)), 24);
  return sha256(buf);
}

/** ICS-24 key of a packet commitment in the `ibc` store. */
export const packetCommitmentKey = (port: string, channel: string, sequence: string | number | bigint) => `commitments/ports/${port}/channels/${channel}/sequences/${sequence}`;
/** ICS-24 key of an acknowledgement commitment in the `ibc` store. */
export const packetAckKey = (port: string, channel: string, sequence: string | number | bigint) => `acks/ports/${port}/channels/${channel}/sequences/${sequence}`;

/** The registered port: the UTF-8 bytes of `<cosmos port id>/<channel id>`. */
export function splitCosmosPort(port: Hex): { port: string; channel: string } | null {
  let s: string;
  try {
    s = new TextDecoder('utf-8', { fatal: true }).decode(bytes(port));
  } catch {
    return null;
  }
  const i = s.lastIndexOf('/');
  if (i <= 0 || i === s.length - 1) return null;
  return { port: s.slice(0, i), channel: s.slice(i + 1) };
}

interface Served {
  item: CosmosIbcItem;
  index: number;
  key: string;
  value: Uint8Array;
  encoded: Hex;
}

/**
 * The verify step of a Cosmos source (pure). The proof is for state height
 * H (the block that emitted the packets); the light client's anchor is header
 * H+1, whose app hash commits that state. For each requested id there must be
 * a served item whose message hashes to it — a packet the registered
 * port/channel sent (its commitment recomputed from the fields, exactly as
 * ibc-go commits it) or an acknowledgement it wrote (sha256 of the ack bytes)
 * — whose entry in the `ibc` store is proven by the IAVL + multistore proof
 * against that app hash, and whose message names this chain and port as its
 * source.
 */
export function verifyCosmosPackets(
  proof: unknown,
  expect: { chainId: string; port: Hex; height: bigint; ids: readonly Hex[]; anchor: AppHashAnchor },
): CosmosVerdict {
  const p = CosmosIbcProofSchema.safeParse(proof);
  if (!p.success) return { ok: false, reason: 'proof_malformed', detail: `${p.error.issues[0]!.path.join('.')}: ${p.error.issues[0]!.message}` };
  const pr = p.data;
  if (BigInt(pr.height) !== expect.height) return { ok: false, reason: 'height_mismatch', detail: `proof is for height ${pr.height}, expected ${expect.height}` };
  // An anchor read back from the index has its height as a decimal string.
  let anchorHeight: bigint;
  try {
    anchorHeight = BigInt(expect.anchor.height);
  } catch {
    return { ok: false, reason: 'expectation_invalid', detail: 'anchor height is not an integer' };
  }
  if (anchorHeight !== expect.height + 1n) {
    return { ok: false, reason: 'untrusted_header', detail: `the state after block ${expect.height} is committed in header ${expect.height + 1n}, the anchor is header ${anchorHeight}` };
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(expect.anchor.appHash)) return { ok: false, reason: 'expectation_invalid', detail: 'anchor app hash must be 32 bytes' };
  const own = splitCosmosPort(expect.port);
  if (!own) return { ok: false, reason: 'expectation_invalid', detail: `registered port ${expect.port} is not the UTF-8 of "<port>/<channel>"` };

  const byId = new Map<string, Served>();
  for (const [index, item] of pr.items.entries()) {
    const pk = item.packet;
    let served: Served;
    if (item.kind === 'packet') {
      if (item.ack !== undefined) return { ok: false, reason: 'proof_malformed', detail: `items.${index}: a packet item carries no ack` };
      served = { item, index, key: packetCommitmentKey(pk.sourcePort, pk.sourceChannel, pk.sequence), value: packetCommitment(pk), encoded: pk.data as Hex };
    } else {
      if (item.ack === undefined || item.ack.length <= 2) return { ok: false, reason: 'proof_malformed', detail: `items.${index}: an ack item needs the acknowledgement bytes` };
      served = { item, index, key: packetAckKey(pk.destinationPort, pk.destinationChannel, pk.sequence), value: sha256(bytes(item.ack)), encoded: item.ack as Hex };
    }
    const id = messageId(served.encoded.toLowerCase() as Hex);
    if (!byId.has(id)) byId.set(id, served);
  }

  for (const id of expect.ids) {
    const s = byId.get(id.toLowerCase());
    if (!s) return { ok: false, reason: 'missing_slot', detail: `the proof serves no packet or ack whose message id is ${id}` };
    const r = checkItem(s, own, expect);
    if (!r.ok) return { ...r, detail: `items.${s.index} (${id}): ${r.detail}` };
  }
  return { ok: true };
}

function checkItem(s: Served, own: { port: string; channel: string }, expect: { chainId: string; port: Hex; anchor: AppHashAnchor }): CosmosVerdict {
  const { item } = s;
  const pk = item.packet;
  const [port, channel] = item.kind === 'packet' ? [pk.sourcePort, pk.sourceChannel] : [pk.destinationPort, pk.destinationChannel];
  if (port !== own.port || channel !== own.channel) {
    const side = item.kind === 'packet' ? 'source' : 'destination';
    return { ok: false, reason: 'wrong_address', detail: `${item.kind} ${side} is ${port}/${channel}, the registered port is ${own.port}/${own.channel}` };
  }
  let m: QiaoMessage;
  try {
    m = decodeMessage(s.encoded, item.kind === 'packet' ? 'packet.data' : 'ack');
  } catch (e) {
    if (e instanceof QiaoError) return { ok: false, reason: 'proof_malformed', detail: e.message };
    throw e;
  }
  if (m.srcChain !== expect.chainId || m.srcPort.toLowerCase() !== expect.port.toLowerCase()) {
    return { ok: false, reason: 'wrong_address', detail: `the message names ${m.srcChain} port ${m.srcPort}, not this chain's port` };
  }
  const v = verifyCosmosStoreProof({
    appHash: bytes(expect.anchor.appHash),
    storeName: 'ibc',
    key: utf8.encode(s.key),
    value: s.value,
    proof: item.proofOps.map((op) => ({ type: op.type, key: bytes(op.key), data: bytes(op.data) })),
  });
  if (v.ok) return { ok: true };
  // The store holds another value under this key: the served packet (or ack) is not what the chain committed.
  if (v.reason === 'ics23_value_mismatch') return { ok: false, reason: 'commitment_mismatch', detail: `${s.key}: the proven value is not ${hex(s.value)} (${v.detail})` };
  if (v.reason === 'proof_malformed') return { ok: false, reason: 'proof_malformed', detail: `${s.key}: ${v.detail}` };
  return { ok: false, reason: 'storage_proof_invalid', detail: `${s.key}: ${v.reason}: ${v.detail}` };
}
