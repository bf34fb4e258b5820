import type { ApiDocs, Described } from '../openapi.ts';

/*
 * OpenAPI entries of the registry routes (paths and parameters come from the
 * registered routes; this adds summaries, headers and response shapes).
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });
const str = { type: 'string' } as const;
const strOrNull = { type: ['string', 'null'] } as const;
const seconds = { type: 'string', description: 'Unix seconds (decimal string); 0 = none.' } as const;
const err = (description: string) => ({ description, content: json(ref('Error')) });
const BAD = err('Bad input: the error names the parameter in `field`.');
const UNAUTHORIZED = err('No or bad caller credentials (`field` names the header).');
const asOf = { type: 'object', properties: { blockNumber: str, timestamp: seconds }, description: 'The governance-chain block the answer was read at.' };

const CALLER =
  'Credit data is read by an identified caller, written to the audit log with the stated purpose: send `X-Qiao-Api-Key: <id>:<secret>`, or `X-Qiao-Timestamp` (unix seconds) and `X-Qiao-Signature` (EIP-191 personal_sign over `qiao-read:<path and query as sent>:<timestamp>`, at most 300 s old). The purpose is `?purpose=` or `X-Qiao-Purpose`, 3-200 characters.';

const PATHS: Record<string, Described> = {
  '/identities/{did}': {
    summary: 'Resolves a DID: a W3C DID Core document with DID Resolution metadata.',
    description:
      'Returns `{didDocument, didResolutionMetadata, didDocumentMetadata}`; with `Accept: application/did+ld+json` only the document. A deactivated DID answers 410 with `didDocumentMetadata.deactivated: true` and a document without keys. Reads are audited (caller credentials optional here, as for credit reads).',
    responses: {
      '200': { description: 'The resolution result.', content: { ...json(ref('DidResolutionResult')), 'application/did+ld+json': { schema: ref('DidDocument') } } },
      '400': { description: 'Not a did:qiao DID (`didResolutionMetadata.error: invalidDid`, and `error.field: did`).', content: json(ref('DidResolutionResult')) },
      '401': UNAUTHORIZED,
      '404': { description: 'No such DID (`didResolutionMetadata.error: notFound`).', content: json(ref('DidResolutionResult')) },
      '410': { description: 'Deactivated.', content: json(ref('DidResolutionResult')) },
    },
  },
  '/identities/{did}/attestations': {
    summary: "A subject's credit attestations with their status now (audited; purpose required).",
    description: CALLER,
    responses: {
      '200': { description: 'The records.', content: json({ type: 'object', properties: { did: str, asOf, items: { type: 'array', items: ref('CreditAttestation') } } }) },
      '400': BAD,
      '401': UNAUTHORIZED,
      '404': err('No such DID.'),
    },
  },
  '/attestations/{uid}': {
    summary: 'One credit attestation with its status and dispute (audited; purpose required).',
    description: CALLER,
    responses: {
      '200': { description: 'The record.', content: json({ allOf: [ref('CreditAttestation'), { type: 'object', properties: { asOf } }] }) },
      '400': BAD,
      '401': UNAUTHORIZED,
      '404': err('No such attestation.'),
    },
  },
  '/issuers': {
    summary: 'Issuer accreditations per schema, with their status now.',
    responses: { '200': { description: 'Accreditations.', content: json({ type: 'object', properties: { asOf, items: { type: 'array', items: ref('Accreditation') } } }) }, '400': BAD },
  },
  '/schemas': {
    summary: 'Credit schemas: public fields, revocability, negative-record retention, dispute window.',
    responses: { '200': { description: 'Schemas.', content: json({ type: 'object', properties: { asOf, items: { type: 'array', items: ref('CreditSchema') } } }) }, '400': BAD },
  },
  '/audit': {
    summary: 'Who read your registry records, when, and why: for the DID’s controller only.',
    description:
      'Sign `qiao-audit:<did>:<unix seconds>` (EIP-191 personal_sign) with the key of the DID’s controller and send it as `X-Qiao-Signature` with the seconds as `X-Qiao-Timestamp` (at most 300 s old). Newest first; pass `nextCursor` as `before` for older entries.',
    responses: {
      '200': { description: 'A page of entries.', content: json({ type: 'object', properties: { did: str, items: { type: 'array', items: ref('AuditEntry') }, nextCursor: strOrNull } }) },
      '400': BAD,
      '401': UNAUTHORIZED,
      '403': err('Signed by a key that is not the controller of the DID.'),
      '404': err('No such DID.'),
    },
  },
};

const SCHEMAS: Record<string, unknown> = {
  DidDocument: {
    type: 'object',
    description: 'W3C DID Core document.',
    properties: {
      '@context': { type: 'array', items: str },
      id: str,
      controller: { type: 'string', description: 'did:pkh:eip155:<governance chain id>:<controller address>' },
      verificationMethod: { type: 'array', items: { type: 'object' } },
      authentication: { type: 'array', items: str },
      assertionMethod: { type: 'array', items: str },
      capabilityInvocation: { type: 'array', items: str },
      service: { type: 'array', items: { type: 'object', properties: { id: str, type: str, serviceEndpoint: str } } },
    },
  },
  DidResolutionResult: {
    type: 'object',
    properties: {
      didDocument: { oneOf: [{ type: 'null' }, ref('DidDocument')] },
      didResolutionMetadata: { type: 'object', properties: { contentType: str, error: { type: 'string', enum: ['notFound', 'invalidDid'] } } },
      didDocumentMetadata: {
        type: 'object',
        properties: { created: { type: 'string', format: 'date-time' }, updated: { type: 'string', format: 'date-time' }, deactivated: { type: 'boolean' }, versionId: str, documentHash: str },
      },
      error: { type: 'object', description: 'On 400/404: the API error naming the field.' },
    },
  },
  CreditAttestation: {
    type: 'object',
    properties: {
      uid: str,
      schemaId: str,
      schema: strOrNull,
      subjectDid: str,
      issuerDid: str,
      status: { type: 'string', enum: ['valid', 'revoked', 'expired', 'disputed', 'flagged'] },
      issuedAt: seconds,
      expiresAt: seconds,
      validUntil: seconds,
      revocable: { type: 'boolean' },
      revokedAt: seconds,
      dataCommitment: { type: 'string', description: 'keccak256(salt || private data); the data stays with the issuer.' },
      publicData: str,
      public: { type: ['object', 'null'], description: "The schema's public fields by name." },
      dispute: {
        oneOf: [
          { type: 'null' },
          { type: 'object', properties: { statementHash: str, openedAt: seconds, deadline: seconds, outcome: { type: 'string', enum: ['open', 'upheld', 'withdrawn', 'lapsed'] }, responseHash: strOrNull } },
        ],
      },
    },
  },
  Accreditation: {
    type: 'object',
    properties: { issuerDid: str, issuerDidHash: str, schemaId: str, schema: strOrNull, status: { type: 'string', enum: ['active', 'revoked', 'expired'] }, since: seconds, expiresAt: seconds, revokedAt: seconds },
  },
  CreditSchema: {
    type: 'object',
    properties: {
      schemaId: str,
      name: str,
      publicFields: { type: 'array', items: str },
      revocable: { type: 'boolean' },
      negative: { type: 'boolean' },
      retentionSeconds: str,
      disputeWindowSeconds: str,
      registeredAt: seconds,
    },
  },
  AuditEntry: {
    type: 'object',
    properties: {
      id: str,
      at: { type: 'string', format: 'date-time' },
      caller: { type: 'object', description: '{kind: api_key, id} | {kind: address, address} | {kind: anonymous}' },
      recordKind: { type: 'string', enum: ['identity', 'attestation', 'attestations'] },
      record: str,
      disclosed: { type: 'array', items: str },
      purpose: strOrNull,
    },
  },
};

/** The registry routes' entries for /docs. */
export function registryOpenApiPaths(): ApiDocs {
  return { paths: Object.fromEntries(Object.entries(PATHS).map(([p, d]) => [p, { GET: d }])), schemas: SCHEMAS };
}
