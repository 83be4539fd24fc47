import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The load runs (npm run test:load, vitest.load.config.ts): their duration depends on the machine.
    exclude: [...configDefaults.exclude, 'test/load/**'],
    // DynamoDB Local starts once per run; every test file makes its own table.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 180_000,
    // Two cores on CI: keep parallel files to two so Java, esbuild and the tests do not starve each other.
    maxWorkers: 2,
    env: {
      AWS_REGION: 'local',
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_DEV: 'false',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
    },
  },
});
