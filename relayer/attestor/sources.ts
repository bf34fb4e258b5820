import type { Logger } from 'pino';
import { ADAPTER_FACTORIES } from '../../adapters/index.ts';
import { getMessage } from '../../src/api/client.ts';
import type { AdapterFactory } from '../../src/domain/adapter.ts';
import type { ChainFamily, ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { decodeMessage, messageId } from '../../src/domain/message.ts';
import { findCause, NotReadyError, QiaoError, RpcError } from '../../src/errors.ts';
import type { GovernanceClient } from '../../src/governance/client.ts';
import type { ConnectedChain } from '../context.ts';
import { closeLightClients, lightClientsFor } from '../light/connect.ts';
import { checkSourceCommitments } from '../source-check.ts';

/**
 * What an attestor decided about a batch's ids: `refused` (a proven forgery,
 * or a chain the registry does not approve... that stays so) is final; `wait`
 * is retried later (an RPC down, a height not final, the hub not serving
 * bytes). Neither is ever signed.
 */
export type BatchCheck =
  | { ok: true; verified: number }
  | { ok: false; kind: 'wait' | 'refused'; reason: string; detail: string; id?: Hex };

/** A batch this attestor did not sign because an id did not verify against its source chain. */
export class SourceCheckError extends QiaoError {
  constructor(
    readonly batchNo: bigint,
    readonly check: BatchCheck & { ok: false },
  ) {
    super('source_unverified', `batch ${batchNo}: ${check.kind === 'refused' ? 'refused' : 'not verifiable yet'}: ${check.reason}: ${check.detail}`, {
      data: { batchNo: batchNo.toString(), kind: check.kind, reason: check.reason, ...(check.id ? { id: check.id } : {}) },
    });
  }
}

export interface SourceVerifierOptions {
  /** A governance client bound to the ChainRegistry this attestor's operator configured (read on the attestor's own RPC). */
  gov: GovernanceClient;
  /** The hub's API: only a source of message bytes and heights, which are checked here (keccak256(bytes) = id, then proven). */
  hubUrl: string;
  /** local-dev trust only for chains the attestor's own operator named (or all, with --dev). */
  allowLocalDev: (chainId: string) => boolean;
  /** Operator-given RPC endpoints per chain, used instead of the registration's. */
  rpcOverrides?: ReadonlyMap<string, readonly string[]>;
  adapterFactories?: Record<ChainFamily, AdapterFactory>;
  logger: Logger;
  fetch?: typeof fetch;
}

/**
 * An attestor's own check of a batch's ids against the source chains: it
 * connects each source chain itself (adapter + light client, from the
 * registration on the governance chain), fetches the commitment proofs itself
 * and verifies them exactly as the relayer's verify stage does
 * (`checkSourceCommitments`). Nothing the hub or its relayer says is believed.
 */
export class SourceVerifier {
  private readonly conns = new Map<string, { key: string; chain: ConnectedChain }>();

  constructor(private readonly opts: SourceVerifierOptions) {}

  async verifyIds(ids: readonly Hex[]): Promise<BatchCheck> {
    // Group by (source chain, height): one proof per group, as the verify stage does.
    const groups = new Map<string, { chainId: string; height: bigint; ids: Hex[] }>();
    for (const id of ids) {
      const m = await this.message(id);
      if (!m.ok) return m;
      const k = `${m.srcChain}:${m.height}`;
      const g = groups.get(k) ?? { chainId: m.srcChain, height: m.height, ids: [] };
      g.ids.push(id);
      groups.set(k, g);
    }
    const regs = new Map((await this.opts.gov.chains()).map((r) => [r.chainId as string, r]));
    for (const g of groups.values()) {
      const reg = regs.get(g.chainId);
      // The bytes name a chain governance never registered: no registered port committed them.
      if (!reg) return { ok: false, kind: 'refused', reason: 'unknown_chain', detail: `${g.chainId} is not in the ChainRegistry`, id: g.ids[0]! };
      // A frozen or suspended chain may be approved again: wait, never sign meanwhile.
      if (reg.status !== 'approved') return { ok: false, kind: 'wait', reason: `chain_${reg.status}`, detail: `${g.chainId} is ${reg.status} in the ChainRegistry`, id: g.ids[0]! };
      let chain: ConnectedChain;
      try {
        chain = await this.connect(reg);
      } catch (err) {
        return { ok: false, kind: 'wait', reason: 'chain_unreachable', detail: `cannot connect ${g.chainId}: ${errText(err)}`, id: g.ids[0]! };
      }
      let check;
      try {
        check = await checkSourceCommitments(chain, g.height, g.ids, { allowLocalDev: this.opts.allowLocalDev(g.chainId), logger: this.opts.logger });
      } catch (err) {
        // Not an RPC outage (those come back as `wait`): still nothing is signed; it is tried again later.
        return { ok: false, kind: 'wait', reason: 'check_failed', detail: errText(err), id: g.ids[0]! };
      }
      if (!check.ok && check.kind === 'wait') return { ok: false, kind: 'wait', reason: 'source_not_ready', detail: errText(check.error), id: g.ids[0]! };
      if (!check.ok) return { ok: false, kind: 'refused', reason: check.reason, detail: `${g.chainId} at ${g.height}: ${check.detail}`, id: await this.culprit(chain, g.height, g.ids) };
    }
    return { ok: true, verified: ids.length };
  }

  /** Which id of a refused group the proof refuses (for the log and the record); the first, if none alone is refused. */
  private async culprit(chain: ConnectedChain, height: bigint, ids: readonly Hex[]): Promise<Hex> {
    if (ids.length > 1) {
      for (const id of ids) {
        const c = await checkSourceCommitments(chain, height, [id], { allowLocalDev: this.opts.allowLocalDev(chain.registration.chainId), logger: this.opts.logger }).catch(() => null);
        if (c && !c.ok && c.kind === 'refused') return id;
      }
    }
    return ids[0]!;
  }

  /** The message's source chain (from its bytes) and height (the hub's word, which the proof then checks). */
  private async message(id: Hex): Promise<{ ok: true; srcChain: string; height: bigint } | (BatchCheck & { ok: false })> {
    let m;
    try {
      m = await getMessage(this.opts.hubUrl, id, { timeoutMs: 10_000, ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}) });
    } catch (err) {
      return { ok: false, kind: 'wait', reason: 'hub_unavailable', detail: errText(err), id };
    }
    if (!m) return { ok: false, kind: 'wait', reason: 'bytes_unavailable', detail: `the hub serves no message ${id}`, id };
    let ok = false;
    try {
      ok = typeof m.encoded === 'string' && messageId(m.encoded as Hex) === id.toLowerCase();
    } catch {
      ok = false;
    }
    // The hub served bytes that are not the id's: another answer later may be the right one, but these are never used.
    if (!ok) return { ok: false, kind: 'wait', reason: 'bytes_mismatch', detail: `the bytes the hub serves for ${id} do not hash to it`, id };
    let srcChain: string;
    try {
      srcChain = decodeMessage(m.encoded as Hex).srcChain;
    } catch (err) {
      // The bytes hash to the id but are no message: no port ever committed them.
      return { ok: false, kind: 'refused', reason: 'message_invalid', detail: errText(err), id };
    }
    if (m.srcHeight === null || !/^\d+$/.test(String(m.srcHeight))) return { ok: false, kind: 'wait', reason: 'height_unavailable', detail: `the hub serves no source height for ${id}`, id };
    return { ok: true, srcChain, height: BigInt(m.srcHeight) };
  }

  /** The source chain as the relayer connects it, from the registration (or the operator's RPC overrides); reconnected when the registration changes. */
  private async connect(reg: ChainRegistration): Promise<ConnectedChain> {
    const endpoints = this.opts.rpcOverrides?.get(reg.chainId) ?? reg.endpoints;
    const key = JSON.stringify([reg.port, reg.trustRoot, reg.lightClient, endpoints]);
    const have = this.conns.get(reg.chainId);
    if (have?.key === key) return have.chain;
    if (have) {
      this.conns.delete(reg.chainId);
      await have.chain.adapter.close().catch(() => undefined);
      await closeLightClients(have.chain);
    }
    const r: ChainRegistration = { ...reg, endpoints: [...endpoints] };
    const logger = this.opts.logger.child({ chain: reg.chainId });
    const adapter = await (this.opts.adapterFactories ?? ADAPTER_FACTORIES)[reg.family](r, { logger });
    try {
      // No witness cross-checks here: the attestor re-verifies what the relayer's own clients already follow.
      const chain: ConnectedChain = { registration: r, adapter, ...lightClientsFor(r, adapter, { logger }) };
      this.conns.set(reg.chainId, { key, chain });
      return chain;
    } catch (err) {
      await adapter.close().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    for (const { chain } of this.conns.values()) {
      await chain.adapter.close().catch(() => undefined);
      await closeLightClients(chain);
    }
    this.conns.clear();
  }
}

function errText(err: unknown): string {
  const rpc = findCause(err, RpcError);
  if (rpc) return rpc.message;
  if (err instanceof NotReadyError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
