import { describe } from 'vitest';
import { presenceStoreContract } from '../../support/contracts/presence-store-contract';
import { InMemoryPresenceStore } from '../../support/fakes/presence-store';

/** The fake the presence tests run on keeps the port's contract (the DynamoDB store's integration file can run the same one). */
describe('the in-memory presence store', () => presenceStoreContract(new InMemoryPresenceStore()));
