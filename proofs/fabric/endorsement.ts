/**
 * Endorsements: each endorser signed `proposal_response_payload || endorser`
 * with a certificate of its MSP; the policy is then evaluated over the
 * identities whose signatures verified.
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { fail, ok, type Failure, type VerifyResult } from '../result.ts';
import { validateIdentity, type MspSet } from './msp.ts';
import { evaluatePolicy, type Policy, type SignedIdentity } from './policy.ts';
import { verifyEcdsa } from './sig.ts';
import type { EndorsedAction, SerializedIdentity } from './tx.ts';

export interface IdentityOptions {
  /** When set, every certificate of a chain must be valid at this time. */
  at?: Date;
}

function concat(a: Uint8Array, b: Uint8Array, c?: Uint8Array): Uint8Array {
  return c ? concatBytes(a, b, c) : concatBytes(a, b);
}

export { concat };

/** Checks one signature by one serialized identity; the identity must be valid under `msps`. */
export function checkSigned(msps: MspSet, identity: SerializedIdentity, message: Uint8Array, signature: Uint8Array, what: string, opts: IdentityOptions = {}): SignedIdentity | Failure {
  const v = validateIdentity(msps, identity, opts.at);
  if (typeof v === 'string') return fail('fabric_identity_invalid', `${what}: ${v}`);
  const r = verifyEcdsa(v.publicKey, message, signature);
  if (r === 'high_s') return fail('signature_invalid', `${what}: signature S is not in the lower half of the order (Fabric requires low-S)`);
  if (r === 'bad') return fail('signature_invalid', `${what}: signature does not verify (${identity.mspId})`);
  return { identity, validated: v };
}

/** Every endorsement signature of an action, checked; the signed identities in order. */
export function checkEndorsementSignatures(action: EndorsedAction, msps: MspSet, opts: IdentityOptions = {}): SignedIdentity[] | Failure {
  const out: SignedIdentity[] = [];
  for (const [i, e] of action.endorsements.entries()) {
    const r = checkSigned(msps, e.endorser, concat(action.proposalResponsePayload, e.endorser.raw), e.signature, `endorsement ${i}`, opts);
    if ('ok' in r) return r;
    out.push(r);
  }
  return out;
}

/**
 * Verifies the endorsements of one endorsed action against one policy: every
 * signature must verify under a valid identity of `msps`, and the policy must
 * be satisfied by them.
 */
export function verifyEndorsements(action: EndorsedAction, policy: Policy, msps: MspSet, opts: IdentityOptions = {}): VerifyResult<{ endorsers: string[] }> {
  const signed = checkEndorsementSignatures(action, msps, opts);
  if ('ok' in signed) return signed;
  if (!evaluatePolicy(msps, policy, signed)) {
    return fail('fabric_endorsement_policy_unsatisfied', `endorsements by ${signed.map((s) => s.identity.mspId).join(', ') || 'nobody'} do not satisfy the policy`);
  }
  return ok({ endorsers: signed.map((s) => s.identity.mspId) });
}
