import type { Command } from 'commander';
import { getMessage, listMessages, streamTransitions, type StreamFilter, type TransitionEventView } from '../../api/client.ts';
import { resolveApiUrl } from '../api-url.ts';
import { printJson, printTable, short } from '../output.ts';
import { ValidationError } from '../../errors.ts';
import type { MessageStatus } from '../../domain/status.ts';

type Opts = Record<string, string | boolean | undefined>;

/** The filters `list` and `watch` share (the stream's filters). */
function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--chain <caip2>', 'source or destination chain')
    .option('--src-chain <caip2>', 'source chain')
    .option('--dst-chain <caip2>', 'destination chain')
    .option('--lane <src>dst>', 'a lane, e.g. eip155:1>eip155:10')
    .option('--status <status>', 'sent, verified, committed, attested, delivered, failed, quarantined, ...')
    .option('--sender <address>', 'sender address')
    .option('--receiver <address>', 'receiver address')
    .option('--account <caip10>', 'an account (CAIP-10): sender on its source chain or receiver on its destination chain')
    .option('--api <url>', 'hub API (default: the hub of --data-dir)')
    .option('--data-dir <dir>', 'data folder of the hub')
    .option('--json', 'print JSON');
}

function streamFilter(o: Opts): StreamFilter {
  const f: StreamFilter = {};
  const set = (key: keyof StreamFilter, v: string | boolean | undefined) => {
    if (typeof v === 'string') (f as Record<string, string>)[key] = v;
  };
  set('chain', o.chain);
  set('srcChain', o.srcChain);
  set('dstChain', o.dstChain);
  set('lane', o.lane);
  set('sender', o.sender);
  set('receiver', o.receiver);
  set('account', o.account);
  if (typeof o.status === 'string') f.status = o.status as MessageStatus;
  return f;
}

/** An ISO-8601 time from the command line; the hub checks it too, this only gives an early, local error. */
function time(v: string | boolean | undefined, field: string): Date | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new ValidationError(field, 'must be an ISO-8601 time, e.g. 2026-11-25T09:00:00Z');
  return new Date(t);
}

/** One human line per transition. */
export function transitionLine(e: TransitionEventView): string {
  const where = e.chain ? ` on ${e.chain}${e.height ? `@${e.height}` : ''}` : '';
  const tx = e.txHash ? ` tx ${short(e.txHash, 14)}` : '';
  const reason = e.reason ? ` (${e.reason})` : '';
  return `${e.at}  #${e.seq}  ${short(e.messageId, 14)}  ${e.srcChain} -> ${e.dstChain}  nonce ${e.nonce}  ${e.status}${where}${tx}${reason}`;
}

export function registerMessages(program: Command): void {
  const messages = program.command('messages').description('query the message index of a running hub');
  addFilterOptions(messages.command('list').description('list messages, newest first'))
    .option('--since <time>', 'created at or after this ISO-8601 time')
    .option('--until <time>', 'created before this ISO-8601 time')
    .option('--tx-hash <hash>', 'source or destination transaction hash')
    .option('--limit <n>', 'page size (1-500)', '20')
    .option('--cursor <cursor>', 'next page cursor from an earlier call')
    .action(async (o: Opts) => {
      const api = await resolveApiUrl({ api: o.api as string | undefined, dataDir: o.dataDir as string | undefined });
      const limit = Number(o.limit);
      if (!Number.isInteger(limit)) throw new ValidationError('limit', 'must be an integer');
      const since = time(o.since, 'since');
      const until = time(o.until, 'until');
      const page = await listMessages(api, {
        ...streamFilter(o),
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
        ...(typeof o.txHash === 'string' ? { txHash: o.txHash } : {}),
        ...(typeof o.cursor === 'string' ? { cursor: o.cursor } : {}),
        limit,
      });
      if (o.json) return printJson(page);
      printTable(
        page.items.map((m) => ({ id: short(m.id, 14), from: m.srcChain, to: m.dstChain, nonce: m.nonce, status: m.status, reason: m.reason ?? '', updated: String(m.updatedAt) })),
        ['id', 'from', 'to', 'nonce', 'status', 'reason', 'updated'],
      );
      if (page.nextCursor) console.log(`more: --cursor ${page.nextCursor}`);
    });
  addFilterOptions(messages.command('watch').description('follow status transitions live, one line each (Ctrl-C stops)'))
    .option('--after <seq>', 'replay transitions after this seq first (the #seq of an earlier line)')
    .action(async (o: Opts) => {
      const api = await resolveApiUrl({ api: o.api as string | undefined, dataDir: o.dataDir as string | undefined });
      const after = typeof o.after === 'string' ? o.after : undefined;
      if (after !== undefined && !/^[0-9]{1,19}$/.test(after)) throw new ValidationError('after', 'must be a decimal transition seq');
      const ctl = new AbortController();
      const stop = () => ctl.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await streamTransitions(
          api,
          streamFilter(o),
          (e) => console.log(o.json ? JSON.stringify(e) : transitionLine(e)),
          ctl.signal,
          // On stderr, so --json output stays pure JSON lines.
          { ...(after === undefined ? {} : { lastEventId: after }), onOpen: () => console.error(`watching ${api}/messages/stream (Ctrl-C stops)`) },
        );
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
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
  messages
    .command('verify <id>')
    .description('re-check a message\'s whole timeline from its stored proofs, against the registry and the chains (not the index\'s statuses)')
    .option('--api <url>', 'hub API')
    .option('--data-dir <dir>', 'data folder of the hub')
    .option('--governance-rpc <url>', 'governance chain RPC (default: the running hub of --data-dir)')
    .option('--dev', 'accept local-dev header trust for any chain (otherwise only for the hub\'s own demo chains)')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { api?: string; dataDir?: string; governanceRpc?: string; dev?: boolean; json?: boolean }) => {
      const api = await resolveApiUrl(o);
      const m = await getMessage(api, id);
      if (!m) {
        console.error(`message ${id} not found`);
        process.exitCode = 1;
        return;
      }
      const { governance } = await import('../governance.ts');
      const { reverifyMessage } = await import('../../../relayer/reverify.ts');
      const g = await governance(o.dataDir, o.governanceRpc);
      try {
        const registrations = await g.client.chains();
        const demo = new Set(g.state.demo?.chains.map((c) => c.chainId) ?? []);
        const steps = await reverifyMessage(m, { gov: g.client, registrations, allowLocalDev: !!o.dev || (demo.has(m.srcChain) && demo.has(m.dstChain)) });
        const ok = steps.length > 0 && steps.every((x) => x.ok);
        if (o.json) printJson({ id: m.id, ok, steps });
        else {
          for (const x of steps) console.log(`${x.ok ? 'ok    ' : 'FAILED'} ${x.step.padEnd(10)} ${x.detail}`);
          console.log(ok ? `verified: ${m.id}` : `VERIFICATION FAILED: ${m.id}`);
        }
        process.exitCode = ok ? 0 : 1;
      } finally {
        g.close();
      }
    });
}
