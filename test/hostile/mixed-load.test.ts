import { describeMixedLoad } from '../support/mixed-load';

/**
 * The 10,000-request load run of `npm run test:load` (test/load), at a size that takes seconds: the
 * same seeded workload and the same exact counts of stored items, Kommo calls and chat-service events.
 */
describeMixedLoad({
  total: 400,
  typingSessions: 24,
  messages: 20,
  clients: 16,
  hooks: 40,
  inFlight: 20,
  preparationTimeoutMs: 180_000,
});
