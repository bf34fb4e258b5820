import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AttestationDomain } from '../../domain/attestation.ts';
import { ValidationError } from '../../errors.ts';
import { asBytes32, type Hex } from '../../domain/hex.ts';
import { parseDid } from '../did.ts';
import { attestedRegistryRoot, type RegistrySnapshot } from './builder.ts';
import { assertMatchesCommitted, type CommittedSnapshot } from './committed.ts';
import { REGISTRY_LEAF_ENCODING } from './leaves.ts';
import { RegistryRecordNotFoundError, registryProof, registryProofToJson } from './proofs.ts';

/** What the proof routes need from the hub. */
export interface RegistryProofRouteDeps {
  /** The latest snapshot committed in MessageLog (with its attestation when collected), null before the first. */
  latestSnapshot(): Promise<CommittedSnapshot | null>;
  /** The registries as they stood at a governance block (e.g. a SnapshotCache over buildRegistrySnapshot). */
  snapshotAt(sourceBlock: bigint): Promise<RegistrySnapshot>;
  /**
   * Records the read in the audit log before the answer goes out (a proof discloses
   * the subject's attestations). Identifies the caller from the request; throws a
   * ValidationError (e.g. no purpose) to refuse.
   */
  audit(req: FastifyRequest, read: { recordKind: 'attestations'; record: string; subjectDid: string; disclosed: string[]; purpose: string | null }): Promise<void>;
  /** The EIP-712 domain of the attestations (governance chain id, MessageLog), so clients can recover the signers. */
  domain?: AttestationDomain;
  logger?: Logger;
}

const DID_PARAMS = { type: 'object', required: ['did'], properties: { did: { type: 'string', maxLength: 80 } } } as const;
const PROOF_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    purpose: { type: 'string', maxLength: 400, description: 'Why the caller reads the subject\'s credit records (audit log).' },
    schema: { type: 'string', maxLength: 66, description: 'Only attestations of this schema id (0x + 64 hex digits): disclose no more than needed.' },
  },
} as const;
const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

function errorBody(code: string, message: string, field?: string) {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

export function committedSnapshotJson(s: CommittedSnapshot, domain?: AttestationDomain) {
  return {
    snapshotNo: s.snapshotNo.toString(),
    treeRoot: s.treeRoot,
    attestedRoot: attestedRegistryRoot(s.treeRoot, s.takenAt),
    takenAt: s.takenAt.toString(),
    sourceBlock: s.sourceBlock.toString(),
    committedAt: s.blockNumber.toString(),
    leafEncoding: [...REGISTRY_LEAF_ENCODING],
    attestation: s.attestation
      ? {
          rootType: 2,
          setId: s.attestation.setId.toString(),
          batchNo: s.snapshotNo.toString(),
          signatures: [...s.attestation.signatures],
          domain: domain ? { chainId: domain.chainId.toString(), verifyingContract: domain.verifyingContract } : null,
        }
      : null,
  };
}

/** GET /registry/snapshot and GET /registry/proofs/:did (plugin-style: call before the app listens). */
export function registryProofRoutes(app: FastifyInstance, deps: RegistryProofRouteDeps): void {
  const log = deps.logger?.child({ component: 'registry-proofs' });

  app.get('/registry/snapshot', { schema: { querystring: NO_QUERY } }, async (_req, reply) => {
    const s = await deps.latestSnapshot();
    if (!s) return reply.code(404).send(errorBody('not_found', 'no registry snapshot has been committed yet', 'snapshot'));
    return committedSnapshotJson(s, deps.domain);
  });

  app.get<{ Params: { did: string }; Querystring: { purpose?: string; schema?: string } }>(
    '/registry/proofs/:did',
    { schema: { params: DID_PARAMS, querystring: PROOF_QUERY } },
    async (req, reply) => {
      let did: string;
      let schemaId: Hex | undefined;
      try {
        did = parseDid(req.params.did);
        schemaId = req.query.schema === undefined ? undefined : asBytes32(req.query.schema, 'schema');
      } catch (err) {
        return invalid(reply, err);
      }
      const committed = await deps.latestSnapshot();
      if (!committed) return reply.code(404).send(errorBody('not_found', 'no registry snapshot has been committed yet', 'snapshot'));
      const snap = await deps.snapshotAt(committed.sourceBlock);
      assertMatchesCommitted(committed, snap);
      let proof;
      try {
        const signed = committed.attestation ? { ...committed.attestation, domain: deps.domain ?? null } : null;
        proof = registryProof(snap, did, { snapshotNo: committed.snapshotNo, signed, ...(schemaId ? { schemaId } : {}) });
      } catch (err) {
        if (err instanceof RegistryRecordNotFoundError) return reply.code(404).send(errorBody('not_found', err.message, err.field));
        throw err;
      }
      try {
        await deps.audit(req, { recordKind: 'attestations', record: did, subjectDid: did, disclosed: proof.attestations.map((a) => a.uid), purpose: req.query.purpose ?? null });
      } catch (err) {
        if (err instanceof ValidationError) return invalid(reply, err);
        throw err;
      }
      log?.debug({ snapshotNo: committed.snapshotNo.toString(), attestations: proof.attestations.length }, 'registry proof served');
      return registryProofToJson(proof);
    },
  );
}

function invalid(reply: FastifyReply, err: unknown) {
  if (err instanceof ValidationError) return reply.code(400).send(errorBody(err.code, err.message, err.field));
  throw err;
}
