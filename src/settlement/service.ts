/**
 * The settlement service behind the payments API: graph snapshots read from
 * SettlementHub and the escrows (short TTL cache), quotes kept in memory until
 * they expire, payments opened on chain with the operator key, and payment
 * status read from the chains (SettlementHub's record and each leg's escrow
 * lock), never from the hub's own index alone.
 */
import { randomUUID } from 'node:crypto';
import { Contract, ZeroHash } from 'ethers';
import type { Logger } from 'pino';
import type { Hex } from '../domain/hex.ts';
import { QiaoError, ValidationError } from '../errors.ts';
import type { TxSender } from '../evm/signer.ts';
import type { MessageIndex } from '../index/types.ts';
import type { Registries } from '../registries/index.ts';
import type { SettlementHubClient } from './client.ts';
import type { EscrowClient } from './escrow-client.ts';
import { decodeSettlementPayload } from './payload.ts';
import { candidatePaths, findRoutes, indexGraph, MAX_HOPS, type ComplianceFacts, type GraphCorridor, type GraphIndex, type Route, type RouteRequest, type RouteResult } from './routing/index.ts';
import type { CorridorView, EscrowLock, PaymentView } from './types.ts';
import { newUetr, parseUetr } from './uetr.ts';
import type { TokenInfo } from './iso20022/currency.ts';

/** Why an attestation does or does not count for an account (the contract's own checks, read ahead). */
export type AttestationCheck = { ok: true; schema: Hex } | { ok: false; why: 'missing' | 'not_valid' | 'not_controller' | 'issuer_not_accredited' };

/** Reads the registries for compliance facts; `Registries` satisfies it through `registriesCompliance`. */
export interface ComplianceReader {
  check(attestation: Hex, account: string): Promise<AttestationCheck>;
}

/** What F passes to build the payments plugin. */
export interface SettlementApiDeps {
  hub: SettlementHubClient;
  /** QiaoEscrow client per member chain, keyed by CAIP-2 id. */
  escrows: ReadonlyMap<string, EscrowClient>;
  /** Signs SettlementHub.open (must be an operator). */
  operator: TxSender;
  compliance?: ComplianceReader;
  /** To list the Qiao messages of a payment (best effort). */
  index?: MessageIndex;
  /** Milliseconds; default Date.now. Quote expiry only: rate age and deadlines use governance block time. */
  now?: () => number;
  logger?: Logger;
  /** Default 30. */
  quoteTtlSeconds?: number;
  /** How long a graph snapshot is reused; default 2000 ms. */
  graphTtlMs?: number;
  /** Default deadline of a payment after open; default 600 s. */
  defaultDeadlineSeconds?: number;
}

/** A refusal with an HTTP status and a reason code, raised by the service and answered by the API. */
export class SettlementRequestError extends QiaoError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    options: { cause?: unknown; data?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}

export interface QuoteRequest extends RouteRequest {
  senderAttestation?: Hex;
  receiverAttestation?: Hex;
}

export interface Quote {
  quoteId: string;
  createdAt: number;
  expiresAt: number;
  request: QuoteRequest;
  /** Governance block time the routes were checked at. */
  checkedAt: number;
  routes: Route[];
  rejected: RouteResult['rejected'];
  considered: number;
}

export interface OpenRequest {
  quoteId: string;
  routeIndex: number;
  uetr?: string;
  senderAttestation?: Hex;
  receiverAttestation?: Hex;
  deadlineSeconds?: number;
}

export interface LockInstruction {
  chain: string;
  escrow: string;
  token: string;
  amount: bigint;
  to: string;
  uetr: string;
}

export interface OpenedPayment {
  uetr: string;
  deadline: bigint;
  txHash: string;
  route: Route;
  lock: LockInstruction;
}

export interface LegStatus {
  index: number;
  chain: string;
  asset: string;
  token: string;
  amount: bigint;
  from: string;
  to: string;
  /** SettlementHub's view of the leg. */
  state: PaymentView['legs'][number]['state'];
  /** The escrow's own record on the leg's chain; null when that chain has no escrow here or the read failed. */
  escrow: EscrowLock | null;
  escrowError?: string;
}

export interface PaymentStatus {
  uetr: string;
  state: PaymentView['state'];
  sender: string;
  receiver: string;
  deadline: bigint;
  openedAt: bigint;
  decidedAt: bigint;
  corridorIds: number[];
  legs: LegStatus[];
  /** Ids of the Qiao messages found in the index whose settlement payload carries this UETR. */
  messages: { id: string; kind: string; leg: number; srcChain: string; dstChain: string; status: string }[];
}

