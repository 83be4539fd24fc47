import { describe } from 'vitest';
import { clientTypingStoreContract, kommoUserTypingStoreContract } from '../../support/contracts/typing-store-contract';
import { InMemoryClientTypingStore, InMemoryKommoUserTypingStore } from '../../support/fakes/typing-stores';

/** The fakes the use-case tests run on keep the same contract as the DynamoDB stores (test/integration/typing-store.test.ts). */
describe('the in-memory client typing store', () => clientTypingStoreContract(new InMemoryClientTypingStore()));
describe('the in-memory Kommo user typing store', () =>
  kommoUserTypingStoreContract(new InMemoryKommoUserTypingStore()));
