import { describe } from 'vitest';
import { liveChannelStoreContract } from '../../support/contracts/live-channel-store-contract';
import { InMemoryLiveChannelStore } from '../../support/fakes/live-channel';

/** The fake the presence tests run on keeps the same contract as the DynamoDB store (test/integration/live-channel-store.test.ts). */
describe('the in-memory live channel', () => liveChannelStoreContract(new InMemoryLiveChannelStore()));
