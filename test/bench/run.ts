import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
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
  const rows: BenchRow[] = [];
  console.error('proof verification…');
  rows.push(...(await benchProofs()));
  console.error('end to end (embedded)…');
  rows.push(...(await benchRelay(n, { queue: 'memory', index: 'pglite' })));
  console.error('end to end (BullMQ + PostgreSQL)…');
  rows.push(...(await benchRelay(n, { queue: 'bullmq', index: 'postgres' })));
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
  await writeFile('BENCHMARKS.md', md);
  console.log(table);
  console.log('\nwritten to BENCHMARKS.md');
}
