import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProbeTally } from '../support/probe-tally';
import { expectContractError, NO_EFFECT, observe } from '../support/hostile';
import { givenBridge, type TestBridge } from '../support/test-bridge';

/**
 * The third hostile pass (install, uninstall, widget, live channel, outbound answers): each probe
 * that once broke, now refused and leaving nothing behind. The tally of probes per surface is printed
 * at the end of the file.
 */

const tally = new ProbeTally();
afterAll(() => {
  console.log(tally.report('third hostile pass'));
});

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

describe("Kommo's routes: a wrong method", () => {
  it.each(['/kommo/install', '/kommo/uninstall'])(
    'POST %s is 405 method_not_allowed (use GET), and does nothing',
    async (path) => {
      // Act
      const observed = await observe(bridge, () =>
        bridge.send('POST', path, { 'content-type': 'application/json' }, Buffer.from('{}')),
      );

      // Assess
      tally.count('kommo routes', observed.result.status === 405);
      expectContractError(observed.result, [405]);
      expect(observed.result.body.error).toEqual({
        code: 'method_not_allowed',
        message: 'POST is not allowed here; use GET',
      });
      expect(observed.effects).toEqual(NO_EFFECT);
    },
  );
});
