import { AbiCoder, Interface } from 'ethers';
import { ValidationError } from '../../errors.ts';
import { asHex, type Hex } from '../../domain/hex.ts';
import type { LeafProof } from './builder.ts';
import { LEAF_KIND, leafTuple, type RegistryLeaf } from './leaves.ts';
import type { AttestationProof, RegistryProof } from './proofs.ts';

const LEAF_TUPLE = 'tuple(uint8 kind, bytes32 key, bytes32 a, bytes32 b, uint8 status, uint64 validUntil, bytes32 data)';

/** The payload CreditGatedReceiver decodes (see the comment at the top of CreditGatedReceiver.sol). */
export const CREDIT_GATED_PAYLOAD_TYPES = [LEAF_TUPLE, 'bytes32[]', LEAF_TUPLE, 'bytes32[]', LEAF_TUPLE, 'bytes32[]', 'bytes', 'bytes'] as const;

export interface CreditGatedPayload {
  identity: LeafProof;
  attestation: LeafProof;
  accreditation: LeafProof;
  publicData: Hex;
  body: Hex;
}

export function encodeCreditGatedPayload(p: CreditGatedPayload): Hex {
  const leaf = (l: RegistryLeaf) => leafTuple(l);
  return AbiCoder.defaultAbiCoder().encode(
    [...CREDIT_GATED_PAYLOAD_TYPES],
    [
      leaf(p.identity.leaf),
      p.identity.proof,
      leaf(p.attestation.leaf),
      p.attestation.proof,
      leaf(p.accreditation.leaf),
      p.accreditation.proof,
      asHex(p.publicData, 'publicData'),
      asHex(p.body, 'body'),
    ],
  ) as Hex;
}

/**
 * Picks the DID's attestation of `schemaId` from a registry proof (a valid one when
 * there is one, else the first, so the receiver's refusal shows why) and builds the
 * payload around `body`.
 */
export function creditGatedPayloadFrom(proof: RegistryProof, schemaId: Hex, body: Hex, { uid }: { uid?: Hex } = {}): Hex {
  const schema = asHex(schemaId, 'schemaId', 32);
  const candidates = proof.attestations.filter((a) => a.schemaId === schema && (uid === undefined || a.uid === uid.toLowerCase()));
  const chosen: AttestationProof | undefined = candidates.find((a) => a.accreditation !== null && a.leaf.status === 1) ?? candidates.find((a) => a.accreditation !== null);
  if (!chosen || !chosen.accreditation) throw new ValidationError(uid ? 'uid' : 'schemaId', `${proof.did} has no attestation ${uid ?? `of schema ${schema}`} with an issuer accreditation in this snapshot`);
  if (proof.identity.leaf.kind !== LEAF_KIND.identity) throw new ValidationError('identity', 'is not an identity leaf');
  return encodeCreditGatedPayload({ identity: proof.identity, attestation: chosen, accreditation: chosen.accreditation, publicData: chosen.publicData, body });
}

const STATUS_WORDS: Record<number, string> = { 2: 'revoked', 3: 'expired', 4: 'disputed', 5: 'flagged for review' };
const PORT_CODES: Record<number, string> = { 1: 'the port holds no registry snapshot yet', 2: 'the port\'s registry snapshot is older than its maximum age', 3: 'the leaf is not in the port\'s latest registry snapshot (a stale or forged proof)' };
const KIND_WORDS: Record<number, string> = { 1: 'identity', 2: 'accreditation', 3: 'attestation' };

/** CreditGatedReceiver's errors (a unit test keeps this list equal to the contract's ABI). */
export const CREDIT_GATE_ERRORS = new Interface([
  'error OnlyPort()',
  'error BadConfig()',
  'error SenderNotAnAddress(bytes sender)',
  'error RegistryProofRefused(uint8 kind, uint8 code)',
  'error WrongLeafKind(uint8 expected, uint8 got)',
  'error IdentityNotActive(bytes32 didHash, uint8 status)',
  'error NotController(address controller, address sender)',
  'error WrongSubject(bytes32 identityDid, bytes32 attestationSubject)',
  'error WrongSchema(bytes32 expected, bytes32 got)',
  'error AttestationNotValid(bytes32 uid, uint8 status)',
  'error AttestationExpired(bytes32 uid, uint64 validUntil)',
  'error AccreditationMismatch(bytes32 issuerDidHash, bytes32 schemaId)',
  'error IssuerNotAccredited(bytes32 issuerDidHash, uint8 status)',
  'error AccreditationExpired(bytes32 issuerDidHash, uint64 validUntil)',
  'error PublicDataMismatch(bytes32 uid)',
  'error UnknownGrade(string grade)',
  'error GradeTooLow(string grade, string minimum)',
]);

/**
 * A CreditGatedReceiver refusal (the revert data the index keeps as a failed
 * message's reason) in words, or null when the data is not one of its errors.
 */
export function explainCreditGateRefusal(data: string): { error: string; text: string } | null {
  let e;
  try {
    e = CREDIT_GATE_ERRORS.parseError(data);
  } catch {
    return null;
  }
  if (!e) return null;
  const n = (i: number) => Number(e.args[i]);
  const text: Record<string, () => string> = {
    OnlyPort: () => 'called by something other than the port',
    BadConfig: () => 'the receiver\'s grade scale or minimum is wrong',
    SenderNotAnAddress: () => 'the message sender is not a 20-byte account',
    RegistryProofRefused: () => `${KIND_WORDS[n(0)] ?? `kind ${n(0)}`} proof refused: ${PORT_CODES[n(1)] ?? `code ${n(1)}`}`,
    WrongLeafKind: () => `expected a ${KIND_WORDS[n(0)]} leaf, got kind ${n(1)}`,
    IdentityNotActive: () => 'the sender\'s DID is deactivated',
    NotController: () => `the sender ${String(e.args[1])} does not control the DID (controller ${String(e.args[0])})`,
    WrongSubject: () => 'the attestation is about another DID',
    WrongSchema: () => `the attestation is of schema ${String(e.args[1])}, not ${String(e.args[0])}`,
    AttestationNotValid: () => `the attestation is ${STATUS_WORDS[n(1)] ?? `in status ${n(1)}`}`,
    AttestationExpired: () => `the attestation expired at ${n(1)}`,
    AccreditationMismatch: () => 'the accreditation leaf is not the issuer\'s for this schema',
    IssuerNotAccredited: () => `the issuer's accreditation is ${STATUS_WORDS[n(1)] ?? `in status ${n(1)}`}`,
    AccreditationExpired: () => `the issuer's accreditation expired at ${n(1)}`,
    PublicDataMismatch: () => 'the public data does not match the attestation',
    UnknownGrade: () => `grade ${String(e.args[0])} is not on the receiver's scale`,
    GradeTooLow: () => `grade ${String(e.args[0])} is below the minimum ${String(e.args[1])}`,
  };
  return { error: e.name, text: text[e.name]?.() ?? e.name };
}
