import { MESSAGE_STATUSES } from '../domain/status.ts';

/*
 * The OpenAPI 3.1 document at /docs. Paths and parameters are generated from the
 * routes fastify actually registered (their querystring and params schemas), so
 * the document cannot miss a route or a filter; summaries and response shapes
 * are written here by hand.
 */

export interface RouteInfo {
  method: string;
  url: string;
  querystring?: unknown;
  params?: unknown;
}

export interface Described {
  summary: string;
  description?: string;
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> };
  /** Status → [description, schema or content type]. */
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });
const ERR = { description: 'Bad input: the error names the parameter in `field`.', content: json(ref('Error')) };
const str = { type: 'string' } as const;
const strOrNull = { type: ['string', 'null'] } as const;

const ROUTES: Record<string, Described> = {
  '/health': {
    summary: 'Hub health: per chain head, finalized height, checkpoint, lag and status; queue counts.',
    responses: { '200': { description: 'Healthy.', content: json(ref('Health')) }, '503': { description: 'Unhealthy (same body) or the check failed (error body).', content: json(ref('Health')) } },
  },
  '/ready': {
    summary: 'Readiness: 200 when the governance chain answers and the index serves queries, else 503 with the reasons.',
    responses: { '200': { description: 'Ready.', content: json({ type: 'object', properties: { ready: { type: 'boolean' }, reasons: { type: 'array', items: str } } }) }, '503': { description: 'Not ready (same body).' } },
  },
  '/chains': { summary: 'Registered chains (endpoint URLs with credentials redacted).', responses: { '200': { description: 'Chains.', content: json({ type: 'array', items: ref('Chain') }) }, '400': ERR } },
  '/messages': {
    summary: 'Messages, newest first, filtered and paged by cursor.',
    description: 'Filters combine with AND. Pass `nextCursor` back as `cursor` for the next page; it is null on the last page.',
    responses: {
      '200': { description: 'A page.', content: json({ type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref('Message') }, nextCursor: strOrNull } }) },
      '400': ERR,
    },
  },
  '/messages/stream': {
    summary: 'Server-Sent Events: every status transition matching the filters, live.',
    description:
      'Each transition is sent as `event: transition` with `id: <transition seq>` and a JSON `data` line (TransitionEvent). Send `Last-Event-ID` (header) to resume after that seq. A `: keepalive` comment is sent every 15 s.',
    responses: { '200': { description: 'An endless event stream.', content: { 'text/event-stream': { schema: ref('TransitionEvent') } } }, '400': ERR, '503': { description: 'Too many streams open.', content: json(ref('Error')) } },
  },
  '/messages/{id}': {
    summary: 'One message with its timeline; each transition carries the stored proof behind it.',
    responses: { '200': { description: 'The message.', content: json(ref('MessageDetail')) }, '400': ERR, '404': { description: 'Unknown id.', content: json(ref('Error')) } },
  },
  '/chains/{chainId}/events': {
    summary: "A chain's registry history, oldest first: submitted, approved, suspended, frozen, re-anchored, endpoints changed (governance-chain block, time and transaction of each).",
    responses: { '200': { description: 'Events.', content: json({ type: 'array', items: ref('RegistryEvent') }) }, '400': ERR },
  },
  '/lanes': {
    summary: 'Per lane (srcChain, dstChain): counts by status, sent→delivered latency over the last 1000 delivered, last contiguous nonce, nonce gaps.',
    responses: { '200': { description: 'Lanes.', content: json({ type: 'array', items: ref('Lane') }) }, '400': ERR },
  },
  '/lanes/gaps': { summary: 'Nonce gaps detected on lanes.', responses: { '200': { description: 'Gaps.', content: json({ type: 'array', items: ref('NonceGap') }) }, '400': ERR } },
  '/lanes/latency': {
    summary: 'Sent→delivered latency of one lane per minute over the last `buckets` minutes (minutes without deliveries omitted).',
    responses: { '200': { description: 'Buckets, oldest first.', content: json({ type: 'array', items: ref('LatencyBucket') }) }, '400': ERR },
  },
  '/': { summary: 'Redirects to /explorer.', responses: { '302': { description: 'Redirect.' } } },
  '/explorer': { summary: 'The explorer web page (HTML).', responses: { '200': { description: 'The page.', content: { 'text/html': { schema: str } } } } },
  '/explorer/': { summary: 'Redirects to /explorer.', responses: { '301': { description: 'Redirect.' } } },
  '/explorer/app.js': { summary: 'The explorer page script (ES module).', responses: { '200': { description: 'JavaScript.', content: { 'text/javascript': { schema: str } } } } },
  '/explorer/style.css': { summary: 'The explorer page style sheet.', responses: { '200': { description: 'CSS.', content: { 'text/css': { schema: str } } } } },
  '/docs': { summary: 'This OpenAPI document.', responses: { '200': { description: 'OpenAPI 3.1 JSON.', content: json({ type: 'object' }) } } },
};

const PARAM_DESCRIPTIONS: Record<string, string> = { id: 'Message id: 0x and 64 hex digits (keccak256 of the encoded message).' };

