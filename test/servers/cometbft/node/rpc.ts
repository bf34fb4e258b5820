import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256 } from '@noble/hashes/sha2.js';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Block, Chain } from './chain.ts';
import type { BlockId, Commit, CommitSig, Header } from './consensus.ts';
import { B64, blockIdJson, blockJson, commitJson, eventsJson, HEX, headerJson, pubKeyJson, txJson, txResultJson, validatorJson } from './json.ts';
import { matches, parseQuery, QuerySyntaxError, type Condition } from './query.ts';
import { rfc3339 } from './proto.ts';

export const COMET_VERSION = '0.38.17';

/** Go's zero time.Time, which CometBFT serves as an absent vote's timestamp */
const ZERO_TIME = { seconds: -62135596800n, nanos: 0 };

/** What one endpoint serves wrongly (tests of the relayer's light client). */
export class Faults {
  /** height -> index of the commit signature to corrupt, or 'all' */
  readonly corruptSignatures = new Map<bigint, number | 'all'>();
  /** height -> indexes of validators whose precommit is served as absent (BLOCK_ID_FLAG_ABSENT) */
  readonly absentSignatures = new Map<bigint, number[]>();
  /** height -> a different header (and the block id / commit served with it) */
  readonly forged = new Map<bigint, { header: Header; blockId: BlockId; commit: Commit }>();
}

class RpcError extends Error {
  constructor(readonly code: number, message: string, readonly data: string) {
    super(message);
  }
}

const internal = (data: string): RpcError => new RpcError(-32603, 'Internal error', data);
const invalidParams = (data: string): RpcError => new RpcError(-32602, 'Invalid params', data);

type Params = Record<string, unknown>;

function int(p: Params, name: string): bigint | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' || (typeof v === 'string' && /^-?\d+$/.test(v.replace(/^"|"$/g, '')))) return BigInt(String(v).replace(/^"|"$/g, ''));
  throw invalidParams(`${name}: not an integer`);
}

function str(p: Params, name: string): string | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidParams(`${name}: not a string`);
  return v.replace(/^"(.*)"$/, '$1');
}

/**
 * []byte params: base64 in JSON-RPC bodies (CometBFT's JSON for []byte), 0x-hex in URI requests.
 * A 32-byte hash is also accepted as bare or 0x hex anywhere (its base64 form is 44 characters, so
 * the two cannot be confused); a tx in a JSON-RPC body is base64 only.
 */
