import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { BridgeEvent } from '../../clients/chat-service/src/types';
import { clientPresenceFrame } from '../../functions/core/domain/live-channel';
import { liveClientPresenceFrameSchema } from '../../functions/core/domain/live-frame-schemas';
import { kommoUserPresenceData } from '../../functions/core/domain/kommo-user-presence';
import { buildEvent, userPresenceChangedData } from '../../functions/core/domain/outbound-event';
import {
  outboundEventSchemas,
  outboundEventUnionSchema,
  userPresenceChangedEventSchema,
  type OutboundEventUnion,
} from '../../functions/core/domain/outbound-event-schemas';
import { conversationRead } from '../../functions/core/use-cases/conversation-read';
import { kommoUserTypingDeadline, kommoUserTypingHook } from '../../functions/core/use-cases/kommo-user-typing';
import { httpRoutes } from '../../functions/manifest';
import { eventSchemaName, openApiDocument } from '../../tools/openapi/document';
import { OPENAPI_FILE } from '../../tools/openapi/write';
import { FakeChatServiceClient } from '../support/fakes/outbound';
import { InMemoryKommoUserTypingStore } from '../support/fakes/typing-stores';
import { baseDeps, UNIT_ACCOUNT_ID, UNIT_SCOPE_ID } from '../support/fakes/unit-deps';
import { TEST_START } from '../support/manual-clock';

const committed = () => readFileSync(OPENAPI_FILE, 'utf8');

describe('docs/openapi.json', () => {
  it('is what `npm run openapi` writes from the current schemas', () => {
    // Act
    const generated = openApiDocument();

    // Assess: a failure here means a schema changed; run `npm run openapi` and commit the file.
    // (Compared as JSON, not as text: Biome formats the committed file.)
    expect(JSON.parse(committed())).toEqual(JSON.parse(JSON.stringify(generated)));
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    // Act
    const result = await new Validator().validate(JSON.parse(committed()));

    // Assess
    expect(result).toEqual({ valid: true });
  });

  it('documents every chat-service and widget route of the manifest, and every event as a webhook', () => {
    // Prepare
    const document = JSON.parse(committed());
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item as object)
        .filter((key) => key !== 'parameters')
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    const routes = httpRoutes
      .filter((route) => /^\/(chat|widget)\//.test(route.path) && route.method !== 'OPTIONS')
      .map((route) => `${route.method} ${route.path}`);

    // Assess
    expect(documented.sort()).toEqual(routes.sort());
    expect(Object.keys(document.webhooks)).toEqual([...Object.keys(outboundEventSchemas), 'delivery-status.query']);
    for (const type of Object.keys(outboundEventSchemas))
      expect(document.components.schemas[eventSchemaName(type)].properties.type.const).toBe(type);
  });

  it('refuses an unknown error_code in a status request, as the handler does', () => {
    // Act
    const schema = JSON.parse(committed()).components.schemas.StatusRequest;

    // Assess
    expect(schema.properties.error_code.enum).toEqual([901, 902, 903, 904, 905]);
  });
});

/** Every key the builder produced is one the schema names: the schema is loose for receivers, not for the bridge. */
function expectExactly(schema: { shape: Record<string, unknown> }, value: Record<string, unknown>) {
  expect(Object.keys(value).sort()).toEqual(Object.keys(schema.shape).sort());
}

