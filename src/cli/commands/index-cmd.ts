import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { RebuildProgress, RebuildSummary } from '../../../relayer/rebuild.ts';
import { ConfigError, ValidationError } from '../../errors.ts';
import { printJson, printTable } from '../output.ts';

interface RebuildFlags {
  from?: string;
  dataDir?: string;
  governanceRpc?: string;
  databaseUrl?: string;
  into?: string;
  inPlace?: boolean;
  dev?: boolean;
  maxLogRange?: string;
  json?: boolean;
}

function height(v: string | undefined, field: string, fallback: bigint): bigint {
  if (v === undefined) return fallback;
  if (!/^\d{1,20}$/.test(v)) throw new ValidationError(field, 'must be a block height (a whole number >= 0)');
  return BigInt(v);
}

/** Is a hub answering on this data folder's API? (PGlite is single-process: its files must not be opened twice.) */
async function hubAnswers(apiUrl: string | undefined): Promise<boolean> {
  if (!apiUrl) return false;
  try {
    const r = await fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(1500) });
    return r.status < 500 || r.status === 503;
  } catch {
    return false;
  }
}

/** A bar when stderr is a terminal; otherwise a line per phase and at most one every two seconds. */
export function progressReporter(stream: Pick<NodeJS.WriteStream, 'write' | 'isTTY'>): { update(p: RebuildProgress): void; end(): void } {
  const tty = stream.isTTY === true;
  let lastKey = '';
  let lastAt = 0;
  const label = (p: RebuildProgress) => `${p.phase}${p.chain ? ` ${p.chain}` : ''}`;
  return {
    update(p) {
      const pct = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
      if (tty) {
        const width = 30;
        const fill = Math.round(pct * width);
        stream.write(`\r\x1b[K[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${(pct * 100).toFixed(0).padStart(3)}%  ${label(p)} ${p.done}/${p.total}`);
        return;
      }
      const key = label(p);
      const now = Date.now();
      if (key !== lastKey || now - lastAt >= 2000 || p.done === p.total) {
        stream.write(`rebuild: ${key} ${p.done}/${p.total} (${(pct * 100).toFixed(0)}%)\n`);
        lastKey = key;
        lastAt = now;
      }
    },
    end() {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}

function printSummary(s: RebuildSummary, target: string): void {
  console.log(`rebuilt ${target} from height ${s.from}`);
  printTable(
    s.chains.map((c) => ({
      chain: c.chainId,
      scanned: c.scanned ? `${c.scanned.from}..${c.scanned.to}` : (c.skipped ?? '-'),
      messages: c.messages,
      verified: c.verified,
      quarantined: c.quarantined,
      unverified: c.unverified,
      delivered: c.delivered,
      failed: c.failed,
      'timed out': c.timedOut,
      acknowledged: c.acknowledged,
      refunded: c.refunded,
    })),
    ['chain', 'scanned', 'messages', 'verified', 'quarantined', 'unverified', 'delivered', 'failed', 'timed out', 'acknowledged', 'refunded'],
  );
  const b = s.batches;
  console.log(`batches: ${b.seen} on the MessageLog, ${b.committed} written, ${b.attested} attested, ${b.skipped} skipped (none of their messages scanned)`);
  if (b.neverDelivered.length) console.log(`batches no port received (no signatures on chain; they stay committed): ${b.neverDelivered.join(', ')}`);
  console.log(`attestations: ${s.attestations.recovered} recovered from port calldata, ${s.attestations.rejected} rejected`);
  if (s.laneNonces === 'skipped') console.log('lane nonces: not recorded (--from > 0: the earlier nonces were not scanned, so gaps would be false alarms)');
  if (s.unverified.length) console.log(`${s.unverified.length} message(s) left sent: no endpoint served their proof`);
}

export function registerIndex(program: Command): void {
  const index = program.command('index').description('the message index');
  index
    .command('rebuild')
    .description('re-derive the message index from chain data alone (registry, ports, MessageLog); idempotent')
    .option('--from <height>', 'first member-chain height scanned for sent messages', '0')
    .option('--data-dir <dir>', 'data folder of the hub (its governance chain, demo chains and keys)')
    .option('--governance-rpc <url>', 'governance chain RPC (default: the one the hub of --data-dir wrote)')
    .option('--database-url <url>', 'rebuild into this PostgreSQL database (a fresh one, or the live one: PostgreSQL takes concurrent writers)')
    .option('--into <dir>', 'rebuild into a PGlite index in this folder (created if missing)')
    .option('--in-place', "rebuild the hub's own embedded PGlite index (<data-dir>/index); refused while the hub runs")
    .option('--dev', 'accept local-dev header trust for every chain (default: only the demo chains the hub started)')
    .option('--max-log-range <n>', 'widest eth_getLogs range', '2000')
    .option('--json', 'print a JSON summary')
    .action(async (o: RebuildFlags) => {
      const from = height(o.from, 'from', 0n);
      const maxLogRange = Number(o.maxLogRange ?? '2000');
      if (!Number.isInteger(maxLogRange) || maxLogRange < 1 || maxLogRange > 100_000) throw new ValidationError('max-log-range', 'must be an integer from 1 to 100000');
      const targets = [o.databaseUrl !== undefined, o.into !== undefined, o.inPlace === true].filter(Boolean).length;
      if (targets !== 1) throw new ValidationError('target', 'say where to rebuild: exactly one of --database-url URL, --into DIR (a PGlite index) or --in-place');
      if (o.databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(o.databaseUrl)) throw new ValidationError('database-url', 'must be a postgres:// URL');
      const dir = resolve(o.dataDir ?? process.env.QIAO_DATA_DIR ?? '.qiao');
      const { loadState } = await import('../../main/state.ts');
      const state = await loadState(join(dir, 'hub.json'));
      if (o.inPlace && (await hubAnswers(state.apiUrl))) {
        throw new ConfigError('in-place', `a hub is running on ${dir}: its embedded index (PGlite) is single-process. Stop the hub, or rebuild --into another folder`);
      }
      const demo = new Set((state.demo?.chains ?? []).map((c) => c.chainId));
      // Loaded here: the relayer and adapters are not needed by the CLI's other commands.
      const [{ rebuildIndex }, { ADAPTER_FACTORIES }, { governance }, { openIndex }] = await Promise.all([
        import('../../../relayer/rebuild.ts'),
        import('../../../adapters/index.ts'),
        import('../governance.ts'),
        import('../../index/open.ts'),
      ]);
      const g = await governance(o.dataDir, o.governanceRpc);
      const target = o.databaseUrl !== undefined ? 'the PostgreSQL index' : `the PGlite index at ${o.into !== undefined ? resolve(o.into) : join(dir, 'index')}`;
      try {
        const idx = await openIndex(o.databaseUrl !== undefined ? { databaseUrl: o.databaseUrl } : { dataDir: o.into !== undefined ? resolve(o.into) : join(dir, 'index') });
        const bar = progressReporter(process.stderr);
        try {
          const summary = await rebuildIndex(
            { index: idx, gov: g.client, adapterFactories: ADAPTER_FACTORIES, allowLocalDev: (id) => o.dev === true || demo.has(id), onProgress: (p) => bar.update(p) },
            { from, maxLogRange },
          );
          bar.end();
          if (o.json) printJson(summary);
          else printSummary(summary, target);
        } finally {
          await idx.close();
        }
      } finally {
        g.close();
      }
    });
}
