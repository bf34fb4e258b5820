/**
 * A Cosmos SDK chain's state proof, as ibc-go checks it: an IAVL proof of key
 * K in store S (its root is the store's root), then a simple-Merkle
 * multistore proof that S maps to that root, under the chain's app hash.
 *
 * Height: the state after block H is committed in the app hash of header
 * H+1. A proof returned by `abci_query` at height H must be checked against
 * `appHash` of header H+1, which the caller takes from its own light client
 * (this module never fetches or trusts a header on its own).
 */
import { fail, ok, type VerifyResult } from '../result.ts';
import { decodeCommitmentProof } from './codec.ts';
import { bytesEqual } from './ops.ts';
import { SDK_SPECS } from './specs.ts';
import type { CommitmentProof } from './types.ts';
import { calculateRoot, provenRoot, verifyMembership, verifyNonMembership, type ProofInput, type VerifyOptions } from './verify.ts';

/** One op of CometBFT's `ProofOps` (abci_query with prove=true); key and data as bytes or base64. */
export interface ProofOp {
  type: string;
  key: Uint8Array | string;
  data: Uint8Array | string;
}

export interface ProofOps {
  ops: ProofOp[];
}

export const IAVL_OP_TYPE = 'ics23:iavl';
export const SIMPLE_OP_TYPE = 'ics23:simple';

export type CosmosStoreProofInput = {
  /** App hash of header H+1 when the proof was queried at height H. */
  appHash: Uint8Array;
  /** The module store's name in the multistore, e.g. "ibc", "bank", "wasm". */
  storeName: string;
  key: Uint8Array;
  /** ProofOps as abci_query returns them (IAVL op first), or the two CommitmentProofs, store proof first. */
  proof: ProofOps | ProofOp[] | readonly ProofInput[];
} & ({ value: Uint8Array; absent?: undefined } | { absent: true; value?: undefined });

export type CosmosStoreProofResult = VerifyResult<{ storeRoot: Uint8Array; proven: 'value' | 'absence' }>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function opBytes(v: unknown, field: string): VerifyResult<{ bytes: Uint8Array }> {
  if (v instanceof Uint8Array) return ok({ bytes: v });
  if (typeof v === 'string' && v.length % 4 === 0 && BASE64.test(v)) return ok({ bytes: new Uint8Array(Buffer.from(v, 'base64')) });
  return fail('proof_malformed', `${field} is neither bytes nor base64`);
}

function isProofOp(v: unknown): v is ProofOp {
  return typeof v === 'object' && v !== null && typeof (v as ProofOp).type === 'string' && 'key' in v && 'data' in v;
}

type Split = VerifyResult<{ store: ProofInput; multistore: ProofInput }>;

function splitProof(input: CosmosStoreProofInput, storeName: Uint8Array): Split {
  const raw: unknown = input.proof;
  const ops: unknown = raw && typeof raw === 'object' && !Array.isArray(raw) && 'ops' in raw ? (raw as ProofOps).ops : raw;
  if (!Array.isArray(ops)) return fail('proof_malformed', 'proof must be ProofOps, an array of ProofOp, or two CommitmentProofs');
  if (ops.length !== 2) return fail('proof_malformed', `expected 2 proofs (store, multistore), got ${ops.length}`);
  if (!ops.every(isProofOp)) return ok({ store: ops[0] as ProofInput, multistore: ops[1] as ProofInput });
  const [iavl, simple] = ops as [ProofOp, ProofOp];
  if (iavl.type !== IAVL_OP_TYPE) return fail('proof_malformed', `first op must be ${IAVL_OP_TYPE}, is ${iavl.type}`);
  if (simple.type !== SIMPLE_OP_TYPE) return fail('proof_malformed', `second op must be ${SIMPLE_OP_TYPE}, is ${simple.type}`);
  const k = opBytes(iavl.key, 'ops[0].key');
  if (!k.ok) return k;
  if (!bytesEqual(k.bytes, input.key)) return fail('ics23_key_mismatch', 'the IAVL op is for another key');
  const s = opBytes(simple.key, 'ops[1].key');
  if (!s.ok) return s;
  if (!bytesEqual(s.bytes, storeName)) return fail('ics23_store_mismatch', `the multistore op is for store "${Buffer.from(s.bytes).toString('utf8')}"`);
  const d0 = opBytes(iavl.data, 'ops[0].data');
  if (!d0.ok) return d0;
  const d1 = opBytes(simple.data, 'ops[1].data');
  if (!d1.ok) return d1;
  return ok({ store: d0.bytes, multistore: d1.bytes });
}

function decoded(p: ProofInput): VerifyResult<{ proof: CommitmentProof }> {
  return p instanceof Uint8Array ? decodeCommitmentProof(p) : ok({ proof: p });
}

/** Verifies a value (or its absence) in a Cosmos SDK module store against the app hash. */
export function verifyCosmosStoreProof(input: CosmosStoreProofInput, opts: VerifyOptions = {}): CosmosStoreProofResult {
  if (!input || typeof input !== 'object') return fail('expectation_invalid', 'input must be an object');
  const { appHash, storeName, key } = input;
  if (!(appHash instanceof Uint8Array) || appHash.length !== 32) return fail('expectation_invalid', 'appHash must be 32 bytes');
  if (typeof storeName !== 'string' || storeName.length === 0) return fail('expectation_invalid', 'storeName must be a non-empty string');
  if (!(key instanceof Uint8Array) || key.length === 0) return fail('expectation_invalid', 'key must be non-empty bytes');
  const absent = input.absent === true;
  if (absent === (input.value !== undefined)) return fail('expectation_invalid', 'give exactly one of value and absent: true');
  if (!absent && !(input.value instanceof Uint8Array && input.value.length > 0)) return fail('expectation_invalid', 'value must be non-empty bytes');
  const name = new TextEncoder().encode(storeName);
  const split = splitProof(input, name);
  if (!split.ok) return split;
  const store = decoded(split.store);
  if (!store.ok) return { ...store, detail: `store proof: ${store.detail}` };
  const multi = decoded(split.multistore);
  if (!multi.ok) return { ...multi, detail: `multistore proof: ${multi.detail}` };
  const [storeSpec, multiSpec] = SDK_SPECS;

  // The store root is whatever the store proof hashes to; the multistore proof then has to vouch for it.
  let storeRoot: Uint8Array;
  if (absent) {
    const r = calculateRoot(store.proof);
    if (!r.ok) return { ...r, detail: `store proof: ${r.detail}` };
    storeRoot = r.hash;
    const v = verifyNonMembership(storeSpec, storeRoot, store.proof, key, opts);
    if (!v.ok) return { ...v, detail: `store proof: ${v.detail}` };
  } else {
    const v = provenRoot(storeSpec, store.proof, key, input.value!, opts);
    if (!v.ok) return { ...v, detail: `store proof: ${v.detail}` };
    storeRoot = v.root;
  }

  const m = verifyMembership(multiSpec, appHash, multi.proof, name, storeRoot, opts);
  if (!m.ok) {
    const reason = m.reason === 'ics23_key_mismatch' ? 'ics23_store_mismatch' : m.reason === 'ics23_value_mismatch' ? 'ics23_root_mismatch' : m.reason;
    return fail(reason, `multistore proof: ${m.detail}`);
  }
  return ok({ storeRoot, proven: absent ? 'absence' : 'value' });
}
