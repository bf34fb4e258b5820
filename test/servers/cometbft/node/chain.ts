import { sha256 } from '@noble/hashes/sha2.js';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { QueryAllBalancesRequest, QueryAllBalancesResponse, QueryBalanceRequest, QueryBalanceResponse } from 'cosmjs-types/cosmos/bank/v1beta1/query';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { TxMsgData } from 'cosmjs-types/cosmos/base/abci/v1beta1/abci';
import { QueryParamsResponse as StakingParamsResponse } from 'cosmjs-types/cosmos/staking/v1beta1/query';
import { SimulateRequest, SimulateResponse } from 'cosmjs-types/cosmos/tx/v1beta1/service';
import { Any } from 'cosmjs-types/google/protobuf/any';
import { isAddress, moduleAddress } from './address.ts';
import { Accounts, BankKeeper, formatCoins, SDK } from './bank.ts';
import {
  commitHash, consensusParamsHash, dataHash, EMPTY_HASH, makeBlockId, makeValidators, resultsHash, signCommit,
  validatorsHash, type BlockId, type Commit, type Header, type Validator,
} from './consensus.ts';
import { encodeCommitmentProof } from './iavl.ts';
import { CacheKV, MultiStore, SnapshotKV, type CommitInfo } from './multistore.ts';
import { ModuleError, type BlockInfo, type Coin, type KV, type Module, type QueryContext, type TxContext } from './module.ts';
import { decodeTx, verifyDirectSignature, type DecodedTx } from './tx.ts';

export interface AbciEvent {
  type: string;
  attributes: { key: string; value: string; index: boolean }[];
}

export interface TxResult {
  code: number;
  codespace: string;
  log: string;
  data: Uint8Array;
  gasWanted: bigint;
  gasUsed: bigint;
  events: AbciEvent[];
}

export interface Block {
  header: Header;
  time: Date;
  blockId: BlockId;
  txs: Uint8Array[];
  lastCommit: Commit | null;
  commit: Commit;
  results: TxResult[];
  finalizeEvents: AbciEvent[];
  /** multistore root after executing this block (goes into header height+1) */
  appHashAfter: Uint8Array;
}

export interface QueryResult {
  code: number;
  codespace: string;
  log: string;
  key: Uint8Array;
  value: Uint8Array;
  height: bigint;
  proofOps: { type: string; key: Uint8Array; data: Uint8Array }[] | null;
}

export interface ChainOptions {
  chainId: string;
  seed: string;
  validators: number;
  accounts: { address: string; coins: Coin[] }[];
  modules: Module[];
  /** called with the error of a failed end-block hook (the hook's writes are dropped) */
  onHookError?: (e: unknown) => void;
}

const GAS_BASE = 50_000n;
const GAS_PER_MSG = 30_000n;
const GAS_PER_BYTE = 10n;
export const FEE_DENOM = 'stake';
/** staking's default unbonding time, 21 days */
export const UNBONDING_SECONDS = 21n * 24n * 3600n;
export const FEE_COLLECTOR = moduleAddress('fee_collector');

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ev = (type: string, attrs: [string, string][]): AbciEvent => ({
  type,
  attributes: attrs.map(([key, value]) => ({ key, value, index: true })),
});

/** Lazily-created per-store caches over a base, written through together (one tx's or one hook's writes). */
class StoreSet {
  private readonly caches = new Map<string, CacheKV>();
  constructor(private readonly base: (name: string) => KV) {}
  store(name: string): KV {
    let c = this.caches.get(name);
    if (!c) {
      c = new CacheKV(this.base(name));
      this.caches.set(name, c);
    }
    return c;
  }
  write(): void {
    for (const c of this.caches.values()) c.write();
  }
}

/**
 * The chain: validators, blocks, the multistore, the mempool and the tx index. Single-threaded
 * (JS), so a block is built, executed and committed in one step.
 */
export class Chain {
  readonly validators: Validator[];
  readonly genesisTime: Date;
  readonly genesisAppHash: Uint8Array;
  readonly consensusHash = consensusParamsHash();
  private readonly valsHash: Uint8Array;
  private readonly ms = new MultiStore();
  private readonly blocks: Block[] = [];
  private mempool: Uint8Array[] = [];
  private checkState: StoreSet;
  private readonly txIndex = new Map<string, { height: bigint; index: number }>();
  private readonly listeners = new Set<(b: Block) => void>();
  private readonly handlers = new Map<string, { module: string; run: (ctx: TxContext, v: Uint8Array) => void }>();
  private readonly queries = new Map<string, (ctx: QueryContext, req: Uint8Array) => Uint8Array>();

