import { WebSocketServer, type WebSocket } from 'ws';
import { compactToU8a, hexToU8a, isHex, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a, decodeAddress } from '@polkadot/util-crypto';
import type { Block, Chain, TxStatus } from './chain.ts';
import { InvalidTransaction } from './extrinsics.ts';
import { encodeJustification, u32le } from './grandpa.ts';
import { forgedParaHeadsTrie } from './parachain.ts';

/**
 * Substrate's JSON-RPC over WebSocket, in the shapes a real node returns
 * (sc-rpc): headers as JSON with hex numbers and SCALE digest logs, blocks
 * with `justifications: [[engineId, SCALE justification]]`, subscriptions as
 * `{method: '<pubsub name>', params: {subscription, result}}`.
 */
// QIAO_SUBSTRATE_RPC_TRACE=1 prints every request and reply (debugging a client against the server)
const TRACE = process.env['QIAO_SUBSTRATE_RPC_TRACE'] === '1';

export interface RpcContext {
  chain: Chain;
  chainName: string;
  /** a parachain node: no GRANDPA RPC (grandpa_* answer "Method not found", as a collator's do) */
  parachain?: boolean;
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: string,
  ) {
    super(message);
  }
}

type Json = unknown;
type Params = unknown[];

interface Sub {
  kind: 'newHead' | 'finalizedHead' | 'allHead' | 'runtimeVersion' | 'storage' | 'extrinsic' | 'justification';
  keys?: string[];
  tx?: string;
  lastSpec?: number;
}

const SUBSCRIBE: Record<string, Sub['kind']> = {
  chain_subscribeNewHead: 'newHead',
  chain_subscribeNewHeads: 'newHead',
  subscribe_newHead: 'newHead',
  chain_subscribeAllHeads: 'allHead',
  chain_subscribeFinalizedHeads: 'finalizedHead',
  chain_subscribeFinalisedHeads: 'finalizedHead',
  state_subscribeRuntimeVersion: 'runtimeVersion',
  chain_subscribeRuntimeVersion: 'runtimeVersion',
  state_subscribeStorage: 'storage',
  author_submitAndWatchExtrinsic: 'extrinsic',
  grandpa_subscribeJustifications: 'justification',
};

const UNSUBSCRIBE = [
  'chain_unsubscribeNewHead',
  'chain_unsubscribeNewHeads',
  'unsubscribe_newHead',
  'chain_unsubscribeAllHeads',
  'chain_unsubscribeFinalizedHeads',
  'chain_unsubscribeFinalisedHeads',
  'state_unsubscribeRuntimeVersion',
  'chain_unsubscribeRuntimeVersion',
  'state_unsubscribeStorage',
  'author_unwatchExtrinsic',
  'grandpa_unsubscribeJustifications',
];

const NOTIFY: Record<Sub['kind'], string> = {
  newHead: 'chain_newHead',
  allHead: 'chain_allHead',
  finalizedHead: 'chain_finalizedHead',
  runtimeVersion: 'state_runtimeVersion',
  storage: 'state_storage',
  extrinsic: 'author_extrinsicUpdate',
  justification: 'grandpa_justifications',
};

const PLAIN = [
  'rpc_methods',
  'system_chain',
  'system_name',
  'system_version',
  'system_properties',
  'system_health',
  'system_chainType',
  'system_accountNextIndex',
  'account_nextIndex',
  'chain_getBlockHash',
  'chain_getHead',
  'chain_getHeader',
  'chain_getBlock',
  'chain_getFinalizedHead',
  'chain_getFinalisedHead',
  'state_getRuntimeVersion',
  'chain_getRuntimeVersion',
  'state_getMetadata',
  'state_getStorage',
  'state_getStorageAt',
  'state_getStorageHash',
  'state_getStorageSize',
  'state_queryStorageAt',
  'state_getReadProof',
  'state_call',
  'state_callAt',
  'grandpa_proveFinality',
  'author_submitExtrinsic',
  'author_pendingExtrinsics',
];

export const RPC_METHODS = [...PLAIN, ...Object.keys(SUBSCRIBE), ...UNSUBSCRIBE].sort();

export function headerJson(b: Block): Json {
  return {
    parentHash: u8aToHex(b.parentHash),
    number: `0x${b.number.toString(16)}`,
    stateRoot: u8aToHex(b.stateRoot),
    extrinsicsRoot: u8aToHex(b.extrinsicsRoot),
    digest: { logs: b.digest.map((d) => u8aToHex(d)) },
  };
}

export class RpcServer {
  private readonly wss: WebSocketServer;
  private readonly subs = new Map<WebSocket, Map<string, Sub>>();
  private nextSub = 1;

