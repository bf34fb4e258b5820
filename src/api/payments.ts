import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Hex } from '../domain/hex.ts';
import { findCause, ValidationError } from '../errors.ts';
import { SettlementRejected } from '../settlement/errors.ts';
import { fromPacs008, toPacs002, toPacs008 } from '../settlement/iso20022/index.ts';
import { REJECT_REASONS } from '../settlement/routing/index.ts';
import { SettlementRequestError, SettlementService, type PaymentStatus, type SettlementApiDeps } from '../settlement/service.ts';
import { isUetr } from '../settlement/uetr.ts';
import type { ApiPlugin } from './server.ts';

/*
 * Cross-border settlement over HTTP: quotes (ranked routes, every refusal with its
 * reason), opening a quoted route on SettlementHub with the operator key, payment
 * status read from the chains, ISO 20022 pacs.008/pacs.002 export and pacs.008 import.
 * Bodies are validated with zod; amounts are decimal strings of integer token units.
 */

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const CAIP10_EVM = /^(eip155:[0-9]{1,20}):(0x[0-9a-fA-F]{40})$/;
const ASSET = /^eip155:[0-9]{1,20}\/erc20:0x[0-9a-fA-F]{40}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

const units = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = String(v);
  if (!/^[1-9][0-9]{0,77}$/.test(s) || BigInt(s) >= 1n << 256n) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a positive integer amount in token units (decimal string)' });
    return z.NEVER;
  }
  return BigInt(s);
});
const asset = z.string().regex(ASSET, 'must be a CAIP-19 erc20 asset (eip155:<id>/erc20:0x…)');
const account = z.string().refine((s) => ADDRESS.test(s) || CAIP10_EVM.test(s), 'must be a 0x address or a CAIP-10 EVM account');
const attestation = z
  .string()
  .regex(BYTES32, 'must be a 0x bytes32 attestation uid')
  .transform((s) => s.toLowerCase() as Hex);

export const QuoteBody = z
  .object({
    srcAsset: asset,
    srcAccount: account,
    dstAsset: asset,
    dstAccount: account,
    amount: units,
    maxHops: z.number().int().min(1).max(3).optional(),
    senderAttestation: attestation.optional(),
    receiverAttestation: attestation.optional(),
  })
  .strict();

export const PaymentBody = z
  .object({
    quoteId: z.string().uuid('must be a quote id'),
    routeIndex: z.number().int().min(0).max(1000),
    uetr: z.string().refine(isUetr, 'must be a lowercase UUIDv4').optional(),
    senderAttestation: attestation.optional(),
    receiverAttestation: attestation.optional(),
    deadlineSeconds: z.number().int().min(10).max(7 * 24 * 3600).optional(),
  })
  .strict();

export const ImportBody = z
  .object({
    document: z.record(z.unknown()),
    srcAsset: asset.optional(),
    dstAsset: asset.optional(),
    srcDecimals: z.number().int().min(0).max(36).optional(),
    maxHops: z.number().int().min(1).max(3).optional(),
    senderAttestation: attestation.optional(),
    receiverAttestation: attestation.optional(),
  })
  .strict();

function parse<T extends z.ZodTypeAny>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? issue.keys[0]! : issue.path.map(String).join('.') || 'body';
  const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.code === 'invalid_type' && issue.received === 'undefined' ? 'is required' : issue.message;
  throw new ValidationError(field, message);
}

/** 0x address of an account given as an address or CAIP-10 on the asset's chain. */
function addressOn(value: string, assetId: string, field: string): string {
  const m = CAIP10_EVM.exec(value);
  if (!m) return value.toLowerCase();
  const chain = assetId.slice(0, assetId.indexOf('/'));
  if (m[1] !== chain) throw new ValidationError(field, `is on ${m[1]}, the asset on ${chain}`);
  return m[2]!.toLowerCase();
}

const errorReply = (reply: FastifyReply, status: number, code: string, message: string, extra: Record<string, unknown> = {}) => reply.code(status).send({ error: { code, message, ...extra } });

const UETR_PARAMS = { type: 'object', required: ['uetr'], properties: { uetr: { type: 'string', maxLength: 64, description: 'UETR (lowercase UUIDv4).' } } } as const;
const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

