import { getAddress, Signature } from 'ethers';
import type { Logger } from 'pino';
import { z } from 'zod';
import { recoverAttestor, ROOT_TYPE, type AttestationDomain, type RootType } from '../domain/attestation.ts';
import type { Hex } from '../domain/hex.ts';
import { QiaoError, ValidationError } from '../errors.ts';
import { AttestorSetClient, attestorSetRoot } from '../governance/attestor-set.ts';
import type { GovernanceClient } from '../governance/client.ts';
import { registrySnapshotRoot, SnapshotLogClient } from '../governance/snapshots.ts';
import type { MessageIndex } from '../index/types.ts';
import type { ApiPlugin } from './server.ts';

export interface AttestationsDeps {
  index: MessageIndex;
  gov: GovernanceClient;
  logger?: Logger;
}

const UINT64_MAX = (1n << 64n) - 1n;
const uint64 = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = String(v);
  if (!/^[0-9]{1,20}$/.test(s) || BigInt(s) > UINT64_MAX || BigInt(s) === 0n) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a decimal integer in 1..2^64-1' });
    return z.NEVER;
  }
  return BigInt(s);
});

export const AttestationPost = z
  .object({
    rootType: z.union([z.literal(1), z.literal(2), z.literal(3)], { errorMap: () => ({ message: 'must be 1 (messages), 2 (registry snapshot) or 3 (attestor set)' }) }),
    batchNo: uint64,
    setId: uint64,
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be 0x and 130 hex digits (r, s, v)'),
    /** The signer the poster claims: lets the hub tell a signature over another root (409) from a non-member (403). */
    attestor: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/, 'must be an EVM address')
      .optional(),
  })
  .strict();
export type AttestationPost = z.infer<typeof AttestationPost>;

/** A refused attestation with its HTTP status, raised inside the route and answered there. */
class Refusal extends QiaoError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly field?: string,
  ) {
    super(code, message);
  }
}

function parseBody(body: unknown): AttestationPost {
  const r = AttestationPost.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? issue.keys[0]! : issue.path.map(String).join('.') || 'body';
  const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.code === 'invalid_type' && issue.received === 'undefined' ? 'is required' : issue.message;
  throw new ValidationError(field, `${field}: ${message}`);
}

/**
 * POST /attestations: an attestor running in its own process hands in its
 * signature. The hub never takes the root from the poster: it recomputes the
 * EIP-712 digest over the root it holds itself for (rootType, batchNo), recovers
 * the signer, and stores the signature only from a member of the stated set
 * (which must be one the stages use), where the attest stage and the root
 * pipelines count it like one of their own attestors'.
 */
