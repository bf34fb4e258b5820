import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MessageIndex } from '../index/types.ts';
import type { ApiPlugin, HealthReport } from './server.ts';

/** Sent→delivered latency buckets, seconds: sub-second relays up to stuck ones. */
const LATENCY_BUCKETS = [0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60, 120, 300, 900];
const FEED_BATCH = 1000;

export interface MetricsOptions {
  index: MessageIndex;
  health: () => Promise<HealthReport>;
  logger?: Logger;
  /** How often the index's transitions are read for the latency histogram and failure counter. */
  pollMs?: number;
  /** Node process metrics (CPU, memory, event loop lag) with the `qiao_process_` prefix. */
  processMetrics?: boolean;
  /**
   * The relayer's connected chains (chain id → ConnectedChain): their light
   * clients give `qiao_light_client_height` and `qiao_light_client_trust_expiry_seconds`.
   */
  connections?: () => Iterable<readonly [string, object]>;
  /**
   * Lanes held because their fee no longer covers the destination's gas
   * (relayer/fees.ts), read at scrape time: the index's `laneHolds()`, which
   * every relayer process writes.
   */
  laneFeeHolds?: () => Promise<readonly { srcChain: string; dstChain: string; waiting: number }[]> | readonly { srcChain: string; dstChain: string; waiting: number }[];
  /** The clock trust expiry is counted from (ms since the epoch). */
  now?: () => number;
}

/**
 * What the metrics read of a light client: every client has a height; those
 * with a trusting period (CometBFT, the beacon sync committee) say, in unix
 * seconds, when they can no longer advance without a new trust root.
 */
export interface LightClientView {
  readonly height?: bigint | number;
  trustExpiresAt?(): number | null;
}

function isLightClient(v: unknown): v is LightClientView {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { height?: unknown; trustExpiresAt?: unknown };
  return typeof o.height === 'bigint' || typeof o.height === 'number' || typeof o.trustExpiresAt === 'function';
}

/**
 * The light clients a connected chain holds, whatever field holds them (one
 * per family: `light`, `grandpa`, `comet`, `fabric`, ...), so a new family's
 * client is measured without touching this file.
 */
export function lightClientsOf(conn: object): LightClientView[] {
  return Object.entries(conn)
    .filter(([k, v]) => k !== 'registration' && k !== 'adapter' && isLightClient(v))
    .map(([, v]) => v as LightClientView);
}

/** `proof_invalid:endpoint 1 ...` → `proof_invalid`: a bounded label set, never free text. */
export function reasonLabel(reason: string | null): string {
  if (!reason) return 'unknown';
  const head = reason.split(':', 1)[0]!.trim().toLowerCase();
  return /^[a-z][a-z0-9_]{0,40}$/.test(head) ? head : 'receiver_revert';
}

/**
 * Prometheus metrics of one hub, on a registry of its own (no global state).
 * Gauges are read at scrape time (queue depth per stage, head lag, lane counts
 * and nonce gaps). The delivery latency histogram and the failure counter follow
 * the index's transitions, so they count what every relayer process did, not
 * only this one.
 */
export class HubMetrics {
  readonly registry = new Registry();
  private lastSeq: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private readonly latency: Histogram<'src_chain' | 'dst_chain'>;
  private readonly failures: Counter<'dst_chain' | 'status' | 'reason'>;

