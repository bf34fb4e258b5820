import type { Logger } from 'pino';
import type { AdapterContext, AdapterFactory } from '../src/domain/adapter.ts';
import type { ChainFamily, ChainRegistration } from '../src/domain/chain.ts';
import type { Hex } from '../src/domain/hex.ts';
import type { TxSender } from '../src/evm/signer.ts';
import type { GovernanceClient } from '../src/governance/client.ts';
import type { MessageIndex } from '../src/index/types.ts';
import type { Attestor } from './attestor/attestor.ts';
import { handleMisbehaviour, type FreezeChain } from './light/misbehaviour.ts';
import { closeLightClients, lightClientsFor, type ChainLightClients } from './light/connect.ts';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { keepLease, LeaseLostError, type HeldLease } from './lease.ts';
import { chainToHandOver, presenceLeaseKey } from './watch-balance.ts';
import type { ConnectedChain, RelayerQueues, RelayerSettings, StageContext } from './context.ts';
import type { AckJob, AttestJob, CommitJob, DeliverJob, TimeoutJob, VerifyJob } from './jobs.ts';
import type { QueueBackend, WorkerHandle } from './queue/types.ts';
import { attestJob, queueDeliveries } from './stages/attest.ts';
import { commitJob, requestCommit } from './stages/commit.ts';
import { deliverJob } from './stages/deliver.ts';
import { ackJob } from './stages/ack.ts';
import { scanTimeouts, TIMEOUT_SCAN_MS, timeoutJob } from './stages/timeout.ts';
import { observeOnce } from './stages/observe.ts';
import { verifyJob } from './stages/verify.ts';
import { AttestorSetClient } from '../src/governance/attestor-set.ts';
import { SnapshotLogClient } from '../src/governance/snapshots.ts';
import { RotationCarrier } from './roots/rotation.ts';
import { SnapshotPipeline, type SnapshotSettings } from './roots/snapshots.ts';

export interface RelayerDeps {
  index: MessageIndex;
  gov: GovernanceClient;
  committer: TxSender;
  attestors: Attestor[];
  queues: QueueBackend;
  settings: RelayerSettings;
  logger: Logger;
  adapterFactories: Record<ChainFamily, AdapterFactory>;
  adapterContext: Omit<AdapterContext, 'logger'>;
  allowLocalDev(chainId: string): boolean;
  /** Registry snapshots (root type 2): off until the hub gives a registry reader. */
  snapshots?: SnapshotSettings;
  /** Watcher leases (from `queues.leases`): this process's holder name and the lease timing. */
  leases?: LeaseSettings;
  /**
   * Freezes a chain whose light client found misbehaviour (two validly sealed
   * conflicting headers), through the governance emergency path. Without it
   * the evidence is stored and a fatal alert asks for a manual freeze.
   */
  onMisbehaviour?: FreezeChain;
}

export interface LeaseSettings {
  /** Who holds a lease (logged and shown by `qiao relayer status`); default host:pid:random. */
  holder?: string;
  /** A killed holder's chains are taken over within about this long (default 10 s). */
  ttlMs?: number;
  /** Default a third of the TTL, so two renewals can fail before the lease expires. */
  renewEveryMs?: number;
}

export const DEFAULT_LEASE_TTL_MS = 10_000;

/** TTL of a process's presence lease (at most its watcher lease TTL). */
const PRESENCE_TTL_MS = 3000;