export function attestationsPlugin(deps: AttestationsDeps): ApiPlugin {
  const { index, gov } = deps;
  const log = deps.logger?.child({ component: 'attestations-api' });
  const sets = new AttestorSetClient(gov);
  const snapshots = new SnapshotLogClient(gov);
  const domain: AttestationDomain = { chainId: gov.chainId, verifyingContract: gov.addresses.messageLog };

  /** The root this hub holds for (rootType, batchNo), or null when it holds none (yet). */
  async function heldRoot(rootType: RootType, batchNo: bigint): Promise<Hex | null> {
    if (rootType === ROOT_TYPE.messages) {
      const row = await index.getBatch(batchNo);
      if (row) return row.root.toLowerCase() as Hex;
      return (await gov.batch(batchNo))?.root ?? null;
    }
    if (rootType === ROOT_TYPE.registrySnapshot) {
      const s = await snapshots.snapshot(batchNo);
      return s ? registrySnapshotRoot(s.treeRoot, s.takenAt) : null;
    }
    const pending = await sets.pending();
    if (pending?.setId === batchNo) return attestorSetRoot(pending.setId, pending.members, pending.threshold);
    // Already activated: a late (re-)post of the hand-over is still checked against what was activated.
    const done = await sets.handOver(batchNo);
    return done ? attestorSetRoot(done.setId, done.members, done.threshold) : null;
  }

  /**
   * The members of set `setId` if the stages take its signatures for this root:
   * the current set signs messages and snapshots (the attest stage counts only
   * the current set's); a hand-over is signed by the set it hands over from.
   */
  async function signingSet(rootType: RootType, batchNo: bigint, setId: bigint): Promise<string[] | null> {
    const current = await sets.current();
    if (rootType === ROOT_TYPE.attestorSet) {
      if ((await sets.pending())?.setId === batchNo) return setId === current.setId ? current.members : null;
      const done = await sets.handOver(batchNo);
      if (!done || done.previousSetId !== setId) return null;
      const prev = await sets.handOver(setId);
      return prev?.members ?? null;
    }
    return setId === current.setId ? current.members : null;
  }

  async function accept(p: AttestationPost): Promise<{ attestor: string; root: Hex; stored: boolean }> {
    const rootType = p.rootType as RootType;
    const root = await heldRoot(rootType, p.batchNo);
    if (!root) throw new Refusal(404, 'not_found', `batchNo: this hub holds no root of type ${rootType} numbered ${p.batchNo} (yet)`, 'batchNo');
    let signer: string;
    try {
      Signature.from(p.signature);
      signer = recoverAttestor(domain, { rootType, setId: p.setId, batchNo: p.batchNo, root }, p.signature as Hex);
    } catch (cause) {
      throw new ValidationError('signature', 'signature: not a valid secp256k1 signature', { cause });
    }
    if (p.attestor !== undefined && getAddress(p.attestor) !== signer) {
      throw new Refusal(409, 'root_mismatch', `signature: not ${getAddress(p.attestor)}'s signature over root ${root}, the root this hub holds for batch ${p.batchNo} (signed over another root, set or domain)`, 'signature');
    }
    const members = await signingSet(rootType, p.batchNo, p.setId);
    if (!members) throw new Refusal(403, 'wrong_set', `setId: set ${p.setId} does not sign root type ${rootType} batch ${p.batchNo} now`, 'setId');
    if (!members.some((m) => m.toLowerCase() === signer.toLowerCase())) {
      throw new Refusal(403, 'not_a_member', `signature: the signer ${signer} is not a member of attestor set ${p.setId}${p.attestor === undefined ? ' (or it signed another root)' : ''}`, 'signature');
    }
    const before = (await index.attestations(p.batchNo, rootType)).some((a) => a.attestor.toLowerCase() === signer.toLowerCase());
    await index.addAttestation({ batchNo: p.batchNo, rootType, setId: p.setId, attestor: signer, signature: p.signature.toLowerCase() as Hex });
    return { attestor: signer, root, stored: !before };
  }

  return {
    name: 'attestations',
    register(app) {
      app.post('/attestations', async (req, reply) => {
        const p = parseBody(req.body);
        try {
          const r = await accept(p);
          if (r.stored) log?.info({ attestor: r.attestor, rootType: p.rootType, batchNo: p.batchNo.toString(), setId: p.setId.toString() }, 'attestation received');
          return reply.code(r.stored ? 201 : 200).send({ accepted: true, attestor: r.attestor, root: r.root, rootType: p.rootType, batchNo: p.batchNo.toString(), setId: p.setId.toString() });
        } catch (err) {
          if (!(err instanceof Refusal)) throw err;
          if (err.status !== 404) log?.warn({ status: err.status, code: err.code, rootType: p.rootType, batchNo: p.batchNo.toString(), setId: p.setId.toString() }, 'attestation refused');
          return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } });
        }
      });
    },
    docs: {
      paths: {
        '/attestations': {
          POST: {
            summary: 'An attestor process hands in its signature over a root (1 messages batch, 2 registry snapshot, 3 attestor-set hand-over). The hub recomputes the digest over the root it holds itself and stores the signature only from a member of the stated set.',
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['rootType', 'batchNo', 'setId', 'signature'],
                    properties: {
                      rootType: { enum: [1, 2, 3] },
                      batchNo: { type: 'string', pattern: '^[0-9]{1,20}$', description: 'Batch, snapshot or new set number (uint64, decimal).' },
                      setId: { type: 'string', pattern: '^[0-9]{1,20}$', description: 'The signing set (uint64, decimal).' },
                      signature: { type: 'string', pattern: '^0x[0-9a-fA-F]{130}$', description: 'EIP-712 Attestation signature, r||s||v.' },
                      attestor: { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$', description: 'The claimed signer; with it a signature over another root is told apart (409).' },
                    },
                  },
                },
              },
            },
            responses: {
              '200': { description: 'Already stored (idempotent).' },
              '201': { description: 'Stored.' },
              '400': { description: 'Bad input; the error names the field.' },
              '403': { description: 'The signer is not a member of the stated set, or that set does not sign this root now.' },
              '404': { description: 'The hub holds no such root (yet); post again later.' },
              '409': { description: 'The signature is not over the root the hub holds (needs `attestor`).' },
            },
          },
        },
      },
    },
  };
}
