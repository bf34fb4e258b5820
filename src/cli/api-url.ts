import { join, resolve } from 'node:path';
import { loadState } from '../main/state.ts';

/** The API of the hub that owns the data folder, unless --api or QIAO_API says otherwise. */
export async function resolveApiUrl(opts: { api?: string; dataDir?: string }): Promise<string> {
  if (opts.api) return opts.api;
  if (process.env.QIAO_API) return process.env.QIAO_API;
  const dir = resolve(opts.dataDir ?? process.env.QIAO_DATA_DIR ?? '.qiao');
  const s = await loadState(join(dir, 'hub.json'));
  return s.apiUrl ?? 'http://127.0.0.1:7878';
}
