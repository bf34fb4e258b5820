import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchPrimitives } from './primitives.bench.ts';
import { benchMerkle } from './merkle.bench.ts';
import { benchIndex } from './index.bench.ts';
import { benchProofs, type BenchRow } from './proofs.bench.ts';
import { benchRelay } from './relay.bench.ts';
import { benchRelayCapacity } from './relay-capacity.bench.ts';
import { benchRelayerScale, DEFAULT_SCALE } from './relayer-scale.bench.ts';
import { benchRoutes } from './routes.bench.ts';
import { benchSettlement } from './settlement.bench.ts';
import { benchFamilies } from './families.bench.ts';

type MeasuredRow = BenchRow & { measured: string };

function renderTable(rows: MeasuredRow[]): string {
  return [
    '| benchmark | figure | compared with | ratio | note | measured |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.name} | ${r.figure} | ${r.baseline} | ${r.ratio} | ${r.note} | ${r.measured} |`),
  ].join('\n');
}

/** The rows of an earlier BENCHMARKS.md (a report from before rows carried their commit gets its header's commit). */
async function existingRows(file: string): Promise<MeasuredRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const legacy = /- commit: `([0-9a-f]+)`/.exec(text)?.[1];
  const legacyAt = /on (\d{4}-\d{2}-\d{2}T\d{2}:\d{2})/.exec(text)?.[1]?.replace('T', ' ');
  const out: MeasuredRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| benchmark |') || line.startsWith('| ---')) continue;
    const cells = line.slice(2, -2).split(' | ');
    if (cells.length < 5) continue;
    const [name, figure, baseline, ratio, note, measured] = cells as [string, string, string, string, string, string | undefined];
    out.push({ name, figure, baseline, ratio, note, measured: measured ?? `${legacy ?? 'unknown'} ${legacyAt ?? ''}`.trim() });
  }
  return out;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Runs every benchmark, prints the table, and writes BENCHMARKS.md. */
export async function runBenchmarks(argv: string[]): Promise<void> {
  const n = Number(argv.find((a) => a.startsWith('--messages='))?.split('=')[1] ?? 300);
  const only = argv.find((a) => a.startsWith('--only='))?.split('=')[1]?.split(',');
  const want = (name: string) => !only || only.includes(name);
  const rows: BenchRow[] = [];
  if (want('primitives')) {
    console.error('primitives…');
    rows.push(...(await benchPrimitives()));
  }
  if (want('merkle')) {
    console.error('batch Merkle trees…');
    rows.push(...(await benchMerkle()));
  }
  // Verifier benchmarks per family: each compares its verifier with the sum of its signature checks.
  for (const family of ['tendermint', 'ics23', 'qbft', 'beacon', 'substrate', 'fabric']) {
    if (!want(family) && !want('proofs')) continue;
    const file = fileURLToPath(new URL(`./${family}.bench.ts`, import.meta.url));
    if (!existsSync(file)) continue;
    console.error(`${family} verifier…`);
    const mod = (await import(file)) as Record<string, () => Promise<BenchRow[]>>;
    const fn = Object.entries(mod).find(([k, v]) => k.startsWith('bench') && typeof v === 'function')?.[1];
    if (fn) rows.push(...(await fn()));
  }
  if (want('evm') || want('proofs')) {
    console.error('EVM proof verification…');
    rows.push(...(await benchProofs()));
  }
  if (want('index')) {
    const m = argv.find((a) => a.startsWith('--index-messages='))?.split('=')[1];
    console.error('message index (PostgreSQL and PGlite)…');
    rows.push(...(await benchIndex(m ? { messages: Number(m), pgliteMessages: Math.max(1000, Math.floor(Number(m) / 10)) } : {})));
  }
  if (want('routes')) {
    console.error('route engine…');
    rows.push(...(await benchRoutes()));
  }
  if (want('settlement')) {
    console.error('settlement end to end…');
    rows.push(...(await benchSettlement(Number(argv.find((a) => a.startsWith('--payments='))?.split('=')[1] ?? 20))));
  }
  if (want('relay')) {
    console.error('end to end (embedded)…');
    rows.push(...(await benchRelay(n, { queue: 'memory', index: 'pglite' })));
    console.error('end to end (BullMQ + PostgreSQL)…');
    rows.push(...(await benchRelay(n, { queue: 'bullmq', index: 'postgres' })));
  }
  if (want('families')) {
    console.error('end to end from Cosmos and Fabric (embedded)…');
    rows.push(...(await benchFamilies(Number(argv.find((a) => a.startsWith('--family-messages='))?.split('=')[1] ?? 50))));
  }
  if (want('relay') || want('capacity')) {
    const c = Number(argv.find((a) => a.startsWith('--capacity-messages='))?.split('=')[1] ?? 2000);
    console.error('relayer capacity (embedded)…');
    rows.push(...(await benchRelayCapacity(c, { queue: 'memory', index: 'pglite' })));
    console.error('relayer capacity (BullMQ + PostgreSQL)…');
    rows.push(...(await benchRelayCapacity(c, { queue: 'bullmq', index: 'postgres' })));
  }
  if (want('relayer-scale')) {
    // Issue 5's scale-out benchmark: embedded, BullMQ with 1 and 2 worker processes, raw BullMQ, CPU per message, latency at 200 msgs/s.
    const num = (flag: string, d: number) => Number(argv.find((a) => a.startsWith(`--${flag}=`))?.split('=')[1] ?? d);
    rows.push(
      ...(await benchRelayerScale({
        ...DEFAULT_SCALE,
        seconds: num('scale-seconds', DEFAULT_SCALE.seconds),
        window: num('scale-window', DEFAULT_SCALE.window),
        latencySeconds: num('scale-latency-seconds', DEFAULT_SCALE.latencySeconds),
      })),
    );
  }
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain']) ? '+' : '';
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const measured = `${commit}${dirty} ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`;
  console.log(renderTable(rows.map((r) => ({ ...r, measured }))));
  // A partial run (--only) replaces its own rows and keeps every other row with the commit it was measured on.
  const kept = only ? await existingRows('BENCHMARKS.md') : [];
  const fresh = new Set(rows.map((r) => r.name));
  const merged = [...kept.map((r) => (fresh.has(r.name) ? { ...rows.find((x) => x.name === r.name)!, measured } : r))];
  for (const r of rows) if (!kept.some((k) => k.name === r.name)) merged.push({ ...r, measured });
  const md = `# Benchmarks

Written by \`npm run bench\` (last run ${new Date().toISOString()}${only ? `, partial: --only=${only.join(',')}` : ''}).

- machine: ${machine}
- each row says the commit it was measured on (\`+\`: with uncommitted changes) and when; a full run measures every row again

${renderTable(merged)}

Every throughput figure checks its work: each proof verification must succeed, and
end-to-end deliveries are counted by the destination chain's receiver contract.
Ratios compare against the raw cost measured in the same run (keccak-256 of the same
proof nodes; the rate at which the source chain accepted the sends; the goal an issue set).
`;
  await writeFile('BENCHMARKS.md', md);
  console.log('\nwritten to BENCHMARKS.md');
}
