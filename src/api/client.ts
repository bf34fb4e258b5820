import { NotReadyError, QiaoError, RpcError, ValidationError } from '../errors.ts';
import { asHex } from '../domain/hex.ts';
import type { ChainRow, LaneSummary, LatencyBucket, MessageFilter, MessageRow, NonceGap, Page, TransitionEvent, TransitionRow } from '../index/types.ts';
import type { Jsonified } from './json.ts';
import type { HealthReport } from './server.ts';

/** Wire forms of the index rows: bigints and Dates arrive as strings. */
export type MessageView = Jsonified<MessageRow>;
export type TransitionView = Jsonified<TransitionRow>;
export type MessageDetail = MessageView & { timeline: TransitionView[] };
export type ChainView = Jsonified<ChainRow>;
export type LaneView = Jsonified<LaneSummary>;
export type NonceGapView = Jsonified<NonceGap>;
export type LatencyBucketView = Jsonified<LatencyBucket>;
/** One `event: transition` of /messages/stream. */
export type TransitionEventView = Jsonified<TransitionEvent>;
/** The filters /messages/stream shares with /messages. */
export type StreamFilter = Pick<MessageFilter, 'chain' | 'srcChain' | 'dstChain' | 'lane' | 'status' | 'sender' | 'receiver' | 'account'>;

export interface ClientOptions {
  /** Per request, default 10 s. */
  timeoutMs?: number;
  /** For tests or a proxy-aware fetch. */
  fetch?: typeof globalThis.fetch;
}

const STREAM_KEYS = ['chain', 'srcChain', 'dstChain', 'lane', 'status', 'sender', 'receiver', 'account'] as const satisfies readonly (keyof MessageFilter)[];
const FILTER_KEYS = [...STREAM_KEYS, 'since', 'until', 'txHash', 'cursor', 'limit'] as const satisfies readonly (keyof MessageFilter)[];

function queryString(filter: MessageFilter, keys: readonly (keyof MessageFilter)[]): string {
  if (typeof filter !== 'object' || filter === null) throw new ValidationError('filter', 'must be an object');
  const q = new URLSearchParams();
  for (const key of keys) {
    const v = filter[key];
    if (v === undefined) continue;
    if (key === 'limit' && !Number.isInteger(v)) throw new ValidationError('limit', 'must be an integer');
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) throw new ValidationError(key, 'must be a valid Date');
      q.set(key, v.toISOString());
    } else {
      q.set(key, String(v));
    }
  }
  return q.size > 0 ? `?${q.toString()}` : '';
}

export async function listMessages(baseUrl: string, filter: MessageFilter = {}, opts: ClientOptions = {}): Promise<Page<MessageView>> {
  const qs = queryString(filter, FILTER_KEYS);
  const { body } = await request(baseUrl, `/messages${qs}`, opts);
  if (!isObject(body) || !Array.isArray(body.items) || !(body.nextCursor === null || typeof body.nextCursor === 'string')) {
    throw badResponse('/messages');
  }
  return { items: body.items as MessageView[], nextCursor: body.nextCursor };
}

/** The message with its timeline, or null when the hub does not know the id. */
export async function getMessage(baseUrl: string, id: string, opts: ClientOptions = {}): Promise<MessageDetail | null> {
  const hex = asHex(id, 'id', 32);
  const { status, body } = await request(baseUrl, `/messages/${hex}`, opts, [404]);
  if (status === 404) return null;
  if (!isObject(body) || typeof body.id !== 'string' || !Array.isArray(body.timeline)) throw badResponse('/messages/:id');
  return body as unknown as MessageDetail;
}

export async function listChains(baseUrl: string, opts: ClientOptions = {}): Promise<ChainView[]> {
  const { body } = await request(baseUrl, '/chains', opts);
  if (!Array.isArray(body)) throw badResponse('/chains');
  return body as ChainView[];
}

export async function listLanes(baseUrl: string, opts: ClientOptions = {}): Promise<LaneView[]> {
  const { body } = await request(baseUrl, '/lanes', opts);
  if (!Array.isArray(body)) throw badResponse('/lanes');
  return body as LaneView[];
}

export async function nonceGaps(baseUrl: string, opts: ClientOptions = {}): Promise<NonceGapView[]> {
  const { body } = await request(baseUrl, '/lanes/gaps', opts);
  if (!Array.isArray(body)) throw badResponse('/lanes/gaps');
  return body as NonceGapView[];
}

/** `lane` as `<srcChain>><dstChain>`. */
export async function laneLatency(baseUrl: string, lane: string, buckets = 60, opts: ClientOptions = {}): Promise<LatencyBucketView[]> {
  if (typeof lane !== 'string' || lane.length === 0) throw new ValidationError('lane', 'must be "<srcChain>><dstChain>"');
  const q = new URLSearchParams({ lane, buckets: String(buckets) });
  const { body } = await request(baseUrl, `/lanes/latency?${q.toString()}`, opts);
  if (!Array.isArray(body)) throw badResponse('/lanes/latency');
  return body as LatencyBucketView[];
}

export interface StreamOptions {
  /** Resume after this transition seq (sent as Last-Event-ID). */
  lastEventId?: string;
  /** Reconnect (resuming after the last event seen) when the stream drops; default true. */
  reconnect?: boolean;
  /** Wait before reconnecting, default 1 s. */
  retryMs?: number;
  fetch?: typeof globalThis.fetch;
  /** Called on each (re)connection, e.g. to tell a user the stream is live. */
  onOpen?: () => void;
}

/**
 * Follows /messages/stream, calling `onEvent` for each transition in seq order,
 * until `signal` aborts (then it resolves). A dropped connection is resumed from
 * the last event seen; a 4xx answer (a bad filter) rejects with its error.
 */
