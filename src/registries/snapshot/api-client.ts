import { QiaoError, RpcError, ValidationError } from '../../errors.ts';
import type { committedSnapshotJson } from './routes.ts';
import { RegistryRecordNotFoundError, registryProofFromJson, type RegistryProof } from './proofs.ts';

export interface RegistryApiOptions {
  /** Per request, default 10 s. */
  timeoutMs?: number;
  /** Extra request headers, e.g. the caller's credentials for the audit log. */
  headers?: Record<string, string>;
  fetch?: typeof globalThis.fetch;
}

export type CommittedSnapshotView = ReturnType<typeof committedSnapshotJson>;

/** The DID's registry proof against the hub's latest committed snapshot. */
export async function fetchRegistryProof(api: string, did: string, opts: RegistryApiOptions & { purpose?: string; schema?: string } = {}): Promise<{ proof: RegistryProof; json: unknown }> {
  const q = new URLSearchParams();
  if (opts.purpose !== undefined) q.set('purpose', opts.purpose);
  if (opts.schema !== undefined) q.set('schema', opts.schema);
  const qs = q.size > 0 ? `?${q.toString()}` : '';
  const json = await get(api, `/registry/proofs/${encodeURIComponent(did)}${qs}`, opts);
  return { proof: registryProofFromJson(json), json };
}

export async function fetchLatestSnapshot(api: string, opts: RegistryApiOptions = {}): Promise<CommittedSnapshotView> {
  return (await get(api, '/registry/snapshot', opts)) as CommittedSnapshotView;
}

async function get(api: string, path: string, { timeoutMs = 10_000, headers = {}, fetch: fetchImpl = globalThis.fetch }: RegistryApiOptions): Promise<unknown> {
  const url = `${api.replace(/\/+$/, '')}${path}`;
  const route = path.split('?')[0]!;
  let res: Response;
  let text: string;
  try {
    res = await fetchImpl(url, { headers: { accept: 'application/json', ...headers }, signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (cause) {
    throw new RpcError(api, `GET ${route} failed`, { cause });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw new RpcError(api, `GET ${route} answered ${res.status} with a body that is not JSON`, { cause });
  }
  if (res.ok) return body;
  const e = (body as { error?: { code?: unknown; message?: unknown; field?: unknown } } | null)?.error;
  const message = typeof e?.message === 'string' ? e.message : `GET ${route} answered ${res.status}`;
  const field = typeof e?.field === 'string' ? e.field : undefined;
  if (res.status === 404 && field) throw new RegistryRecordNotFoundError(field, message);
  // The hub's messages already start with the field name.
  if (res.status === 400 && field) throw new ValidationError(field, message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message);
  if (res.status >= 500) throw new RpcError(api, `GET ${route} answered ${res.status}: ${message}`);
  throw new QiaoError('http_error', message, { data: { status: res.status, ...(field ? { field } : {}) } });
}