/** A process's lease holder name when none is given: host, pid and a random tag (a reused pid is another holder). */
export const defaultLeaseHolder = () => `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/** The lease key of a chain's watcher (under the queue backend's prefix). */
export const watcherLeaseKey = (chainId: string) => `watch:${chainId}`;

/**
 * The index as a watcher holding fence `fence` sees it: its checkpoint writes
 * go through the fenced write, and a refused one (a later holder has written)
 * ends the step with LeaseLostError. Everything else the watcher writes
 * (recorded messages, verify jobs) is idempotent by id.
 */
function fencedIndex(index: MessageIndex, lease: HeldLease): MessageIndex {
  return new Proxy(index, {
    get(target, prop) {
      if (prop === 'setCheckpoint') {
        return async (chainId: string, height: bigint) => {
          if (!lease.held) throw new LeaseLostError(`watcher lease ${lease.grant.key} was lost before the checkpoint write`);
          if (!(await target.setCheckpointFenced(chainId, height, lease.grant.fence))) {
            throw new LeaseLostError(`checkpoint of ${chainId} refused fence ${lease.grant.fence}: a later lease holder has written`, { data: { chainId, fence: String(lease.grant.fence) } });
          }
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

interface Watcher {
  stop(): Promise<void>;
}

/** The relayer pipeline: one watcher per connected chain, and workers for every stage. */
export class Relayer {
  private readonly chains = new Map<string, ConnectedChain>();
  private readonly watchers = new Map<string, Watcher>();
  private readonly workers: WorkerHandle[] = [];
  private readonly queues: RelayerQueues;
  readonly ctx: StageContext;
  private stopped = false;
  private connecting = new Map<string, Promise<void>>();
  private readonly rotation: RotationCarrier;
  private snapshots: SnapshotPipeline | null = null;
  private readonly roots: Watcher[] = [];
  /** This process's name as a lease holder. */
  readonly holder: string;
  /** Held while this process runs (shared leases only), so the others count it when they balance watchers. */
  private presence: HeldLease | null = null;
  /** Chains whose watcher lease this process gives up at the watcher's next step. */
  private readonly handOver = new Set<string>();
  /** Chains handed over and not yet seen watched by another process, and until when this process leaves them alone. */
  private readonly handedOver = new Map<string, number>();
  /** Chains handed over once that nobody took: never handed over again by this process. */
  private readonly keep = new Set<string>();
  private lastBalance = 0;

  private constructor(private readonly deps: RelayerDeps) {
    this.holder = deps.leases?.holder ?? defaultLeaseHolder();
    this.queues = {
      verify: deps.queues.queue<VerifyJob>('verify'),
      commit: deps.queues.queue<CommitJob>('commit'),
      attest: deps.queues.queue<AttestJob>('attest'),
      deliver: deps.queues.queue<DeliverJob>('deliver'),
      ack: deps.queues.queue<AckJob>('ack'),
      timeout: deps.queues.queue<TimeoutJob>('timeout'),
    };
    this.ctx = {
      index: deps.index,
      gov: deps.gov,
      committer: deps.committer,
      chains: this.chains,
      attestors: deps.attestors,
      queues: this.queues,
      settings: deps.settings,
      logger: deps.logger,
      allowLocalDev: (id) => deps.allowLocalDev(id),
    };
    this.rotation = new RotationCarrier(this.ctx, new AttestorSetClient(deps.gov));
    if (deps.snapshots) this.enableSnapshots(deps.snapshots);
  }

  /** Runs another attestor key in this hub (e.g. a member of a newly proposed set). */
  addAttestor(a: Attestor): void {
    if (this.deps.attestors.some((x) => x.address.toLowerCase() === a.address.toLowerCase())) return;
    this.deps.attestors.push(a);
  }

  /** How far the snapshot job has compared the registries (null while snapshots are off). */
  snapshotProgress(): { checkedThrough: bigint } | null {
    return this.snapshots ? { checkedThrough: this.snapshots.checkedThrough } : null;
  }

  /** Starts committing, attesting and delivering registry snapshots (idempotent: the last settings win). */
  enableSnapshots(settings: SnapshotSettings): void {
    this.snapshots = new SnapshotPipeline(this.ctx, new SnapshotLogClient(this.deps.gov), settings);
  }

  static async start(deps: RelayerDeps): Promise<Relayer> {
    const r = new Relayer(deps);
    const c = deps.settings.concurrency;
    r.workers.push(
      r.queues.verify.process((job) => verifyJob(r.ctx, job), { concurrency: c }),
      // Batch numbers are sequential: one commit at a time across every relayer process. Per process only,
      // N processes raced for the next number and most of their commits were retries (issue 5).
      r.queues.commit.process((job) => commitJob(r.ctx, job), { concurrency: 1, globalConcurrency: 1 }),
      r.queues.attest.process((job) => attestJob(r.ctx, job), { concurrency: c }),
      r.queues.deliver.process((job) => deliverJob(r.ctx, job), { concurrency: c }),
      r.queues.ack!.process((job) => ackJob(r.ctx, job), { concurrency: c }),
      r.queues.timeout!.process((job) => timeoutJob(r.ctx, job), { concurrency: c }),
    );
    await r.recover();
    // Several processes share the leases: announce this one, and give chains to processes that watch fewer.
    if (deps.queues.leases.kind === 'redis') {
      const store = deps.queues.leases;
      // Shorter than the watcher leases: a killed process stops counting before its chains are taken over, or
      // the taker would see it as a live process watching nothing and hand a chain straight back to nobody.
      const ttlMs = Math.min(PRESENCE_TTL_MS, deps.leases?.ttlMs ?? DEFAULT_LEASE_TTL_MS);
      const grant = await store.acquire(presenceLeaseKey(r.holder), r.holder, ttlMs);
      if (grant) r.presence = keepLease(store, grant, { ttlMs, logger: deps.logger });
      r.roots.push(r.loop('watcher balance', () => r.balance()));
    }
    // Separate loops: a failing hand-over never holds up snapshots, nor the reverse.
    r.roots.push(
      r.loop('attestor-set hand-over', () => r.rotation.step()),
      r.loop('registry snapshot', async () => r.snapshots?.step()),
      // Timeouts are counted in blocks and seconds: a scan a second is soon enough, and each one reads the index.
      r.loop('timeouts', () => scanTimeouts(r.ctx), deps.logger, Math.max(deps.settings.pollIntervalMs, TIMEOUT_SCAN_MS)),
    );
    return r;
  }

  /** After a restart, re-queues work whose job may have been lost with the process. */
  private async recover(): Promise<void> {
    const { index } = this.deps;
    const sent = await index.messagesByStatus('sent', 10_000);
    const groups = new Map<string, { chainId: string; height: string; ids: string[] }>();
    for (const m of sent) {
      if (m.srcHeight === null) continue;
      const k = `${m.srcChain}:${m.srcHeight}`;
      const g = groups.get(k) ?? { chainId: m.srcChain, height: m.srcHeight, ids: [] };
      g.ids.push(m.id);
      groups.set(k, g);
    }
    if (groups.size) {
      await this.queues.verify.addBulk([...groups.values()].map((g) => ({ name: 'verify', data: g, opts: { jobId: `verify:${g.chainId}:${g.height}`, attempts: this.deps.settings.attempts } })));
    }
    await requestCommit(this.ctx, 'startup');
    for (const b of await index.batchesWithStatus('committed', 10_000)) {
      await this.queues.attest.add('attest', { batchNo: b.batchNo }, { jobId: `attest:${b.batchNo}`, attempts: this.deps.settings.attempts });
    }
    // Batches whose messages still wait for delivery, not every attested batch of the hub's history.
    for (const batchNo of await index.batchNosWithMessagesIn('attested')) {
      const b = await index.getBatch(batchNo);
      if (b?.status === 'attested') await queueDeliveries(this.ctx, batchNo, b.ids as Hex[]);
    }
  }

  /** Connects approved chains and disconnects the others: called whenever the registry changes. */
  async sync(registrations: ChainRegistration[]): Promise<void> {
    for (const reg of registrations) {
      await this.deps.index.upsertChain(reg);
      const connected = this.chains.has(reg.chainId) || this.connecting.has(reg.chainId);
      const current = this.chains.get(reg.chainId)?.registration;
      if (current && reg.status === 'approved' && (current.port !== reg.port || current.endpoints.join() !== reg.endpoints.join() || current.trustRoot !== reg.trustRoot)) {
        await this.disconnect(reg.chainId);
        await this.connect(reg);
        continue;
      }
      if (reg.status === 'approved' && !connected) await this.connect(reg);
      if (reg.status !== 'approved' && connected) await this.disconnect(reg.chainId);
    }
  }

  connectedChains(): string[] {
    return [...this.chains.keys()];
  }

  private async connect(reg: ChainRegistration): Promise<void> {
    const p = (async () => {
      const logger = this.deps.logger.child({ chain: reg.chainId });
      try {
        const adapter = await this.deps.adapterFactories[reg.family](reg, { ...this.deps.adapterContext, logger });
        if (this.stopped) return void (await adapter.close());
        let clients: ChainLightClients;
        try {
          clients = lightClientsFor(reg, adapter, { logger, onMisbehaviour: (e) => handleMisbehaviour(e, { index: this.deps.index, freeze: this.deps.onMisbehaviour, logger }) });
        } catch (err) {
          // A bad trust root is retried at every registry sync: each try must not leave an adapter's connections open.
          await adapter.close();
          throw err;
        }
        this.chains.set(reg.chainId, { registration: reg, adapter, ...clients });
        this.watchers.set(reg.chainId, this.watch(this.chains.get(reg.chainId)!, logger));
        logger.info({ family: reg.family, lightClient: reg.lightClient }, 'chain connected');
        if (reg.lightClient === 'local-dev') {
          logger.warn(
            { accepted: this.deps.allowLocalDev(reg.chainId) },
            'local-dev trust: this chain\'s headers are taken from its RPC, not a light client (accepted only for chains the hub started, or with --dev)',
          );
        }
      } catch (err) {
        logger.error({ err }, 'could not connect chain; will retry on the next registry sync');
      }
    })();
    this.connecting.set(reg.chainId, p);
    try {
      await p;
    } finally {
      this.connecting.delete(reg.chainId);
    }
  }

  private async disconnect(chainId: string): Promise<void> {
    await this.watchers.get(chainId)?.stop();
    this.watchers.delete(chainId);
    const c = this.chains.get(chainId);
    this.chains.delete(chainId);
    await c?.adapter.close();
    if (c) await closeLightClients(c);
    this.deps.logger.info({ chain: chainId }, 'chain disconnected');
  }

  /**
   * Every third of a lease TTL: if this process watches at least two chains
   * more than the live process that watches the fewest, it hands its newest
   * over (see chainToHandOver), so watchers spread as processes join.
   */
  private async balance(): Promise<void> {
    const everyMs = Math.floor((this.deps.leases?.ttlMs ?? DEFAULT_LEASE_TTL_MS) / 3);
    if (Date.now() - this.lastBalance < everyMs) return;
    this.lastBalance = Date.now();
    const mine = this.heldLeases()
      .map((l) => l.chainId)
      .filter((c) => !this.keep.has(c));
    if (mine.length < 2 && this.handedOver.size === 0) return;
    const holders = await this.deps.queues.leases.holders();
    // Taken: nothing more to wait for (and no reason to keep reading the holders for it).
    for (const c of this.handedOver.keys()) {
      if (holders.some((h) => h.key === watcherLeaseKey(c) && h.holder !== this.holder)) this.handedOver.delete(c);
    }
    const chainId = chainToHandOver(this.holder, holders, mine);
    if (chainId) this.handOver.add(chainId);
  }

  /** The chains whose watcher lease this process holds now, with the fence. */
  heldLeases(): { chainId: string; fence: bigint }[] {
    return [...this.leases].filter(([, l]) => l.held).map(([chainId, l]) => ({ chainId, fence: l.grant.fence }));
  }

  private readonly leases = new Map<string, HeldLease>();

  /**
   * A chain's watcher runs only while this process holds the chain's lease
   * (exactly one watcher per chain across all relayer processes); without it
   * the loop keeps trying to take the lease, so a dead holder's chain is taken
   * over within the TTL. Every stage worker runs either way.
   */
  private watch(chain: ConnectedChain, logger: Logger): Watcher {
    const chainId = chain.registration.chainId;
    const store = this.deps.queues.leases;
    const ttlMs = this.deps.leases?.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    const renewEveryMs = this.deps.leases?.renewEveryMs;
    const drop = async () => {
      const held = this.leases.get(chainId);
      this.leases.delete(chainId);
      await held?.release();
    };
    const inner = this.loop(
      'watch',
      async () => {
        if (this.handOver.delete(chainId) && this.leases.get(chainId)?.held) {
          // Between two observe steps: the next holder starts from the checkpoint this process fenced last.
          await drop();
          this.handedOver.set(chainId, Date.now() + ttlMs);
          logger.info({ holder: this.holder }, 'watcher handed over: another process watches fewer chains');
          return false;
        }
        let lease = this.leases.get(chainId);
        if (lease && !lease.held) {
          this.leases.delete(chainId);
          lease = undefined;
        }
        if (!lease) {
          const until = this.handedOver.get(chainId);
          if (until !== undefined && Date.now() < until) return false;
          const grant = await store.acquire(watcherLeaseKey(chainId), this.holder, ttlMs);
          if (!grant) return false;
          if (until !== undefined) {
            // Nobody was seen holding it meanwhile (the others cannot connect it, say): this process keeps it from now on.
            this.handedOver.delete(chainId);
            this.keep.add(chainId);
            logger.warn('a watcher handed over was not taken within a lease TTL: this process keeps watching the chain');
          }
          lease = keepLease(store, grant, { ttlMs, ...(renewEveryMs ? { renewEveryMs } : {}), logger });
          this.leases.set(chainId, lease);
          logger.info({ fence: String(grant.fence), holder: this.holder }, 'watcher lease taken');
        }
        try {
          return await observeOnce({ ...this.ctx, index: fencedIndex(this.ctx.index, lease) }, chain);
        } catch (err) {
          if (!(err instanceof LeaseLostError)) throw err;
          logger.warn({ err }, 'watcher stopped: its lease was lost');
          await drop();
          return false;
        }
      },
      logger,
    );
    return {
      async stop() {
        await inner.stop();
        await drop();
      },
    };
  }

  /**
   * Runs `step` every poll interval (at once again when it reports more work),
   * backing off exponentially while it fails.
   */
  private loop(what: string, step: () => Promise<boolean | void>, logger: Logger = this.deps.logger, everyMs = this.deps.settings.pollIntervalMs): Watcher {
    let running = true;
    let wake: (() => void) | null = null;
    let failures = 0;
    const loop = (async () => {
      while (running) {
        let behind = false;
        try {
          behind = (await step()) === true;
          failures = 0;
        } catch (err) {
          failures++;
          logger.warn({ err, failures }, `${what} step failed; retrying`);
        }
        if (!running) break;
        if (behind) continue;
        const wait = failures ? Math.min(30_000, everyMs * 2 ** Math.min(failures, 6)) : everyMs;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
      }
    })();
    return {
      async stop() {
        running = false;
        (wake as (() => void) | null)?.();
        await loop;
      },
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.roots.map((w) => w.stop()));
    await Promise.all([...this.connecting.values()]);
    await Promise.all([...this.watchers.values()].map((w) => w.stop()));
    await this.presence?.release();
    await Promise.all(this.workers.map((w) => w.close()));
    for (const c of this.chains.values()) {
      await c.adapter.close();
      await closeLightClients(c);
    }
    this.chains.clear();
  }
}
