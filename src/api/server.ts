import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { NotReadyError, QiaoError, ValidationError, redactUrl } from '../errors.ts';
import { parseChainId } from '../domain/caip.ts';
import { asHex } from '../domain/hex.ts';
import { lane as parseLane } from '../index/inputs.ts';
import type { ChainRow, LaneSummary, LatencyBucket, MessageIndex, MessageRow, NonceGap, TransitionRow } from '../index/types.ts';
import { MESSAGES_QUERY, STREAM_QUERY, toMessageFilter, toStreamFilter, type MessagesQuery, type StreamQuery } from './filters.ts';
import { registerExplorer } from './explorer.ts';
import { stringifyJson } from './json.ts';
import { buildOpenApi, type ApiDocs, type RouteInfo } from './openapi.ts';
import { TransitionFeed, type TransitionFeedOptions } from './stream.ts';

export interface ApiDeps {
  index: MessageIndex;
  health: () => Promise<HealthReport>;
  logger?: Logger;
  /** The /messages/stream poller's settings (tests shorten the keepalive). */
  stream?: TransitionFeedOptions;
  /** Shown in /docs. */
  version?: string;
  /** More routes (registries, payments, ...), each with its OpenAPI entries. */
  plugins?: readonly ApiPlugin[];
  /**
   * A note on an attested message that waits without a new status
   * (`lane_fee_below_gas_price`), or null. Asked for the single-message view
   * only, never per item of a list: it may read the index.
   */
  waitingOf?: (row: MessageRow) => Promise<string | null> | string | null;
}

/** A group of routes registered on the hub's API, documented in /docs beside the index's own. */
export interface ApiPlugin {
  name: string;
  register(app: FastifyInstance): void;
  docs?: ApiDocs;
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

// additionalProperties:false on every querystring so that a misspelt parameter is a 400.
const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

const LATENCY_QUERY = {
  type: 'object',
  additionalProperties: false,
  required: ['lane'],
  properties: {
    lane: { type: 'string', maxLength: 257, description: 'The lane as `<srcChain>><dstChain>`.' },
    buckets: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'Minutes to cover, 1..1440 (default 60).' },
  },
} as const;

const MAX_BUCKETS = 1440;

const CHAIN_PARAMS = {
  type: 'object',
  required: ['chainId'],
  properties: { chainId: { type: 'string', maxLength: 64, description: 'CAIP-2 chain id, e.g. eip155:10 (URL-encoded or not).' } },
} as const;

const EVENTS_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { type: 'string', pattern: '^[0-9]{1,19}$', description: 'Only events after this seq (the last seq of the previous page).' },
    limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: 'At most this many events, 1..500 (default 50).' },
  },
} as const;

const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: ID_PATTERN } },
} as const;

