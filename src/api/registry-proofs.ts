import type { FastifyRequest } from 'fastify';
import { ValidationError } from '../errors.ts';
import type { AuditLog } from '../index/audit/store.ts';
import { registryProofRoutes, type RegistryProofRouteDeps } from '../registries/snapshot/routes.ts';
import { identifyCaller, type ApiKeyHashes } from './registries/auth.ts';
import type { ApiPlugin } from './server.ts';

const PURPOSE_HEADER = 'x-qiao-purpose';

/**
 * GET /registry/snapshot and /registry/proofs/{did} on the hub's API. A proof
 * discloses the subject's credit attestations, so every one is a read in the
 * audit log: an identified caller (API key or signed request) with a stated purpose.
 */
export function registryProofPlugin(deps: Omit<RegistryProofRouteDeps, 'audit'> & { audit: AuditLog; apiKeys?: ApiKeyHashes; now?: () => Date }): ApiPlugin {
  const { audit, apiKeys = {}, now = () => new Date(), ...rest } = deps;
  const record: RegistryProofRouteDeps['audit'] = async (req: FastifyRequest, read) => {
    const c = identifyCaller(req, apiKeys, now());
    if (!c.ok) throw new ValidationError(c.field, c.message);
    const header = req.headers[PURPOSE_HEADER];
    const purpose = read.purpose ?? (typeof header === 'string' ? header : null);
    if (purpose === null || purpose.trim().length < 3 || purpose.length > 200) throw new ValidationError('purpose', 'state why you read this subject\'s credit records (3-200 characters, ?purpose= or X-Qiao-Purpose)');
    await audit.record({ caller: c.caller, recordKind: read.recordKind, record: read.record, subjectDid: read.subjectDid, disclosed: read.disclosed, purpose });
  };
  return {
    name: 'registry-proofs',
    register: (app) => registryProofRoutes(app, { ...rest, audit: record }),
    docs: {
      paths: {
        '/registry/snapshot': {
          GET: {
            summary: 'The latest registry snapshot committed in the MessageLog (root type 2): tree root, taken-at time, source block, and the attestors\' signatures once collected.',
            responses: { '200': { description: 'The snapshot.' }, '404': { description: 'No snapshot committed yet (field `snapshot`).' } },
          },
        },
        '/registry/proofs/{did}': {
          GET: {
            summary: 'Inclusion proofs for a DID against the latest snapshot: its identity leaf, its credit attestations (optionally one schema) and each issuer\'s accreditation, with the attestation signatures. Audited: needs an identified caller and a purpose.',
            responses: { '200': { description: 'A `qiao-registry-proof-v1` document.' }, '400': { description: 'Bad input or no purpose; the error names the field.' }, '404': { description: 'Unknown DID or no snapshot yet.' } },
          },
        },
      },
    },
  };
}
