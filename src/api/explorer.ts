import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { QiaoError, ValidationError } from '../errors.ts';

export interface ExplorerOptions {
  /** Folder holding index.html, app.js and style.css; default: src/api/explorer next to this file. */
  assetsDir?: string;
}

// A fixed list, not a folder listing: nothing else under the folder is ever
// served, so no request path can reach a file by traversal.
const ASSETS = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
} as const;
type AssetName = keyof typeof ASSETS;

// The page renders data that comes from member chains (reasons, proofs): the
// policy keeps any script out but our own module, even if a value slipped into markup.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('./explorer/', import.meta.url));

/**
 * Serves the explorer page at GET /explorer (GET / redirects there). Routes are
 * added before the first await, so the function works both called directly on
 * an app that is not ready yet and as a plugin through `app.register`; a second
 * registration on the same app is a no-op, so the API builder and a caller
 * (a test) may both register it.
 */
export async function registerExplorer(app: FastifyInstance, opts: ExplorerOptions = {}): Promise<void> {
  const { assetsDir = DEFAULT_ASSETS_DIR } = opts ?? {};
  if (typeof assetsDir !== 'string' || assetsDir.length === 0) throw new ValidationError('assetsDir', 'must be a folder path');
  if (app.hasRoute({ method: 'GET', url: '/explorer' })) return;

  // Read once per app; a failed read is not cached, so a file put back is served again.
  const cache = new Map<AssetName, Promise<Buffer>>();
  const load = (name: AssetName): Promise<Buffer> => {
    let p = cache.get(name);
    if (!p) {
      p = readFile(join(assetsDir, name)).catch((cause: unknown) => {
        cache.delete(name);
        throw new QiaoError('explorer_asset_missing', `explorer asset ${name} cannot be read`, { cause, data: { name } });
      });
      cache.set(name, p);
    }
    return p;
  };

  const send = async (reply: FastifyReply, name: AssetName) => {
    const body = await load(name);
    void reply
      .header('content-type', ASSETS[name])
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    if (name === 'index.html') void reply.header('content-security-policy', CSP);
    return reply.send(body);
  };

  app.get('/', async (_req, reply) => reply.redirect('/explorer', 302));
  // One canonical address for the page, so bookmarks and shared links agree.
  app.get('/explorer/', async (_req, reply) => reply.redirect('/explorer', 301));
  app.get('/explorer', async (_req, reply) => send(reply, 'index.html'));
  app.get('/explorer/app.js', async (_req, reply) => send(reply, 'app.js'));
  app.get('/explorer/style.css', async (_req, reply) => send(reply, 'style.css'));
}
