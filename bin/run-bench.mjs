#!/usr/bin/env node
// `npm run bench`: runs the benchmarks in test/bench and writes BENCHMARKS.md.
import { register } from 'tsx/esm/api';

register();
const { runBenchmarks } = await import('../test/bench/run.ts');
await runBenchmarks(process.argv.slice(2));
