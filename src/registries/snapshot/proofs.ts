import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { z } from 'zod';
import { QiaoError, ValidationError } from '../../errors.ts';
import { ROOT_TYPE, recoverAttestor, type AttestationDomain } from '../../domain/attestation.ts';
import { asBytes32, type Hex } from '../../domain/hex.ts';
import { didHash as hashDid, parseDid } from '../did.ts';
import { attestedRegistryRoot, type LeafProof, type RegistrySnapshot } from './builder.ts';
import {
  LEAF_KIND,
  REGISTRY_LEAF_ENCODING,
  accreditationKey,
  attestationData,
  kindName,
  leafTuple,
  statusName,
  validLeaf,
  type RegistryLeaf,
} from './leaves.ts';

export const REGISTRY_PROOF_FORMAT = 'qiao-registry-proof-v1';

/** A DID (or its leaf) is not in the snapshot asked about. */
export class RegistryRecordNotFoundError extends QiaoError {
  constructor(readonly field: string, message: string) {
    super('not_found', message, { data: { field } });
  }
}

export interface AttestationProof extends LeafProof {
  uid: Hex;
  schemaId: Hex;
  issuerDidHash: Hex;
  publicData: Hex;
  /** The issuer's accreditation for the schema, or null when the snapshot has none (never accredited). */
  accreditation: LeafProof | null;
}

/** The attestors' signatures over the snapshot (root type 2, batchNo = snapshotNo, root = attestedRoot). */
export interface SnapshotSignatures {
  setId: bigint;
  signatures: Hex[];
  /** The EIP-712 domain (governance chain id, MessageLog) needed to recover the signers; null when not known. */
  domain: AttestationDomain | null;
}

export interface RegistryProof {
  did: string;
  didHash: Hex;
  snapshot: { snapshotNo: bigint | null; treeRoot: Hex; attestedRoot: Hex; takenAt: bigint; blockNumber: bigint; signed: SnapshotSignatures | null };
  identity: LeafProof;
  attestations: AttestationProof[];
}

/** The DID's identity leaf, its attestations as subject (of one schema, if given) and each issuer's accreditation leaf, with proofs. */
export function registryProof(
  snapshot: RegistrySnapshot,
  did: string,
  { snapshotNo = null, signed = null, schemaId }: { snapshotNo?: bigint | null; signed?: SnapshotSignatures | null; schemaId?: Hex } = {},
): RegistryProof {
  // A relying party that needs one schema should not learn about the others.
  const schema = schemaId === undefined ? undefined : asBytes32(schemaId, 'schema');
  const dh = hashDid(parseDid(did));
  const identity = snapshot.proofFor(LEAF_KIND.identity, dh);
  if (!identity) throw new RegistryRecordNotFoundError('did', `${did} is not in registry snapshot ${snapshotNo ?? `at block ${snapshot.blockNumber}`}`);
  const attestations = snapshot.attestations
    .filter((x) => x.subjectDidHash.toLowerCase() === dh && (schema === undefined || x.schemaId.toLowerCase() === schema))
    .map((x): AttestationProof => {
      const item = snapshot.proofFor(LEAF_KIND.attestation, x.uid)!;
      const accreditation = snapshot.proofFor(LEAF_KIND.accreditation, accreditationKey(asBytes32(x.issuerDidHash, 'issuerDidHash'), asBytes32(x.schemaId, 'schemaId'))) ?? null;
      return { ...item, uid: item.leaf.key, schemaId: item.leaf.b, issuerDidHash: x.issuerDidHash.toLowerCase() as Hex, publicData: x.publicData.toLowerCase() as Hex, accreditation };
    });
  return {
    did,
    didHash: dh,
    snapshot: { snapshotNo, treeRoot: snapshot.treeRoot, attestedRoot: snapshot.attestedRoot, takenAt: snapshot.takenAt, blockNumber: snapshot.blockNumber, signed: snapshotNo === null ? null : signed },
    identity,
    attestations,
  };
}

/** Inclusion of one leaf, exactly what QiaoPort.verifyRegistryLeaf checks besides the root's age. */
export function verifyRegistryProof(treeRoot: Hex, leaf: RegistryLeaf, proof: readonly Hex[]): boolean {
  try {
    return StandardMerkleTree.verify(treeRoot, [...REGISTRY_LEAF_ENCODING], leafTuple(leaf), [...proof]);
  } catch {
    // The library throws on malformed input: for a verifier that is simply "does not verify".
    return false;
  }
}

export type ProofCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a whole proof bundle offline: the attested root, each leaf's inclusion and
 * that the leaves are about the DID and hang together (issuer, schema, public data).
 * It does not judge statuses: that is the relying party's rule.
 */
