import { getAddress, ZeroAddress } from 'ethers';
import type { Logger } from 'pino';
import { ROOT_TYPE, type RootType } from '../../src/domain/attestation.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { AttestorRefusalError, ConfigError, findCause, NotReadyError, QiaoError, redactUrl } from '../../src/errors.ts';
import { fetchChainId, makeProvider } from '../../src/evm/provider.ts';
import { governanceArtifacts } from '../../src/governance/artifacts.ts';
import { AttestorSetClient } from '../../src/governance/attestor-set.ts';
import { GovernanceClient } from '../../src/governance/client.ts';
import { SnapshotLogClient } from '../../src/governance/snapshots.ts';
import { Attestor, type AttestorSignature, type SnapshotSource } from './attestor.ts';
import { SignedRootRecord } from './record.ts';
import { RefusalRecord, type RefusalEntry } from './refusals.ts';
import { SourceCheckError, SourceVerifier, type SourceVerifierOptions } from './sources.ts';

export interface AttestorProcessOptions {
  privateKey: Hex;
  /** The governance chain, read by this process itself (its own RPC, never through the hub). */
  gov: GovernanceClient;
  /** The attestor's own durable one-root-per-batch record (JSON lines, in its data folder). */
  recordFile: string;
  /** The hub's API, where signatures are posted (POST /attestations). */
  hubUrl: string;
  finalityDepth: number;
  logger: Logger;
  pollMs?: number;
  /** With no record yet, start this many batches before the governance chain's next batch number. */
  lookback?: number;
  /** A registry reader, to recompute and sign registry snapshots (root type 2); without it snapshots are left to others. */
  snapshots?: SnapshotSource;
  /**
   * Re-verify every id of a batch against its source chain before signing its
   * root (the ChainRegistry is read from `gov`, which must bind one). Without
   * it the process only checks the logged ids against the logged root.
   */
  reverify?: Pick<SourceVerifierOptions, 'allowLocalDev' | 'rpcOverrides' | 'adapterFactories'>;
  /** Where refused batches are kept (default: next to the record, `.refused.jsonl`). */
  refusalFile?: string;
  fetch?: typeof fetch;
}

/** A refusal from the hub that posting again will not change. */
export class HubRefusedError extends QiaoError {
  constructor(
    readonly status: number,
    message: string,
    options: { data?: Record<string, unknown> } = {},
  ) {
    super('hub_refused', message, options);
  }
}

/** stored (or held already), not_held: the hub has no such root yet, refused: the hub holds another root (409). */
type Posted = 'stored' | 'not_held' | 'refused';

/**
 * An attestor run as its own process, with its own key and record: it follows
 * the governance chain's MessageLog (batches, snapshots) and AttestorSet
 * (pending hand-overs) at final heights, re-verifies each root with the same
 * `Attestor` the hub runs in-process, and posts its signature to the hub. A
 * relayer or hub that lies cannot make it sign anything the chain does not
 * hold; a conflict halts it for good.
 */
export class AttestorProcess {
  readonly attestor: Attestor;
  private readonly record: SignedRootRecord;
  private readonly refused: RefusalRecord;
  private readonly sources: SourceVerifier | null;
  /** Batches whose ids could not be verified yet (RPC down, not final, hub not serving bytes): retried with backoff, never signed meanwhile. */
  readonly waiting = new Map<bigint, { reason: string; detail: string; attempts: number; nextAt: number }>();
  private readonly sets: AttestorSetClient;
  private readonly log: SnapshotLogClient;
  private nextBatch: bigint | null = null;
  private nextSnapshot: bigint | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private haltedReason: string | null = null;
  private readonly fetchFn: typeof fetch;
  /** Counts of signatures the hub stored, per root type (for operators and tests). */
  readonly posted = { messages: 0, snapshots: 0, sets: 0 };

