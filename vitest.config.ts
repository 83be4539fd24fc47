import { configDefaults, defineConfig } from 'vitest/config';

/** Starts one DynamoDB Local (Java) per run; every test file that uses it makes its own table. */
export const dynamoDbLocalSetup = ['test/support/global-setup.ts'];

/**
 * Two projects in one run (`npm test` runs both):
 * - `unit` (test/unit, `npm run test:unit`): domain, use cases on in-memory port fakes, middlewares, the
 *   queue consumer, adapters against local stand-ins. No DynamoDB Local, so no Java: it runs in seconds.
 * - `dynamodb-local`: integration, e2e, hostile, browser, bundle and infra, with DynamoDB Local started
 *   once for the run.
 * The load runs (test/load) have their own config (vitest.load.config.ts): their duration depends on the machine.
 */
export default defineConfig({
  test: {
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
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'dynamodb-local',
          // clients/*: the publishable packages (clients/chat-service), tested against the local runtime.
          include: ['test/**/*.test.ts', 'clients/*/test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**', 'test/load/**'],
          globalSetup: dynamoDbLocalSetup,
        },
      },
    ],
  },
});
