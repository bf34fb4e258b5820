/**
 * Validation flags (TRANSACTIONS_FILTER) sit outside the block hash, so a
 * block alone cannot prove a transaction valid. A transaction is accepted as
 * valid only with answers from peers of at least k distinct organisations:
 * each answer is the signed ProposalResponse of `qscc GetTransactionByID`,
 * whose signed payload carries the ProcessedTransaction (envelope + code).
 */
import { fail, ok, type VerifyResult } from '../result.ts';
import { checkSigned, concat, type IdentityOptions } from './endorsement.ts';
import { hasRole, ROLE_PEER, type MspSet } from './msp.ts';
import { bytesField, decode, numField } from './pb.ts';
import { decodeEnvelope, decodeIdentity, decodeProposalResponsePayload } from './tx.ts';

export interface ValidationAnswer {
  /** A serialized `peer.ProposalResponse` returned by a peer for `qscc GetTransactionByID(channel, txId)`. */
  proposalResponse: Uint8Array;
}

export interface AcceptOptions extends IdentityOptions {
  /** The transaction's envelope as committed in a verified block: answers must be about exactly it. */
  envelope?: Uint8Array;
}

const VALID = 0;

/**
 * Accepts `txId` as valid when peers of at least `k` distinct MSPs of `msps`
 * signed answers saying VALID. One signed answer saying anything else fails
 * the whole check (`fabric_tx_invalid`): honest peers validate deterministically.
 */
export function acceptValidation(txId: string, answers: ValidationAnswer[], k: number, msps: MspSet, opts: AcceptOptions = {}): VerifyResult<{ organisations: string[] }> {
  if (!Number.isInteger(k) || k < 1) return fail('expectation_invalid', `k must be a positive integer, got ${k}`);
  let expected: { payload: Uint8Array; signature: Uint8Array } | null = null;
  if (opts.envelope) {
    try {
      const e = decode(opts.envelope);
      expected = { payload: bytesField(e, 1), signature: bytesField(e, 2) };
    } catch (e) {
      return fail('expectation_invalid', `envelope does not decode: ${(e as Error).message}`);
    }
  }
  const orgs = new Set<string>();
  for (const [i, a] of answers.entries()) {
    const what = `answer ${i}`;
    let payload: Uint8Array;
    let endorser;
    let signature: Uint8Array;
    let action;
    let processed;
    let env;
    try {
      const pr = decode(a.proposalResponse);
      payload = bytesField(pr, 5);
      const en = decode(bytesField(pr, 6));
      endorser = decodeIdentity(bytesField(en, 1));
      signature = bytesField(en, 2);
      action = decodeProposalResponsePayload(payload);
      processed = decode(action.response.payload);
      env = decodeEnvelope(bytesField(processed, 1));
    } catch (e) {
      return fail('proof_malformed', `${what}: does not decode: ${(e as Error).message}`);
    }
    const signed = checkSigned(msps, endorser, concat(payload, endorser.raw), signature, what, opts);
    if ('ok' in signed) return signed;
    const msp = msps.get(endorser.mspId)!;
    if (msp.nodeOUs?.enable && !hasRole(msp, signed.validated, ROLE_PEER)) return fail('fabric_identity_invalid', `${what}: signer of ${endorser.mspId} is not a peer`);
    if (action.chaincode.name !== 'qscc') return fail('fabric_answer_mismatch', `${what}: answer from chaincode ${action.chaincode.name}, not qscc`);
    if (action.response.status !== 200) return fail('fabric_answer_mismatch', `${what}: qscc status ${action.response.status} ${action.response.message}`);
    if (env.txId !== txId) return fail('fabric_answer_mismatch', `${what}: about tx ${env.txId}, not ${txId}`);
    if (expected) {
      const got = decode(bytesField(processed, 1));
      if (!Buffer.from(bytesField(got, 1)).equals(Buffer.from(expected.payload)) || !Buffer.from(bytesField(got, 2)).equals(Buffer.from(expected.signature))) {
        return fail('fabric_answer_mismatch', `${what}: the envelope is not the committed one`);
      }
    }
    const code = numField(processed, 2);
    if (code !== VALID) return fail('fabric_tx_invalid', `${what}: ${endorser.mspId} says validation code ${code}`);
    orgs.add(endorser.mspId);
  }
  if (orgs.size < k) return fail('insufficient_signatures', `valid answers from ${orgs.size} organisation(s) (${[...orgs].join(', ')}), ${k} required`);
  return ok({ organisations: [...orgs] });
}
