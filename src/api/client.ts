import { NotReadyError, QiaoError, RpcError, ValidationError } from '../errors.ts';
import { asHex } from '../domain/hex.ts';
import type { ChainRow, MessageFilter, MessageRow, Page, TransitionRow } from '../index/types.ts';
import type { Jsonified } from './json.ts';
import type { HealthReport } from './server.ts';

/** Wire forms of the index rows: bigints and Dates arrive as strings. */
export type MessageView = Jsonified<MessageRow>;
export type TransitionView = Jsonified<TransitionRow>;
export type MessageDetail = MessageView & { timeline: TransitionView[] };
export type ChainView = Jsonified<ChainRow>;

export interface ClientOptions {
  /** Per request, default 10 s. */
  timeoutMs?: number;
  /** For tests or a proxy-aware fetch. */
  fetch?: typeof globalThis.fetch;
}

const FILTER_KEYS = ['chain', 'srcChain', 'dstChain', 'status', 'sender', 'receiver', 'cursor', 'limit'] as const satisfies readonly (keyof MessageFilter)[];

export async function listMessages(baseUrl: string, filter: MessageFilter = {}, opts: ClientOptions = {}): Promise<Page<MessageView>> {
  const q = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const v = filter[key];
    if (v === undefined) continue;
    if (key === 'limit' && !Number.isInteger(v)) throw new ValidationError('limit', 'must be an integer');
    q.set(key, String(v));
  }
  const qs = q.size > 0 ? `?${q.toString()}` : '';
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
