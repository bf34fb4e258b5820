import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // 2-core machine: end-to-end files start several anvil nodes each, and spend most of their time
    // waiting on block times and polls; three files at once kept the suite at ~560 s against ~780 s
    // with two (measured 2026-12-07, 1164 tests). With three the CPU was 81% busy on average (10 s samples);
    // four took the suite from 478 s to 415 s (1319 tests, CPU 89% busy, no failures) on a fast day. On a slower
    // machine (raw BullMQ 5,012 jobs/s against 9,037) four ran at a load average of 12 and two clean-clone runs of
    // three failed on waits (a hub not ready in 90 s, Substrate steps past 60 s; each passed alone), so three again. isolate:false
    // saved more (381 s), but without minWorkers = maxWorkers tinypool ended the run with an unhandled
    // "Terminating worker thread", and with it a run of a few files left two forks orphaned, spinning at
    // 3.5 GB each, so files stay isolated.
    maxWorkers: 3,
    minWorkers: 1,
    globalSetup: ['test/helpers/global-setup.ts'],
    // fabric-network clients the tests drive themselves log expected refusals (MVCC conflicts, endorsement errors) to the console.
    env: { HFC_LOGGING: JSON.stringify({ error: '/dev/null' }) },
  },
});
