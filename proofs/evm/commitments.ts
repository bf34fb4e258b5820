import { asBytes32, type Hex } from '../../src/domain/hex.ts';
import { fail, ok, type VerifyResult } from '../result.ts';
import { keccak256, parseBytes, parseQuantity, toHex } from './bytes.ts';
import { verifyAccountProof, verifyStorageProof } from './account.ts';
import { hashHeader } from './header.ts';
import { ProofNodeCache } from './nodes.ts';

/** What the EVM adapter fetches (eth_getBlockByNumber + eth_getProof), JSON-safe. */
export interface EvmCommitmentProof {
  kind: 'evm-mpt';
  /** Decimal block number. */
  height: string;
  blockHash: Hex;
  /** The raw eth_getBlockByNumber result. */
  header: Record<string, unknown>;
  /** The port contract. */
  address: Hex;
  accountProof: Hex[];
  storageProofs: { key: Hex; value: Hex; proof: Hex[] }[];
}

export interface EvmCommitmentExpectation {
  port: Hex;
  height: bigint;
  /** The block hash at `height` that the chain's light client or finality rule vouches for. */
  trustedBlockHash: Hex;
  /** Storage slots that must hold a non-zero commitment (see commitmentSlot). */
  slots: Hex[];
}

const DECIMAL = /^(?:0|[1-9][0-9]{0,19})$/;

/**
 * Storage slot of `commitments[id]` for a Solidity `mapping(bytes32 => ...)`
 * declared at `mappingSlot`: keccak256(abi.encode(id, mappingSlot)).
 */