const message = {
  type: 'object',
  properties: {
    id: str,
    encoded: str,
    message: { type: 'object', description: 'The decoded message; uint64 fields as decimal strings.' },
    srcChain: str,
    dstChain: str,
    sender: str,
    receiver: str,
    nonce: str,
    status: { type: 'string', enum: [...MESSAGE_STATUSES] },
    reason: strOrNull,
    srcTxHash: strOrNull,
    srcHeight: strOrNull,
    dstTxHash: strOrNull,
    batchNo: strOrNull,
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
};

const transitionBase = {
  seq: str,
  messageId: str,
  status: { type: 'string', enum: [...MESSAGE_STATUSES] },
  at: { type: 'string', format: 'date-time' },
  chain: strOrNull,
  height: strOrNull,
  txHash: strOrNull,
  reason: strOrNull,
};

const COMPONENTS = {
  schemas: {
    Error: {
      type: 'object',
      required: ['error'],
      properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: str, message: str, field: str } } },
    },
    Message: message,
    Transition: { type: 'object', properties: { ...transitionBase, proof: { description: 'The evidence stored for this step (heights, roots, signatures, hashes).' } } },
    MessageDetail: {
      allOf: [
        ref('Message'),
        {
          type: 'object',
          properties: {
            timeline: { type: 'array', items: ref('Transition') },
            waiting: { type: 'string', enum: ['lane_fee_below_gas_price'], description: 'Present while an `attested` message waits without a new status: its lane fee no longer covers the destination gas price, and the relayer holds it until governance raises the fee or the price falls.' },
          },
        },
      ],
    },
    TransitionEvent: {
      type: 'object',
      properties: { ...transitionBase, srcChain: str, dstChain: str, sender: str, receiver: str, nonce: str },
    },
    Chain: {
      type: 'object',
      properties: {
        chainId: str,
        family: str,
        genesisHash: str,
        port: str,
        lightClient: str,
        trustRoot: str,
        finality: { type: 'object' },
        endpoints: { type: 'array', items: str },
        status: str,
        updatedAt: { type: 'string', format: 'date-time' },
      },
    },
    Health: {
      type: 'object',
      properties: {
        ok: { type: 'boolean' },
        governance: { type: ['object', 'null'] },
        chains: {
          type: 'array',
          items: { type: 'object', properties: { chainId: str, head: strOrNull, finalized: strOrNull, checkpoint: strOrNull, lag: strOrNull, status: str } },
        },
        queues: { type: 'object', additionalProperties: { type: 'object', properties: { waiting: { type: 'integer' }, delayed: { type: 'integer' }, active: { type: 'integer' }, dead: { type: 'integer' } } } },
      },
    },
    Lane: {
      type: 'object',
      properties: {
        srcChain: str,
        dstChain: str,
        counts: { type: 'object', additionalProperties: { type: 'integer' } },
        total: { type: 'integer' },
        latencyMs: {
          oneOf: [{ type: 'null' }, { type: 'object', properties: { p50: { type: 'number' }, p95: { type: 'number' }, p99: { type: 'number' }, max: { type: 'number' } } }],
        },
        lastNonce: strOrNull,
        gaps: { type: 'integer' },
      },
    },
    NonceGap: {
      type: 'object',
      properties: { srcChain: str, srcPort: str, dstChain: str, expected: str, seen: str, detectedAt: { type: 'string', format: 'date-time' } },
    },
    RegistryEvent: {
      type: 'object',
      properties: {
        seq: str,
        contract: str,
        kind: str,
        subject: str,
        status: strOrNull,
        data: { type: ['object', 'null'] },
        blockNumber: str,
        blockTime: { type: 'string', format: 'date-time' },
        txHash: str,
        logIndex: { type: 'integer' },
      },
    },
    LatencyBucket: {
      type: 'object',
      properties: { t: { type: 'string', format: 'date-time' }, count: { type: 'integer' }, p50: { type: 'number' }, p95: { type: 'number' } },
    },
  },
};

/** `/messages/:id` → `/messages/{id}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(schema: unknown, where: 'query' | 'path'): unknown[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const s = schema as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, prop]) => {
    const { description, ...rest } = prop;
    return {
      name,
      in: where,
      required: where === 'path' || (s.required ?? []).includes(name),
      description: description ?? PARAM_DESCRIPTIONS[name],
      schema: rest,
    };
  });
}

/** What a plugin adds to the document: described paths (by method) and component schemas. */
export interface ApiDocs {
  paths: Record<string, Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE', Described>>>;
  schemas?: Record<string, unknown>;
}

export function buildOpenApi(routes: readonly RouteInfo[], info: { version: string }, extra: readonly ApiDocs[] = []): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const described = (method: string, path: string): Described | undefined => {
    if (method === 'GET' && ROUTES[path]) return ROUTES[path];
    for (const e of extra) {
      const d = e.paths[path]?.[method as 'GET'];
      if (d) return d;
    }
    return undefined;
  };
  for (const r of routes) {
    if (!['GET', 'POST', 'PUT', 'DELETE'].includes(r.method)) continue;
    const path = openApiPath(r.url);
    const d = described(r.method, path) ?? { summary: `${r.method} ${path}`, responses: { '200': { description: 'OK' } } };
    const params = [...parameters(r.params, 'path'), ...parameters(r.querystring, 'query')];
    if (path === '/messages/stream') {
      params.push({ name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this transition seq.', schema: { type: 'string', pattern: '^[0-9]{1,19}$' } });
    }
    const op = { summary: d.summary, ...(d.description ? { description: d.description } : {}), parameters: params, ...(d.requestBody ? { requestBody: d.requestBody } : {}), responses: d.responses };
    paths[path] = { ...(paths[path] ?? {}), [r.method.toLowerCase()]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Qiao hub API',
      version: info.version,
      description: 'The message index of a Qiao hub: every message on every chain, its status timeline and the proofs behind each step. Errors are `{error:{code,message,field?}}`.',
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    components: { schemas: { ...COMPONENTS.schemas, ...Object.assign({}, ...extra.map((e) => e.schemas ?? {})) } },
  };
}
