import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type ConfigInput } from '../../src/config.ts';
import { createLogger, silentLogger } from '../../src/logging.ts';
import { startHub, type RunningHub } from '../../src/main/hub.ts';
import { clearRedisPrefix, createTestDatabase, REDIS_URL } from './services.ts';

export interface TestHub {
  hub: RunningHub;
  dataDir: string;
  /** The test's own PostgreSQL database, when the index runs there. */
  databaseUrl?: string;
  stop(): Promise<void>;
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
  const logger = process.env.QIAO_TEST_LOG ? createLogger({ level: 'debug', file: join(dataDir, 'hub.log') }) : silentLogger();
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
  try {
    hub = await startHub(cfg, { logger, trafficIntervalMs: 0 });
  } catch (err) {
    await db?.drop();
    throw err;
  }
  return {
    hub,
    dataDir,
    ...(db ? { databaseUrl: db.url } : {}),
    async stop() {
      await hub.stop();
      if (queue === 'bullmq') await clearRedisPrefix(`qiao-${hub.governance.chainId}`);
      await db?.drop();
      if (!process.env.QIAO_TEST_KEEP) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
