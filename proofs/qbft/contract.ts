import type { Hex } from '../../src/domain/hex.ts';
import { verifyAccountProof, verifyStorageProof } from '../evm/account.ts';
import { keccak256, parseBytes, toHex } from '../evm/bytes.ts';
import { fail, ok, type VerifyResult } from '../result.ts';

/**
 * Contract mode (Besu `validatorcontractaddress`): the validator set for block
 * N + 1 is what the validator contract returns in the state of block N. A
 * light client cannot run the call, so it reads the contract's storage
 * instead: the set is a Solidity `address[]` at `slot` (length at `slot`,
 * element i at keccak256(slot) + i, one address per word), proven with
 * EIP-1186 proofs against the stateRoot of a header already verified.
 */
export interface ValidatorContractProof {
  /** The validator contract. */
  address: Hex;
  /** The storage slot of the address[] (a 32-byte word or a quantity). */
  slot: Hex;
  accountProof: Hex[];
  /** eth_getProof storageProof entries: the length slot and every element slot. */
  storageProof: { key: Hex; value?: Hex; proof: Hex[] }[];
}

/** A hard cap: a BFT network has tens of validators, and each one costs a proof walk. */
export const MAX_CONTRACT_VALIDATORS = 1024;

function word(n: bigint): Hex {
  return `0x${n.toString(16).padStart(64, '0')}`;
}

function slotKey(k: unknown): bigint | null {
  if (typeof k !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(k)) return null;
  return BigInt(k);
}

export function validatorsFromContractProof(stateRoot: Hex, proof: ValidatorContractProof): VerifyResult<{ validators: string[] }> {
  if (typeof proof !== 'object' || proof === null) return fail('proof_malformed', 'validator contract proof must be an object');
  const base = slotKey(proof.slot);
  if (base === null) return fail('proof_malformed', 'slot must be a hex word');
  if (!Array.isArray(proof.storageProof)) return fail('proof_malformed', 'storageProof must be an array');
  const acc = verifyAccountProof(stateRoot, proof.address, proof.accountProof);
  if (!acc.ok) return acc;
  if (!acc.account) return fail('bft_validator_set_invalid', `validator contract ${proof.address} does not exist`);
  const storageRoot = acc.account.storageRoot;
  const read = (slot: bigint): VerifyResult<{ value: bigint }> => {
    const sp = proof.storageProof.find((s) => slotKey(s?.key) === slot);
    if (!sp) return fail('missing_slot', `no storage proof for slot ${word(slot)}`);
    return verifyStorageProof(storageRoot, word(slot), sp.proof);
  };
  const len = read(base);
  if (!len.ok) return len;
  if (len.value === 0n || len.value > BigInt(MAX_CONTRACT_VALIDATORS)) return fail('bft_validator_set_invalid', `validator array length ${len.value} (1..${MAX_CONTRACT_VALIDATORS})`);
  const first = BigInt(toHex(keccak256(parseBytes(word(base))!)));
  const validators: string[] = [];
  for (let i = 0n; i < len.value; i++) {
    const el = read((first + i) % (1n << 256n));
    if (!el.ok) return el;
    if (el.value >> 160n !== 0n) return fail('bft_validator_set_invalid', `validator ${i} is not an address word`);
    const a = `0x${el.value.toString(16).padStart(40, '0')}`;
    if (validators.includes(a)) return fail('bft_validator_set_invalid', `validator ${a} is listed twice`);
    validators.push(a);
  }
  return ok({ validators });
}