const assetToken = (asset: string) => asset.slice(asset.lastIndexOf(':') + 1).toLowerCase();

/** The registries' reading of the contract's compliance rule for one attestation and account. */
export function registriesCompliance(r: Registries): ComplianceReader {
  return {
    async check(uid, account) {
      const a = await r.credit.get(uid);
      if (!a) return { ok: false, why: 'missing' };
      if (a.status !== 'valid') return { ok: false, why: 'not_valid' };
      const controller = await r.identity.controllerOf(a.subjectDid);
      if (!controller || controller.toLowerCase() !== account.toLowerCase()) return { ok: false, why: 'not_controller' };
      if (!(await r.issuers.isAccredited(a.issuerDid, a.schemaId))) return { ok: false, why: 'issuer_not_accredited' };
      return { ok: true, schema: a.schemaId.toLowerCase() as Hex };
    },
  };
}

export class SettlementService {
  private readonly log?: Logger;
  private readonly now: () => number;
  private readonly quoteTtlMs: number;
  private readonly graphTtlMs: number;
  private readonly defaultDeadline: number;
  private readonly quotes = new Map<string, Quote>();
  private graph: { at: number; index: GraphIndex; views: CorridorView[] } | null = null;
  private graphLoad: Promise<{ index: GraphIndex; views: CorridorView[] }> | null = null;

  constructor(readonly deps: SettlementApiDeps) {
    this.log = deps.logger?.child({ component: 'settlement' });
    this.now = deps.now ?? Date.now;
    this.quoteTtlMs = (deps.quoteTtlSeconds ?? 30) * 1000;
    this.graphTtlMs = deps.graphTtlMs ?? 2000;
    this.defaultDeadline = deps.defaultDeadlineSeconds ?? 600;
  }

  /** Governance chain time (what open() and rate age are judged by). */
  async chainNow(): Promise<number> {
    const b = await this.deps.hub.provider.getBlock('latest');
    if (!b) throw new SettlementRequestError(503, 'chain_unavailable', 'governance chain has no latest block');
    return b.timestamp;
  }

  /** The corridor graph with provider liquidity, cached for graphTtlMs (headroom is per request). */
  async loadGraph(force = false): Promise<{ index: GraphIndex; views: CorridorView[] }> {
    if (!force && this.graph && this.now() - this.graph.at < this.graphTtlMs) return this.graph;
    // One read in flight at a time: concurrent quotes share it.
    this.graphLoad ??= (async () => {
      try {
        const [views, maxAge] = await Promise.all([this.deps.hub.corridors(), this.deps.hub.maxRateAge()]);
        const corridors: GraphCorridor[] = await Promise.all(views.map((v) => this.toGraphCorridor(v)));
        const g = { at: this.now(), index: indexGraph({ corridors, maxRateAgeSeconds: Number(maxAge) }), views };
        this.graph = g;
        return g;
      } finally {
        this.graphLoad = null;
      }
    })();
    return this.graphLoad;
  }

  private async toGraphCorridor(v: CorridorView): Promise<GraphCorridor> {
    const c = v.corridor;
    const escrow = this.deps.escrows.get(c.dstChain);
    let liquidity = 0n;
    if (escrow) {
      try {
        liquidity = await escrow.poolOf(c.provider, assetToken(c.dstAsset));
      } catch (e) {
        this.log?.warn({ err: e, corridor: v.id }, 'reading the provider pool failed; counted as no liquidity');
      }
    }
    return {
      id: v.id,
      srcChain: c.srcChain,
      srcAsset: c.srcAsset.toLowerCase(),
      dstChain: c.dstChain,
      dstAsset: c.dstAsset.toLowerCase(),
      provider: c.provider.toLowerCase(),
      feeBps: c.feeBps,
      fixedFee: c.fixedFee,
      spreadBps: c.spreadBps,
      fxSource: c.fxSource,
      minAmount: c.minAmount,
      maxAmount: c.maxAmount,
      senderSchemas: c.senderSchemas.map((s) => s.toLowerCase()),
      receiverSchemas: c.receiverSchemas.map((s) => s.toLowerCase()),
      expectedSeconds: Number(c.expectedSeconds),
      status: v.status,
      rate: v.rate,
      rateUpdatedAt: Number(v.rateUpdatedAt),
      // Replaced per request by the sender's headroom; 0 here so a missing read refuses, never allows.
      headroom: 0n,
      liquidity,
    };
  }

