import { describe } from 'vitest';
import { clientTypingStoreContract, managerTypingStoreContract } from '../../support/contracts/typing-store-contract';
import { InMemoryClientTypingStore, InMemoryManagerTypingStore } from '../../support/fakes/typing-stores';

/** The fakes the use-case tests run on keep the same contract as the DynamoDB stores (test/integration/typing-store.test.ts). */
describe('the in-memory client typing store', () => clientTypingStoreContract(new InMemoryClientTypingStore()));
describe('the in-memory manager typing store', () => managerTypingStoreContract(new InMemoryManagerTypingStore()));
