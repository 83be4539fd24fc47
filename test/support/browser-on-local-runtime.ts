import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, inject } from 'vitest';
import { localDynamoClient } from '../../local/dynamodb-local';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { launchBrowser } from './kommo-browser';

export { BROWSER_TEST_LIMITS, SOON } from './kommo-browser';

/** What a browser test file of the sandbox pages gets: both are there from its first test on. */
export interface BrowserOnLocalRuntime {
  readonly browser: Browser;
  readonly runtime: LocalRuntime;
}

/**
 * One Chromium and the local runtime as `npm start` runs it (real-time queues, system clock, the
 * sandbox pages), started before the file's tests and stopped after them.
 */
export function givenBrowserOnLocalRuntime(): BrowserOnLocalRuntime {
  const dynamo = localDynamoClient(inject('dynamoEndpoint'));
  let started: BrowserOnLocalRuntime | undefined;
  beforeAll(async () => {
    const [browser, runtime] = await Promise.all([
      launchBrowser(),
      startLocalRuntime({ env: {}, port: 0, dynamo, logLevel: 'silent' }),
    ]);
    started = { browser, runtime };
  });
  afterAll(async () => {
    await started?.browser.close();
    await started?.runtime.stop();
    dynamo.destroy();
  });
  const get = (): BrowserOnLocalRuntime => {
    if (!started) throw new Error('the browser and the local runtime start in beforeAll: use them inside a test');
    return started;
  };
  return {
    get browser() {
      return get().browser;
    },
    get runtime() {
      return get().runtime;
    },
  };
}