  private constructor(private readonly opts: AttestorProcessOptions) {
    if (opts.reverify && opts.gov.addresses.chainRegistry === ZeroAddress) {
      throw new ConfigError('chain-registry', 're-verifying sources needs the ChainRegistry address on the governance chain');
    }
    this.record = SignedRootRecord.open(opts.recordFile);
    this.refused = RefusalRecord.open(opts.refusalFile ?? `${opts.recordFile.replace(/\.jsonl$/, '')}.refused.jsonl`);
    this.fetchFn = opts.fetch ?? fetch;
    this.sources = opts.reverify
      ? new SourceVerifier({ ...opts.reverify, gov: opts.gov, hubUrl: opts.hubUrl, logger: opts.logger.child({ part: 'source-check' }), fetch: this.fetchFn })
      : null;
    const sources = this.sources;
    this.attestor = new Attestor(opts.privateKey, opts.gov, this.record, {
      finalityDepth: opts.finalityDepth,
      logger: opts.logger,
      ...(opts.snapshots ? { snapshots: opts.snapshots } : {}),
      ...(sources
        ? {
            verifyIds: async (batchNo: bigint, ids: readonly Hex[]) => {
              const c = await sources.verifyIds(ids);
              if (!c.ok) throw new SourceCheckError(batchNo, c);
            },
          }
        : {}),
    });
    this.sets = new AttestorSetClient(opts.gov);
    this.log = new SnapshotLogClient(opts.gov);
  }

  static start(opts: AttestorProcessOptions): AttestorProcess {
    const p = new AttestorProcess(opts);
    p.running = true;
    p.loop = p.run();
    opts.logger.info({ attestor: p.address, hub: opts.hubUrl, record: opts.recordFile, reverify: !!opts.reverify }, 'attestor process started');
    if (!opts.reverify) {
      opts.logger.warn({ attestor: p.address }, 'this attestor does not re-verify message sources: a compromised committer key could get it to sign ids never sent');
    }
    return p;
  }

  get address(): string {
    return this.attestor.address;
  }

  /** Why it halted (a conflicting root), or null while it runs. */
  get halted(): string | null {
    return this.haltedReason;
  }

  /** Resolves when the process stops: by `stop()`, or by halting. */
  get done(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.sources?.close();
    this.record.close();
    this.refused.close();
  }

  /** The batch's refusal, if this attestor refused it for good (its durable record). */
  refusal(batchNo: bigint): RefusalEntry | undefined {
    return this.refused.get(ROOT_TYPE.messages, batchNo);
  }