  async corridors(): Promise<{ settlementHub: string; corridors: (CorridorView & { liquidity: bigint })[] }> {
    const g = await this.loadGraph();
    return { settlementHub: this.deps.hub.address, corridors: g.views.map((v) => ({ ...v, liquidity: g.index.byId.get(v.id)?.liquidity ?? 0n })) };
  }

  private async facts(req: QuoteRequest): Promise<{ facts: ComplianceFacts; notes: string[] }> {
    const sender = new Map<string, string>();
    const receiver = new Map<string, string>();
    const notes: string[] = [];
    const r = this.deps.compliance;
    for (const [att, account, into, who] of [
      [req.senderAttestation, req.srcAccount, sender, 'sender'],
      [req.receiverAttestation, req.dstAccount, receiver, 'receiver'],
    ] as const) {
      if (!att || att === ZeroHash) continue;
      if (!r) {
        notes.push(`${who} attestation not checked: no registries reader`);
        continue;
      }
      const c = await r.check(att, account);
      if (c.ok) into.set(c.schema, att);
      else notes.push(`${who} attestation ${att}: ${c.why}`);
    }
    return { facts: { sender, receiver }, notes };
  }

  /** Ranked routes for a request, kept as a quote until it expires. */
  async quote(req: QuoteRequest): Promise<Quote & { notes: string[] }> {
    this.prune();
    const request: QuoteRequest = { ...req, srcAsset: req.srcAsset.toLowerCase(), dstAsset: req.dstAsset.toLowerCase(), srcAccount: req.srcAccount.toLowerCase(), dstAccount: req.dstAccount.toLowerCase() };
    if (request.srcAsset === request.dstAsset) throw new ValidationError('dstAsset', 'must differ from srcAsset');
    const [{ index }, checkedAt, { facts, notes }, entity] = await Promise.all([
      this.loadGraph(),
      this.chainNow(),
      this.facts(request),
      this.deps.hub.entityOf(request.srcAccount, (request.senderAttestation ?? ZeroHash) as Hex),
    ]);
    // Headroom depends on the sender's entity: read it only for corridors on candidate paths.
    const { paths } = candidatePaths(index, request.srcAsset, request.dstAsset, Math.min(MAX_HOPS, request.maxHops ?? MAX_HOPS));
    const ids = [...new Set(paths.flat().map((c) => c.id))];
    const headroom = new Map(await Promise.all(ids.map(async (id) => [id, await this.deps.hub.headroom(id, entity)] as const)));
    const res = findRoutes(index, request, facts, { now: checkedAt, headroom });
    const createdAt = this.now();
    const q: Quote = { quoteId: randomUUID(), createdAt, expiresAt: createdAt + this.quoteTtlMs, request, checkedAt, routes: res.routes, rejected: res.rejected, considered: res.considered };
    this.quotes.set(q.quoteId, q);
    this.log?.info({ quoteId: q.quoteId, routes: q.routes.length, rejected: q.rejected.length }, 'quote');
    return { ...q, notes };
  }

  getQuote(id: string): Quote {
    const q = this.quotes.get(id);
    if (!q) throw new SettlementRequestError(404, 'quote_not_found', `no quote ${id} (unknown, used, or expired and forgotten)`);
    if (this.now() > q.expiresAt) {
      this.quotes.delete(id);
      throw new SettlementRequestError(410, 'quote_expired', `quote ${id} expired at ${new Date(q.expiresAt).toISOString()}`);
    }
    return q;
  }

  /** Opens the quoted route on SettlementHub; the quote is used up once the open succeeds. */
  async open(r: OpenRequest): Promise<OpenedPayment> {
    const q = this.getQuote(r.quoteId);
    const route = q.routes[r.routeIndex];
    if (!route) throw new SettlementRequestError(400, 'invalid_input', `routeIndex: quote has ${q.routes.length} route(s)`, { data: { field: 'routeIndex' } });
    const uetr = r.uetr !== undefined ? parseUetr(r.uetr) : newUetr();
    const escrow = this.deps.escrows.get(route.legs[0]!.chain);
    if (!escrow) throw new SettlementRequestError(409, 'no_escrow', `no escrow known on ${route.legs[0]!.chain}`);
    const deadline = BigInt((await this.chainNow()) + (r.deadlineSeconds ?? this.defaultDeadline));
    // The quote's output is the floor: if a rate moved against the sender since the quote, open() refuses (below_min_out).
    const receipt = await this.deps.hub.open(this.deps.operator, {
      uetr,
      corridorIds: route.corridorIds,
      amount: route.amountIn,
      sender: q.request.srcAccount,
      receiver: q.request.dstAccount,
      senderAttestation: (r.senderAttestation ?? q.request.senderAttestation ?? route.senderAttestation ?? ZeroHash) as Hex,
      receiverAttestation: (r.receiverAttestation ?? q.request.receiverAttestation ?? route.receiverAttestation ?? ZeroHash) as Hex,
      deadline,
      minOut: route.amountOut,
    });
    this.quotes.delete(q.quoteId);
    this.graph = null; // headroom and pools moved
    const leg0 = route.legs[0]!;
    this.log?.info({ uetr, corridors: route.corridorIds, tx: receipt.hash }, 'payment opened');
    return {
      uetr,
      deadline,
      txHash: receipt.hash,
      route,
      lock: { chain: leg0.chain, escrow: escrow.address, token: assetToken(leg0.asset), amount: leg0.amount, to: leg0.to, uetr },
    };
  }

