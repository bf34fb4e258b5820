import { join } from 'node:path';
import type { Command } from 'commander';
import { ValidationError } from '../../errors.ts';
import { printJson, printTable } from '../output.ts';
import { hubQueues } from './relayer-cmd.ts';

interface Common {
  dataDir?: string;
  config?: string;
  json?: boolean;
}

function withCommon(cmd: Command): Command {
  return cmd.option('--data-dir <dir>', 'the hub\'s data folder').option('--config <file>', 'JSON config file').option('--json', 'print JSON');
}

async function withOps<T>(o: Common, f: (ops: import('../../../relayer/queue/ops.ts').QueueOps, ctx: { databaseUrl?: string; dataDir: string }) => Promise<T>): Promise<T> {
  // The config (zod), the queues (BullMQ) and the index load only when a command runs.
  const { loadConfig } = await import('../../config.ts');
  const config = await loadConfig({ file: o.config, overrides: { dataDir: o.dataDir } });
  const { redisUrl, prefix, dataDir } = await hubQueues(config);
  const { QueueOps } = await import('../../../relayer/queue/ops.ts');
  const ops = QueueOps.open({ redisUrl, prefix });
  try {
    return await f(ops, { ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}), dataDir });
  } finally {
    await ops.close();
  }
}

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('the relayer\'s dead-letter queue: jobs that failed for good, kept with the reason');

  withCommon(dlq.command('list').description('dead letters, oldest first'))
    .option('--limit <n>', 'at most this many', '100')
    .action(async (o: Common & { limit?: string }) => {
      if (!/^\d{1,6}$/.test(o.limit ?? '')) throw new ValidationError('limit', 'must be a whole number');
      await withOps(o, async (ops) => {
        const letters = await ops.deadLetters(Number(o.limit));
        if (o.json) return printJson(letters.map(({ opts: _o, ...l }) => l));
        printTable(
          letters.map((l) => ({ id: l.id, queue: l.queue, attempts: l.attemptsMade, 'failed at': new Date(l.failedAt).toISOString(), reason: l.reason.length > 80 ? `${l.reason.slice(0, 80)}…` : l.reason })),
          ['id', 'queue', 'attempts', 'failed at', 'reason'],
        );
      });
    });

  withCommon(dlq.command('retry <id>').description('put a dead letter back in its queue with fresh attempts')).action(async (id: string, o: Common) => {
    await withOps(o, async (ops) => {
      const r = await ops.retry(id);
      if (o.json) return printJson({ id, ...r });
      console.log(r.retried ? `${id}: back in the ${r.queue} queue` : `${id}: not retried (a live job with this id is in the ${r.queue} queue)`);
      if (!r.retried) process.exitCode = 1;
    });
  });

  withCommon(dlq.command('skip <id>').description('give up on a dead letter: its messages become `failed` (skipped_by_operator:<reason>); an ordered lane\'s blocked head is also skipped on chain (the sender is answered like a cancel)'))
    .requiredOption('--reason <text>', 'why (recorded with the skip and on each message)')
    .action(async (id: string, o: Common & { reason: string }) => {
      await withOps(o, async (ops, { databaseUrl, dataDir }) => {
        const { openIndex } = await import('../../index/open.ts');
        const index = await openIndex(databaseUrl ? { databaseUrl } : { dataDir: join(dataDir, 'index') });
        try {
          const r = await ops.skip(id, o.reason, index);
          if (o.json) return printJson({ id, reason: o.reason, ...r });
          if (r.onChain) return console.log(`${id} (${r.queue}): the port's admin skips ${r.messages[0]} on chain (job ${r.onChain}); it is marked failed once done, and its ordered lane moves on`);
          console.log(`${id} (${r.queue}) skipped: ${r.failed.length} message(s) marked failed${r.unchanged.length ? `, ${r.unchanged.length} left as they were (their status does not allow it)` : ''}`);
        } finally {
          await index.close();
        }
      });
    });
}