  private async run(): Promise<void> {
    const pollMs = this.opts.pollMs ?? 500;
    while (this.running) {
      try {
        await this.step();
      } catch (err) {
        if (this.attestor.isHalted || findCause(err, AttestorRefusalError)?.reason === 'conflicting_root') {
          this.haltedReason = err instanceof Error ? err.message : String(err);
          this.opts.logger.fatal({ err, attestor: this.address }, 'attestor process halted: it signs nothing more until an operator looks');
          this.running = false;
          break;
        }
        this.opts.logger.warn({ err, attestor: this.address }, 'attestor step failed; retrying');
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pollMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** One pass: the pending hand-over, every final batch not yet signed, the latest snapshot. */
  async step(): Promise<void> {
    await this.stepSets();
    await this.stepBatches();
    if (this.opts.snapshots) await this.stepSnapshots();
  }

  private async isMemberOfCurrent(): Promise<boolean> {
    const set = await this.sets.current();
    return set.members.some((m) => m.toLowerCase() === this.address.toLowerCase());
  }

  private async stepSets(): Promise<void> {
    const pending = await this.sets.pending();
    if (!pending || !(await this.isMemberOfCurrent())) return;
    const signed = this.record.get(ROOT_TYPE.attestorSet, pending.setId);
    // Signed and posted before: posting again is harmless but needless every poll.
    if (signed && this.postedSets.has(pending.setId)) return;
    const sig = await this.sign(() => this.attestor.attestAttestorSet(pending.setId));
    if (!sig) return;
    if ((await this.post(ROOT_TYPE.attestorSet, pending.setId, sig)) === 'stored') {
      this.postedSets.add(pending.setId);
      this.posted.sets++;
    }
  }

  private readonly postedSets = new Set<bigint>();

  private async stepBatches(): Promise<void> {
    const final = BigInt(await this.opts.gov.provider.getBlockNumber()) - BigInt(this.opts.finalityDepth);
    if (final < 0n) return;
    const next = await this.opts.gov.nextBatchNo(final);
    if (this.nextBatch === null) {
      // Resume at the last batch signed (posting it again is idempotent: the hub may not have stored it before a crash).
      const last = this.record.highestBatch(ROOT_TYPE.messages);
      const lookback = BigInt(this.opts.lookback ?? 256);
      this.nextBatch = last ?? (next - lookback > 1n ? next - lookback : 1n);
      // Batches held back before a restart, below where it resumes: tried again now.
      for (const b of this.refused.waiting(ROOT_TYPE.messages)) {
        if (b < this.nextBatch && !this.record.get(ROOT_TYPE.messages, b) && !this.refused.get(ROOT_TYPE.messages, b)) {
          this.waiting.set(b, { reason: 'restarted', detail: 'held back before a restart', attempts: 0, nextAt: 0 });
        }
      }
    }
    if (!(await this.isMemberOfCurrent())) return;
    // Batches that could not be verified before, when their backoff is over; they do not hold up later batches.
    for (const [batchNo, w] of [...this.waiting]) {
      if (!this.running || w.nextAt > Date.now()) continue;
      // Not final, or not held by the hub yet: try again after the backoff.
      if ((await this.attestBatch(batchNo)) === 'stop') w.nextAt = Date.now() + Math.min(60_000, 500 * 2 ** Math.min(w.attempts, 7));
    }
    for (let batchNo: bigint = this.nextBatch; this.running && batchNo < next; batchNo++) {
      if ((await this.attestBatch(batchNo)) === 'stop') return;
      this.nextBatch = batchNo + 1n;
    }
  }

  /** Signs and posts one batch; 'stop' when this batch (and so the ones after it) must be tried again later. */
  private async attestBatch(batchNo: bigint): Promise<'done' | 'stop'> {
    if (this.refused.get(ROOT_TYPE.messages, batchNo)) {
      this.waiting.delete(batchNo);
      return 'done';
    }
    let sig: AttestorSignature | null;
    try {
      sig = await this.sign(() => this.attestor.attestMessages(batchNo));
    } catch (err) {
      const e = findCause(err, SourceCheckError);
      if (!e) throw err;
      const c = e.check;
      const log = { attestor: this.address, batchNo: batchNo.toString(), reason: c.reason, detail: c.detail, ...(c.id ? { id: c.id } : {}) };
      if (c.kind === 'refused') {
        // A proof from the source chain itself says no: never signed, not retried.
        this.refused.put(ROOT_TYPE.messages, batchNo, { reason: c.reason, detail: c.detail, ...(c.id ? { id: c.id } : {}) });
        this.waiting.delete(batchNo);
        this.opts.logger.error(log, 'batch refused: an id does not verify against its source chain');
        return 'done';
      }
      this.refused.putWait(ROOT_TYPE.messages, batchNo, { reason: c.reason, detail: c.detail, ...(c.id ? { id: c.id } : {}) });
      const prev = this.waiting.get(batchNo);
      const attempts = (prev?.attempts ?? 0) + 1;
      // Backoff up to a minute: a batch that stays unverifiable (a forgery the hub has no bytes for) costs little.
      this.waiting.set(batchNo, { reason: c.reason, detail: c.detail, attempts, nextAt: Date.now() + Math.min(60_000, 500 * 2 ** Math.min(attempts, 7)) });
      this.opts.logger.warn({ ...log, attempts }, 'batch not signed: an id cannot be verified against its source chain yet; retrying later');
      return 'done';
    }
    if (!sig) return 'stop';
    const r = await this.post(ROOT_TYPE.messages, batchNo, sig);
    // The hub's index lags the chain: post this batch again next time.
    if (r === 'not_held') return 'stop';
    this.waiting.delete(batchNo);
    // A hub holding another root than the chain can never use this signature; later batches must not wait on it.
    if (r === 'stored') this.posted.messages++;
    return 'done';
  }

  private async stepSnapshots(): Promise<void> {
    const latest = await this.log.latest();
    if (!latest || (this.nextSnapshot !== null && latest.snapshotNo < this.nextSnapshot)) return;
    if (!(await this.isMemberOfCurrent())) return;
    const sig = await this.sign(() => this.attestor.attestSnapshot(latest.snapshotNo));
    if (!sig) return;
    if ((await this.post(ROOT_TYPE.registrySnapshot, latest.snapshotNo, sig)) === 'stored') {
      this.posted.snapshots++;
      this.nextSnapshot = latest.snapshotNo + 1n;
    }
  }

  /** The attestor's signature, or null while the root is not final (or refused for now, e.g. after a rollback). */
  private async sign(f: () => Promise<AttestorSignature>): Promise<AttestorSignature | null> {
    try {
      return await f();
    } catch (err) {
      if (findCause(err, NotReadyError)) return null;
      const refusal = findCause(err, AttestorRefusalError);
      if (refusal && refusal.reason !== 'conflicting_root' && refusal.reason !== 'halted') {
        this.opts.logger.warn({ err, attestor: this.address }, 'attestor refused to sign');
        return null;
      }
      throw err;
    }
  }

  private async post(rootType: RootType, batchNo: bigint, sig: AttestorSignature): Promise<Posted> {
    const body = { rootType, batchNo: batchNo.toString(), setId: sig.setId.toString(), signature: sig.signature, attestor: sig.attestor };
    const res = await this.fetchFn(new URL('/attestations', this.opts.hubUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (res.ok) return 'stored';
    if (res.status === 404) return 'not_held';
    const text = (await res.text()).slice(0, 500);
    const data = { status: res.status, rootType, batchNo: batchNo.toString(), setId: sig.setId.toString(), root: sig.root, answer: text };
    if (res.status === 409) {
      // The hub holds another root than the governance chain at a final height: the hub (or its relayer) is wrong, not this attestor.
      this.opts.logger.error(data, 'the hub holds another root than the one this attestor verified on the governance chain');
      return 'refused';
    }
    if (res.status >= 500) throw new NotReadyError(`hub answered ${res.status}`, 1000);
    throw new HubRefusedError(res.status, `the hub refused the signature for root type ${rootType} batch ${batchNo}: ${res.status}`, { data });
  }
}

/**
 * A governance client for an attestor's own use, from its own RPC and the
 * AttestorSet address its operator configured (never from the hub): the
 * MessageLog is the one the AttestorSet names. The ChainRegistry, which a
 * re-verifying attestor reads its source chains from, is bound only when the
 * operator names it.
 */
export async function attestorGovernance(
  rpcUrl: string,
  attestorSet: string,
  { expectChainId, chainRegistry }: { expectChainId?: bigint; chainRegistry?: string } = {},
): Promise<GovernanceClient> {
  let chainId: bigint;
  try {
    chainId = await fetchChainId(rpcUrl);
  } catch (cause) {
    throw new ConfigError('governance-rpc', `${redactUrl(rpcUrl)} does not answer as an EVM JSON-RPC endpoint`, { cause });
  }
  if (expectChainId !== undefined && chainId !== expectChainId) throw new ConfigError('governance-rpc', `serves chain ${chainId}, expected ${expectChainId}`);
  const provider = makeProvider(rpcUrl, chainId, { pollingMs: 200 });
  try {
    const artifacts = await governanceArtifacts();
    const probe = new GovernanceClient(provider, chainId, { chainRegistry: ZeroAddress, attestorSet: getAddress(attestorSet), messageLog: ZeroAddress }, artifacts);
    const messageLog = await new AttestorSetClient(probe).messageLog();
    if (messageLog === ZeroAddress) throw new ConfigError('attestor-set', `${attestorSet} names no MessageLog`);
    const registry = chainRegistry === undefined ? ZeroAddress : getAddress(chainRegistry);
    const gov = new GovernanceClient(provider, chainId, { chainRegistry: registry, attestorSet: getAddress(attestorSet), messageLog }, artifacts);
    // A wrong address would make every batch unverifiable: say so at start, not per batch.
    if (registry !== ZeroAddress) await gov.chains().catch((cause: unknown) => Promise.reject(new ConfigError('chain-registry', `${registry} is not a ChainRegistry on the governance chain`, { cause })));
    return gov;
  } catch (err) {
    provider.destroy();
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('attestor-set', `${attestorSet} is not an AttestorSet on the governance chain`, { cause: err });
  }
}
