import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const url = (what: string) => z.string().refine((v) => /^(https?|wss?|postgres(ql)?|rediss?):\/\//.test(v), { message: `must be a ${what} URL` });

export const ConfigSchema = z
  .object({
    dataDir: z.string().min(1).default('.qiao'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Where logs go: `file` (dataDir/hub.log, the default for the interactive hub) or `stderr`. */
    logTo: z.enum(['file', 'stderr']).default('file'),
    databaseUrl: url('PostgreSQL').optional(),
    redisUrl: url('Redis').optional(),
    dev: z.boolean().default(false),
    demo: z
      .object({
        enabled: z.boolean().default(false),
        /** Milliseconds between demo messages (each chain sends in turn). */
        intervalMs: z.number().int().min(100).max(3_600_000).default(3000),
        blockTime: z.number().int().min(1).max(60).default(1),
        finalityDepth: z.number().int().min(0).max(64).default(2),
        /**
         * Seconds between the demo chains' state dumps (anvil `--state-interval`): what a hard kill can lose. Each
         * dump writes the whole state with its history, so a busy chain's dump grows to hundreds of MB; the scale
         * benchmark, whose chains stand for real nodes, sets it high.
         */
        stateIntervalSeconds: z.number().int().min(1).max(86_400).default(1),
        /**
         * Block gas limit of each demo chain (anvil `--gas-limit`; anvil's default, 30M, when unset). Each relayed
         * message reserves its receiver's gas in the delivery, so the limit caps how many messages a block carries.
         */
        gasLimit: z.number().int().min(1_000_000).max(2_000_000_000).optional(),
      })
      .strict()
      .default({}),
    governance: z
      .object({
        /** An existing EVM network to use instead of the embedded anvil. */
        rpc: url('JSON-RPC').optional(),
        /** Blocks below the head before the attestors treat a governance block as final. */
        finalityDepth: z.number().int().min(0).max(64).default(0),
        /** The council that governs every registry (embedded default: the hub governor key alone, no timelock). */
        council: z
          .object({
            /** Seconds between a proposal reaching its threshold and its execution. */
            delaySeconds: z.number().int().min(0).max(30 * 86_400).default(0),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    registry: z
      .object({
        /** How often the hub checks whether the registries changed and commits a new snapshot (root type 2). */
        snapshotIntervalMs: z.number().int().min(200).max(86_400_000).default(5000),
        /** Seconds a port accepts proofs against a registry snapshot (set on ports the hub deploys). */
        maxRootAgeSeconds: z.number().int().min(1).max(365 * 86_400).default(86_400),
      })
      .strict()
      .default({}),
    attestors: z
      .object({
        /** Seconds the previous attestor set's batches still deliver after a rotation (set on ports the hub deploys). */
        rotationGraceSeconds: z.number().int().min(0).max(30 * 86_400).default(3600),
      })
      .strict()
      .default({}),
    index: z
      .object({
        /** Days to keep messages finished for good (delivered, acknowledged, refunded, quarantined) with their proofs; 0 keeps them forever. */
        retentionDays: z.number().int().min(0).max(36_500).default(0),
      })
      .strict()
      .default({}),
    api: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(7878),
        /** API keys for audited registry reads: key id -> sha256 hex of its secret (`qiao` never stores secrets). */
        keys: z.record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'key ids are 1-64 of [A-Za-z0-9._-]'), z.string().regex(/^[0-9a-f]{64}$/, 'must be the sha256 hex of the secret')).default({}),
      })
      .strict()
      .default({}),
    relayer: z
      .object({
        pollIntervalMs: z.number().int().min(50).max(60_000).default(500),
        maxLogRange: z.number().int().min(1).max(100_000).default(2000),
        batchSize: z.number().int().min(1).max(2000).default(256),
        batchDelayMs: z.number().int().min(0).max(60_000).default(200),
        deliverChunk: z.number().int().min(1).max(500).default(64),
        attempts: z.number().int().min(1).max(100).default(8),
        concurrency: z.number().int().min(1).max(256).default(4),
        /**
         * Sender slots for worker processes (`qiao relayer start`): each leases one and pays EVM delivery gas from
         * that slot's key (derived from the relayer key), so no two processes count one key's nonces. 0: every
         * process sends from the relayer key. The hub funds the slots on its demo chains; elsewhere the operator does.
         */
        senderSlots: z.number().int().min(0).max(64).default(4),
      })
      .strict()
      .default({}),
    settlement: z
      .object({
        /** Cross-border settlement (SettlementHub, escrows, the payments API); default: on when `demo.enabled`. */
        enabled: z.boolean().optional(),
        /** Seconds a route quote stays usable for `POST /payments`. */
        quoteTtlSeconds: z.number().int().min(1).max(3600).default(30),
        /** Milliseconds between the keeper's passes that abort open payments past their deadline. */
        keeperIntervalMs: z.number().int().min(100).max(3_600_000).default(2000),
      })
      .strict()
      .default({}),
  })
  .strict()
  // Settlement follows the demo unless set: the demo is where its chains and tokens come from.
  .transform((c) => ({ ...c, settlement: { ...c.settlement, enabled: c.settlement.enabled ?? c.demo.enabled } }));

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Environment variables that override the file, and the field each sets. */
const ENV: Record<string, { path: string[]; parse: (v: string) => unknown }> = {
  QIAO_DATA_DIR: { path: ['dataDir'], parse: (v) => v },
  QIAO_LOG_LEVEL: { path: ['logLevel'], parse: (v) => v },
  QIAO_LOG_TO: { path: ['logTo'], parse: (v) => v },
  DATABASE_URL: { path: ['databaseUrl'], parse: (v) => v },
  REDIS_URL: { path: ['redisUrl'], parse: (v) => v },
  QIAO_GOVERNANCE_RPC: { path: ['governance', 'rpc'], parse: (v) => v },
  QIAO_RETENTION_DAYS: { path: ['index', 'retentionDays'], parse: (v) => (/^\d+$/.test(v) ? Number(v) : v) },
  QIAO_API_HOST: { path: ['api', 'host'], parse: (v) => v },
  QIAO_API_PORT: { path: ['api', 'port'], parse: (v) => (/^\d+$/.test(v) ? Number(v) : v) },
};

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/** Validates a raw config object; the first problem is reported with its dotted field path. */
export function parseConfig(raw: unknown): Config {
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      // Each unknown key is its own field: report the first, list the others.
      const [first, ...rest] = issue.keys;
      const field = [...issue.path, first].join('.');
      const others = rest.length ? ` (nor are: ${rest.map((k) => [...issue.path, k].join('.')).join(', ')})` : '';
      throw new ConfigError(field, `is not a known setting${others}`, { cause: r.error });
    }
    throw new ConfigError(issue.path.join('.') || '(root)', issue.message, { cause: r.error });
  }
  return r.data;
}

/**
 * Loads config: defaults < file (JSON) < environment < explicit overrides (CLI flags).
 * `file` defaults to ./qiao.config.json when it exists.
 */
export async function loadConfig({
  file,
  env = process.env,
  overrides = {},
}: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> } = {}): Promise<Config> {
  let raw: Record<string, unknown> = {};
  const path = file ?? (env.QIAO_CONFIG || undefined);
  const candidate = path ?? 'qiao.config.json';
  let text: string | undefined;
  try {
    text = await readFile(resolve(candidate), 'utf8');
  } catch (cause) {
    if (path) throw new ConfigError('(file)', `cannot read ${candidate}`, { cause });
  }
  if (text !== undefined) {
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (cause) {
      throw new ConfigError('(file)', `${candidate} is not valid JSON`, { cause });
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('(root)', `${candidate} must hold a JSON object`);
  }
  for (const [name, { path: p, parse }] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(raw, p, parse(v));
  }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) setPath(raw, k.split('.'), v);
  return parseConfig(raw);
}
