import { describe } from 'vitest';
import { statusStoreContract } from '../../support/contracts/status-store-contract';
import { InMemoryStatusStore } from '../../support/fakes/status-stores';

/** The fake the delivery-status tests run on keeps the same contract as the DynamoDB store (test/integration/status-store.test.ts). */
describe('the in-memory status store', () => statusStoreContract(new InMemoryStatusStore()));
