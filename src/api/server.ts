import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { NotReadyError, QiaoError, ValidationError, redactUrl } from '../errors.ts';
import { parseChainId } from '../domain/caip.ts';
import { asHex, isHex } from '../domain/hex.ts';
import { MESSAGE_STATUSES, type MessageStatus } from '../domain/status.ts';
import type { ChainRow, MessageFilter, MessageIndex, MessageRow, TransitionRow } from '../index/types.ts';
import { stringifyJson } from './json.ts';

export interface ApiDeps {
  index: MessageIndex;
  health: () => Promise<HealthReport>;
  logger?: Logger;
}

export interface HealthReport {
  ok: boolean;
  governance: { url: string; chainId: string; head: string } | null;
  chains: {
    chainId: string;
    head: string | null;
    finalized: string | null;
    checkpoint: string | null;
    lag: string | null;
    status: string;
  }[];
  queues: Record<string, { waiting: number; delayed: number; active: number; dead: number }>;
}

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

export interface RunningApi {
  url: string;
  close(): Promise<void>;
  app: FastifyInstance;
}

const ID_PATTERN = '^0x[0-9a-fA-F]{64}$';

/** Query parameters of GET /messages, as they arrive. */
interface MessagesQuery {
  chain?: string;
  srcChain?: string;
  dstChain?: string;
  status?: string;
  sender?: string;
  receiver?: string;
  cursor?: string;
  limit?: string;
}

// additionalProperties:false on every querystring so that a misspelt filter
// (`?src_chain=`) is a 400 instead of silently returning everything.
const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

const MESSAGES_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    chain: { type: 'string', maxLength: 128 },
    srcChain: { type: 'string', maxLength: 128 },
    dstChain: { type: 'string', maxLength: 128 },
    status: { type: 'string', maxLength: 32 },
    sender: { type: 'string', maxLength: 1024 },
    receiver: { type: 'string', maxLength: 1024 },
    cursor: { type: 'string', maxLength: 1024 },
    // Plain decimal digits only (ajv would coerce "1e2" to 100); the range 1..500 is the index's rule.
    limit: { type: 'string', pattern: '^[0-9]{1,9}$' },
  },
} as const;

const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: ID_PATTERN } },
} as const;

/** Builds the Fastify app without listening (tests use `app.inject`). */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const { index, health, logger } = deps;
  const log = logger?.child({ component: 'api' });

  const app = Fastify({
    // Fastify's request logging would write URLs with their query strings; we log errors ourselves.
    logger: false,
    requestTimeout: 30_000,
    // Long enough that an over-long id reaches the route and gets a 400 naming `id`, not a 404.
    routerOptions: { maxParamLength: 2048 },
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  });

  app.setReplySerializer((payload) => stringifyJson(payload));

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody('not_found', `no route ${req.method} ${pathOnly(req.url).slice(0, 200)}`));
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { status, body } = mapError(err);
    if (status >= 500) {
      log?.error({ err, reqId: req.id, method: req.method, route: req.routeOptions.url }, 'api request failed');
    }
    void reply.code(status).send(body);
  });

  app.get('/health', { schema: { querystring: NO_QUERY } }, async (req, reply) => {
    let report: HealthReport;
    try {
      report = await health();
    } catch (err) {
      log?.error({ err, reqId: req.id }, 'health check failed');
      return reply.code(503).send(errorBody('unavailable', 'health check failed'));
    }
    return reply.code(report.ok ? 200 : 503).send(healthView(report));
  });

  app.get('/chains', { schema: { querystring: NO_QUERY } }, async () => {
    const rows = await index.listChains();
    return rows.map(chainView);
  });

  app.get<{ Querystring: MessagesQuery }>('/messages', { schema: { querystring: MESSAGES_QUERY } }, async (req) => {
    const page = await index.listMessages(toFilter(req.query));
    return { items: page.items.map(messageView), nextCursor: page.nextCursor };
  });

  app.get<{ Params: { id: string } }>('/messages/:id', { schema: { params: ID_PARAMS } }, async (req, reply) => {
    const id = asHex(req.params.id, 'id', 32);
    const row = await index.getMessage(id);
    if (!row) return reply.code(404).send(errorBody('not_found', `no message ${id}`));
    const timeline = await index.timeline(id);
    return { ...messageView(row), timeline: timeline.map(transitionView) };
  });

  return app;
}

