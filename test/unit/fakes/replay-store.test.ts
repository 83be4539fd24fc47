import { describe } from 'vitest';
import { replayStoreContract } from '../../support/contracts/replay-store-contract';
import { InMemoryReplayStore } from '../../support/fakes/replay-store';

/** The fake the middleware tests run on keeps the same contract as the DynamoDB store (test/integration/replay-store.test.ts). */
describe('the in-memory replay store', () => replayStoreContract(new InMemoryReplayStore()));
