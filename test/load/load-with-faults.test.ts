import { describeMixedLoad } from '../support/mixed-load';

/**
 * `npm run test:load`: 10,000 mixed requests, 50 in flight (the workload is described in
 * test/support/mixed-load.ts). The counts are exact, as in the small run `npm test` makes; only the
 * size, and so the time it takes, differs.
 */
describeMixedLoad({
  total: 10_000,
  typingSessions: 600,
  messages: 500,
  clients: 400,
  hooks: 1000,
  inFlight: 50,
  preparationTimeoutMs: 15 * 60_000,
});
