import { decode as rlpDecode } from '@ethereumjs/rlp';
import type { Hex } from '../../src/domain/hex.ts';
import { fail, ok, type VerifyResult } from '../result.ts';
import { bytesToBigint, keccak256, parseBytes, toHex } from './bytes.ts';
import { verifyMptNodes } from './mpt.ts';
import { ProofNodeCache, type ProofNode } from './nodes.ts';

/** EIP-1186 account and storage proofs (the state and storage tries are secure tries: paths are keccak256 of the key). */
export interface EvmAccount {
  nonce: bigint;
  balance: bigint;
  storageRoot: Hex;
  codeHash: Hex;
}

/**
 * Bounds on what an endpoint can make us hash. A state or storage trie path
 * has at most 64 branch levels, and in these tries no node comes near 1 KiB
 * (a full branch is 532 bytes; leaves hold an account or a 32-byte word).
 */
export const MAX_PROOF_NODES = 80;
export const MAX_PROOF_NODE_BYTES = 1024;

function parseProofNodes(proof: unknown, field: string, cache: ProofNodeCache): { nodes: ProofNode[] } | { error: string } {
  if (!Array.isArray(proof)) return { error: `${field} must be an array of 0x-hex nodes` };
  if (proof.length > MAX_PROOF_NODES) return { error: `${field} has ${proof.length} nodes (at most ${MAX_PROOF_NODES})` };
  const nodes: ProofNode[] = [];
  for (let i = 0; i < proof.length; i++) {
    const n = cache.get(proof[i]);
    if (!n) return { error: `${field}[${i}] must be 0x-hex` };
    if (n.bytes.length > MAX_PROOF_NODE_BYTES) return { error: `${field}[${i}] has ${n.bytes.length} bytes (at most ${MAX_PROOF_NODE_BYTES})` };
    nodes.push(n);
  }
  return { nodes };
}

function decodeAccount(value: Uint8Array): EvmAccount | string {
  let items: unknown;
  try {
    items = rlpDecode(value);
  } catch (cause) {
    return `account value is not RLP: ${(cause as Error).message}`;
  }
  if (!Array.isArray(items) || items.length !== 4 || !items.every((x) => x instanceof Uint8Array)) return 'account value is not a list of 4 strings';
  const [nonceB, balanceB, storageRootB, codeHashB] = items as Uint8Array[];
  const nonce = bytesToBigint(nonceB!);
  const balance = bytesToBigint(balanceB!);
  if (nonce === null || balance === null) return 'account nonce or balance is not a canonical integer';
  if (storageRootB!.length !== 32 || codeHashB!.length !== 32) return 'account storageRoot and codeHash must be 32 bytes';
  return { nonce, balance, storageRoot: toHex(storageRootB!), codeHash: toHex(codeHashB!) };
}

/** `account: null` is a proven absence of `address` under `stateRoot`. */
export function verifyAccountProof(stateRoot: Hex, address: Hex, accountProof: readonly Hex[], cache = new ProofNodeCache()): VerifyResult<{ account: EvmAccount | null }> {
  const root = parseBytes(stateRoot, 32);
  if (!root) return fail('proof_malformed', 'stateRoot must be 32 bytes of 0x-hex');
  const addr = parseBytes(address, 20);
  if (!addr) return fail('proof_malformed', 'address must be 20 bytes of 0x-hex');
  const parsed = parseProofNodes(accountProof, 'accountProof', cache);
  if ('error' in parsed) return fail('proof_malformed', parsed.error);
  const res = verifyMptNodes(root, keccak256(addr), parsed.nodes);
  if (!res.ok) return fail('account_proof_invalid', `account ${toHex(addr)}: ${res.detail}`);
  if (res.value === null) return ok({ account: null });
  const account = decodeAccount(res.value);
  if (typeof account === 'string') return fail('account_proof_invalid', `account ${toHex(addr)}: ${account}`);
  return ok({ account });
}

/**
 * The proven value of a 32-byte storage slot; an absent slot is proven 0n.
 * Proofs of several slots of one trie pass one `cache`: their shared nodes are parsed and hashed once.
 */
export function verifyStorageProof(storageRoot: Hex, slot: Hex, proof: readonly Hex[], cache = new ProofNodeCache()): VerifyResult<{ value: bigint }> {
  const root = parseBytes(storageRoot, 32);
  if (!root) return fail('proof_malformed', 'storageRoot must be 32 bytes of 0x-hex');
  const key = parseBytes(slot, 32);
  if (!key) return fail('proof_malformed', 'slot must be 32 bytes of 0x-hex');
  const parsed = parseProofNodes(proof, 'storageProof', cache);
  if ('error' in parsed) return fail('proof_malformed', parsed.error);
  const res = verifyMptNodes(root, keccak256(key), parsed.nodes);
  if (!res.ok) return fail('storage_proof_invalid', `slot ${toHex(key)}: ${res.detail}`);
  if (res.value === null) return ok({ value: 0n });
  let word: unknown;
  try {
    word = rlpDecode(res.value);
  } catch (cause) {
    return fail('storage_proof_invalid', `slot ${toHex(key)}: stored value is not RLP: ${(cause as Error).message}`);
  }
  // Mainnet clients delete zeroed slots, but anvil keeps a cleared slot as a leaf holding the
  // empty string (its state root commits to it), so a stored empty value proves 0 like an absent one.
  const value = word instanceof Uint8Array ? bytesToBigint(word) : null;
  if (value === null) return fail('storage_proof_invalid', `slot ${toHex(key)}: stored value is not a canonical 256-bit integer`);
  return ok({ value });
}
