import { RLP } from '@ethereumjs/rlp';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccakBytes } from './keccak.ts';
import { ValidationError } from '../errors.ts';

/**
 * Signs and serialises the two transaction types the hub sends (EIP-155
 * legacy and EIP-1559 without an access list) on bytes, in one pass. ethers
 * builds the same bytes through hex strings and parses them back before
 * broadcasting; on ~58 KB deliverBatch calldata that was the relayer's largest
 * CPU cost. Anything else (access lists, blobs, authorisations) is left to
 * ethers: `fastSignable` says which path a transaction takes.
 */
export interface RawTxFields {
  type: 0 | 2;
  chainId: bigint;
  nonce: number;
  gasLimit: bigint;
  /** type 0 */
  gasPrice?: bigint;
  /** type 2 */
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  /** null: contract creation */
  to: string | null;
  value: bigint;
  data: string;
}

export interface SignedRawTx {
  /** 0x-prefixed signed serialisation, what eth_sendRawTransaction takes */
  raw: string;
  hash: string;
  r: string;
  s: string;
  yParity: 0 | 1;
}

const EMPTY = new Uint8Array(0);

/**
 * Node's hex decoder stops at the first character that is not hex, so the
 * length says whether all of it was: the same check as a /^0x([0-9a-f]{2})*$/i
 * test, without a regular expression over ~100 KB of calldata per delivery.
 */
function hexBytes(hex: string, field: string): Uint8Array {
  const bytes = hex.length % 2 === 0 && hex.startsWith('0x') ? Buffer.from(hex.slice(2), 'hex') : null;
  if (!bytes || bytes.length * 2 !== hex.length - 2) throw new ValidationError(field, 'must be 0x-prefixed hex bytes');
  return bytes;
}

/** Minimal big-endian bytes (RLP integers have no leading zeros; 0 is empty). */
function uint(v: bigint, field: string): Uint8Array {
  if (v < 0n) throw new ValidationError(field, 'must not be negative');
  if (v === 0n) return EMPTY;
  let hex = v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  return Buffer.from(hex, 'hex');
}

function toHex(b: Uint8Array): string {
  return '0x' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function fields(tx: RawTxFields): Uint8Array[] {
  const to = tx.to === null ? EMPTY : hexBytes(tx.to, 'tx.to');
  if (to.length !== 0 && to.length !== 20) throw new ValidationError('tx.to', 'must be a 20-byte address');
  const nonce = uint(BigInt(tx.nonce), 'tx.nonce');
  const data = hexBytes(tx.data, 'tx.data');
  if (tx.type === 0) {
    if (tx.gasPrice === undefined) throw new ValidationError('tx.gasPrice', 'is required for a legacy transaction');
    return [nonce, uint(tx.gasPrice, 'tx.gasPrice'), uint(tx.gasLimit, 'tx.gasLimit'), to, uint(tx.value, 'tx.value'), data];
  }
  if (tx.maxFeePerGas === undefined || tx.maxPriorityFeePerGas === undefined) {
    throw new ValidationError('tx.maxFeePerGas', 'maxFeePerGas and maxPriorityFeePerGas are required for an EIP-1559 transaction');
  }
  if (tx.maxPriorityFeePerGas > tx.maxFeePerGas) throw new ValidationError('tx.maxPriorityFeePerGas', 'must not exceed maxFeePerGas');
  return [
    uint(tx.chainId, 'tx.chainId'),
    nonce,
    uint(tx.maxPriorityFeePerGas, 'tx.maxPriorityFeePerGas'),
    uint(tx.maxFeePerGas, 'tx.maxFeePerGas'),
    uint(tx.gasLimit, 'tx.gasLimit'),
    to,
    uint(tx.value, 'tx.value'),
    data,
  ];
}

function typed(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = type;
  out.set(body, 1);
  return out;
}

export function signRawTx(tx: RawTxFields, privateKey: Uint8Array): SignedRawTx {
  if (tx.chainId <= 0n) throw new ValidationError('tx.chainId', 'must be positive (replay protection)');
  const f = fields(tx);
  // The access list is always empty on this path: fastSignable sends the others to ethers.
  const unsigned = tx.type === 0 ? RLP.encode([...f, uint(tx.chainId, 'tx.chainId'), EMPTY, EMPTY]) : typed(2, RLP.encode([...f, []]));
  const sig = secp256k1.sign(keccakBytes(unsigned), privateKey, { prehash: false, lowS: true, format: 'recovered' });
  const yParity = (sig[0]! & 1) as 0 | 1;
  const r = sig.subarray(1, 33);
  const s = sig.subarray(33, 65);
  const rInt = uint(BigInt(toHex(r)), 'r');
  const sInt = uint(BigInt(toHex(s)), 's');
  const signed =
    tx.type === 0
      ? RLP.encode([...f, uint(tx.chainId * 2n + 35n + BigInt(yParity), 'v'), rInt, sInt])
      : typed(2, RLP.encode([...f, [], uint(BigInt(yParity), 'yParity'), rInt, sInt]));
  return { raw: toHex(signed), hash: toHex(keccakBytes(signed)), r: toHex(r), s: toHex(s), yParity };
}

/** The populated request shape (ethers' TransactionLike after populateTransaction). */
export interface PopulatedTx {
  type?: number | null;
  chainId?: bigint | number | null;
  nonce?: number | null;
  gasLimit?: bigint | number | null;
  gasPrice?: bigint | number | null;
  maxFeePerGas?: bigint | number | null;
  maxPriorityFeePerGas?: bigint | number | null;
  to?: unknown;
  value?: bigint | number | null;
  data?: string | null;
  accessList?: unknown;
  [k: string]: unknown;
}

const OTHER_FIELDS = ['maxFeePerBlobGas', 'blobVersionedHashes', 'blobs', 'kzg', 'authorizationList', 'customData', 'blockTag', 'enableCcipRead'];

/** The fields for the fast path, or null when the transaction needs ethers (access list, blobs, other types). */
export function fastSignable(pop: PopulatedTx): RawTxFields | null {
  if (pop.type !== 0 && pop.type !== 2) return null;
  if (pop.chainId == null || pop.nonce == null || pop.gasLimit == null) return null;
  if (pop.to != null && typeof pop.to !== 'string') return null;
  if (pop.accessList != null && !(Array.isArray(pop.accessList) && pop.accessList.length === 0)) return null;
  if (OTHER_FIELDS.some((k) => pop[k] != null && !(Array.isArray(pop[k]) && (pop[k] as unknown[]).length === 0))) return null;
  const big = (v: bigint | number | null | undefined) => (v == null ? undefined : BigInt(v));
  if (pop.type === 0 && (pop.gasPrice == null || pop.maxFeePerGas != null || pop.maxPriorityFeePerGas != null)) return null;
  if (pop.type === 2 && (pop.gasPrice != null || pop.maxFeePerGas == null || pop.maxPriorityFeePerGas == null)) return null;
  // ethers refuses this with its own error: keep that behaviour by letting it see the transaction.
  if (pop.type === 2 && BigInt(pop.maxPriorityFeePerGas!) > BigInt(pop.maxFeePerGas!)) return null;
  return {
    type: pop.type,
    chainId: BigInt(pop.chainId),
    nonce: pop.nonce,
    gasLimit: BigInt(pop.gasLimit),
    gasPrice: big(pop.gasPrice),
    maxFeePerGas: big(pop.maxFeePerGas),
    maxPriorityFeePerGas: big(pop.maxPriorityFeePerGas),
    to: (pop.to as string | null | undefined) ?? null,
    value: big(pop.value) ?? 0n,
    data: pop.data ?? '0x',
  };
}