  constructor(
    private readonly ctx: RpcContext,
    port: number,
  ) {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port });
    this.wss.on('connection', (ws) => {
      this.subs.set(ws, new Map());
      ws.on('message', (data) => this.onMessage(ws, data.toString()));
      ws.on('close', () => this.subs.delete(ws));
      ws.on('error', () => this.subs.delete(ws));
    });
    ctx.chain.listeners.add({
      imported: (b) => this.onImported(b),
      finalized: (b) => this.onFinalized(b),
      tx: (hash, status) => this.onTx(hash, status),
    });
  }

  async listening(): Promise<number> {
    if (!this.wss.address()) await new Promise<void>((res, rej) => this.wss.once('listening', res).once('error', rej));
    const a = this.wss.address();
    if (!a || typeof a === 'string') throw new Error('no port');
    return a.port;
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((res) => this.wss.close(() => res()));
  }

  private send(ws: WebSocket, msg: object): void {
    if (TRACE) console.log('substrate rpc >', JSON.stringify(msg).slice(0, 240));
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ jsonrpc: '2.0', ...msg }));
  }

  private notify(ws: WebSocket, id: string, sub: Sub, result: Json): void {
    this.send(ws, { method: NOTIFY[sub.kind], params: { subscription: id, result } });
  }

  private onMessage(ws: WebSocket, text: string): void {
    if (TRACE) console.log('substrate rpc <', text.slice(0, 240));
    let req: { id?: unknown; method?: unknown; params?: unknown };
    try {
      req = JSON.parse(text) as typeof req;
    } catch {
      this.send(ws, { id: null, error: { code: -32700, message: 'Parse error' } });
      return;
    }
    const id = req.id ?? null;
    const method = typeof req.method === 'string' ? req.method : '';
    const params = Array.isArray(req.params) ? req.params : req.params === undefined ? [] : [req.params];
    try {
      const subKind = SUBSCRIBE[method];
      if (subKind) {
        const subId = this.subscribe(ws, subKind, params);
        this.send(ws, { id, result: subId });
        this.afterSubscribe(ws, subId);
        return;
      }
      if (UNSUBSCRIBE.includes(method)) {
        this.send(ws, { id, result: this.subs.get(ws)?.delete(String(params[0])) ?? false });
        return;
      }
      this.send(ws, { id, result: this.call(method, params) ?? null });
    } catch (e) {
      if (e instanceof RpcError) this.send(ws, { id, error: { code: e.code, message: e.message, ...(e.data ? { data: e.data } : {}) } });
      else if (e instanceof InvalidTransaction) this.send(ws, { id, error: { code: e.code, message: e.short, data: e.data } });
      else this.send(ws, { id, error: { code: (e as { code?: number }).code ?? -32603, message: (e as Error).message } });
    }
  }

  private at(param: unknown): Block {
    const { chain } = this.ctx;
    if (param === undefined || param === null) return chain.head;
    if (typeof param !== 'string' || !isHex(param, 256)) throw new RpcError(-32602, 'Invalid params: block hash must be 32-byte hex');
    const b = chain.block(param);
    if (!b) throw new RpcError(4003, `Client error: UnknownBlock: Header was not found in the database: ${param}`);
    return b;
  }

  private runtimeVersion(b: Block): Json {
    const rt = this.ctx.chain.runtime;
    return {
      specName: rt.specName,
      implName: rt.implName,
      authoringVersion: rt.authoringVersion,
      specVersion: b.specVersion,
      implVersion: 0,
      apis: rt.apis,
      transactionVersion: rt.transactionVersion,
      stateVersion: this.ctx.chain.layout === 'v1' ? 1 : 0,
    };
  }

  private blockJson(b: Block): Json {
    const { chain } = this.ctx;
    const just = b.justification ? [['0x46524e4b', u8aToHex(encodeJustification(b.justification, chain.faults.forgeJustification))]] : null;
    return { block: { header: headerJson(b), extrinsics: b.extrinsics.map((x) => u8aToHex(x)) }, justifications: just };
  }

  private readProof(b: Block, keys: string[]): string[] {
    const { chain } = this.ctx;
    const trie = chain.overriddenTrie(b, keys) ?? (chain.faults.forgeParaHead ? forgedParaHeadsTrie(chain, b, keys) : null) ?? (chain.faults.forgeReadProof ? chain.tamperedTrie(b) : b.trie);
    return trie.proof(keys.map((k) => hexToU8a(k))).map((n) => u8aToHex(n));
  }

  private keysParam(p: unknown): string[] {
    if (!Array.isArray(p) || !p.every((k) => typeof k === 'string' && isHex(k))) throw new RpcError(-32602, 'Invalid params: keys must be hex strings');
    return (p as string[]).map((k) => k.toLowerCase());
  }

  private call(method: string, params: Params): Json {
    const { chain } = this.ctx;
    const rt = chain.runtime;
    switch (method) {
      case 'rpc_methods':
        return { version: 1, methods: this.ctx.parachain ? RPC_METHODS.filter((m) => !m.startsWith('grandpa_')) : RPC_METHODS };
      case 'system_chain':
        return this.ctx.chainName;
      case 'system_name':
        return 'qiao-substrate-test-server';
      case 'system_version':
        return '0.1.0';
      case 'system_chainType':
        return 'Development';
      case 'system_properties':
        return { ss58Format: 42, tokenDecimals: 12, tokenSymbol: 'UNIT' };
      case 'system_health':
        return { peers: 0, isSyncing: false, shouldHavePeers: false };
      case 'system_accountNextIndex':
      case 'account_nextIndex': {
        let who: Uint8Array;
        try {
          who = decodeAddress(String(params[0]));
        } catch {
          throw new RpcError(-32602, 'Invalid params: bad address');
        }
        return chain.nextIndex(who);
      }
      case 'chain_getBlockHash': {
        const p = params[0];
        if (p === undefined || p === null) return chain.head.hashHex;
        if (Array.isArray(p)) return p.map((n) => chain.block(Number(n))?.hashHex ?? null);
        const n = typeof p === 'string' ? Number.parseInt(p, p.startsWith('0x') ? 16 : 10) : Number(p);
        return chain.block(n)?.hashHex ?? null;
      }
      case 'chain_getHead':
        return chain.head.hashHex;
      case 'chain_getHeader':
        return headerJson(this.at(params[0]));
      case 'chain_getBlock':
        return this.blockJson(this.at(params[0]));
      case 'chain_getFinalizedHead':
      case 'chain_getFinalisedHead':
        return chain.blocks[chain.finalizedNumber]!.hashHex;
      case 'state_getRuntimeVersion':
      case 'chain_getRuntimeVersion':
        return this.runtimeVersion(this.at(params[0]));
      case 'state_getMetadata':
        this.at(params[0]);
        return rt.metadataHex;
      case 'state_getStorage':
      case 'state_getStorageAt': {
        const [key] = this.keysParam([params[0]]);
        const v = this.at(params[1]).state.get(key!);
        return v ? u8aToHex(v) : null;
      }
      case 'state_getStorageHash': {
        const [key] = this.keysParam([params[0]]);
        const v = this.at(params[1]).state.get(key!);
        return v ? u8aToHex(blake2(v)) : null;
      }
      case 'state_getStorageSize': {
        const [key] = this.keysParam([params[0]]);
        return this.at(params[1]).state.get(key!)?.length ?? null;
      }
      case 'state_queryStorageAt': {
        const b = this.at(params[1]);
        const keys = this.keysParam(params[0]);
        return [{ block: b.hashHex, changes: keys.map((k) => [k, b.state.has(k) ? u8aToHex(b.state.get(k)!) : null]) }];
      }
      case 'state_getReadProof': {
        const b = this.at(params[1]);
        return { at: b.hashHex, proof: this.readProof(b, this.keysParam(params[0])) };
      }
      case 'state_call':
      case 'state_callAt':
        return this.stateCall(String(params[0]), typeof params[1] === 'string' ? params[1] : '0x', this.at(params[2]));
      case 'grandpa_proveFinality': {
        if (this.ctx.parachain) throw new RpcError(-32601, `Method not found: ${method}`);
        const n = typeof params[0] === 'string' ? Number.parseInt(params[0], params[0].startsWith('0x') ? 16 : 10) : Number(params[0]);
        const b = chain.block(n);
        if (!b || !b.justification || n > chain.finalizedNumber) return null;
        // FinalityProof{block, justification: Vec<u8>, unknown_headers: Vec<Header>}; every finalized block has its own justification
        const j = encodeJustification(b.justification, chain.faults.forgeJustification);
        return u8aToHex(u8aConcat(b.hash, compactToU8a(j.length), j, compactToU8a(0)));
      }
      case 'author_submitExtrinsic':
        return u8aToHex(this.submit(params[0]).hash);
      case 'author_pendingExtrinsics':
        return chain.pending().map((t) => u8aToHex(t.bytes));
      default:
        throw new RpcError(-32601, `Method not found: ${method}`);
    }
  }

  private submit(p: unknown) {
    if (typeof p !== 'string' || !isHex(p)) throw new RpcError(-32602, 'Invalid params: extrinsic must be hex');
    return this.ctx.chain.submit(hexToU8a(p));
  }

  private stateCall(fn: string, data: string, b: Block): string {
    const { chain } = this.ctx;
    const rt = chain.runtime;
    const input = hexToU8a(data);
    switch (fn) {
      case 'Metadata_metadata_versions':
        return u8aToHex(u8aConcat(compactToU8a(1), u32le(14)));
      case 'Metadata_metadata_at_version': {
        const v = input.length === 4 ? new DataView(input.buffer, input.byteOffset).getUint32(0, true) : -1;
        if (v !== 14) return '0x00';
        return u8aToHex(u8aConcat(Uint8Array.of(1), compactToU8a(rt.metadataBytes.length), rt.metadataBytes));
      }
      case 'Metadata_metadata':
        return u8aToHex(u8aConcat(compactToU8a(rt.metadataBytes.length), rt.metadataBytes));
      case 'Core_version':
        return u8aToHex(rt.registry.createType('RuntimeVersion', this.runtimeVersion(b)).toU8a());
      case 'AccountNonceApi_account_nonce':
        if (input.length !== 32) throw new RpcError(-32602, 'AccountNonceApi_account_nonce takes an AccountId32');
        return u8aToHex(u32le(chain.nonceOf(input, b.state)));
      default:
        throw new RpcError(4002, `Client error: Execution failed: Exported method ${fn} is not found`);
    }
  }

  private subscribe(ws: WebSocket, kind: Sub['kind'], params: Params): string {
    if (kind === 'justification' && this.ctx.parachain) throw new RpcError(-32601, 'Method not found: grandpa_subscribeJustifications');
    const id = `qiao${(this.nextSub++).toString(16).padStart(12, '0')}`;
    const sub: Sub = { kind };
    if (kind === 'storage') sub.keys = this.keysParam(params[0] ?? []);
    if (kind === 'extrinsic') sub.tx = u8aToHex(this.submit(params[0]).hash);
    this.subs.get(ws)?.set(id, sub);
    return id;
  }

  /** Substrate sends the current value right after the subscription id. */
  private afterSubscribe(ws: WebSocket, id: string): void {
    const sub = this.subs.get(ws)?.get(id);
    if (!sub) return;
    const { chain } = this.ctx;
    const head = chain.head;
    switch (sub.kind) {
      case 'newHead':
      case 'allHead':
        return this.notify(ws, id, sub, headerJson(head));
      case 'finalizedHead':
        return this.notify(ws, id, sub, headerJson(chain.blocks[chain.finalizedNumber]!));
      case 'runtimeVersion':
        sub.lastSpec = head.specVersion;
        return this.notify(ws, id, sub, this.runtimeVersion(head));
      case 'storage':
        return this.notify(ws, id, sub, { block: head.hashHex, changes: sub.keys!.map((k) => [k, head.state.has(k) ? u8aToHex(head.state.get(k)!) : null]) });
      case 'extrinsic':
        return this.notify(ws, id, sub, 'ready');
      default:
        return;
    }
  }

  private each(fn: (ws: WebSocket, id: string, sub: Sub) => void): void {
    for (const [ws, subs] of this.subs) for (const [id, sub] of subs) fn(ws, id, sub);
  }

  private onImported(b: Block): void {
    const parent = this.ctx.chain.block(b.number - 1);
    this.each((ws, id, sub) => {
      if (sub.kind === 'newHead' || sub.kind === 'allHead') this.notify(ws, id, sub, headerJson(b));
      if (sub.kind === 'runtimeVersion' && sub.lastSpec !== b.specVersion) {
        sub.lastSpec = b.specVersion;
        this.notify(ws, id, sub, this.runtimeVersion(b));
      }
      if (sub.kind === 'storage') {
        const changed = sub.keys!.filter((k) => !sameBytes(parent?.state.get(k), b.state.get(k)));
        if (changed.length) this.notify(ws, id, sub, { block: b.hashHex, changes: changed.map((k) => [k, b.state.has(k) ? u8aToHex(b.state.get(k)!) : null]) });
      }
    });
  }

  private onFinalized(b: Block): void {
    const { chain } = this.ctx;
    this.each((ws, id, sub) => {
      if (sub.kind === 'finalizedHead') this.notify(ws, id, sub, headerJson(b));
      if (sub.kind === 'justification' && b.justification) this.notify(ws, id, sub, u8aToHex(encodeJustification(b.justification, chain.faults.forgeJustification)));
    });
  }

  private onTx(hash: string, status: TxStatus): void {
    this.each((ws, id, sub) => {
      if (sub.kind !== 'extrinsic' || sub.tx !== hash) return;
      this.notify(ws, id, sub, status);
      if (status === 'dropped' || status === 'invalid' || (typeof status === 'object' && 'finalized' in status)) this.subs.get(ws)?.delete(id);
    });
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function blake2(v: Uint8Array): Uint8Array {
  return blake2AsU8a(v, 256);
}
