/**
 * The port's hottest call and events, coded by hand on bytes. ethers' ABI coder
 * goes through hex strings one byte at a time and copies every word it writes:
 * encoding one `deliverBatch` of 64 messages was ~10% of a relayer worker's CPU
 * and decoding MessageSent/MessageDelivered ~7% (profiles in the issue 5
 * notes). The layouts are fixed by the contract; test/unit/port-codec.test.ts
 * checks every function here against ethers' coder, byte for byte, on random
 * inputs, and that whatever ethers refuses is refused here too.
 */

const WORD = 32;

function hexToBytes(hex: string, what: string): Uint8Array {
  if (!/^0x(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError(`${what} is not 0x-prefixed even-length hex`);
  return Buffer.from(hex.slice(2), 'hex');
}

const padded = (n: number) => Math.ceil(n / WORD) * WORD;

/** Writes `v` (a uint64) as one big-endian word at `at`. */
function putUint(out: Uint8Array, at: number, v: bigint | number): void {
  let x = BigInt(v);
  if (x < 0n || x >= 1n << 64n) throw new RangeError(`value ${x} does not fit uint64`);
  for (let i = WORD - 1; x > 0n; i--) {
    out[at + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

function putLength(out: Uint8Array, at: number, n: number): void {
  out[at + 28] = (n >>> 24) & 0xff;
  out[at + 29] = (n >>> 16) & 0xff;
  out[at + 30] = (n >>> 8) & 0xff;
  out[at + 31] = n & 0xff;
}

/** Size of an encoded `bytes[]` (length word, offsets, then each item's length word and padded bytes). */
const bytesArraySize = (items: readonly Uint8Array[]) => WORD + items.length * WORD + items.reduce((n, b) => n + WORD + padded(b.length), 0);

const words32Size = (lists: readonly (readonly Uint8Array[])[]) => WORD + lists.length * WORD + lists.reduce((n, l) => n + WORD + l.length * WORD, 0);

/** An array of dynamic items at `at`: its length, one offset per item (counted from the first offset word), then the items; `put` writes one and returns its size. */
function putArray<T>(out: Uint8Array, at: number, items: readonly T[], put: (item: T, at: number, index: number) => number): void {
  putLength(out, at, items.length);
  const base = at + WORD;
  let tail = items.length * WORD;
  for (const [i, item] of items.entries()) {
    putLength(out, base + i * WORD, tail);
    tail += put(item, base + tail, i);
  }
}

/** One `bytes`: its length, then the bytes padded to whole words. */
function putBytes(out: Uint8Array, b: Uint8Array, at: number): number {
  putLength(out, at, b.length);
  out.set(b, at + WORD);
  return WORD + padded(b.length);
}

/** One `bytes32[]`: its length, then the words. */
function putWords(out: Uint8Array, words: readonly Uint8Array[], at: number, i: number): number {
  putLength(out, at, words.length);
  for (const [k, w] of words.entries()) {
    if (w.length !== WORD) throw new RangeError(`proof node ${k} of message ${i} is ${w.length} bytes, not 32`);
    out.set(w, at + WORD + k * WORD);
  }
  return WORD + words.length * WORD;
}

export interface DeliverBatchArgs {
  setId: bigint;
  batchNo: bigint;
  root: string;
  signatures: readonly string[];
  /** The messages' encoded bytes. */
  messages: readonly Uint8Array[];
  /** Each message's Merkle proof (32-byte nodes). */
  proofs: readonly (readonly Uint8Array[])[];
}

/**
 * Calldata of `deliverBatch(uint64,uint64,bytes32,bytes[],bytes[],bytes32[][])`
 * (`selector` is its 4 bytes), as ethers' `encodeFunctionData` gives it.
 */
export function encodeDeliverBatch(selector: string, a: DeliverBatchArgs): Uint8Array {
  const sel = hexToBytes(selector, 'selector');
  if (sel.length !== 4) throw new RangeError('selector must be 4 bytes');
  const root = hexToBytes(a.root, 'root');
  if (root.length !== WORD) throw new RangeError('root must be 32 bytes');
  if (a.messages.length !== a.proofs.length) throw new RangeError(`${a.messages.length} messages but ${a.proofs.length} proofs`);
  const sigs = a.signatures.map((s, i) => hexToBytes(s, `signature ${i}`));
  const head = 6 * WORD;
  const sigsAt = head;
  const msgsAt = sigsAt + bytesArraySize(sigs);
  const proofsAt = msgsAt + bytesArraySize(a.messages);
  const size = proofsAt + words32Size(a.proofs);
  const out = new Uint8Array(4 + size);
  out.set(sel, 0);
  const args = out.subarray(4);
  putUint(args, 0, a.setId);
  putUint(args, WORD, a.batchNo);
  args.set(root, 2 * WORD);
  putLength(args, 3 * WORD, sigsAt);
  putLength(args, 4 * WORD, msgsAt);
  putLength(args, 5 * WORD, proofsAt);
  putArray(args, sigsAt, sigs, (b, at) => putBytes(args, b, at));
  putArray(args, msgsAt, a.messages, (b, at) => putBytes(args, b, at));
  putArray(args, proofsAt, a.proofs, (words, at, i) => putWords(args, words, at, i));
  return out;
}

/** Reads a big-endian word as a safe integer, or throws (offsets and lengths beyond 2^53 are not ours). */
function readSmall(data: Uint8Array, at: number, what: string): number {
  if (at + WORD > data.length) throw new RangeError(`${what}: data too short`);
  for (let i = 0; i < 25; i++) if (data[at + i] !== 0) throw new RangeError(`${what}: out of range`);
  let n = 0;
  for (let i = 25; i < WORD; i++) n = n * 256 + data[at + i]!;
  return n;
}

/** The `bytes` whose offset word is at `at` (offsets count from the start of `data`, as in event data). */
function readBytesAt(data: Uint8Array, offsetWordAt: number, what: string): Uint8Array {
  const off = readSmall(data, offsetWordAt, `${what} offset`);
  const len = readSmall(data, off, `${what} length`);
  const start = off + WORD;
  if (start + len > data.length) throw new RangeError(`${what}: data too short`);
  return data.subarray(start, start + len);
}

const toHex = (b: Uint8Array) => `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`;

/** Data of `MessageSent(bytes32 indexed id, bytes32 indexed lane, uint64 nonce, bytes message)`. */
export function decodeMessageSentData(dataHex: string): { nonce: bigint; message: string } {
  const data = hexToBytes(dataHex, 'log data');
  if (data.length < 2 * WORD) throw new RangeError('MessageSent data too short');
  for (let i = 0; i < 24; i++) if (data[i] !== 0) throw new RangeError('MessageSent nonce out of uint64 range');
  const nonce = BigInt(toHex(data.subarray(24, WORD)));
  return { nonce, message: toHex(readBytesAt(data, WORD, 'MessageSent message')) };
}

/** Data of `MessageDelivered(bytes32 indexed id, bool success, bytes reason)`. */
export function decodeMessageDeliveredData(dataHex: string): { success: boolean; reason: string } {
  const data = hexToBytes(dataHex, 'log data');
  const flag = readSmall(data, 0, 'MessageDelivered success');
  if (flag > 1) throw new RangeError('MessageDelivered success is not a bool');
  return { success: flag === 1, reason: toHex(readBytesAt(data, WORD, 'MessageDelivered reason')) };
}

/**
 * Data of the governance MessageLog's `BatchCommitted(uint64 indexed batchNo, bytes32 root, bytes32[] ids)`: read
 * back by every commit, attestation and re-verification, with up to 1,024 ids (through ethers' ABI reader ~1.7% of a
 * worker's CPU at saturation). Only the encoding the contract emits (the id array right after the head, nothing
 * after it) is taken.
 */
export function decodeBatchCommittedData(dataHex: string): { root: string; ids: string[] } {
  const data = hexToBytes(dataHex, 'log data');
  if (data.length < 3 * WORD) throw new RangeError('BatchCommitted data too short');
  if (readSmall(data, WORD, 'BatchCommitted ids offset') !== 2 * WORD) throw new RangeError('BatchCommitted ids are not where the contract puts them');
  const n = readSmall(data, 2 * WORD, 'BatchCommitted ids length');
  if (data.length !== (3 + n) * WORD) throw new RangeError('BatchCommitted data length does not match its id count');
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(toHex(data.subarray((3 + i) * WORD, (4 + i) * WORD)));
  return { root: toHex(data.subarray(0, WORD)), ids };
}