  constructor(readonly opts: ChainOptions) {
    this.validators = makeValidators(opts.seed, opts.validators);
    this.valsHash = validatorsHash(this.validators);
    this.ms.mount('acc');
    this.ms.mount('bank');
    this.handlers.set('/cosmos.bank.v1beta1.MsgSend', { module: 'bank', run: (ctx, v) => this.msgSend(ctx, v) });
    for (const m of opts.modules) {
      this.ms.mount(m.name);
      for (const [url, run] of Object.entries(m.msgs)) this.handlers.set(url, { module: m.name, run });
      for (const [path, q] of Object.entries(m.queries)) this.queries.set(path, q);
    }
    const genesis = new StoreSet((n) => this.ms.mount(n));
    const bank = new BankKeeper(genesis.store('bank'), new Accounts(genesis.store('acc')));
    for (const a of opts.accounts) bank.mint(a.address, a.coins);
    genesis.write();
    this.genesisAppHash = this.ms.commit(0n).appHash;
    this.genesisTime = new Date();
    this.checkState = this.freshCheckState();
  }

  get chainId(): string {
    return this.opts.chainId;
  }

  height(): bigint {
    return BigInt(this.blocks.length);
  }

  block(height: bigint): Block | undefined {
    return height >= 1n ? this.blocks[Number(height) - 1] : undefined;
  }

  latest(): Block | undefined {
    return this.blocks[this.blocks.length - 1];
  }