export function checkRegistryProof(p: RegistryProof): ProofCheck {
  const root = p.snapshot.treeRoot;
  if (attestedRegistryRoot(root, p.snapshot.takenAt) !== p.snapshot.attestedRoot.toLowerCase()) return fail('snapshot.attestedRoot is not keccak256(abi.encode(treeRoot, takenAt))');
  if (hashDid(p.did) !== p.didHash.toLowerCase()) return fail('didHash is not keccak256(did)');
  const id = p.identity.leaf;
  if (id.kind !== LEAF_KIND.identity || id.key !== p.didHash) return fail('identity leaf is not the DID\'s identity leaf');
  if (!verifyRegistryProof(root, id, p.identity.proof)) return fail('identity leaf is not in the snapshot');
  for (const [i, x] of p.attestations.entries()) {
    const at = `attestations[${i}]`;
    if (x.leaf.kind !== LEAF_KIND.attestation || x.leaf.key !== x.uid || x.leaf.a !== p.didHash || x.leaf.b !== x.schemaId) return fail(`${at}: leaf is not this DID's attestation ${x.uid}`);
    if (x.leaf.data !== attestationData(x.issuerDidHash, x.publicData)) return fail(`${at}: data is not keccak256(abi.encode(issuerDidHash, publicData))`);
    if (!verifyRegistryProof(root, x.leaf, x.proof)) return fail(`${at}: leaf is not in the snapshot`);
    if (x.accreditation) {
      const acc = x.accreditation.leaf;
      if (acc.kind !== LEAF_KIND.accreditation || acc.a !== x.issuerDidHash || acc.b !== x.schemaId || acc.key !== accreditationKey(x.issuerDidHash, x.schemaId)) {
        return fail(`${at}.accreditation: leaf is not the issuer's accreditation for the schema`);
      }
      if (!verifyRegistryProof(root, acc, x.accreditation.proof)) return fail(`${at}.accreditation: leaf is not in the snapshot`);
    }
  }
  return { ok: true };
}

function fail(reason: string): ProofCheck {
  return { ok: false, reason };
}

/**
 * The distinct addresses that signed the proof's snapshot (EIP-712, root type 2);
 * whoever relies on it compares them with the attestor set it trusts. Signatures
 * that do not recover are skipped.
 */
export function snapshotSigners(p: RegistryProof): string[] {
  const s = p.snapshot.signed;
  if (!s || !s.domain || p.snapshot.snapshotNo === null) return [];
  const out = new Set<string>();
  for (const sig of s.signatures) {
    try {
      out.add(recoverAttestor(s.domain, { rootType: ROOT_TYPE.registrySnapshot, setId: s.setId, batchNo: p.snapshot.snapshotNo, root: p.snapshot.attestedRoot }, sig));
    } catch {
      // A malformed signature counts for nobody.
    }
  }
  return [...out];
}

// ------------------------------------------------------------------ JSON form

const HOW_TO_VERIFY =
  'Each leaf is a StandardMerkleTree leaf (@openzeppelin/merkle-tree) with encoding leafEncoding and value ' +
  '[kind, key, a, b, status, validUntil, data]: StandardMerkleTree.verify(snapshot.treeRoot, leafEncoding, value, proof). ' +
  'Attestors sign snapshot.attestedRoot = keccak256(abi.encode(bytes32 treeRoot, uint64 takenAt)) as root type 2 with batchNo = snapshotNo. ' +
  'On a member chain: QiaoPort.verifyRegistryLeaf(leaf, proof) / checkRegistryLeaf(leaf, proof) against the latest accepted snapshot. ' +
  'snapshot.signed carries the attestors\' signatures and EIP-712 domain when the hub has them: compare the signers with the attestor set you trust. ' +
  'Offline: qiao registry verify <file> [--attestors a,b,c --threshold k].';

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x followed by 64 hex digits');
const hexBytes = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'must be 0x-prefixed hex');
const dec = z.string().regex(/^[0-9]{1,20}$/, 'must be a decimal string');