  constructor(private readonly opts: MetricsOptions) {
    const { index } = opts;
    // One health report per scrape, shared by the gauges that read it.
    let cached: { at: number; report: Promise<HealthReport> } | null = null;
    const health = (): Promise<HealthReport> => {
      if (!cached || Date.now() - cached.at > 500) cached = { at: Date.now(), report: opts.health() };
      return cached.report;
    };
    const reg = this.registry;
    if (opts.processMetrics) collectDefaultMetrics({ register: reg, prefix: 'qiao_process_' });

    new Gauge({
      name: 'qiao_queue_jobs',
      help: 'Jobs per relayer stage and state (waiting, delayed, active, dead).',
      labelNames: ['stage', 'state'] as const,
      registers: [reg],
      async collect() {
        const h = await health();
        this.reset();
        for (const [stage, c] of Object.entries(h.queues)) {
          for (const state of ['waiting', 'delayed', 'active', 'dead'] as const) this.set({ stage, state }, c[state]);
        }
      },
    });
    new Gauge({
      name: 'qiao_chain_head_lag_blocks',
      help: "Blocks between a chain's finalized height and the relayer's checkpoint.",
      labelNames: ['chain'] as const,
      registers: [reg],
      async collect() {
        const h = await health();
        this.reset();
        for (const c of h.chains) if (c.lag !== null) this.set({ chain: c.chainId }, Number(c.lag));
      },
    });
    new Gauge({
      name: 'qiao_chain_status',
      help: "1 for a chain's current registry status.",
      labelNames: ['chain', 'status'] as const,
      registers: [reg],
      async collect() {
        this.reset();
        for (const c of await index.listChains()) this.set({ chain: c.chainId, status: c.status }, 1);
      },
    });
    new Gauge({
      name: 'qiao_governance_up',
      help: '1 when the governance chain answers.',
      registers: [reg],
      async collect() {
        this.set((await health()).governance ? 1 : 0);
      },
    });
    const connections = opts.connections;
    const now = opts.now ?? Date.now;
    if (connections) {
      new Gauge({
        name: 'qiao_light_client_height',
        help: "The highest header a chain's light client has verified (local-dev chains have no light client).",
        labelNames: ['chain'] as const,
        registers: [reg],
        collect() {
          this.reset();
          for (const [chain, conn] of connections()) {
            const lc = lightClientsOf(conn).find((c) => c.height !== undefined);
            if (lc) this.set({ chain }, Number(lc.height));
          }
        },
      });
      new Gauge({
        name: 'qiao_light_client_trust_expiry_seconds',
        help: "Seconds until a chain's light client can no longer advance without a new trust root (negative: expired; governance must re-anchor). Chains whose client has no trusting period are left out.",
        labelNames: ['chain'] as const,
        registers: [reg],
        collect() {
          this.reset();
          const nowSeconds = now() / 1000;
          for (const [chain, conn] of connections()) {
            for (const lc of lightClientsOf(conn)) {
              const at = lc.trustExpiresAt?.();
              if (typeof at === 'number' && Number.isFinite(at)) {
                this.set({ chain }, Math.round(at - nowSeconds));
                break;
              }
            }
          }
        },
      });
    }
    const holds = opts.laneFeeHolds;
    if (holds) {
      new Gauge({
        name: 'qiao_lane_fee_blocked',
        help: 'Messages waiting on a lane whose fee no longer covers the destination gas price, as the last relayer check of the lane counted them.',
        labelNames: ['src_chain', 'dst_chain'] as const,
        registers: [reg],
        async collect() {
          const list = await holds();
          this.reset();
          for (const h of list) this.set({ src_chain: h.srcChain, dst_chain: h.dstChain }, h.waiting);
        },
      });
    }
    const lanes = () => index.laneSummaries();
    new Gauge({
      name: 'qiao_lane_messages',
      help: 'Messages per lane and status in the index.',
      labelNames: ['src_chain', 'dst_chain', 'status'] as const,
      registers: [reg],
      async collect() {
        this.reset();
        for (const l of await lanes()) for (const [status, n] of Object.entries(l.counts)) this.set({ src_chain: l.srcChain, dst_chain: l.dstChain, status }, n);
      },
    });
    new Gauge({
      name: 'qiao_lane_nonce_gaps',
      help: 'Nonce gaps ever detected per lane (a skipped message or a missing log).',
      labelNames: ['src_chain', 'dst_chain'] as const,
      registers: [reg],
      async collect() {
        this.reset();
        for (const l of await lanes()) this.set({ src_chain: l.srcChain, dst_chain: l.dstChain }, l.gaps);
      },
    });
    this.latency = new Histogram({
      name: 'qiao_delivery_latency_seconds',
      help: 'Time from a message being recorded as sent to its delivery, per lane.',
      labelNames: ['src_chain', 'dst_chain'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [reg],
    });
    this.failures = new Counter({
      name: 'qiao_message_failures_total',
      help: 'Messages that failed, were quarantined or timed out, by destination and reason code.',
      labelNames: ['dst_chain', 'status', 'reason'] as const,
      registers: [reg],
    });
  }

  /** Starts following transitions from now on (history is not replayed into counters). */
  async start(): Promise<void> {
    this.lastSeq = await this.opts.index.lastTransitionSeq();
    const every = this.opts.pollMs ?? 1000;
    this.timer = setInterval(() => {
      this.polling ??= this.poll()
        .then(() => undefined)
        .catch((err: unknown) => this.opts.logger?.warn({ err }, 'metrics: reading transitions failed'))
        .finally(() => (this.polling = null));
    }, every);
    this.timer.unref();
  }

  /**
   * Reads new deliveries and failures into the histogram and counter; returns how many it read. Only those
   * transitions come back, with their messages' creation times, up to the newest seq when the poll began: reading
   * every transition, then every delivered message's whole row for its creation time, was one of the index's
   * largest reads at saturation.
   */
  async poll(): Promise<number> {
    const { index } = this.opts;
    const upTo = await index.lastTransitionSeq();
    let read = 0;
    for (;;) {
      const events = await index.outcomesAfter(this.lastSeq ?? '0', upTo, FEED_BATCH);
      for (const e of events) {
        if (e.status === 'delivered') {
          this.latency.observe({ src_chain: e.srcChain, dst_chain: e.dstChain }, Math.max(0, (e.at.getTime() - e.createdAt.getTime()) / 1000));
        } else {
          this.failures.inc({ dst_chain: e.dstChain, status: e.status, reason: reasonLabel(e.reason) });
        }
      }
      read += events.length;
      if (events.length < FEED_BATCH) {
        if (BigInt(upTo) > BigInt(this.lastSeq ?? '0')) this.lastSeq = upTo;
        return read;
      }
      this.lastSeq = events[events.length - 1]!.seq;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
  }

  /** The API plugin: GET /metrics in the Prometheus text format. */
  plugin(): ApiPlugin {
    return {
      name: 'metrics',
      register: (app: FastifyInstance) => {
        app.get('/metrics', { schema: { querystring: { type: 'object', additionalProperties: false, properties: {} } } }, async (_req, reply) => {
          const body = await this.registry.metrics();
          return reply.header('content-type', this.registry.contentType).send(body);
        });
      },
      docs: {
        paths: {
          '/metrics': {
            GET: {
              summary: 'Prometheus metrics: queue depth per stage, head lag and status per chain, light-client height and trust expiry per chain, messages and nonce gaps per lane, delivery latency histogram, failures by reason.',
              responses: { '200': { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
            },
          },
        },
      },
    };
  }
}
