import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Hex } from '../../domain/hex.ts';
import { ValidationError } from '../../errors.ts';
import { parsePurpose, type AuditCaller, type AuditLog } from '../../index/audit/store.ts';
import { schemaIdOf } from '../../registries/credit.ts';
import { DID_LD_JSON, resolutionResult } from '../../registries/did-document.ts';
import { DID_PATTERN } from '../../registries/did.ts';
import type { Registries } from '../../registries/index.ts';
import type { AccreditationStatus, Schema } from '../../registries/types.ts';
import { HEADER_PURPOSE, auditMessage, identifyCaller, recoverSigner, type ApiKeyHashes } from './auth.ts';
import { attestationUidsOf } from './subject.ts';
import { accreditationView, attestationView, auditEntryView, schemaView } from './views.ts';

export interface RegistryRouteDeps {
  registries: Registries;
  audit: AuditLog;
  /** The governance chain's id: controllers are CAIP-10 accounts on it. */
  govChainId: bigint;
  /** API key id → sha256 hex of its secret; none configured = signed requests only. */
  apiKeys?: ApiKeyHashes;
  now?: () => Date;
  logger?: Logger;
}

const DID_MESSAGE = 'must be did:qiao:<id> with id of 1-64 characters from [a-zA-Z0-9._-]';
const UID = /^0x[0-9a-fA-F]{64}$/;
const ACCREDITATION_STATUSES: readonly AccreditationStatus[] = ['active', 'revoked', 'expired'];
const MAX_AUDIT_PAGE = 500;

// Loose bounds only: each handler checks the value and names the field in its own words.
const DID_PARAMS = { type: 'object', required: ['did'], properties: { did: { type: 'string', maxLength: 256, description: 'A DID: did:qiao:<id>.' } } } as const;
const UID_PARAMS = { type: 'object', required: ['uid'], properties: { uid: { type: 'string', maxLength: 256, description: 'Attestation uid: 0x and 64 hex digits.' } } } as const;
const PURPOSE = { type: 'string', maxLength: 1000, description: 'Why you read this (3-200 characters; or header X-Qiao-Purpose). Written to the audit log the subject can read.' } as const;
const PURPOSE_QUERY = { type: 'object', additionalProperties: false, properties: { purpose: PURPOSE } } as const;
const ISSUERS_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    schema: { type: 'string', maxLength: 128, description: 'A schema id (0x + 64 hex) or schema name.' },
    issuer: { type: 'string', maxLength: 256, description: 'An issuer DID.' },
    status: { type: 'string', enum: [...ACCREDITATION_STATUSES], description: 'Accreditation status now.' },
  },
} as const;
const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;
const AUDIT_QUERY = {
  type: 'object',
  additionalProperties: false,
  required: ['did'],
  properties: {
    did: { type: 'string', maxLength: 256, description: 'Your DID; the request is signed by its controller.' },
    limit: { type: 'string', maxLength: 9, description: `Page size, 1..${MAX_AUDIT_PAGE} (default 100).` },
    before: { type: 'string', maxLength: 20, description: 'The `nextCursor` of the previous page.' },
  },
} as const;

