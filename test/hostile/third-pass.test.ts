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

describe("Kommo's error_description: kept short, and the update still settles", () => {
  const statusPath = (msgid: string) => `/chat/${bridge.scopeId}/messages/${msgid}/status`;

  it.each([
    ['300 KB (beyond the 64 KiB the bridge reads)', 300_000],
    ['50 KB (read, then cut to 500 characters)', 50_000],
  ])(
    'a first answer 503 with a %s error_description: retried once, Kommo gets -1, the record keeps ≤ 500 characters of it',
    async (_, size) => {
      // Prepare: Kommo's first answer to the status call is a 503 whose description is `size` characters.
      let answered = false;
      bridge.kommo.respondWith(() => {
        if (answered) return undefined;
        answered = true;
        return {
          status: 503,
          body: { error_code: 503, error_type: 'SERVICE_UNAVAILABLE', error_description: 'z'.repeat(size) },
        };
      });

      // Act
      const posted = await bridge.chat('POST', statusPath('m-big'), { status: 'error', error_code: 901 });
      await bridge.advance(60_000);

      // Assess
      tally.count('outbound answers', true);
      expect(posted.status).toBe(202);
      expect(bridge.kommo.deliveryStatusCalls().map((call) => call.body)).toEqual([
        { msgid: 'm-big', delivery_status: -1, error_code: 901 },
      ]);
      const record = await bridge.chat('GET', statusPath('m-big'));
      expect(record.body.kommo).toMatchObject({ delivered: true, attempts: 2 });
      expect(JSON.stringify(record.body).length).toBeLessThan(2_000);
      expect(bridge.bridge.deadLetters('kommo-status')).toEqual([]);
      const logged = JSON.stringify(bridge.log.lines);
      expect(logged).not.toContain('z'.repeat(501));
    },
  );
});
