import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config';

/**
 * `npm run test:load`: the load runs (test/load), kept out of `npm test` because their duration grows
 * with the machine's load. Their assertions are exact counts, never timings; only the runner's time
 * limits are wider here.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/load/**/*.test.ts'],
    exclude: configDefaults.exclude,
    testTimeout: 120_000,
    hookTimeout: 20 * 60_000,
  },
});