const LEAF_JSON = z.object({
  kind: z.number().int(),
  key: hex32,
  a: hex32,
  b: hex32,
  status: z.number().int(),
  validUntil: dec,
  data: hex32,
});
const ITEM_JSON = z.object({ leaf: LEAF_JSON, proof: z.array(hex32) });
const PROOF_JSON = z.object({
  format: z.literal(REGISTRY_PROOF_FORMAT),
  did: z.string(),
  didHash: hex32,
  snapshot: z.object({
    snapshotNo: dec.nullable(),
    treeRoot: hex32,
    attestedRoot: hex32,
    takenAt: dec,
    blockNumber: dec,
    signed: z
      .object({
        rootType: z.literal(2),
        setId: dec,
        signatures: z.array(hexBytes),
        domain: z.object({ chainId: dec, verifyingContract: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte address') }).nullable(),
      })
      .nullable()
      .default(null),
  }),
  identity: ITEM_JSON,
  attestations: z.array(ITEM_JSON.extend({ uid: hex32, schemaId: hex32, issuerDidHash: hex32, publicData: hexBytes, accreditation: ITEM_JSON.nullable() })),
});

export type RegistryProofJson = z.input<typeof PROOF_JSON> & { leafEncoding: string[]; howToVerify: string };

function leafJson(l: RegistryLeaf) {
  return { kind: l.kind, kindName: kindName(l.kind), key: l.key, a: l.a, b: l.b, status: l.status, statusName: statusName(l.kind, l.status) ?? null, validUntil: l.validUntil.toString(), data: l.data };
}

function itemJson(x: LeafProof) {
  return { leaf: leafJson(x.leaf), proof: [...x.proof] };
}

/** The wire form the API and the CLI return: hex strings, decimal strings for uint64. */
export function registryProofToJson(p: RegistryProof): RegistryProofJson {
  return {
    format: REGISTRY_PROOF_FORMAT,
    did: p.did,
    didHash: p.didHash,
    snapshot: {
      snapshotNo: p.snapshot.snapshotNo === null ? null : p.snapshot.snapshotNo.toString(),
      treeRoot: p.snapshot.treeRoot,
      attestedRoot: p.snapshot.attestedRoot,
      takenAt: p.snapshot.takenAt.toString(),
      blockNumber: p.snapshot.blockNumber.toString(),
      signed: p.snapshot.signed && {
        rootType: 2 as const,
        setId: p.snapshot.signed.setId.toString(),
        signatures: [...p.snapshot.signed.signatures],
        domain: p.snapshot.signed.domain && { chainId: p.snapshot.signed.domain.chainId.toString(), verifyingContract: p.snapshot.signed.domain.verifyingContract },
      },
    },
    leafEncoding: [...REGISTRY_LEAF_ENCODING],
    identity: itemJson(p.identity),
    attestations: p.attestations.map((x) => ({
      uid: x.uid,
      schemaId: x.schemaId,
      issuerDidHash: x.issuerDidHash,
      publicData: x.publicData,
      ...itemJson(x),
      accreditation: x.accreditation && itemJson(x.accreditation),
    })),
    howToVerify: HOW_TO_VERIFY,
  };
}

/** Parses an untrusted proof document; errors name the offending field. */
export function registryProofFromJson(v: unknown): RegistryProof {
  const r = PROOF_JSON.safeParse(v);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ValidationError(issue.path.join('.') || 'proof', issue.message);
  }
  const j = r.data;
  const item = (x: z.infer<typeof ITEM_JSON>, field: string): LeafProof => ({ leaf: validLeaf(x.leaf, `${field}.leaf`), proof: x.proof.map((h) => h.toLowerCase() as Hex) });
  return {
    did: parseDid(j.did),
    didHash: j.didHash.toLowerCase() as Hex,
    snapshot: {
      snapshotNo: j.snapshot.snapshotNo === null ? null : BigInt(j.snapshot.snapshotNo),
      treeRoot: j.snapshot.treeRoot.toLowerCase() as Hex,
      attestedRoot: j.snapshot.attestedRoot.toLowerCase() as Hex,
      takenAt: BigInt(j.snapshot.takenAt),
      blockNumber: BigInt(j.snapshot.blockNumber),
      signed: j.snapshot.signed && {
        setId: BigInt(j.snapshot.signed.setId),
        signatures: j.snapshot.signed.signatures.map((x) => x.toLowerCase() as Hex),
        domain: j.snapshot.signed.domain && { chainId: BigInt(j.snapshot.signed.domain.chainId), verifyingContract: j.snapshot.signed.domain.verifyingContract },
      },
    },
    identity: item(j.identity, 'identity'),
    attestations: j.attestations.map((x, i) => ({
      ...item(x, `attestations.${i}`),
      uid: x.uid.toLowerCase() as Hex,
      schemaId: x.schemaId.toLowerCase() as Hex,
      issuerDidHash: x.issuerDidHash.toLowerCase() as Hex,
      publicData: x.publicData.toLowerCase() as Hex,
      accreditation: x.accreditation && item(x.accreditation, `attestations.${i}.accreditation`),
    })),
  };
}