function bytes(p: Params, name: string, uri: boolean, { hexData = false, hash = false } = {}): Uint8Array {
  const s = str(p, name) ?? '';
  if (uri || hash || hexData) {
    if (/^0x[0-9a-fA-F]*$/.test(s)) return Buffer.from(s.slice(2), 'hex');
    if ((hexData || (hash && s.length === 64)) && /^[0-9a-fA-F]*$/.test(s)) return Buffer.from(s, 'hex');
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw invalidParams(`${name}: not base64`);
  return Buffer.from(s, 'base64');
}

interface Subscription {
  id: unknown;
  query: string;
  conds: Condition[];
}

/** One CometBFT RPC endpoint (HTTP JSON-RPC + URI GET + /websocket) over a chain, with its own faults. */
export class RpcServer {
  readonly faults = new Faults();
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly subs = new Map<WebSocket, Subscription[]>();
  private readonly unlisten: () => void;
  private readonly nodeId: string;

  constructor(private readonly chain: Chain, private readonly opts: { broadcastCommitTimeoutMs?: number } = {}) {
    this.nodeId = Buffer.from(sha256(new TextEncoder().encode(`${chain.chainId}/node/${Math.random()}`)).slice(0, 20)).toString('hex');
    this.http = createServer((req, res) => void this.onHttp(req, res));
    // CometBFT serves /websocket; cosmjs' WebsocketClient appends it to whatever URL it is given
    this.wss = new WebSocketServer({ noServer: true });
    this.http.on('upgrade', (req, socket, head) => {
      if (!new URL(req.url ?? '/', 'http://x').pathname.endsWith('/websocket')) return socket.destroy();
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onWs(ws));
    });
    this.unlisten = chain.onBlock((b) => this.publish(b));
  }

  async listen(port = 0): Promise<{ url: string; wsUrl: string }> {
    await new Promise<void>((resolve) => this.http.listen(port, '127.0.0.1', resolve));
    const { port: p } = this.http.address() as AddressInfo;
    return { url: `http://127.0.0.1:${p}`, wsUrl: `ws://127.0.0.1:${p}/websocket` };
  }

  async close(): Promise<void> {
    this.unlisten();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---- transport -------------------------------------------------------------

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method === 'GET') {
        const u = new URL(req.url ?? '/', 'http://x');
        const method = u.pathname.replace(/^\//, '');
        if (!method) return reply(200, { jsonrpc: '2.0', id: -1, result: { methods: 'status block commit validators ...' } });
        const params = Object.fromEntries(u.searchParams.entries());
        return reply(200, await this.call({ jsonrpc: '2.0', id: -1, method, params }, true));
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(200, { jsonrpc: '2.0', id: -1, error: { code: -32700, message: 'Parse error', data: 'invalid JSON' } });
      }
      if (Array.isArray(body)) return reply(200, await Promise.all(body.map((r) => this.call(r, false))));
      return reply(200, await this.call(body, false));
    } catch (e) {
      reply(500, { jsonrpc: '2.0', id: -1, error: { code: -32603, message: 'Internal error', data: String(e) } });
    }
  }

  private onWs(ws: WebSocket): void {
    this.subs.set(ws, []);
    ws.on('close', () => this.subs.delete(ws));
    ws.on('message', (raw) => {
      void (async () => {
        let req: { id?: unknown; method?: string; params?: Params };
        try {
          req = JSON.parse(String(raw)) as typeof req;
        } catch {
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: -1, error: { code: -32700, message: 'Parse error', data: 'invalid JSON' } }));
          return;
        }
        const params = req.params ?? {};
        try {
          if (req.method === 'subscribe') {
            const query = str(params, 'query') ?? '';
            const conds = parseQuery(query);
            this.subs.get(ws)?.push({ id: req.id, query, conds });
            ws.send(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: {} }));
            return;
          }
          if (req.method === 'unsubscribe' || req.method === 'unsubscribe_all') {
            const q = str(params, 'query');
            this.subs.set(ws, req.method === 'unsubscribe_all' ? [] : (this.subs.get(ws) ?? []).filter((s) => s.query !== q));
            ws.send(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: {} }));
            return;
          }
        } catch (e) {
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: req.id, error: { code: -32602, message: 'Invalid params', data: String((e as Error).message) } }));
          return;
        }
        ws.send(JSON.stringify(await this.call(req, false)));
      })();
    });
  }

  private publish(b: Block): void {
    const height = b.header.height.toString();
    for (const [ws, subs] of this.subs) {
      for (const s of subs) {
        const ev = s.conds.find((c) => c.key === 'tm.event')?.value;
        const send = (data: unknown, events: Record<string, string[]>): void => {
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: s.id, result: { query: s.query, data, events } }));
        };
        if (ev === 'NewBlock' || ev === 'NewBlockHeader') {
          const attrs = new Map<string, string[]>([['tm.event', [ev]], ['block.height', [height]]]);
          for (const e of b.finalizeEvents) for (const a of e.attributes) attrs.set(`${e.type}.${a.key}`, [...(attrs.get(`${e.type}.${a.key}`) ?? []), a.value]);
          if (!matches(s.conds, attrs)) continue;
          const events = Object.fromEntries(attrs);
          if (ev === 'NewBlock') {
            send(
              {
                type: 'tendermint/event/NewBlock',
                value: {
                  block: blockJson(b),
                  block_id: blockIdJson(b.blockId),
                  result_finalize_block: {
                    events: eventsJson(b.finalizeEvents),
                    tx_results: b.results.map(txResultJson),
                    validator_updates: [],
                    app_hash: B64(b.appHashAfter),
                  },
                },
              },
              events,
            );
          } else {
            send({ type: 'tendermint/event/NewBlockHeader', value: { header: headerJson(b.header) } }, events);
          }
        } else if (ev === 'Tx') {
          b.txs.forEach((tx, index) => {
            const attrs = this.txAttrs(b, index);
            attrs.set('tm.event', ['Tx']);
            if (!matches(s.conds, attrs)) return;
            send(
              { type: 'tendermint/event/Tx', value: { TxResult: { height, index, tx: B64(tx), result: txResultJson(b.results[index]!) } } },
              Object.fromEntries(attrs),
            );
          });
        }
      }
    }
  }

  private async call(req: unknown, uri: boolean): Promise<unknown> {
    const r = req as { id?: unknown; method?: unknown; params?: unknown };
    const id = r.id ?? -1;
    try {
      if (typeof r.method !== 'string') throw new RpcError(-32600, 'Invalid Request', 'method missing');
      const params = (r.params && typeof r.params === 'object' && !Array.isArray(r.params) ? r.params : {}) as Params;
      return { jsonrpc: '2.0', id, result: await this.dispatch(r.method, params, uri) };
    } catch (e) {
      const err = e instanceof RpcError ? e : e instanceof QuerySyntaxError ? invalidParams(e.message) : internal(String((e as Error).message ?? e));
      return { jsonrpc: '2.0', id, error: { code: err.code, message: err.message, data: err.data } };
    }
  }

  // ---- methods ----------------------------------------------------------------

  /** `ahead`: the validator set of latest+1 is already known (next_validators), as CometBFT serves it */
  private heightParam(p: Params, ahead = 0n): bigint {
    const latest = this.chain.height() + ahead;
    const h = int(p, 'height') ?? latest;
    if (h <= 0n) throw internal(`height must be greater than 0, but got ${h}`);
    if (h > latest) throw internal(`height ${h} must be less than or equal to the current blockchain height ${latest}`);
    return h;
  }

  private servedHeader(b: Block): { header: Header; blockId: BlockId; commit: Commit } {
    const f = this.faults.forged.get(b.header.height);
    const base = f ?? { header: b.header, blockId: b.blockId, commit: b.commit };
    const which = this.faults.corruptSignatures.get(b.header.height);
    const absent = this.faults.absentSignatures.get(b.header.height) ?? [];
    if (which === undefined && absent.length === 0) return base;
    const signatures = base.commit.signatures.map((s, i): CommitSig => {
      if (absent.includes(i)) return { flag: 1, address: new Uint8Array(0), timestamp: ZERO_TIME, signature: new Uint8Array(0) };
      if (which === undefined || (which !== 'all' && which !== i)) return s;
      const sig = Uint8Array.from(s.signature);
      sig[0] = sig[0]! ^ 0xff;
      return { ...s, signature: sig };
    });
    return { ...base, commit: { ...base.commit, signatures } };
  }

  private txAttrs(b: Block, index: number): Map<string, string[]> {
    const attrs = new Map<string, string[]>([
      ['tx.hash', [HEX(sha256(b.txs[index]!))]],
      ['tx.height', [b.header.height.toString()]],
    ]);
    for (const e of b.results[index]!.events) {
      for (const a of e.attributes) {
        const k = `${e.type}.${a.key}`;
        attrs.set(k, [...(attrs.get(k) ?? []), a.value]);
      }
    }
    return attrs;
  }

  private block(h: bigint): Block {
    const b = this.chain.block(h);
    if (!b) throw internal(`height ${h} is not available`);
    return b;
  }

  private async dispatch(method: string, p: Params, uri: boolean): Promise<unknown> {
    const chain = this.chain;
    switch (method) {
      case 'health':
        return {};
      case 'status': {
        const latest = chain.latest()!;
        const first = this.block(1n);
        const v = chain.validators[0]!;
        return {
          node_info: {
            protocol_version: { p2p: '8', block: '11', app: '0' },
            id: this.nodeId,
            listen_addr: 'tcp://0.0.0.0:26656',
            network: chain.chainId,
            version: COMET_VERSION,
            channels: '40202122233038606100',
            moniker: 'qiao-test-node',
            other: { tx_index: 'on', rpc_address: 'tcp://127.0.0.1:26657' },
          },
          sync_info: {
            latest_block_hash: HEX(latest.blockId.hash),
            latest_app_hash: HEX(latest.header.appHash),
            latest_block_height: latest.header.height.toString(),
            latest_block_time: rfc3339(latest.time),
            earliest_block_hash: HEX(first.blockId.hash),
            earliest_app_hash: HEX(first.header.appHash),
            earliest_block_height: '1',
            earliest_block_time: rfc3339(first.time),
            catching_up: false,
          },
          validator_info: { address: HEX(v.address), pub_key: pubKeyJson(v.pubKey), voting_power: v.power.toString() },
        };
      }
      case 'abci_info': {
        const latest = chain.latest()!;
        return {
          response: {
            data: 'qiao-cosmos-model',
            version: '0.50.0',
            app_version: '0',
            last_block_height: latest.header.height.toString(),
            last_block_app_hash: B64(latest.appHashAfter),
          },
        };
      }
      case 'genesis':
        return {
          genesis: {
            genesis_time: rfc3339(chain.genesisTime),
            chain_id: chain.chainId,
            initial_height: '1',
            consensus_params: {
              block: { max_bytes: '22020096', max_gas: '-1' },
              evidence: { max_age_num_blocks: '100000', max_age_duration: '172800000000000', max_bytes: '1048576' },
              validator: { pub_key_types: ['ed25519'] },
              version: { app: '0' },
              abci: { vote_extensions_enable_height: '0' },
            },
            validators: chain.validators.map((v, i) => ({ address: HEX(v.address), pub_key: pubKeyJson(v.pubKey), power: v.power.toString(), name: `validator-${i}` })),
            app_hash: '',
            app_state: { accounts: chain.opts.accounts },
          },
        };
      case 'block': {
        const b = this.block(this.heightParam(p));
        const s = this.servedHeader(b);
        return { block_id: blockIdJson(s.blockId), block: blockJson(b, s.header) };
      }
      case 'header': {
        const b = this.block(this.heightParam(p));
        return { header: headerJson(this.servedHeader(b).header) };
      }
      case 'block_by_hash': {
        const want = HEX(bytes(p, 'hash', uri, { hash: true }));
        for (let h = chain.height(); h >= 1n; h--) {
          const b = this.block(h);
          if (HEX(b.blockId.hash) === want) return { block_id: blockIdJson(b.blockId), block: blockJson(b) };
        }
        return { block_id: blockIdJson(null), block: null };
      }
      case 'blockchain': {
        const max = int(p, 'maxHeight') ?? chain.height();
        const min = int(p, 'minHeight') ?? (max > 20n ? max - 19n : 1n);
        const metas = [];
        for (let h = max; h >= min && h >= 1n; h--) {
          const b = this.block(h);
          metas.push({ block_id: blockIdJson(b.blockId), block_size: '1000', header: headerJson(b.header), num_txs: String(b.txs.length) });
        }
        return { last_height: chain.height().toString(), block_metas: metas };
      }
      case 'block_results': {
        const b = this.block(this.heightParam(p));
        return {
          height: b.header.height.toString(),
          txs_results: b.results.length ? b.results.map(txResultJson) : null,
          finalize_block_events: eventsJson(b.finalizeEvents),
          validator_updates: [],
          consensus_param_updates: null,
          app_hash: B64(b.appHashAfter),
        };
      }
      case 'commit': {
        const h = this.heightParam(p);
        const s = this.servedHeader(this.block(h));
        return { signed_header: { header: headerJson(s.header), commit: commitJson(s.commit) }, canonical: h < chain.height() };
      }
      case 'validators': {
        const h = this.heightParam(p, 1n);
        const perPage = Math.min(Math.max(Number(int(p, 'per_page') ?? 30n), 1), 100);
        const total = chain.validators.length;
        const pages = Math.max(1, Math.ceil(total / perPage));
        const page = Number(int(p, 'page') ?? 1n);
        if (page < 1 || page > pages) throw internal(`page should be within [1, ${pages}] range, given ${page}`);
        const vals = chain.validators.slice((page - 1) * perPage, page * perPage);
        return { block_height: h.toString(), validators: vals.map(validatorJson), count: String(vals.length), total: String(total) };
      }
      case 'abci_query': {
        const path = str(p, 'path') ?? '';
        const data = bytes(p, 'data', uri, { hexData: true });
        const height = int(p, 'height') ?? 0n;
        const prove = p.prove === true || p.prove === 'true';
        const r = chain.query(path, data, height, prove);
        return {
          response: {
            code: r.code,
            log: r.log,
            info: '',
            index: '0',
            key: r.key.length ? B64(r.key) : null,
            value: r.value.length ? B64(r.value) : null,
            proofOps: r.proofOps ? { ops: r.proofOps.map((o) => ({ type: o.type, key: B64(o.key), data: B64(o.data) })) } : null,
            height: r.height.toString(),
            codespace: r.codespace,
          },
        };
      }
      case 'broadcast_tx_async':
      case 'broadcast_tx_sync': {
        const tx = bytes(p, 'tx', uri);
        const r = chain.checkTx(tx);
        return { code: r.code, data: '', log: r.log, codespace: r.codespace, hash: HEX(sha256(tx)) };
      }
      case 'broadcast_tx_commit': {
        const tx = bytes(p, 'tx', uri);
        const hash = sha256(tx);
        const check = chain.checkTx(tx);
        const checkJson = { ...(txResultJson(check) as object), events: [] };
        if (check.code !== 0) {
          return { check_tx: checkJson, tx_result: { code: 0, data: null, log: '', info: '', gas_wanted: '0', gas_used: '0', events: [], codespace: '' }, hash: HEX(hash), height: '0' };
        }
        const loc = await this.waitForTx(hash, this.opts.broadcastCommitTimeoutMs ?? 10_000);
        const b = this.block(loc.height);
        return { check_tx: checkJson, tx_result: txResultJson(b.results[loc.index]!), hash: HEX(hash), height: loc.height.toString() };
      }
      case 'tx': {
        const hash = bytes(p, 'hash', uri, { hash: true });
        const loc = chain.txLocation(hash);
        if (!loc) throw internal(`tx (${HEX(hash)}) not found`);
        return txJson(this.block(loc.height), loc.index);
      }
      case 'tx_search': {
        const conds = parseQuery(str(p, 'query') ?? '');
        const found: { b: Block; i: number }[] = [];
        for (let h = 1n; h <= chain.height(); h++) {
          const b = this.block(h);
          for (let i = 0; i < b.txs.length; i++) if (matches(conds, this.txAttrs(b, i))) found.push({ b, i });
        }
        if ((str(p, 'order_by') ?? 'asc') === 'desc') found.reverse();
        const perPage = Math.min(Math.max(Number(int(p, 'per_page') ?? 30n), 1), 100);
        const page = Number(int(p, 'page') ?? 1n);
        const pages = Math.max(1, Math.ceil(found.length / perPage));
        if (page < 1 || page > pages) throw internal(`page should be within [1, ${pages}] range, given ${page}`);
        return {
          txs: found.slice((page - 1) * perPage, page * perPage).map(({ b, i }) => txJson(b, i)),
          total_count: String(found.length),
        };
      }
      case 'num_unconfirmed_txs':
      case 'unconfirmed_txs':
        return { n_txs: '0', total: '0', total_bytes: '0', txs: [] };
      default:
        throw new RpcError(-32601, 'Method not found', method);
    }
  }

  private waitForTx(hash: Uint8Array, timeoutMs: number): Promise<{ height: bigint; index: number }> {
    return new Promise((resolve, reject) => {
      const done = (): boolean => {
        const loc = this.chain.txLocation(hash);
        if (!loc) return false;
        clearTimeout(timer);
        stop();
        resolve(loc);
        return true;
      };
      const stop = this.chain.onBlock(() => void done());
      const timer = setTimeout(() => {
        stop();
        reject(internal('timed out waiting for tx to be included in a block'));
      }, timeoutMs);
      done();
    });
  }
}
