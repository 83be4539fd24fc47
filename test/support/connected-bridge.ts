import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, expect } from 'vitest';
import { documentClient } from '../../functions/core/adapters/dynamodb/table';
import type { BridgeConfig } from '../../functions/core/config';
import type { InProcessLiveClient } from '../../local/live-gateway';
import {
  givenBridge,
  givenConnectedAccount,
  TEST_KOMMO_CHAT,
  widgetRequest,
  type TestBridge,
  type WidgetRequestOptions,
} from './test-bridge';

/** A chat the chat service has named: its conversation and client, and the Kommo chat that is it. */
export interface RegisteredChat {
  /** Default `c-1`. */
  conversationId?: string;
  /** Default TEST_KOMMO_CHAT. */
  kommoConversationId?: string;
  /** Default `u-7`. */
  clientId?: string;
}

export interface ConnectedBridgeOptions {
  /** Chats the chat service registers before each test, in this order. */
  chats?: readonly RegisteredChat[];
  /** Settings of the deployment under test, over `givenBridge`'s (for example a Kommo user's ping and window). */
  settings?: Partial<Record<keyof BridgeConfig, string>>;
}

/** The test bridge of `givenBridge`, with the steps the tests of a connected account take again and again. */
export interface ConnectedBridge extends TestBridge {
  /**
   * The chat service names a chat (`PUT /chat/{scope_id}/conversations/{conversation_id}`), as it does
   * once Kommo answers; anything but 200 fails the test.
   */
  registerChat(chat?: RegisteredChat): Promise<void>;
  /** The widget asks for a live ticket (`POST /widget/live`) and connects with it, in process; both must succeed. */
  openLiveConnection(options?: WidgetRequestOptions): Promise<InProcessLiveClient>;
  /** Every item of the bridge's table, read consistently. */
  storedItems(): Promise<Record<string, unknown>[]>;
}

/**
 * Given, before each test of the file (or of the `describe` it is called in): the whole bridge in
 * process on DynamoDB Local with the Kommo sandbox, the chat-service sink and a manual clock
 * (`givenBridge`), the test account connected with `/admin/connect` so the widget's tokens are
 * honoured, and `options.chats` registered. The bridge is closed after each test.
 *
 * The answer stands for the bridge of the test running: each test gets a new one, so the answer
 * forwards to it, and tests and their helpers keep writing `bridge.chat(...)`, `bridge.sink`, ...
 */
export function givenConnectedBridge(options: ConnectedBridgeOptions = {}): ConnectedBridge {
  let current: ConnectedBridge | undefined;
  beforeEach(async () => {
    const bridge = await givenBridge(options.settings);
    try {
      await givenConnectedAccount(bridge);
      current = withSteps(bridge);
      for (const chat of options.chats ?? []) await current.registerChat(chat);
    } catch (error) {
      current = undefined;
      await bridge.close();
      throw error;
    }
  });
  afterEach(async () => {
    const closing = current;
    current = undefined;
    await closing?.close();
  });
  return new Proxy({} as ConnectedBridge, {
    get(_, property) {
      if (!current) throw new Error('the connected bridge starts in beforeEach: use it inside a test or a later hook');
      return Reflect.get(current, property);
    },
  });
}

function withSteps(bridge: TestBridge): ConnectedBridge {
  return {
    ...bridge,
    registerChat: (chat) => givenRegisteredChat(bridge, chat),
    openLiveConnection: (options) => givenLiveConnection(bridge, options),
    storedItems: () => storedItems(bridge),
  };
}

/** `registerChat` for a bridge of another set-up (one whose account is connected by the test). */
export async function givenRegisteredChat(
  bridge: Pick<TestBridge, 'chat' | 'scopeId'>,
  { conversationId = 'c-1', kommoConversationId = TEST_KOMMO_CHAT, clientId = 'u-7' }: RegisteredChat = {},
): Promise<void> {
  const response = await bridge.chat(
    'PUT',
    `/chat/${bridge.scopeId}/conversations/${encodeURIComponent(conversationId)}`,
    {
      kommo_conversation_id: kommoConversationId,
      client_id: clientId,
    },
  );
  expect(response.status, JSON.stringify(response.body)).toBe(200);
}

/** `openLiveConnection` for a bridge of another set-up. */
export async function givenLiveConnection(
  bridge: Pick<TestBridge, 'bridge' | 'config' | 'clock' | 'send'>,
  options: WidgetRequestOptions = {},
): Promise<InProcessLiveClient> {
  const answer = await widgetRequest(bridge, 'POST', '/widget/live', undefined, options);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  const client = await bridge.bridge.live.connectInProcess(answer.body.url);
  expect(client.status).toBe(200);
  return client;
}

/** `storedItems` for a bridge of another set-up. */
export async function storedItems(
  bridge: Pick<TestBridge, 'dynamo' | 'tableName'>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient(bridge.dynamo).send(
      new ScanCommand({ TableName: bridge.tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}
