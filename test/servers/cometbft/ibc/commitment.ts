import { sha256 } from '@noble/hashes/sha2.js';
import type { Packet } from 'cosmjs-types/ibc/core/channel/v1/channel';

function be8(v: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return new Uint8Array(b);
}

/** ibc-go CommitPacket (v7+): sha256(timeout_ts BE8 || rev_number BE8 || rev_height BE8 || sha256(data)). */
export function commitPacket(p: Pick<Packet, 'timeoutTimestamp' | 'timeoutHeight' | 'data'>): Uint8Array {
  const buf = new Uint8Array(56);
  buf.set(be8(p.timeoutTimestamp), 0);
  buf.set(be8(p.timeoutHeight?.revisionNumber ?? 0n), 8);
  buf.set(be8(p.timeoutHeight?.revisionHeight ?? 0n), 16);
  buf.set(sha256(p.data), 24);
  return sha256(buf);
}

/** ibc-go CommitAcknowledgement. */
export const commitAcknowledgement = (ack: Uint8Array): Uint8Array => sha256(ack);

/** Receipt value of an unordered channel (ibc-go stores the byte 1). */
export const RECEIPT_VALUE = new Uint8Array([1]);
