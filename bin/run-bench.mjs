#!/usr/bin/env node
// `npm run bench`: runs the benchmarks in test/bench and writes BENCHMARKS.md.
import { register } from 'tsx/esm/api';

register();
const { runBenchmarks } = await import('../test/bench/run.ts');
try {
  await runBenchmarks(process.argv.slice(2));
} catch (err) {
  // Caught here, not left to the process: a library's uncaughtException handler (the Fabric SDK's logger) would
  // otherwise report it and let the process end with code 0, as if the run had succeeded.
  console.error('bench failed:', err);
  process.exit(1);
}
