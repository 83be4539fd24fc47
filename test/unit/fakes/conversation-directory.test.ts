import { describe } from 'vitest';
import { conversationDirectoryContract } from '../../support/contracts/conversation-directory-contract';
import { InMemoryConversationDirectory } from '../../support/fakes/conversation-directory';

/** The fake the hook-worker tests run on keeps the same contract as the DynamoDB store (test/integration/conversation-directory.test.ts). */
describe('the in-memory conversation directory', () =>
  conversationDirectoryContract((clock) => new InMemoryConversationDirectory(clock)));
