import { describe } from 'vitest';
import { statusPollStoreContract } from '../../support/contracts/status-poll-store-contract';
import { InMemoryStatusPollStore } from '../../support/fakes/status-stores';

/** The fake the use-case tests run on keeps the same contract as the DynamoDB store (test/integration/status-poll-store.test.ts). */
describe('the in-memory status poll store', () => statusPollStoreContract(new InMemoryStatusPollStore()));
