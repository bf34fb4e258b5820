import type { AuditEntry } from '../../index/audit/store.ts';
import { decodePublicData } from '../../registries/public-data.ts';
import type { Accreditation, CreditAttestation, Schema } from '../../registries/types.ts';

/*
 * Wire views of registry records, picking fields by name. Numbers stay
 * bigint here; the API's serializer writes them as decimal strings.
 * Times are unix seconds, as on chain.
 */

export function schemaView(s: Schema) {
  return {
    schemaId: s.schemaId,
    name: s.name,
    publicFields: [...s.publicFields],
    revocable: s.revocable,
    negative: s.negative,
    retentionSeconds: s.retentionSeconds,
    disputeWindowSeconds: s.disputeWindowSeconds,
    registeredAt: s.registeredAt,
  };
}

export function accreditationView(a: Accreditation, schemaName: string | null) {
  return {
    issuerDid: a.issuerDid,
    issuerDidHash: a.issuerDidHash,
    schemaId: a.schemaId,
    schema: schemaName,
    status: a.status,
    since: a.since,
    expiresAt: a.expiresAt,
    revokedAt: a.revokedAt,
  };
}

/** One credit record with its state; `public` holds the schema's public fields by name. */
export function attestationView(a: CreditAttestation, schema: Schema | null) {
  return {
    uid: a.uid,
    schemaId: a.schemaId,
    schema: schema?.name ?? null,
    subjectDid: a.subjectDid,
    issuerDid: a.issuerDid,
    status: a.status,
    issuedAt: a.issuedAt,
    expiresAt: a.expiresAt,
    validUntil: a.validUntil,
    revocable: a.revocable,
    revokedAt: a.revokedAt,
    dataCommitment: a.dataCommitment,
    publicData: a.publicData,
    public: schema ? decodePublicData(schema, a.publicData) : null,
    dispute: a.dispute && {
      statementHash: a.dispute.statementHash,
      openedAt: a.dispute.openedAt,
      deadline: a.dispute.deadline,
      outcome: a.dispute.outcome,
      responseHash: a.dispute.responseHash,
    },
  };
}

export function auditEntryView(e: AuditEntry) {
  return {
    id: e.id,
    at: e.at,
    caller: e.caller,
    recordKind: e.recordKind,
    record: e.record,
    disclosed: [...e.disclosed],
    purpose: e.purpose,
  };
}