export function paymentsPlugin(deps: SettlementApiDeps | { service: SettlementService }): ApiPlugin {
  const service = 'service' in deps ? deps.service : new SettlementService(deps);
  const now = () => new Date(service.deps.now?.() ?? Date.now());

  /** Refusals the caller can act on become answers; anything else is the server's error handler's. */
  async function answer(reply: FastifyReply, f: () => Promise<unknown>, okStatus = 200): Promise<unknown> {
    try {
      return reply.code(okStatus).send(await f());
    } catch (err) {
      if (err instanceof SettlementRequestError) return errorReply(reply, err.status, err.code, err.message, err.data);
      const rejected = findCause(err, SettlementRejected);
      // SettlementHub refused open(): the contract's own reason (stale_rate, sender_not_compliant, ...), nothing moved.
      if (rejected) return errorReply(reply, 422, rejected.code, rejected.message, { errorName: rejected.errorName, args: rejected.args });
      throw err;
    }
  }

  async function statusOr404(uetr: string): Promise<PaymentStatus> {
    if (!isUetr(uetr)) throw new ValidationError('uetr', 'must be a lowercase UUIDv4');
    const s = await service.status(uetr);
    if (!s) throw new SettlementRequestError(404, 'not_found', `no payment ${uetr}`);
    return s;
  }

  return {
    name: 'payments',
    register(app) {
      app.post('/routes/quote', async (req, reply) => {
        const b = parse(QuoteBody, req.body);
        return answer(reply, async () => {
          const q = await service.quote({ ...b, srcAccount: addressOn(b.srcAccount, b.srcAsset, 'srcAccount'), dstAccount: addressOn(b.dstAccount, b.dstAsset, 'dstAccount') });
          return { ...q, createdAt: new Date(q.createdAt).toISOString(), expiresAt: new Date(q.expiresAt).toISOString() };
        });
      });

      app.post('/payments', async (req, reply) => {
        const b = parse(PaymentBody, req.body);
        return answer(reply, () => service.open(b), 201);
      });

      app.get<{ Params: { uetr: string } }>('/payments/:uetr', { schema: { params: UETR_PARAMS, querystring: NO_QUERY } }, async (req, reply) => answer(reply, () => statusOr404(req.params.uetr)));

      app.get<{ Params: { uetr: string } }>('/payments/:uetr/pacs.008', { schema: { params: UETR_PARAMS, querystring: NO_QUERY } }, async (req, reply) =>
        answer(reply, async () => {
          const s = await statusOr404(req.params.uetr);
          const [src, dst] = await Promise.all([service.tokenInfo(s.legs[0]!.asset), service.tokenInfo(s.legs[s.legs.length - 1]!.asset)]);
          return toPacs008({ ...s, legs: s.legs.map((l) => ({ ...l, escrow: l.escrow?.state })), src, dst }, { now: now() });
        }),
      );

      app.get<{ Params: { uetr: string } }>('/payments/:uetr/pacs.002', { schema: { params: UETR_PARAMS, querystring: NO_QUERY } }, async (req, reply) =>
        answer(reply, async () => toPacs002(await statusOr404(req.params.uetr), { now: now() })),
      );

      app.post('/payments/import', async (req, reply) => {
        const raw = req.body as Record<string, unknown> | null;
        // The bare pacs.008 document, or {document, ...defaults}.
        const b = parse(ImportBody, raw && typeof raw === 'object' && 'FIToFICstmrCdtTrf' in raw ? { document: raw } : raw);
        const r = fromPacs008(b.document, { srcAsset: b.srcAsset, dstAsset: b.dstAsset, srcDecimals: b.srcDecimals });
        if (!r.ok) throw new ValidationError(`document.${r.field}`, r.detail);
        return answer(reply, async () => {
          const { uetr, endToEndId, ...request } = r.value;
          const q = await service.quote({ ...request, maxHops: b.maxHops, senderAttestation: b.senderAttestation, receiverAttestation: b.receiverAttestation });
          return { uetr, endToEndId, request, quote: { ...q, createdAt: new Date(q.createdAt).toISOString(), expiresAt: new Date(q.expiresAt).toISOString() } };
        });
      });

      app.get('/corridors', { schema: { querystring: NO_QUERY } }, async (_req, reply) => answer(reply, () => service.corridors()));
    },
    docs: {
      paths: {
        '/routes/quote': {
          POST: {
            summary: 'Ranked routes (1..3 hops) from a source asset and account to a destination asset and account for an amount, checked as SettlementHub.open will check them; every refused candidate with its reason code. The quote expires (default 30 s).',
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['srcAsset', 'srcAccount', 'dstAsset', 'dstAccount', 'amount'],
                    properties: {
                      srcAsset: { type: 'string', pattern: ASSET.source, description: 'CAIP-19 of what the sender pays.' },
                      srcAccount: { type: 'string', description: 'Sender: 0x address or CAIP-10 on the source chain.' },
                      dstAsset: { type: 'string', pattern: ASSET.source },
                      dstAccount: { type: 'string', description: 'Receiver: 0x address or CAIP-10 on the destination chain.' },
                      amount: { type: 'string', pattern: '^[1-9][0-9]*$', description: 'Integer units the sender locks, fees included.' },
                      maxHops: { type: 'integer', minimum: 1, maximum: 3 },
                      senderAttestation: { type: 'string', pattern: BYTES32.source, description: 'CreditRegistry uid for corridors that require a sender schema.' },
                      receiverAttestation: { type: 'string', pattern: BYTES32.source },
                    },
                  },
                },
              },
            },
            responses: {
              '200': {
                description: '{quoteId, createdAt, expiresAt, checkedAt, routes[], rejected[{corridorIds, reason, hop, detail}], considered, notes}. Routes are ranked by cost (fees + spread, in source units), then expected seconds.',
                content: { 'application/json': { schema: { type: 'object', properties: { rejected: { type: 'array', items: { type: 'object', properties: { reason: { enum: [...REJECT_REASONS] } } } } } } } },
              },
              '400': { description: 'Bad input; the error names the field.' },
            },
          },
        },
        '/payments': {
          POST: {
            summary: 'Opens a quoted route on SettlementHub (operator key) before the quote expires. Answers the UETR and the leg-0 lock the sender must execute on the escrow (approve the token, then QiaoEscrow.lock).',
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['quoteId', 'routeIndex'],
                    properties: {
                      quoteId: { type: 'string', format: 'uuid' },
                      routeIndex: { type: 'integer', minimum: 0 },
                      uetr: { type: 'string', description: 'Lowercase UUIDv4; generated when omitted.' },
                      senderAttestation: { type: 'string', pattern: BYTES32.source },
                      receiverAttestation: { type: 'string', pattern: BYTES32.source },
                      deadlineSeconds: { type: 'integer', minimum: 10, description: 'From now (governance chain time); default 600.' },
                    },
                  },
                },
              },
            },
            responses: {
              '201': { description: '{uetr, deadline, txHash, route, lock: {chain, escrow, token, amount, to, uetr}}.' },
              '400': { description: 'Bad input or routeIndex out of range.' },
              '404': { description: 'Unknown or already used quote.' },
              '410': { description: 'The quote expired.' },
              '422': { description: 'SettlementHub refused open(); `code` is the contract reason (e.g. stale_rate, sender_not_compliant, corridor_limit_exhausted). No funds moved.' },
            },
          },
        },
        '/payments/{uetr}': {
          GET: {
            summary: "A payment as the chains record it: SettlementHub's decision and legs, each leg's escrow lock read on its own chain, and the Qiao messages of the payment found in the index.",
            responses: { '200': { description: 'Payment status.' }, '400': { description: 'Not a UUIDv4.' }, '404': { description: 'No such payment.' } },
          },
        },
        '/payments/{uetr}/pacs.008': {
          GET: { summary: 'The payment as an ISO 20022 pacs.008.001.08 JSON document (mapping in src/settlement/iso20022/pacs008.ts).', responses: { '200': { description: 'pacs.008 JSON.' }, '404': { description: 'No such payment.' } } },
        },
        '/payments/{uetr}/pacs.002': {
          GET: { summary: 'ISO 20022 pacs.002 status report: ACSC when committed and every leg released, RJCT with a reason when aborted, PDNG otherwise.', responses: { '200': { description: 'pacs.002 JSON.' }, '404': { description: 'No such payment.' } } },
        },
        '/payments/import': {
          POST: {
            summary: 'Reads a pacs.008 JSON document (bare, or as {document, srcAsset?, dstAsset?, srcDecimals?, ...}) into a quote request, validated, and answers its quote; pass the document UETR to POST /payments.',
            responses: { '200': { description: '{uetr, endToEndId, request, quote}.' }, '400': { description: 'Invalid document; `field` names the element.' } },
          },
        },
        '/corridors': {
          GET: { summary: 'Every corridor on SettlementHub with status, rate, rate time and the provider pool on the destination chain.', responses: { '200': { description: '{corridors[]}.' } } },
        },
      },
    },
  };
}
