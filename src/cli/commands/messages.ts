import type { Command } from 'commander';
import { getMessage, listMessages } from '../../api/client.ts';
import { resolveApiUrl } from '../api-url.ts';
import { printJson, printTable, short } from '../output.ts';
import { ValidationError } from '../../errors.ts';

export function registerMessages(program: Command): void {
  const messages = program.command('messages').description('query the message index of a running hub');
  messages
    .command('list')
    .description('list messages, newest first')
    .option('--chain <caip2>', 'source or destination chain')
    .option('--src-chain <caip2>', 'source chain')
    .option('--dst-chain <caip2>', 'destination chain')
    .option('--status <status>', 'sent, verified, committed, attested, delivered, failed, quarantined, ...')
    .option('--sender <hex>', 'sender address')
    .option('--receiver <hex>', 'receiver address')
    .option('--limit <n>', 'page size (1-500)', '20')
    .option('--cursor <cursor>', 'next page cursor from an earlier call')
    .option('--api <url>', 'hub API (default: the hub of --data-dir)')
    .option('--data-dir <dir>', 'data folder of the hub')
    .option('--json', 'print JSON')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const api = await resolveApiUrl({ api: o.api as string | undefined, dataDir: o.dataDir as string | undefined });
      const limit = Number(o.limit);
      if (!Number.isInteger(limit)) throw new ValidationError('limit', 'must be an integer');
      const page = await listMessages(api, {
        chain: o.chain as string | undefined,
        srcChain: o.srcChain as string | undefined,
        dstChain: o.dstChain as string | undefined,
        status: o.status as never,
        sender: o.sender as string | undefined,
        receiver: o.receiver as string | undefined,
        cursor: o.cursor as string | undefined,
        limit,
      });
      if (o.json) return printJson(page);
      printTable(
        page.items.map((m) => ({ id: short(m.id, 14), from: m.srcChain, to: m.dstChain, nonce: m.nonce, status: m.status, reason: m.reason ?? '', updated: String(m.updatedAt) })),
        ['id', 'from', 'to', 'nonce', 'status', 'reason', 'updated'],
      );
      if (page.nextCursor) console.log(`more: --cursor ${page.nextCursor}`);
    });
  messages
    .command('show <id>')
    .description('one message with its timeline and the proof behind each step')
    .option('--api <url>', 'hub API')
    .option('--data-dir <dir>', 'data folder of the hub')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { api?: string; dataDir?: string; json?: boolean }) => {
      const api = await resolveApiUrl(o);
      const m = await getMessage(api, id);
      if (!m) {
        console.error(`message ${id} not found`);
        process.exitCode = 1;
        return;
      }
      if (o.json) return printJson(m);
      console.log(`id:       ${m.id}\nfrom:     ${m.srcChain} (sender ${m.sender})\nto:       ${m.dstChain} (receiver ${m.receiver})\nnonce:    ${m.nonce}\nstatus:   ${m.status}${m.reason ? ` (${m.reason})` : ''}`);
      printTable(
        m.timeline.map((t) => ({ at: String(t.at), status: t.status, chain: t.chain ?? '', height: t.height ?? '', tx: short(t.txHash, 14), proof: t.proof ? 'stored' : '', reason: t.reason ?? '' })),
        ['at', 'status', 'chain', 'height', 'tx', 'proof', 'reason'],
      );
    });
}
