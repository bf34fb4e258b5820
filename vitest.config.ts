import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // 2-core machine: end-to-end files start several anvil nodes each.
    maxWorkers: 2,
    minWorkers: 1,
    globalSetup: ['test/helpers/global-setup.ts'],
    // fabric-network clients the tests drive themselves log expected refusals (MVCC conflicts, endorsement errors) to the console.
    env: { HFC_LOGGING: JSON.stringify({ error: '/dev/null' }) },
  },
});
