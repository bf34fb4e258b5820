import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config.ts';
import { ConfigError, ValidationError } from '../../errors.ts';
import { printJson, printTable } from '../output.ts';

/** The hub's Redis queues: REDIS_URL (or the config's redisUrl) and the prefix of the hub in the data folder. */
export async function hubQueues(config: Config): Promise<{ redisUrl: string; prefix: string; dataDir: string }> {
  if (!config.redisUrl) throw new ConfigError('redisUrl', 'the hub\'s queues are in-process (no REDIS_URL): nothing to inspect from outside the hub');
  const dataDir = resolve(config.dataDir);
  const { loadState } = await import('../../main/state.ts');
  const state = await loadState(join(dataDir, 'hub.json'));
  if (!state.governance) throw new ConfigError('dataDir', `${dataDir} holds no hub (start one with qiao start)`);
  return { redisUrl: config.redisUrl, prefix: `qiao-${state.governance.chainId}`, dataDir };
}

function ms(v: string | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,7}$/.test(v)) throw new ValidationError(field, 'must be a whole number of milliseconds');
  return Number(v);
}

export function registerRelayer(program: Command): void {
  const relayer = program.command('relayer').description('relayer worker processes (BullMQ on Redis, PostgreSQL index)');

  relayer
    .command('start')
    .description('run the relayer stages and lease-guarded chain watchers of a hub, without its API (needs REDIS_URL and DATABASE_URL)')
    .option('--data-dir <dir>', 'the hub\'s data folder (hub.json, keys.json)')
    .option('--config <file>', 'JSON config file')
    .option('--governance-rpc <url>', 'governance chain RPC (default: the one the hub wrote to its data folder)')
    .option('--dev', 'accept `local-dev` header trust for any registered chain (never in production)')
    .option('--lease-ttl <ms>', 'watcher lease TTL: a dead holder\'s chains are taken over within about this long', '10000')
    .option('--log <where>', 'file (data folder/relayer-<pid>.log) or stderr', 'stderr')
    .action(async (o: { dataDir?: string; config?: string; governanceRpc?: string; dev?: boolean; leaseTtl?: string; log?: string }) => {
      // The config (zod) and the logger (pino) load only when a command runs: `qiao --help` stays fast.
      const [{ loadConfig }, { createLogger }] = await Promise.all([import('../../config.ts'), import('../../logging.ts')]);
      const config = await loadConfig({ file: o.config, overrides: { dataDir: o.dataDir, 'governance.rpc': o.governanceRpc, dev: o.dev, logTo: o.log } });
      const ttlMs = ms(o.leaseTtl, 'lease-ttl');
      if (ttlMs !== undefined && ttlMs < 300) throw new ValidationError('lease-ttl', 'must be at least 300 ms');
      const logFile = config.logTo === 'file' ? join(resolve(config.dataDir), `relayer-${process.pid}.log`) : undefined;
      const logger = createLogger({ level: config.logLevel, file: logFile, name: 'qiao-relayer' });
      const { startRelayerWorker } = await import('../../../relayer/worker.ts');
      const worker = await startRelayerWorker(config, { logger, ...(ttlMs !== undefined ? { leases: { ttlMs } } : {}) });
      console.log(`Qiao relayer worker ready (holder ${worker.relayer.holder}, governance chain ${worker.govChainId}).`);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`${signal}: stopping the relayer worker (finishing in-flight jobs, releasing leases)…`);
        await worker.stop();
        logger.flush();
        console.log('stopped.');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });

  relayer
    .command('senders')
    .description('the addresses worker processes deliver from (one per sender slot, config relayer.senderSlots): fund them on every EVM member chain')
    .option('--data-dir <dir>', 'the hub\'s data folder (keys.json)')
    .option('--config <file>', 'JSON config file')
    .option('--json', 'print JSON')
    .action(async (o: { dataDir?: string; config?: string; json?: boolean }) => {
      const { loadConfig } = await import('../../config.ts');
      const config = await loadConfig({ file: o.config, overrides: { dataDir: o.dataDir } });
      const { readFile } = await import('node:fs/promises');
      const { addressOf, relayerSenderAddresses } = await import('../../governance/keys.ts');
      const file = join(resolve(config.dataDir), 'keys.json');
      let relayerKey: unknown;
      try {
        relayerKey = (JSON.parse(await readFile(file, 'utf8')) as { relayer?: unknown }).relayer;
      } catch (cause) {
        throw new ConfigError('dataDir', `cannot read the hub's keys from ${file}`, { cause });
      }
      if (typeof relayerKey !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(relayerKey)) throw new ConfigError('keys.relayer', `missing or malformed in ${file}`);
      const rows = [
        { slot: 0, address: addressOf(relayerKey as `0x${string}`), use: 'the hub, and workers without a slot (also commits batches on the governance chain)' },
        ...relayerSenderAddresses(relayerKey as `0x${string}`, config.relayer.senderSlots).map((address, i) => ({ slot: i + 1, address, use: 'a worker process holding this slot' })),
      ];
      if (o.json) return printJson(rows);
      printTable(rows, ['slot', 'address', 'use']);
    });

  relayer
    .command('status')
    .description('queue counts per stage, watcher lease holders per chain, dead letters')
    .option('--data-dir <dir>', 'the hub\'s data folder')
    .option('--config <file>', 'JSON config file')
    .option('--json', 'print JSON')
    .action(async (o: { dataDir?: string; config?: string; json?: boolean }) => {
      const { loadConfig } = await import('../../config.ts');
      const config = await loadConfig({ file: o.config, overrides: { dataDir: o.dataDir } });
      const { redisUrl, prefix } = await hubQueues(config);
      const { QueueOps } = await import('../../../relayer/queue/ops.ts');
      const ops = QueueOps.open({ redisUrl, prefix });
      try {
        const s = await ops.status();
        if (o.json) return printJson(s);
        console.log(`queues under ${s.prefix}:`);
        printTable(Object.entries(s.queues).map(([stage, c]) => ({ stage, ...c })), ['stage', 'waiting', 'delayed', 'active', 'dead']);
        console.log('\nleases (chain watchers, sender slots, live processes):');
        printTable(s.leases.map((l) => ({ lease: l.key, holder: l.holder, fence: l.fence, 'expires in': `${l.ttlMs} ms` })), ['lease', 'holder', 'fence', 'expires in']);
        console.log(`\ndead letters: ${s.deadLetters}${s.deadLetters ? ' (qiao dlq list)' : ''}`);
      } finally {
        await ops.close();
      }
    });
}