/** Builds the Fastify app without listening (tests use `app.inject`). */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const { index, health, logger, stream: streamOptions = {}, version = '0.1.0', plugins = [] } = deps;
  const log = logger?.child({ component: 'api' });
  const feed = new TransitionFeed(index, streamOptions, log?.child({ component: 'api-stream' }));

  const app = Fastify({
    // Fastify's request logging would write URLs with their query strings; we log errors ourselves.
    logger: false,
    requestTimeout: 30_000,
    // Streams are ended in preClose; any socket still open after that (a client
    // that stopped reading) must not hold shutdown for the keep-alive timeout.
    forceCloseConnections: true,
    // Long enough that an over-long id reaches the route and gets a 400 naming `id`, not a 404.
    routerOptions: { maxParamLength: 2048 },
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  });

  app.setReplySerializer((payload) => stringifyJson(payload));

  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) {
      routes.push({ method, url: r.url, querystring: r.schema?.querystring, params: r.schema?.params });
    }
  });
  // Streams never end on their own: end them before the server waits for open requests.
  app.addHook('preClose', async () => feed.close());

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

  // Readiness for load balancers and orchestrators: the governance chain answers and the index serves queries.
  app.get('/ready', { schema: { querystring: NO_QUERY } }, async (req, reply) => {
    const reasons: string[] = [];
    try {
      if (!(await health()).governance) reasons.push('governance chain unreachable');
    } catch (err) {
      log?.warn({ err, reqId: req.id }, 'readiness: health check failed');
      reasons.push('health check failed');
    }
    try {
      await index.lastTransitionSeq();
    } catch (err) {
      log?.warn({ err, reqId: req.id }, 'readiness: index unavailable');
      reasons.push('index unavailable');
    }
    return reply.code(reasons.length ? 503 : 200).send({ ready: reasons.length === 0, reasons });
  });

  app.get('/chains', { schema: { querystring: NO_QUERY } }, async () => {
    const rows = await index.listChains();
    return rows.map(chainView);
  });

  app.get<{ Params: { chainId: string }; Querystring: { after?: string; limit?: string } }>(
    '/chains/:chainId/events',
    { schema: { params: CHAIN_PARAMS, querystring: EVENTS_QUERY } },
    async (req) => {
      const chainId = parseChainId(req.params.chainId, 'chainId').id;
      const events = await index.registryEvents({
        subject: chainId,
        ...(req.query.after === undefined ? {} : { afterSeq: req.query.after }),
        ...(req.query.limit === undefined ? {} : { limit: Number(req.query.limit) }),
      });
      return events;
    },
  );

  app.get<{ Querystring: MessagesQuery }>('/messages', { schema: { querystring: MESSAGES_QUERY } }, async (req) => {
    const page = await index.listMessages(toMessageFilter(req.query));
    return { items: page.items.map(messageView), nextCursor: page.nextCursor };
  });

  app.get<{ Querystring: StreamQuery }>('/messages/stream', { schema: { querystring: STREAM_QUERY } }, async (req, reply) => {
    const filter = toStreamFilter(req.query);
    const after = lastEventId(req.headers['last-event-id']);
    if (feed.full) return reply.code(503).send(errorBody('unavailable', 'too many open streams, try again later'));
    await feed.ready();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // Reverse proxies (nginx) would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    // Sends the headers now, so a client sees the stream open before the first event.
    res.write(': stream open\n\n');
    feed.subscribe(res, filter, after);
  });

  app.get<{ Params: { id: string } }>('/messages/:id', { schema: { params: ID_PARAMS } }, async (req, reply) => {
    const id = asHex(req.params.id, 'id', 32);
    const row = await index.getMessage(id);
    if (!row) return reply.code(404).send(errorBody('not_found', `no message ${id}`));
    const timeline = await index.timeline(id);
    const waiting = row.status === 'attested' ? ((await deps.waitingOf?.(row)) ?? null) : null;
    return { ...messageView(row), ...(waiting ? { waiting } : {}), timeline: timeline.map(transitionView) };
  });

  app.get('/lanes', { schema: { querystring: NO_QUERY } }, async () => {
    const lanes = await index.laneSummaries();
    return lanes.map(laneView);
  });

  app.get('/lanes/gaps', { schema: { querystring: NO_QUERY } }, async () => {
    const gaps = await index.nonceGaps();
    return gaps.map(gapView);
  });

  app.get<{ Querystring: { lane: string; buckets?: string } }>('/lanes/latency', { schema: { querystring: LATENCY_QUERY } }, async (req) => {
    const l = parseLane(req.query.lane, 'lane');
    const buckets = req.query.buckets === undefined ? 60 : Number(req.query.buckets);
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) throw new ValidationError('buckets', `must be an integer in 1..${MAX_BUCKETS}`);
    const rows = await index.laneLatency(l.srcChain, l.dstChain, buckets);
    return rows.map(bucketView);
  });

  for (const p of plugins) p.register(app);
  const docs = plugins.flatMap((p) => (p.docs ? [p.docs] : []));
  app.get('/docs', { schema: { querystring: NO_QUERY } }, async () => buildOpenApi(routes, { version }, docs));

  // The explorer adds its routes synchronously; it only awaits when serving a file.
  registerExplorer(app).catch((err: unknown) => log?.error({ err }, 'cannot register the explorer page'));

  return app;
}

/** The Last-Event-ID header: the seq of the last event the client saw. */
function lastEventId(v: string | string[] | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[0-9]{1,19}$/.test(v.trim()) || BigInt(v.trim()) > (1n << 63n) - 1n) {
    throw new ValidationError('Last-Event-ID', 'must be the decimal id of an event from this stream');
  }
  return BigInt(v.trim());
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

function laneView(l: LaneSummary) {
  return {
    srcChain: l.srcChain,
    dstChain: l.dstChain,
    counts: { ...l.counts },
    total: l.total,
    latencyMs: l.latencyMs && { p50: l.latencyMs.p50, p95: l.latencyMs.p95, p99: l.latencyMs.p99, max: l.latencyMs.max },
    lastNonce: l.lastNonce,
    gaps: l.gaps,
  };
}

function gapView(g: NonceGap) {
  return { srcChain: g.srcChain, srcPort: g.srcPort, dstChain: g.dstChain, expected: g.expected, seen: g.seen, detectedAt: g.detectedAt };
}

function bucketView(b: LatencyBucket) {
  return { t: b.t, count: b.count, p50: b.p50, p95: b.p95 };
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
  buckets: 'must be a decimal integer',
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
  if (v.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    return errorBody('invalid_input', `${field}: must be one of ${params.allowedValues.map(String).join(', ')}`, field);
  }
  return errorBody('invalid_input', `${field}: ${v.message ?? 'is invalid'}`, field);
}

function pathOnly(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}
