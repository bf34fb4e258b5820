import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { Signature, TypedDataEncoder, getAddress, recoverAddress } from 'ethers';
import { z } from 'zod';
import { ChaincodeError } from './errors.ts';

/** The attestor set a port trusts (DESIGN.md "Trust model"); addresses are checksummed. */
export interface AttestorSet {
  setId: string;
  threshold: number;
  members: string[];
}

export interface Domain {
  govChainId: string;
  messageLog: string;
}

const hex = z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/);
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const u64 = z.string().regex(/^[0-9]{1,20}$/).or(z.number().int().nonnegative().transform(String));

export const batchSchema = z.object({
  setId: u64,
  batchNo: u64,
  root: bytes32,
  signatures: z.array(hex).max(256),
  items: z.array(z.object({ encoded: hex, proof: z.array(bytes32).max(64), original: hex.optional() })).min(1).max(256),
});
export type Batch = z.infer<typeof batchSchema>;

export function parseBatch(json: string): Batch {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new ChaincodeError('bad_batch', 'batch is not JSON', { cause });
  }
  const r = batchSchema.safeParse(raw);
  if (!r.success) throw new ChaincodeError('bad_batch', r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return r.data;
}

const TYPES = {
  Attestation: [
    { name: 'rootType', type: 'uint8' },
    { name: 'setId', type: 'uint64' },
    { name: 'batchNo', type: 'uint64' },
    { name: 'root', type: 'bytes32' },
  ],
};

export const ROOT_MESSAGES = 1;

export function attestationDigest(d: Domain, rootType: number, setId: string, batchNo: string, root: string): string {
  const domain = { name: 'Qiao', version: '1', chainId: BigInt(d.govChainId), verifyingContract: getAddress(d.messageLog) };
  return TypedDataEncoder.hash(domain, TYPES, { rootType, setId: BigInt(setId), batchNo: BigInt(batchNo), root });
}

/**
 * Counts distinct members of the set among the signers, as QiaoPort._countSigners:
 * a malformed signature or a non-member is skipped, never fatal by itself.
 */
export function countSigners(digest: string, signatures: readonly string[], set: AttestorSet): number {
  const members = new Set(set.members.map((a) => a.toLowerCase()));
  const seen = new Set<string>();
  for (const sig of signatures) {
    let signer: string;
    try {
      signer = recoverAddress(digest, Signature.from(sig)).toLowerCase();
    } catch {
      continue;
    }
    if (members.has(signer)) seen.add(signer);
  }
  return seen.size;
}

/** Refuses unless `threshold` distinct members of the current set signed this root. */
export function requireAttested(d: Domain, set: AttestorSet, batch: Batch): void {
  if (BigInt(batch.setId) !== BigInt(set.setId)) throw new ChaincodeError('wrong_set', `batch is signed by set ${batch.setId}, the port trusts set ${set.setId}`);
  let digest: string;
  try {
    digest = attestationDigest(d, ROOT_MESSAGES, batch.setId, batch.batchNo, batch.root);
  } catch (cause) {
    throw new ChaincodeError('bad_batch', 'setId or batchNo is not a uint64', { cause });
  }
  const valid = countSigners(digest, batch.signatures, set);
  if (valid < set.threshold) {
    throw new ChaincodeError('not_enough_signatures', `${valid} valid attestor signatures, ${set.threshold} needed`, { data: { valid } });
  }
}

/** OpenZeppelin StandardMerkleTree inclusion of leaf [bytes32 id] (double-hashed, sorted pairs). */
export function included(root: string, id: string, proof: readonly string[]): boolean {
  try {
    return StandardMerkleTree.verify(root, ['bytes32'], [id], [...proof]);
  } catch {
    return false;
  }
}
