/** The Beacon API routes (JSON only) and the /rpc execution proxy, on node:http. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { FAR_FUTURE_EPOCH, FORKS, forkEpoch, hex } from './config.ts';
import type { BeaconBlock, BeaconChain, Served } from './chain.ts';
import { DOMAIN_SYNC_COMMITTEE } from './committee.ts';
import { proxyRpc } from './rpc-proxy.ts';
import { BeaconBlockHeader } from './ssz.ts';

/** MAX_REQUEST_LIGHT_CLIENT_UPDATES (p2p-interface). */
const MAX_UPDATES = 128;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

type Reply = { status: number; body: unknown; version?: string };

export class BeaconHttp {
  private readonly http: Server;

  constructor(private readonly chain: BeaconChain, private readonly upstream: string, private readonly log: Logger) {
    this.http = createServer((req, res) => void this.onRequest(req, res));
  }

  async listen(port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (r: Reply): void => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (r.version) headers['eth-consensus-version'] = r.version;
      res.writeHead(r.status, headers);
      res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
    };
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/rpc') {
        if (req.method !== 'POST') throw new HttpError(405, 'POST JSON-RPC requests to /rpc');
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const f = this.chain.finalized();
        const r = await proxyRpc(this.upstream, Buffer.concat(chunks).toString('utf8'), f ? `0x${f.executionNumber.toString(16)}` : null);
        return send(r);
      }
      if (req.method !== 'GET') throw new HttpError(405, `${req.method} is not served`);
      send(this.route(url));
    } catch (e) {
      if (e instanceof HttpError) return send({ status: e.status, body: { code: e.status, message: e.message } });
      this.log.warn({ err: e, url: req.url }, 'beacon facade: request failed');
      send({ status: 500, body: { code: 500, message: e instanceof Error ? e.message : String(e) } });
    }
  }

  private route(url: URL): Reply {
    const p = url.pathname.replace(/\/+$/, '');
    const c = this.chain;
    const spec = c.spec;
    if (p === '/eth/v1/beacon/genesis') {
      return ok({ genesis_time: String(spec.genesisTime), genesis_validators_root: hex(spec.genesisValidatorsRoot), genesis_fork_version: hex(spec.versions.phase0) });
    }
    if (p === '/eth/v1/config/spec') return ok(this.configSpec());
    if (p === '/eth/v1/node/version') return ok({ version: 'qiao-beacon-model/0.1' });
    let m = /^\/eth\/v1\/beacon\/headers\/([^/]+)$/.exec(p);
    if (m) {
      const b = this.blockById(m[1]!);
      if (!b) throw new HttpError(404, 'NOT_FOUND: beacon block');
      const fin = c.finalized();
      return {
        status: 200,
        body: {
          execution_optimistic: false,
          finalized: fin !== null && b.slot <= fin.slot,
          data: { root: hex(b.root), canonical: true, header: { message: BeaconBlockHeader.toJson(b.header.beacon), signature: hex(c.proposerSignature(b)) } },
        },
      };
    }
    m = /^\/eth\/v1\/beacon\/light_client\/bootstrap\/([^/]+)$/.exec(p);
    if (m) {
      if (!/^0x[0-9a-fA-F]{64}$/.test(m[1]!)) throw new HttpError(400, `Invalid block root: ${m[1]}`);
      const b = c.bootstrap(m[1]!);
      if (!b) throw new HttpError(404, 'LC bootstrap unavailable');
      return served(b, c.types.bootstrap);
    }
    if (p === '/eth/v1/beacon/light_client/updates') {
      const start = uintParam(url, 'start_period');
      const count = uintParam(url, 'count');
      const list = c.updates(start, Math.min(count, MAX_UPDATES)).map((u) => ({ version: u.version, data: c.types.update.toJson(u.value) }));
      return { status: 200, body: list };
    }
    if (p === '/eth/v1/beacon/light_client/finality_update') {
      const u = c.finalityUpdate();
      if (!u) throw new HttpError(404, 'No LightClientFinalityUpdate is available');
      return served(u, c.types.finalityUpdate);
    }
    if (p === '/eth/v1/beacon/light_client/optimistic_update') {
      const u = c.optimisticUpdate();
      if (!u) throw new HttpError(404, 'No LightClientOptimisticUpdate is available');
      return served(u, c.types.optimisticUpdate);
    }
    throw new HttpError(404, `Route ${p} not found`);
  }

  private blockById(id: string): BeaconBlock | null {
    const c = this.chain;
    if (id === 'head') return c.head();
    if (id === 'finalized') return c.finalized();
    if (id === 'genesis') return null;
    if (/^0x[0-9a-fA-F]{64}$/.test(id)) return c.byBlockRoot(id);
    if (/^\d+$/.test(id)) return c.atSlot(Number(id));
    throw new HttpError(400, `Invalid block ID: ${id}`);
  }

  private configSpec(): Record<string, string> {
    const spec = this.chain.spec;
    const out: Record<string, string> = {
      CONFIG_NAME: `qiao-model-${spec.preset.name}`,
      PRESET_BASE: spec.preset.name,
      SECONDS_PER_SLOT: String(spec.secondsPerSlot),
      SLOTS_PER_EPOCH: String(spec.preset.slotsPerEpoch),
      EPOCHS_PER_SYNC_COMMITTEE_PERIOD: String(spec.preset.epochsPerSyncCommitteePeriod),
      SYNC_COMMITTEE_SIZE: String(spec.preset.syncCommitteeSize),
      MIN_GENESIS_TIME: String(spec.genesisTime),
      GENESIS_FORK_VERSION: hex(spec.versions.phase0),
      DOMAIN_SYNC_COMMITTEE: hex(DOMAIN_SYNC_COMMITTEE),
      MAX_REQUEST_LIGHT_CLIENT_UPDATES: String(MAX_UPDATES),
    };
    for (const f of FORKS.slice(1)) {
      const e = forkEpoch(spec, f);
      out[`${f.toUpperCase()}_FORK_VERSION`] = hex(spec.versions[f]);
      out[`${f.toUpperCase()}_FORK_EPOCH`] = e === null ? FAR_FUTURE_EPOCH : String(e);
    }
    return out;
  }
}

function ok(data: unknown): Reply {
  return { status: 200, body: { data } };
}

function served<T>(s: Served<T>, type: { toJson(v: T): unknown }): Reply {
  return { status: 200, body: { version: s.version, data: type.toJson(s.value) }, version: s.version };
}

function uintParam(url: URL, name: string): number {
  const v = url.searchParams.get(name);
  if (v === null || !/^\d{1,15}$/.test(v)) throw new HttpError(400, `Invalid ${name}: expected an unsigned integer`);
  return Number(v);
}
