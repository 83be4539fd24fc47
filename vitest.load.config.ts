import { configDefaults, defineConfig } from 'vitest/config';
import base, { dynamoDbLocalSetup } from './vitest.config';

const { projects: _projects, ...shared } = base.test ?? {};

/**
 * `npm run test:load`: the load runs (test/load), kept out of `npm test` because their duration grows
 * with the machine's load. Their assertions are exact counts, never timings; only the runner's time
 * limits are wider here.
 */
export default defineConfig({
  test: {
    ...shared,
    include: ['test/load/**/*.test.ts'],
    exclude: configDefaults.exclude,
    globalSetup: dynamoDbLocalSetup,
    testTimeout: 120_000,
    hookTimeout: 20 * 60_000,
  },
});