export function commitmentSlot(id: Hex, mappingSlot: bigint): Hex {
  const key = parseBytes(asBytes32(id, 'id'))!;
  // A negative or over-256-bit slot does not fit the word, so asBytes32 rejects it naming the field.
  const slot = parseBytes(asBytes32(`0x${mappingSlot.toString(16).padStart(64, '0')}`, 'mappingSlot'))!;
  const word = new Uint8Array(64);
  word.set(key, 0);
  word.set(slot, 32);
  return toHex(keccak256(word));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Nodes are parsed into `cache`, where the verification finds them again. */
function isHexList(v: unknown, cache: ProofNodeCache): v is Hex[] {
  return Array.isArray(v) && v.every((x) => cache.get(x) !== null);
}

/** Shape only; every value that matters is re-derived from the proofs. */
function parseProof(proof: unknown, cache: ProofNodeCache): { proof: EvmCommitmentProof } | { error: string } {
  if (!isRecord(proof)) return { error: 'proof must be an object' };
  if (proof.kind !== 'evm-mpt') return { error: `kind must be 'evm-mpt', got ${JSON.stringify(proof.kind)}` };
  if (typeof proof.height !== 'string' || !DECIMAL.test(proof.height)) return { error: 'height must be a decimal string' };
  if (!parseBytes(proof.blockHash, 32)) return { error: 'blockHash must be 32 bytes of 0x-hex' };
  if (!isRecord(proof.header)) return { error: 'header must be an object' };
  if (!parseBytes(proof.address, 20)) return { error: 'address must be 20 bytes of 0x-hex' };
  if (!isHexList(proof.accountProof, cache)) return { error: 'accountProof must be an array of 0x-hex nodes' };
  if (!Array.isArray(proof.storageProofs)) return { error: 'storageProofs must be an array' };
  for (const [i, sp] of proof.storageProofs.entries()) {
    if (!isRecord(sp)) return { error: `storageProofs[${i}] must be an object` };
    if (!parseBytes(sp.key, 32)) return { error: `storageProofs[${i}].key must be 32 bytes of 0x-hex` };
    if (typeof sp.value !== 'string' || (sp.value !== '0x' && parseQuantity(sp.value) === null)) return { error: `storageProofs[${i}].value must be a hex quantity` };
    if (!isHexList(sp.proof, cache)) return { error: `storageProofs[${i}].proof must be an array of 0x-hex nodes` };
  }
  return { proof: proof as unknown as EvmCommitmentProof };
}

function checkExpectation(expect: EvmCommitmentExpectation): string | null {
  if (!isRecord(expect)) return 'expect must be an object';
  if (!parseBytes(expect.port, 20)) return 'expect.port must be 20 bytes of 0x-hex';
  if (typeof expect.height !== 'bigint' || expect.height < 0n) return 'expect.height must be a non-negative bigint';
  if (!parseBytes(expect.trustedBlockHash, 32)) return 'expect.trustedBlockHash must be 32 bytes of 0x-hex';
  if (!Array.isArray(expect.slots) || !expect.slots.every((s) => parseBytes(s, 32) !== null)) return 'expect.slots must be 32-byte 0x-hex slots';
  return null;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Checks that the port at `expect.port` holds a non-zero value in every slot
 * of `expect.slots` in the state of the trusted block at `expect.height`.
 * The values returned are the proven ones; the `value` fields of the JSON are
 * only compared against them (a mismatch marks a dishonest endpoint).
 */
export function verifyEvmCommitments(proof: unknown, expect: EvmCommitmentExpectation): VerifyResult<{ stateRoot: Hex; values: bigint[] }> {
  const badExpectation = checkExpectation(expect);
  if (badExpectation) return fail('expectation_invalid', badExpectation);
  const cache = new ProofNodeCache();
  const parsed = parseProof(proof, cache);
  if ('error' in parsed) return fail('proof_malformed', parsed.error);
  const p = parsed.proof;

  if (BigInt(p.height) !== expect.height) return fail('height_mismatch', `proof is for height ${p.height}, expected ${expect.height}`);

  const hashed = hashHeader(p.header);
  if (!hashed.ok) return hashed;
  const { hash, header } = hashed;
  if (!same(hash, p.blockHash)) return fail('header_hash_mismatch', `header hashes to ${hash}, proof claims ${p.blockHash}`);
  if (typeof p.header.hash === 'string' && !same(p.header.hash, hash)) return fail('header_hash_mismatch', `header hashes to ${hash}, its hash field says ${p.header.hash}`);
  if (!same(hash, expect.trustedBlockHash)) return fail('untrusted_header', `block ${hash} is not the trusted block ${expect.trustedBlockHash}`);
  if (header.number !== expect.height) return fail('height_mismatch', `header number ${header.number}, expected ${expect.height}`);

  return verifyPortState(p, header.stateRoot, expect, cache);
}

/**
 * The same commitments against a state root that a light client vouches for
 * directly (QBFT/IBFT 2.0: the block hash excludes the seals, so the light
 * client, not keccak(rlp(header)), ties the header to the state root).
 */
export function verifyEvmStateCommitments(
  proof: unknown,
  expect: { port: Hex; height: bigint; trustedStateRoot: Hex; slots: Hex[] },
): VerifyResult<{ stateRoot: Hex; values: bigint[] }> {
  if (!isRecord(expect) || !parseBytes(expect.trustedStateRoot, 32)) return fail('expectation_invalid', 'expect.trustedStateRoot must be 32 bytes of 0x-hex');
  const badExpectation = checkExpectation({ ...expect, trustedBlockHash: expect.trustedStateRoot });
  if (badExpectation) return fail('expectation_invalid', badExpectation);
  const cache = new ProofNodeCache();
  const parsed = parseProof(proof, cache);
  if ('error' in parsed) return fail('proof_malformed', parsed.error);
  if (BigInt(parsed.proof.height) !== expect.height) return fail('height_mismatch', `proof is for height ${parsed.proof.height}, expected ${expect.height}`);
  return verifyPortState(parsed.proof, expect.trustedStateRoot.toLowerCase() as Hex, expect, cache);
}

function verifyPortState(
  p: EvmCommitmentProof,
  stateRoot: Hex,
  expect: { port: Hex; height: bigint; slots: Hex[] },
  cache: ProofNodeCache,
): VerifyResult<{ stateRoot: Hex; values: bigint[] }> {
  if (!same(p.address, expect.port)) return fail('wrong_address', `proof is for ${p.address}, expected port ${expect.port}`);
  const acc = verifyAccountProof(stateRoot, expect.port, p.accountProof, cache);
  if (!acc.ok) return acc;
  if (!acc.account) return fail('account_absent', `port ${expect.port} does not exist at height ${expect.height}`);

  // By key, once: a block's proof names hundreds of slots, and a search per slot was quadratic.
  const byKey = new Map<string, EvmCommitmentProof['storageProofs'][number]>();
  for (const s of p.storageProofs) {
    const k = s.key.toLowerCase();
    if (!byKey.has(k)) byKey.set(k, s);
  }
  const values: bigint[] = [];
  for (const slot of expect.slots) {
    const sp = byKey.get(slot.toLowerCase());
    if (!sp) return fail('missing_slot', `no storage proof for slot ${slot}`);
    const st = verifyStorageProof(acc.account.storageRoot, slot, sp.proof, cache);
    if (!st.ok) return st;
    const claimed = sp.value === '0x' ? 0n : BigInt(sp.value);
    if (claimed !== st.value) return fail('storage_value_mismatch', `slot ${slot}: endpoint claims ${sp.value}, proof gives 0x${st.value.toString(16)}`);
    if (st.value === 0n) return fail('commitment_absent', `slot ${slot} is zero at height ${expect.height}`);
    values.push(st.value);
  }
  return ok({ stateRoot, values });
}
