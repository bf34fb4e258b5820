import type { Command } from 'commander';
import { join, resolve } from 'node:path';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start the hub: governance chain, relayer, attestor, index and API')
    .option('--demo', 'also start two local EVM member chains on anvil that send messages every few seconds')
    .option('--data-dir <dir>', 'data folder (default .qiao, or QIAO_DATA_DIR)')
    .option('--config <file>', 'JSON config file (default ./qiao.config.json if present)')
    .option('--governance-rpc <url>', 'use an existing EVM network as governance chain instead of the embedded anvil')
    .option('--api-port <port>', 'HTTP API port (0 = any free port)')
    .option('--dev', 'accept `local-dev` header trust for any registered chain (never in production)')
    .option('--log <where>', 'file (data folder/hub.log) or stderr')
    .action(async (o: { demo?: boolean; dataDir?: string; config?: string; governanceRpc?: string; apiPort?: string; dev?: boolean; log?: string }) => {
      // The config (zod) and the logger (pino) load only when the hub starts: `qiao --help` stays fast.
      const [{ loadConfig }, { createLogger }] = await Promise.all([import('../../config.ts'), import('../../logging.ts')]);
      const config = await loadConfig({
        file: o.config,
        overrides: {
          dataDir: o.dataDir,
          'governance.rpc': o.governanceRpc,
          'api.port': o.apiPort === undefined ? undefined : /^\d+$/.test(o.apiPort) ? Number(o.apiPort) : o.apiPort,
          dev: o.dev,
          'demo.enabled': o.demo,
          logTo: o.log,
        },
      });
      const logFile = config.logTo === 'file' ? join(resolve(config.dataDir), 'hub.log') : undefined;
      const logger = createLogger({ level: config.logLevel, file: logFile });
      if (config.dev) logger.warn('--dev: local-dev header trust is accepted for every chain; never run a production hub like this');
      console.log(`Qiao: starting the hub (data in ${resolve(config.dataDir)}${logFile ? `, logs in ${logFile}` : ''})…`);
      const { startHub } = await import('../../main/hub.ts');
      const hub = await startHub(config, { logger });
      console.log(`Qiao hub ready.
  API:         ${hub.apiUrl}   (try ${hub.apiUrl}/messages)
  governance:  chain ${hub.governance.chainId} at ${hub.governance.url}
  member chains: ${hub.demo ? hub.demo.chains.map((c) => `${c.chainId} (${c.url})`).join(', ') : 'from the ChainRegistry'}
  CLI:         npx qiao messages list${o.dataDir ? ` --data-dir ${o.dataDir}` : ''}
Press Ctrl-C to stop.`);
      let last = '';
      const status = setInterval(() => {
        void hub.index.countByStatus().then((c) => {
          const line = Object.entries(c)
            .filter(([, v]) => v > 0)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ');
          if (line && line !== last) console.log(`messages: ${line}`);
          last = line;
        });
      }, 5000);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        clearInterval(status);
        console.log(`\n${signal}: stopping the hub…`);
        await hub.stop();
        logger.flush();
        console.log('stopped.');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