export async function streamTransitions(
  baseUrl: string,
  filter: StreamFilter,
  onEvent: (e: TransitionEventView) => void,
  signal: AbortSignal,
  { lastEventId, reconnect = true, retryMs = 1000, fetch: fetchImpl = globalThis.fetch, onOpen }: StreamOptions = {},
): Promise<void> {
  const url = joinUrl(baseUrl, `/messages/stream${queryString(filter, STREAM_KEYS)}`);
  let last = lastEventId;
  // The caller's own exception from onEvent ends the stream as is, never retried.
  const callerError: { err?: unknown; thrown: boolean } = { thrown: false };
  if (last !== undefined && !/^[0-9]{1,19}$/.test(last)) throw new ValidationError('lastEventId', 'must be a decimal transition seq');
  while (!signal.aborted) {
    try {
      const res = await fetchImpl(url, { headers: { accept: 'text/event-stream', ...(last === undefined ? {} : { 'last-event-id': last }) }, signal });
      if (!res.ok || res.body === null) {
        const text = await res.text().catch(() => '');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        const err = errorFromBody(res.status, body);
        if (err && !(err instanceof NotReadyError)) throw err;
        throw new RpcError(baseUrl, `GET /messages/stream answered ${res.status}`, { cause: err });
      }
      onOpen?.();
      await readEvents(res.body, (id, event, data) => {
        if (event !== 'transition') return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch (cause) {
          throw new QiaoError('bad_response', 'GET /messages/stream sent an event whose data is not JSON', { cause });
        }
        if (!isObject(parsed) || typeof parsed.seq !== 'string') throw new QiaoError('bad_response', 'GET /messages/stream sent an event without a seq');
        if (id !== undefined) last = id;
        try {
          onEvent(parsed as unknown as TransitionEventView);
        } catch (err) {
          callerError.err = err;
          callerError.thrown = true;
          throw err;
        }
      });
    } catch (err) {
      if (callerError.thrown) throw callerError.err;
      if (signal.aborted) return;
      // A rejected request (bad filter) will not get better by retrying.
      if (!(err instanceof RpcError) && err instanceof QiaoError) throw err;
      if (!reconnect) throw err instanceof RpcError ? err : new RpcError(baseUrl, 'GET /messages/stream failed', { cause: err });
    }
    if (signal.aborted) return;
    if (!reconnect) return;
    await abortableSleep(retryMs, signal);
  }
}

/** Parses an SSE byte stream (https://html.spec.whatwg.org/multipage/server-sent-events.html), dispatching each event. */
async function readEvents(body: ReadableStream<Uint8Array>, dispatch: (id: string | undefined, event: string, data: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buf = '';
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
        if (line === '') {
          if (data.length > 0) dispatch(id, event || 'message', data.join('\n'));
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\0')) id = value;
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The report whether healthy (200) or not (503); throws only when no report came back. */
export async function health(baseUrl: string, opts: ClientOptions = {}): Promise<HealthReport> {
  const { body } = await request(baseUrl, '/health', opts, [503]);
  if (!isObject(body) || typeof body.ok !== 'boolean' || !Array.isArray(body.chains) || !isObject(body.queues)) {
    // A 503 without a report (the health check itself failed) lands here via the error body.
    throw errorFromBody(503, body) ?? badResponse('/health');
  }
  return body as unknown as HealthReport;
}

async function request(
  baseUrl: string,
  path: string,
  { timeoutMs = 10_000, fetch: fetchImpl = globalThis.fetch }: ClientOptions,
  acceptStatus: readonly number[] = [],
): Promise<{ status: number; body: unknown }> {
  const url = joinUrl(baseUrl, path);
  let res: Response;
  let text: string;
  try {
    res = await fetchImpl(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (cause) {
    throw new RpcError(baseUrl, `GET ${stripQuery(path)} failed`, { cause });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw new RpcError(baseUrl, `GET ${stripQuery(path)} answered ${res.status} with a body that is not JSON`, { cause });
  }
  if (res.ok || acceptStatus.includes(res.status)) return { status: res.status, body };
  const err = errorFromBody(res.status, body);
  if (err) throw err;
  if (res.status >= 500) throw new RpcError(baseUrl, `GET ${stripQuery(path)} answered ${res.status}`);
  throw new QiaoError('http_error', `GET ${stripQuery(path)} answered ${res.status}`, { data: { status: res.status } });
}

/** 4xx error bodies become ValidationError (when they name a field) or QiaoError; 5xx stay retryable RpcErrors upstream. */
function errorFromBody(status: number, body: unknown): QiaoError | undefined {
  if (!isObject(body) || !isObject(body.error)) return undefined;
  const { code, message, field } = body.error;
  const msg = typeof message === 'string' ? message : `HTTP ${status}`;
  if (status >= 400 && status < 500 && typeof field === 'string' && field.length > 0) {
    // The server's message already starts with "field: "; ValidationError adds it again.
    return new ValidationError(field, msg.startsWith(`${field}: `) ? msg.slice(field.length + 2) : msg);
  }
  if (status >= 500 && status !== 503) return undefined;
  if (status === 503 && code === 'not_ready') return new NotReadyError(msg);
  return new QiaoError(typeof code === 'string' ? code : 'http_error', msg, { data: { status } });
}

function joinUrl(baseUrl: string, path: string): string {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch (cause) {
    throw new ValidationError('baseUrl', 'must be an absolute http(s) URL', { cause });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ValidationError('baseUrl', 'must be an http(s) URL');
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}

function stripQuery(path: string): string {
  const i = path.indexOf('?');
  return i < 0 ? path : path.slice(0, i);
}

function badResponse(route: string): QiaoError {
  return new QiaoError('bad_response', `GET ${route} answered with an unexpected body`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