  /** SettlementHub's record, each leg's escrow lock read on its chain, and the messages found in the index. */
  async status(uetrIn: string): Promise<PaymentStatus | null> {
    const uetr = parseUetr(uetrIn);
    const p = await this.deps.hub.payment(uetr);
    if (!p) return null;
    const legs = await Promise.all(
      p.legs.map(async (l): Promise<LegStatus> => {
        const base = { index: l.index, chain: l.chain, asset: l.asset, token: l.token, amount: l.amount, from: l.from, to: l.to, state: l.state };
        const e = this.deps.escrows.get(l.chain);
        if (!e) return { ...base, escrow: null, escrowError: `no escrow client for ${l.chain}` };
        try {
          return { ...base, escrow: await e.lockOf(uetr, l.index) };
        } catch (err) {
          return { ...base, escrow: null, escrowError: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    return { uetr, state: p.state, sender: p.sender, receiver: p.receiver, deadline: p.deadline, openedAt: p.openedAt, decidedAt: p.decidedAt, corridorIds: p.corridorIds, legs, messages: await this.messagesOf(uetr, p) };
  }

  /**
   * Best effort: messages sent by SettlementHub or a leg's escrow since the payment
   * opened whose payload decodes to this UETR. Never fails the status read.
   */
  private async messagesOf(uetr: string, p: PaymentView): Promise<PaymentStatus['messages']> {
    const index = this.deps.index;
    if (!index) return [];
    const senders = new Set([this.deps.hub.address.toLowerCase(), ...p.legs.map((l) => this.deps.escrows.get(l.chain)?.address.toLowerCase()).filter((x): x is string => !!x)]);
    const since = new Date((Number(p.openedAt) - 60) * 1000);
    const out: PaymentStatus['messages'] = [];
    try {
      for (const sender of senders) {
        const page = await index.listMessages({ sender, since, limit: 500 });
        for (const m of page.items) {
          try {
            const d = decodeSettlementPayload(m.message.payload as Hex);
            if (d.uetr === uetr) out.push({ id: m.id, kind: d.kind, leg: d.leg, srcChain: m.srcChain, dstChain: m.dstChain, status: m.status });
          } catch {
            // Not a settlement payload: another application's message from the same address.
          }
        }
      }
    } catch (e) {
      this.log?.warn({ err: e, uetr }, 'listing the payment messages failed');
    }
    return out.sort((a, b) => a.leg - b.leg || a.kind.localeCompare(b.kind));
  }

  /** Symbol and decimals by asset, for ISO 20022 amounts and currency codes (a token's are fixed: cached). */
  private readonly tokens = new Map<string, TokenInfo>();
  async tokenInfo(asset: string): Promise<TokenInfo> {
    const key = asset.toLowerCase();
    const hit = this.tokens.get(key);
    if (hit) return hit;
    const e = this.deps.escrows.get(key.slice(0, key.indexOf('/')));
    if (!e) throw new SettlementRequestError(409, 'no_escrow', `no escrow client for the chain of ${asset}`);
    const token = new Contract(assetToken(key), e.erc20, e.provider);
    const [symbol, decimals] = await Promise.all([
      (token.getFunction('symbol').staticCall() as Promise<string>).catch(() => null),
      token.getFunction('decimals').staticCall() as Promise<bigint>,
    ]);
    const info: TokenInfo = { asset: key, symbol, decimals: Number(decimals) };
    this.tokens.set(key, info);
    return info;
  }

  private prune(): void {
    const t = this.now();
    for (const [id, q] of this.quotes) if (t > q.expiresAt) this.quotes.delete(id);
  }
}
