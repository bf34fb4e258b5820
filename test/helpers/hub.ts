import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig, type ConfigInput } from '../../src/config.ts';
import { createLogger, REDACT_PATHS, type Logger } from '../../src/logging.ts';
import { startHub, type RunningHub } from '../../src/main/hub.ts';
import { clearRedisPrefix, createTestDatabase, REDIS_URL } from './services.ts';

export interface TestHub {
  hub: RunningHub;
  dataDir: string;
  /** The test's own PostgreSQL database, when the index runs there. */
  databaseUrl?: string;
  /** The hub's last log lines (kept in memory; with QIAO_TEST_LOG they go to hub.log in the data folder instead). */
  logTail(): string;
  /** Each of its anvil chains now: head, base fee and the transactions it holds unmined. */
  chainsNow(): Promise<string>;
  stop(): Promise<void>;
}

/** Log lines kept in memory for a test that gets stuck to print. */
const LOG_LINES = 400;
/** Below vitest's hook timeout (180 s): a hub this slow to start prints what it did before the hook gives up. */
const SLOW_START_MS = Number(process.env.QIAO_TEST_SLOW_START_MS ?? 150_000);

/** The anvil endpoints a hub's log names (it starts them before it can report them otherwise). */
function anvilsInLog(log: string): Set<string> {
  const urls = new Set<string>();
  for (const line of log.split('\n')) {
    if (!line.includes('"anvil started"')) continue;
    try {
      const url = (JSON.parse(line) as { url?: unknown }).url;
      if (typeof url === 'string') urls.add(url);
    } catch {
      // a torn line
    }
  }
  return urls;
}

/**
 * What each anvil the hub started says now (head, and the transactions it holds unmined): a start that waits for
 * a transaction that is never mined shows here.
 */
async function chainsSeen(urls: Iterable<string>): Promise<string> {
  const out: string[] = [];
  for (const url of urls) {
    const ask = async (method: string, params: unknown[] = []): Promise<unknown> => {
      try {
        const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), signal: AbortSignal.timeout(5000) });
        return ((await r.json()) as { result?: unknown }).result ?? null;
      } catch (err) {
        return `unanswered (${(err as Error).message})`;
      }
    };
    const head = (await ask('eth_getBlockByNumber', ['latest', false])) as { number?: string; baseFeePerGas?: string } | string | null;
    const pool = (await ask('txpool_content')) as Record<string, Record<string, Record<string, Record<string, string>>>> | string | null;
    // Per sender and nonce: what would decide whether it is mined (fee cap against the base fee, gas, target); not the calldata.
    const txs: string[] = [];
    if (pool && typeof pool === 'object') {
      for (const kind of ['pending', 'queued']) {
        for (const [from, byNonce] of Object.entries(pool[kind] ?? {})) {
          for (const [nonce, tx] of Object.entries(byNonce)) txs.push(`${kind} ${from} nonce ${nonce} maxFee ${tx.maxFeePerGas ?? tx.gasPrice} gas ${tx.gas} to ${tx.to ?? 'create'}`);
        }
      }
    }
    const at = typeof head === 'object' && head ? `head ${head.number}, base fee ${head.baseFeePerGas}` : `head ${String(head)}`;
    out.push(`${url}: ${at}; ${txs.length ? `${txs.length} unmined: ${txs.slice(0, 40).join('; ')}` : `txpool ${typeof pool === 'string' ? pool : 'empty'}`}`);
  }
  return out.join('\n') || '(no anvil known)';
}

function ringLogger(): { logger: Logger; tail(): string } {
  const lines: string[] = [];
  const logger = pino(
    { name: 'qiao', level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    {
      write(line: string) {
        lines.push(line);
        if (lines.length > LOG_LINES) lines.shift();
      },
    },
  );
  return { logger, tail: () => lines.join('') };
}

/**
 * Starts a hub in-process on a fresh data folder with the demo chains (no demo
 * traffic: the test sends), on the chosen queue and index backends.
 */
export async function startTestHub({
  queue = 'memory',
  index = 'pglite',
  settlement = false,
  config = {},
}: {
  queue?: 'memory' | 'bullmq';
  index?: 'pglite' | 'postgres';
  /** Settlement (the governance chain as a member chain, SettlementHub, escrows): off unless a test asks, so chain counts stay as they were. */
  settlement?: boolean;
  config?: Partial<ConfigInput>;
} = {}): Promise<TestHub> {
  const dataDir = await mkdtemp(join(tmpdir(), 'qiao-e2e-'));
  const db = index === 'postgres' ? await createTestDatabase() : null;
  const ring = process.env.QIAO_TEST_LOG ? null : ringLogger();
  const logger = ring?.logger ?? createLogger({ level: 'debug', file: join(dataDir, 'hub.log') });
  const logTail = () => ring?.tail() ?? `(written to ${join(dataDir, 'hub.log')})`;
  const cfg = parseConfig({
    dataDir,
    api: { port: 0 },
    demo: { enabled: true, blockTime: 1, finalityDepth: 2 },
    relayer: { pollIntervalMs: 200, batchDelayMs: 100 },
    settlement: { enabled: settlement },
    ...(queue === 'bullmq' ? { redisUrl: REDIS_URL } : {}),
    ...(db ? { databaseUrl: db.url } : {}),
    ...config,
  });
  let hub: RunningHub;
  const slow = setTimeout(() => {
    console.error(`[test hub] not started after ${SLOW_START_MS / 1000} s; its log so far:\n${logTail()}`);
    void chainsSeen(anvilsInLog(logTail())).then((s) => console.error(`[test hub] its anvil chains now:\n${s}`));
  }, SLOW_START_MS);
  try {
    hub = await startHub(cfg, { logger, trafficIntervalMs: 0 });
  } catch (err) {
    await db?.drop();
    throw err;
  } finally {
    clearTimeout(slow);
  }
  return {
    hub,
    dataDir,
    ...(db ? { databaseUrl: db.url } : {}),
    logTail,
    chainsNow: () => chainsSeen([hub.governance.url, ...(hub.demo?.chains.map((c) => c.url) ?? [])]),
    async stop() {
      await hub.stop();
      if (queue === 'bullmq') await clearRedisPrefix(`qiao-${hub.governance.chainId}`);
      await db?.drop();
      if (!process.env.QIAO_TEST_KEEP) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
