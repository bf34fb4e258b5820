import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchPrimitives } from './primitives.bench.ts';
import { benchIndex } from './index.bench.ts';
import { benchProofs, type BenchRow } from './proofs.bench.ts';
import { benchRelay } from './relay.bench.ts';

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
  if (want('relay')) {
    console.error('end to end (embedded)…');
    rows.push(...(await benchRelay(n, { queue: 'memory', index: 'pglite' })));
    console.error('end to end (BullMQ + PostgreSQL)…');
    rows.push(...(await benchRelay(n, { queue: 'bullmq', index: 'postgres' })));
  }
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain']) ? ' (with uncommitted changes)' : '';
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const table = [
    '| benchmark | figure | compared with | ratio | note |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.name} | ${r.figure} | ${r.baseline} | ${r.ratio} | ${r.note} |`),
  ].join('\n');
  const md = `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString()}.

- commit: \`${commit}\`${dirty}
- machine: ${machine}

${table}

Every throughput figure checks its work: each proof verification must succeed, and
end-to-end deliveries are counted by the destination chain's receiver contract.
Ratios compare against the raw cost measured in the same run (keccak-256 of the same
proof nodes; the rate at which the source chain accepted the sends).
`;
  console.log(table);
  // A partial run (--only) prints its figures but never replaces the full report.
  if (only) return;
  await writeFile('BENCHMARKS.md', md);
  console.log('\nwritten to BENCHMARKS.md');
}