function errorBody(code: string, message: string, field?: string) {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

function fail(reply: FastifyReply, status: number, code: string, message: string, field?: string): FastifyReply {
  return reply.code(status).send(errorBody(code, message, field));
}

function parseDidParam(v: string, field: string): string {
  if (!DID_PATTERN.test(v)) throw new ValidationError(field, DID_MESSAGE);
  return v;
}

/** The stated purpose from `?purpose=` or X-Qiao-Purpose (not both, unless equal). */
function purposeOf(req: FastifyRequest<{ Querystring: { purpose?: string } }>, required: boolean): string | null {
  const q = req.query.purpose;
  const h = req.headers[HEADER_PURPOSE];
  if (Array.isArray(h)) throw new ValidationError('X-Qiao-Purpose', 'send the header once');
  const fromQuery = q === undefined ? undefined : parsePurpose(q, 'purpose');
  const fromHeader = h === undefined ? undefined : parsePurpose(h, 'X-Qiao-Purpose');
  if (fromQuery !== undefined && fromHeader !== undefined && fromQuery !== fromHeader) {
    throw new ValidationError('purpose', 'given as ?purpose= and X-Qiao-Purpose with different values');
  }
  const p = fromQuery ?? fromHeader ?? null;
  if (required && p === null) throw new ValidationError('purpose', 'is required to read credit data: pass ?purpose= or X-Qiao-Purpose (3-200 characters)');
  return p;
}

/**
 * The registry routes of the hub's API. Every read of a person's data is
 * written to the audit log before the answer leaves (a failed audit write
 * fails the read); credit reads need an identified caller and a purpose.
 */
export function registryRoutes(app: FastifyInstance, deps: RegistryRouteDeps): void {
  const { registries, audit, govChainId, apiKeys = {}, now = () => new Date() } = deps;

  /** The caller, or a reply already sent (bad credentials, or none where they are required). */
  const callerOf = (req: FastifyRequest, reply: FastifyReply, required: boolean): AuditCaller | null => {
    const c = identifyCaller(req, apiKeys, now());
    if (!c.ok) {
      void fail(reply, c.status, 'unauthorized', c.message, c.field);
      return null;
    }
    if (required && c.caller.kind === 'anonymous') {
      void fail(
        reply,
        401,
        'unauthorized',
        'X-Qiao-Signature: credit data is read by an identified caller: send X-Qiao-Api-Key, or X-Qiao-Signature and X-Qiao-Timestamp signing qiao-read:<path and query>:<unix seconds>',
        'X-Qiao-Signature',
      );
      return null;
    }
    return c.caller;
  };

  const schemaCache = (blockNumber: bigint) => {
    const cache = new Map<Hex, Promise<Schema | null>>();
    return (id: Hex) => {
      let s = cache.get(id);
      if (!s) cache.set(id, (s = registries.credit.schema(id, blockNumber)));
      return s;
    };
  };

  app.get<{ Params: { did: string }; Querystring: { purpose?: string } }>(
    '/identities/:did',
    { schema: { params: DID_PARAMS, querystring: PURPOSE_QUERY } },
    async (req, reply) => {
      const did = req.params.did;
      if (!DID_PATTERN.test(did)) {
        return reply.code(400).send({ ...resolutionResult(did, null, govChainId), ...errorBody('invalid_input', `did: ${DID_MESSAGE}`, 'did') });
      }
      const purpose = purposeOf(req, false);
      const caller = callerOf(req, reply, false);
      if (!caller) return reply;
      const block = await registries.block('latest');
      const identity = await registries.identity.resolve(did, block.number);
      if (!identity) return reply.code(404).send({ ...resolutionResult(did, null, govChainId), ...errorBody('not_found', `did: no identity ${did}`, 'did') });
      await audit.record({ caller, recordKind: 'identity', record: did, subjectDid: did, purpose });
      const result = resolutionResult(did, identity, govChainId);
      // DID Resolution over HTTP: a deactivated DID answers 410 Gone, with its metadata.
      const status = identity.active ? 200 : 410;
      if ((req.headers.accept ?? '').includes(DID_LD_JSON)) return reply.code(status).type(DID_LD_JSON).send(JSON.stringify(result.didDocument));
      return reply.code(status).send(result);
    },
  );

  app.get<{ Params: { did: string }; Querystring: { purpose?: string } }>(
    '/identities/:did/attestations',
    { schema: { params: DID_PARAMS, querystring: PURPOSE_QUERY } },
    async (req, reply) => {
      const did = parseDidParam(req.params.did, 'did');
      const purpose = purposeOf(req, true);
      const caller = callerOf(req, reply, true);
      if (!caller) return reply;
      const block = await registries.block('latest');
      const identity = await registries.identity.resolve(did, block.number);
      if (!identity) return fail(reply, 404, 'not_found', `did: no identity ${did}`, 'did');
      const uids = await attestationUidsOf(registries, identity.didHash, block.number);
      const records = (await Promise.all(uids.map((u) => registries.credit.get(u, block.number)))).filter((a) => a !== null);
      const schemaOf = schemaCache(block.number);
      const items = await Promise.all(records.map(async (a) => attestationView(a, await schemaOf(a.schemaId))));
      await audit.record({ caller, recordKind: 'attestations', record: did, subjectDid: did, disclosed: records.map((a) => a.uid), purpose });
      void reply.header('cache-control', 'no-store');
      return { did, asOf: { blockNumber: block.number, timestamp: block.timestamp }, items };
    },
  );

  app.get<{ Params: { uid: string }; Querystring: { purpose?: string } }>(
    '/attestations/:uid',
    { schema: { params: UID_PARAMS, querystring: PURPOSE_QUERY } },
    async (req, reply) => {
      if (!UID.test(req.params.uid)) throw new ValidationError('uid', 'must be 0x followed by 64 hex digits');
      const uid = req.params.uid.toLowerCase() as Hex;
      const purpose = purposeOf(req, true);
      const caller = callerOf(req, reply, true);
      if (!caller) return reply;
      const block = await registries.block('latest');
      const a = await registries.credit.get(uid, block.number);
      if (!a) return fail(reply, 404, 'not_found', `uid: no attestation ${uid}`, 'uid');
      const view = attestationView(a, await registries.credit.schema(a.schemaId, block.number));
      await audit.record({ caller, recordKind: 'attestation', record: uid, subjectDid: a.subjectDid, disclosed: [uid], purpose });
      void reply.header('cache-control', 'no-store');
      return { ...view, asOf: { blockNumber: block.number, timestamp: block.timestamp } };
    },
  );

  app.get<{ Querystring: { schema?: string; issuer?: string; status?: string } }>('/issuers', { schema: { querystring: ISSUERS_QUERY } }, async (req) => {
    const { schema, issuer, status } = req.query;
    let schemaId: Hex | undefined;
    if (schema !== undefined) {
      if (schema.length === 0) throw new ValidationError('schema', 'must be a schema id or name');
      schemaId = schema.startsWith('0x') ? (UID.test(schema) ? (schema.toLowerCase() as Hex) : undefined) : schemaIdOf(schema);
      if (schemaId === undefined) throw new ValidationError('schema', 'a schema id is 0x followed by 64 hex digits');
    }
    if (issuer !== undefined) parseDidParam(issuer, 'issuer');
    const block = await registries.block('latest');
    const [all, schemas] = await Promise.all([registries.listAccreditations(block.number), registries.credit.schemas(block.number)]);
    const names = new Map(schemas.map((s) => [s.schemaId, s.name]));
    const items = all
      .filter((a) => (schemaId === undefined || a.schemaId === schemaId) && (issuer === undefined || a.issuerDid === issuer) && (status === undefined || a.status === status))
      .map((a) => accreditationView(a, names.get(a.schemaId) ?? null));
    return { asOf: { blockNumber: block.number, timestamp: block.timestamp }, items };
  });

  app.get('/schemas', { schema: { querystring: NO_QUERY } }, async () => {
    const block = await registries.block('latest');
    const schemas = await registries.credit.schemas(block.number);
    return { asOf: { blockNumber: block.number, timestamp: block.timestamp }, items: schemas.map(schemaView) };
  });

  app.get<{ Querystring: { did: string; limit?: string; before?: string } }>('/audit', { schema: { querystring: AUDIT_QUERY } }, async (req, reply) => {
    const did = parseDidParam(req.query.did, 'did');
    const limit = req.query.limit === undefined ? 100 : /^[0-9]{1,9}$/.test(req.query.limit) ? Number(req.query.limit) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) throw new ValidationError('limit', `must be an integer in 1..${MAX_AUDIT_PAGE}`);
    if (req.query.before !== undefined && !/^[1-9][0-9]{0,18}$/.test(req.query.before)) throw new ValidationError('before', 'must be the nextCursor of a previous page');
    const signed = recoverSigner(req, (ts) => auditMessage(did, ts), now());
    if (!signed.ok) return fail(reply, signed.status, 'unauthorized', signed.message, signed.field);
    const controller = await registries.identity.controllerOf(did);
    if (!controller) return fail(reply, 404, 'not_found', `did: no identity ${did}`, 'did');
    // Only the subject's controller learns who looked at the subject.
    if (controller.toLowerCase() !== signed.address.toLowerCase()) {
      return fail(reply, 403, 'forbidden', `X-Qiao-Signature: not signed by the controller of ${did}`, 'X-Qiao-Signature');
    }
    const page = await audit.forSubject(did, { limit, ...(req.query.before === undefined ? {} : { before: req.query.before }) });
    void reply.header('cache-control', 'no-store');
    return { did, items: page.items.map(auditEntryView), nextCursor: page.nextCursor };
  });
}