describe('the event schemas describe what the bridge builds', () => {
  it('typing.started and typing.stopped, from the Kommo-user typing use case', async () => {
    // Prepare
    const deps = {
      ...baseDeps(),
      kommoUserTyping: new InMemoryKommoUserTypingStore(),
      chatService: new FakeChatServiceClient(),
    };
    const hook = {
      account_id: UNIT_ACCOUNT_ID,
      action: {
        typing: {
          user: { id: 'kommo-user-1' },
          conversation: { id: 'kommo-chat-1', client_id: 'conv-1' },
          expired_at: TEST_START / 1000 + 5,
        },
      },
    };

    // Act
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, hook);
    deps.clock.advanceBy(60_000);
    await kommoUserTypingDeadline(
      deps,
      { scopeId: UNIT_SCOPE_ID, kommoConversationId: 'kommo-chat-1', userId: 'kommo-user-1' },
      TEST_START + 5_000,
    );

    // Assess
    const [started, stopped] = deps.chatService.received;
    expect([started?.type, stopped?.type]).toEqual(['typing.started', 'typing.stopped']);
    for (const event of [started, stopped]) {
      const parsed = outboundEventUnionSchema.parse(event);
      expectExactly(outboundEventSchemas[parsed.type], event as never);
      expectExactly(outboundEventSchemas[parsed.type].shape.data, event!.data);
    }
  });

  it('presence.changed, from the Kommo-user presence data', () => {
    // Act
    const event = buildEvent(
      'presence.changed',
      kommoUserPresenceData(
        { scopeId: UNIT_SCOPE_ID, accountId: UNIT_ACCOUNT_ID, conversationId: 'conv-1', userId: '7001' },
        'online',
        TEST_START,
        { kommoConversationId: 'kommo-chat-1' },
      ),
      { id: 'prs_1', nowMs: TEST_START },
    );

    // Assess
    expect(outboundEventSchemas['presence.changed'].parse(event)).toEqual(event);
    expectExactly(outboundEventSchemas['presence.changed'].shape.data, event.data);
  });

  it('conversation.read, from the conversation-read use case', async () => {
    // Prepare
    const deps = baseDeps();

    // Act
    await conversationRead(deps, {
      scope: { scopeId: UNIT_SCOPE_ID, accountId: UNIT_ACCOUNT_ID },
      conversationId: 'conv-1',
      kommoUserId: 7001,
      userAmojoId: 'amojo-user-1',
    });

    // Assess
    const event = deps.queues.events.sent[0]!.body.event as unknown as { data: Record<string, unknown> };
    expect(outboundEventSchemas['conversation.read'].parse(event)).toEqual(event);
    expectExactly(outboundEventSchemas['conversation.read'].shape.data, event.data);
  });

  it('user.presence.changed, from its builder: as contract v3 spells it (unix seconds), and an ISO time is refused', () => {
    // Prepare
    const scope = { scope_id: UNIT_SCOPE_ID, account_id: UNIT_ACCOUNT_ID };

    // Act
    const built = [
      buildEvent(
        'user.presence.changed',
        userPresenceChangedData(scope, { kommoUserId: 7001 }, 'offline', TEST_START),
        {
          id: 'up-1',
          nowMs: TEST_START,
        },
      ),
      buildEvent(
        'user.presence.changed',
        userPresenceChangedData(scope, { kommoUserId: 7001, userAmojoId: 'amojo-user-1' }, 'online', TEST_START + 1500),
        { id: 'up-2', nowMs: TEST_START + 1500 },
      ),
    ];

    // Assess
    for (const event of built) {
      expect(userPresenceChangedEventSchema.parse(event)).toEqual(event);
      expectExactly(outboundEventSchemas['user.presence.changed'].shape.data, event.data as Record<string, unknown>);
    }
    expect(built.map((event) => event.data.at)).toEqual([
      Math.floor(TEST_START / 1000),
      Math.floor(TEST_START / 1000) + 1,
    ]);
    const withIsoTime = { ...built[0]!, data: { ...built[0]!.data, at: new Date(TEST_START).toISOString() } };
    expect(userPresenceChangedEventSchema.safeParse(withIsoTime).success).toBe(false);
  });

  it('the live channel frame client.presence, from its builder', () => {
    // Act
    const frame = clientPresenceFrame(
      { kommoConversationId: 'kommo-chat-1', conversationId: 'conv-1', clientId: 'c-1' },
      {
        client_id: 'c-1',
        online: true,
        last_seen_at: new Date(TEST_START).toISOString(),
        expires_at: new Date(TEST_START + 60_000).toISOString(),
      },
    );

    // Assess
    expect(liveClientPresenceFrameSchema.parse(frame)).toEqual(frame);
  });
});

describe("the chat-service client's event types", () => {
  it('accept every event the schemas admit (checked by tsc, as part of npm test)', () => {
    // Assess: an event the bridge may send is one the client's `verifyEvent` union types, field by field.
    expectTypeOf<OutboundEventUnion>().toExtend<BridgeEvent>();
    expectTypeOf<
      Extract<OutboundEventUnion, { type: 'user.presence.changed' }>['data']['at']
    >().toEqualTypeOf<number>();
    expect(Object.keys(outboundEventSchemas)).toHaveLength(5);
  });
});