  onBlock(f: (b: Block) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private freshCheckState(): StoreSet {
    return new StoreSet((n) => this.ms.mount(n));
  }

  // ---- mempool -------------------------------------------------------------

  /** CheckTx: decode, signatures, sequence and fee against the check state; on success the tx waits in the mempool. */
  checkTx(bytes: Uint8Array): TxResult {
    const s = new StoreSet((n) => this.checkState.store(n));
    const r = this.runAnte(bytes, s, { verifySignatures: true });
    if (r.code !== 0) return r;
    s.write();
    this.mempool.push(bytes);
    return { ...r, events: [] };
  }

  txLocation(hash: Uint8Array): { height: bigint; index: number } | undefined {
    return this.txIndex.get(hexOf(hash));
  }

  // ---- block production ----------------------------------------------------

  produceBlock(): Block {
    const height = this.height() + 1n;
    const prev = this.latest();
    // BFT time is strictly increasing
    const time = new Date(Math.max(Date.now(), prev ? prev.time.getTime() + 1 : 0));
    const txs = this.mempool;
    this.mempool = [];
    const header: Header = {
      chainId: this.chainId,
      height,
      time,
      lastBlockId: prev?.blockId ?? null,
      lastCommitHash: prev ? commitHash(prev.commit) : EMPTY_HASH,
      dataHash: dataHash(txs),
      validatorsHash: this.valsHash,
      nextValidatorsHash: this.valsHash,
      consensusHash: this.consensusHash,
      appHash: prev?.appHashAfter ?? this.genesisAppHash,
      lastResultsHash: prev ? resultsHash(prev.results) : EMPTY_HASH,
      evidenceHash: EMPTY_HASH,
      proposerAddress: this.validators[Number((height - 1n) % BigInt(this.validators.length))]!.address,
    };
    const info: BlockInfo = { height, time, chainId: this.chainId };
    const results = txs.map((tx) => this.deliverTx(tx, info));
    const finalizeEvents = this.endBlock(info);
    const committed = this.ms.commit(height);
    const blockId = makeBlockId(header, txs);
    const block: Block = {
      header,
      time,
      blockId,
      txs,
      lastCommit: prev?.commit ?? null,
      commit: signCommit(this.chainId, height, blockId, this.validators, time),
      results,
      finalizeEvents,
      appHashAfter: committed.appHash,
    };
    this.blocks.push(block);
    txs.forEach((tx, index) => this.txIndex.set(hexOf(sha256(tx)), { height, index }));
    this.checkState = this.freshCheckState();
    for (const f of this.listeners) f(block);
    return block;
  }

  private endBlock(info: BlockInfo): AbciEvent[] {
    const events: AbciEvent[] = [];
    for (const m of this.opts.modules) {
      if (!m.endBlock) continue;
      const stores = new StoreSet((n) => this.ms.mount(n));
      const mine: AbciEvent[] = [];
      const ctx = this.txContext(info, stores, '', [], mine);
      try {
        m.endBlock(ctx);
        stores.write();
        events.push(...mine);
      } catch (e) {
        this.opts.onHookError?.(e);
      }
    }
    return events;
  }

  private txContext(info: BlockInfo, stores: StoreSet, txHash: string, signers: string[], events: AbciEvent[], msgIndex?: number): TxContext {
    const emit = (type: string, attrs: [string, string][]): void => {
      events.push(ev(type, msgIndex === undefined ? attrs : [...attrs, ['msg_index', String(msgIndex)]]));
    };
    return {
      ...info,
      store: (n) => stores.store(n),
      bank: new BankKeeper(stores.store('bank'), new Accounts(stores.store('acc')), emit),
      emit,
      txHash,
      signers,
    };
  }

  // ---- tx execution --------------------------------------------------------

  private gasUsed(tx: DecodedTx, bytes: Uint8Array): bigint {
    return GAS_BASE + GAS_PER_MSG * BigInt(tx.messages.length) + GAS_PER_BYTE * BigInt(bytes.length);
  }

  /**
   * The ante handler: decode, account numbers/sequences/signatures, fee. Writes (fee, sequence,
   * pubkey) go to `stores`; the caller keeps them even if the messages then fail, as the SDK does.
   */
  private runAnte(bytes: Uint8Array, stores: StoreSet, { verifySignatures }: { verifySignatures: boolean }): TxResult & { tx?: DecodedTx } {
    const fail = (e: unknown, gasWanted = 0n): TxResult => {
      const me = e instanceof ModuleError ? e : new ModuleError('undefined', 1, (e as Error).message);
      return { code: me.code, codespace: me.codespace, log: me.message, data: new Uint8Array(0), gasWanted, gasUsed: 0n, events: [] };
    };
    let tx: DecodedTx;
    try {
      tx = decodeTx(bytes, new Set(this.handlers.keys()));
    } catch (e) {
      return fail(e);
    }
    const events: AbciEvent[] = [];
    try {
      const accounts = new Accounts(stores.store('acc'));
      const bank = new BankKeeper(stores.store('bank'), accounts, (t, a) => events.push(ev(t, a)));
      const feeStake = tx.fee.find((c) => c.denom === FEE_DENOM);
      // simulation runs without fees (cosmjs simulates with an empty fee), as the SDK skips the minimum there
      if (verifySignatures && (!feeStake || BigInt(feeStake.amount) === 0n)) {
        throw new ModuleError(SDK, 13, `insufficient fees; got: ${formatCoins(tx.fee) || '0stake'} required: 1${FEE_DENOM}: insufficient fee`);
      }
      tx.signers.forEach((s, i) => {
        const acc = accounts.get(s.address);
        if (!acc) throw new ModuleError(SDK, 9, `account ${s.address} not found: unknown address`);
        if (verifySignatures) {
          if (s.sequence !== acc.sequence) {
            throw new ModuleError(SDK, 32, `account sequence mismatch, expected ${acc.sequence}, got ${s.sequence}: incorrect account sequence`);
          }
          if (!verifyDirectSignature(tx, i, this.chainId, acc.accountNumber)) {
            throw new ModuleError(
              SDK,
              4,
              `signature verification failed; please verify account number (${acc.accountNumber}) and chain-id (${this.chainId}): unauthorized`,
            );
          }
        }
        accounts.set({ ...acc, pubKey: Any.fromPartial({ typeUrl: '/cosmos.crypto.secp256k1.PubKey', value: tx.authInfo.signerInfos[i]!.publicKey!.value }), sequence: acc.sequence + 1n });
      });
      try {
        bank.send(tx.feePayer, FEE_COLLECTOR, tx.fee);
      } catch (e) {
        if (e instanceof ModuleError && e.code === 5) throw new ModuleError(SDK, 5, `${e.message.replace(/: insufficient funds$/, '')}: insufficient funds`);
        throw e;
      }
      events.push(ev('tx', [['fee', formatCoins(tx.fee)], ['fee_payer', tx.feePayer]]));
      for (const s of tx.signers) events.push(ev('tx', [['acc_seq', `${s.address}/${s.sequence}`]]));
      for (const s of tx.signers) events.push(ev('tx', [['signature', Buffer.from(s.signature).toString('base64')]]));
    } catch (e) {
      return fail(e, tx.gasLimit);
    }
    return { code: 0, codespace: '', log: '', data: new Uint8Array(0), gasWanted: tx.gasLimit, gasUsed: this.gasUsed(tx, bytes), events, tx };
  }

  /** The messages, each through its handler, all-or-nothing over `base`. */
  private runMsgs(tx: DecodedTx, bytes: Uint8Array, info: BlockInfo, base: StoreSet): { error?: ModuleError; events: AbciEvent[]; data: Uint8Array } {
    const stores = new StoreSet((n) => base.store(n));
    const events: AbciEvent[] = [];
    const txHash = `0x${hexOf(sha256(bytes))}`;
    const signers = tx.signers.map((s) => s.address);
    try {
      tx.messages.forEach((m, i) => {
        const h = this.handlers.get(m.typeUrl)!;
        events.push(ev('message', [['action', m.typeUrl], ['sender', signers[0]!], ['module', h.module], ['msg_index', String(i)]]));
        h.run(this.txContext(info, stores, txHash, signers, events, i), m.value);
      });
    } catch (e) {
      const me = e instanceof ModuleError ? e : new ModuleError('undefined', 1, e instanceof Error ? e.message : String(e));
      return { error: me, events: [], data: new Uint8Array(0) };
    }
    stores.write();
    const data = TxMsgData.encode({ data: [], msgResponses: tx.messages.map((m) => Any.fromPartial({ typeUrl: `${m.typeUrl}Response` })) }).finish();
    return { events, data };
  }

  private deliverTx(bytes: Uint8Array, info: BlockInfo): TxResult {
    const ante = new StoreSet((n) => this.ms.mount(n));
    const a = this.runAnte(bytes, ante, { verifySignatures: true });
    if (a.code !== 0 || !a.tx) return a;
    ante.write();
    const { tx, ...anteResult } = a;
    if (a.gasUsed > a.gasWanted) {
      return {
        ...anteResult,
        code: 11,
        codespace: SDK,
        log: `out of gas in location: txSize; gasWanted: ${a.gasWanted}, gasUsed: ${a.gasUsed}: out of gas`,
      };
    }
    const base = new StoreSet((n) => this.ms.mount(n));
    const r = this.runMsgs(tx, bytes, info, base);
    if (r.error) {
      return { ...anteResult, code: r.error.code, codespace: r.error.codespace, log: r.error.message };
    }
    base.write();
    return { ...anteResult, data: r.data, events: [...anteResult.events, ...r.events] };
  }

  private msgSend(ctx: TxContext, value: Uint8Array): void {
    const m = MsgSend.decode(value);
    if (!isAddress(m.fromAddress) || !isAddress(m.toAddress)) throw new ModuleError(SDK, 7, 'invalid address: invalid address');
    if (!ctx.signers.includes(m.fromAddress)) throw new ModuleError(SDK, 4, `${m.fromAddress} did not sign: unauthorized`);
    ctx.bank.send(m.fromAddress, m.toAddress, m.amount);
    ctx.emit('message', [['sender', m.fromAddress]]);
  }

  // ---- queries -------------------------------------------------------------

  private queryContext(version: CommitInfo): QueryContext {
    const kv = (n: string): KV => {
      const t = version.trees.get(n);
      return t ? new SnapshotKV(t) : new CacheKV({ get: () => undefined, set() {}, delete() {}, prefix: () => [] });
    };
    const blk = this.block(version.height);
    return {
      height: version.height,
      time: blk ? blk.time : this.genesisTime,
      chainId: this.chainId,
      store: kv,
      bank: new BankKeeper(kv('bank'), new Accounts(kv('acc'))),
    };
  }

  /** ABCI Query: `store/<name>/key` (with ICS-23 proofs) or a gRPC method path. Height 0 = latest. */
  query(path: string, data: Uint8Array, height: bigint, prove: boolean): QueryResult {
    const h = height === 0n ? this.height() : height;
    const base: QueryResult = { code: 0, codespace: '', log: '', key: new Uint8Array(0), value: new Uint8Array(0), height: h, proofOps: null };
    const failQ = (e: unknown): QueryResult => {
      const me = e instanceof ModuleError ? e : new ModuleError('undefined', 1, e instanceof Error ? e.message : String(e));
      return { ...base, code: me.code, codespace: me.codespace, log: me.message };
    };
    if (h > this.height()) return failQ(new ModuleError(SDK, 26, `cannot query with height in the future; please provide a valid height: invalid height`));
    const version = this.ms.at(h);
    if (!version) return failQ(new ModuleError(SDK, 26, `failed to load state at height ${h}; version does not exist: invalid height`));
    try {
      const storeQuery = /^\/?store\/([^/]+)\/key$/.exec(path);
      if (storeQuery) {
        const name = storeQuery[1]!;
        const tree = version.trees.get(name);
        if (!tree) throw new ModuleError(SDK, 18, `no such store: ${name}: invalid request`);
        const value = tree.get(data) ?? new Uint8Array(0);
        const proofOps = prove
          ? [
              { type: 'ics23:iavl', key: data, data: encodeCommitmentProof(tree.proof(data)) },
              { type: 'ics23:simple', key: new TextEncoder().encode(name), data: encodeCommitmentProof(version.storeProof(name)) },
            ]
          : null;
        return { ...base, key: data, value, proofOps };
      }
      return { ...base, value: this.grpc(path, data, version) };
    } catch (e) {
      return failQ(e);
    }
  }

  private grpc(path: string, data: Uint8Array, version: CommitInfo): Uint8Array {
    const ctx = this.queryContext(version);
    switch (path) {
      case '/cosmos.auth.v1beta1.Query/Account': {
        const { address } = QueryAccountRequest.decode(data);
        const acc = new Accounts(ctx.store('acc')).get(address);
        if (!acc) throw new ModuleError(SDK, 22, `rpc error: code = NotFound desc = account ${address} not found: key not found`);
        return QueryAccountResponse.encode({
          account: Any.fromPartial({ typeUrl: '/cosmos.auth.v1beta1.BaseAccount', value: BaseAccount.encode(acc).finish() }),
        }).finish();
      }
      case '/cosmos.bank.v1beta1.Query/Balance': {
        const { address, denom } = QueryBalanceRequest.decode(data);
        return QueryBalanceResponse.encode({ balance: { denom, amount: ctx.bank.balance(address, denom).toString() } }).finish();
      }
      case '/cosmos.bank.v1beta1.Query/AllBalances': {
        const { address } = QueryAllBalancesRequest.decode(data);
        const balances = new BankKeeper(ctx.store('bank'), new Accounts(ctx.store('acc'))).balances(address);
        return QueryAllBalancesResponse.encode({ balances, pagination: undefined }).finish();
      }
      case '/cosmos.staking.v1beta1.Query/Params':
        // the SDK defaults; the unbonding time bounds an IBC tendermint client's trusting period
        return StakingParamsResponse.encode({
          params: {
            unbondingTime: { seconds: UNBONDING_SECONDS, nanos: 0 },
            maxValidators: 100,
            maxEntries: 7,
            historicalEntries: 10000,
            bondDenom: FEE_DENOM,
            minCommissionRate: '0',
          },
        }).finish();
      case '/cosmos.tx.v1beta1.Service/Simulate':
        return this.simulate(SimulateRequest.decode(data).txBytes);
      default: {
        const q = this.queries.get(path);
        if (!q) throw new ModuleError(SDK, 6, `unknown query path ${path}: unknown request`);
        return q(ctx, data);
      }
    }
  }

  /** Simulate on a throwaway copy of the latest state; signatures are not checked (cosmjs sends empty ones). */
  private simulate(txBytes: Uint8Array): Uint8Array {
    const scratch = new StoreSet((n) => this.ms.mount(n));
    const a = this.runAnte(txBytes, scratch, { verifySignatures: false });
    if (a.code !== 0 || !a.tx) throw new ModuleError(a.codespace, a.code, a.log);
    const info: BlockInfo = { height: this.height() + 1n, time: new Date(), chainId: this.chainId };
    const r = this.runMsgs(a.tx, txBytes, info, scratch);
    if (r.error) throw r.error;
    return SimulateResponse.encode({
      gasInfo: { gasWanted: a.gasWanted, gasUsed: a.gasUsed },
      result: {
        data: new Uint8Array(0),
        log: '',
        events: [...a.events, ...r.events].map((e) => ({ type: e.type, attributes: e.attributes })),
        msgResponses: [],
      },
    }).finish();
  }
}