/** Starts the API on `host:port` (port 0 picks a free one). */
export async function startApi(deps: ApiDeps, opts: { host?: string; port?: number } = {}): Promise<RunningApi> {
  const { host = '127.0.0.1', port = 0 } = opts;
  if (typeof host !== 'string' || host.length === 0) throw new ValidationError('host', 'must be a non-empty host name or address');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValidationError('port', 'must be an integer in 0..65535');
  const app = buildApi(deps);
  try {
    await app.listen({ host, port });
  } catch (cause) {
    await app.close().catch(() => undefined);
    throw new QiaoError('api_listen_failed', `cannot listen on ${host}:${port}`, { cause, data: { host, port } });
  }
  const addr = app.server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${addr.port}`;
  deps.logger?.child({ component: 'api' }).info({ url }, 'api listening');
  return { url, app, close: () => app.close() };
}

function toFilter(q: MessagesQuery): MessageFilter {
  const f: MessageFilter = {};
  if (q.chain !== undefined) f.chain = parseChainId(q.chain, 'chain').id;
  if (q.srcChain !== undefined) f.srcChain = parseChainId(q.srcChain, 'srcChain').id;
  if (q.dstChain !== undefined) f.dstChain = parseChainId(q.dstChain, 'dstChain').id;
  if (q.status !== undefined) {
    if (!(MESSAGE_STATUSES as readonly string[]).includes(q.status)) {
      throw new ValidationError('status', `must be one of ${MESSAGE_STATUSES.join(', ')}`);
    }
    f.status = q.status as MessageStatus;
  }
  if (q.sender !== undefined) f.sender = address(q.sender, 'sender');
  if (q.receiver !== undefined) f.receiver = address(q.receiver, 'receiver');
  if (q.cursor !== undefined) f.cursor = q.cursor;
  if (q.limit !== undefined) f.limit = Number(q.limit);
  return f;
}

/** The index stores hex addresses lowercase and other families' forms as given. */
function address(v: string, field: string): string {
  if (v.length === 0) throw new ValidationError(field, 'must not be empty');
  return isHex(v) ? v.toLowerCase() : v;
}

// Views pick fields by name so the wire format stays stable whatever extra
// columns an index backend returns, and nothing private rides along.
function messageView(r: MessageRow) {
  return {
    id: r.id,
    encoded: r.encoded,
    message: r.message,
    srcChain: r.srcChain,
    dstChain: r.dstChain,
    sender: r.sender,
    receiver: r.receiver,
    nonce: r.nonce,
    status: r.status,
    reason: r.reason,
    srcTxHash: r.srcTxHash,
    srcHeight: r.srcHeight,
    dstTxHash: r.dstTxHash,
    batchNo: r.batchNo,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

function transitionView(t: TransitionRow) {
  return {
    seq: t.seq,
    messageId: t.messageId,
    status: t.status,
    at: t.at,
    chain: t.chain,
    height: t.height,
    txHash: t.txHash,
    reason: t.reason,
    proof: t.proof,
  };
}

function chainView(c: ChainRow) {
  return {
    chainId: c.chainId,
    family: c.family,
    genesisHash: c.genesisHash,
    port: c.port,
    lightClient: c.lightClient,
    trustRoot: c.trustRoot,
    finality: c.finality,
    // RPC URLs often carry API keys in userinfo or the query string.
    endpoints: c.endpoints.map(redactUrl),
    status: c.status,
    updatedAt: c.updatedAt,
  };
}

function healthView(h: HealthReport): HealthReport {
  return {
    ok: h.ok,
    governance: h.governance && { url: redactUrl(h.governance.url), chainId: h.governance.chainId, head: h.governance.head },
    chains: h.chains.map((c) => ({
      chainId: c.chainId,
      head: c.head,
      finalized: c.finalized,
      checkpoint: c.checkpoint,
      lag: c.lag,
      status: c.status,
    })),
    queues: Object.fromEntries(
      Object.entries(h.queues).map(([name, q]) => [name, { waiting: q.waiting, delayed: q.delayed, active: q.active, dead: q.dead }]),
    ),
  };
}

function errorBody(code: string, message: string, field?: string): ApiErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

function mapError(err: FastifyError): { status: number; body: ApiErrorBody } {
  if (err.validation && err.validation.length > 0) return { status: 400, body: schemaErrorBody(err) };
  // Only a ValidationError thrown as such is the caller's fault; one buried in a
  // cause chain came from our own data and is an internal error.
  if (err instanceof ValidationError) return { status: 400, body: errorBody(err.code, err.message, err.field) };
  if (err instanceof NotReadyError) return { status: 503, body: errorBody(err.code, 'not ready, try again later') };
  // Fastify's own client errors (bad content type, body too large...) carry a 4xx statusCode and safe messages.
  if (!(err instanceof QiaoError) && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, body: errorBody('bad_request', err.message) };
  }
  return { status: 500, body: errorBody('internal', 'internal error') };
}

// Ajv would quote the regular expression; say what it means instead.
const PATTERN_MESSAGES: Record<string, string> = {
  id: 'must be 0x followed by 64 hex digits',
  limit: 'must be a decimal integer',
};

function schemaErrorBody(err: FastifyError): ApiErrorBody {
  const v = err.validation![0]!;
  const where = err.validationContext === 'params' ? 'path parameter' : 'query parameter';
  const params = v.params as Record<string, unknown>;
  if (v.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    const name = params.additionalProperty.slice(0, 64);
    return errorBody('invalid_input', `${name}: unknown ${where}`, name);
  }
  const field =
    v.keyword === 'required' && typeof params.missingProperty === 'string'
      ? params.missingProperty
      : v.instancePath.replace(/^\//, '').split('/')[0] || (err.validationContext ?? 'request');
  if (v.keyword === 'pattern' && Object.hasOwn(PATTERN_MESSAGES, field)) return errorBody('invalid_input', `${field}: ${PATTERN_MESSAGES[field]}`, field);
  return errorBody('invalid_input', `${field}: ${v.message ?? 'is invalid'}`, field);
}

function pathOnly(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}
