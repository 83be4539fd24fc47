import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import { toApiGatewayEvent } from '../../local/api-gateway-event';
import { serveBridge } from '../../local/http-server';
import { NO_EFFECT, observe } from '../support/hostile';
import {
  givenBridge,
  givenConnectedAccount,
  widgetRequest,
  type TestBridge,
  type TestResponse,
} from '../support/test-bridge';
import { expectContractError } from '../support/contract-errors';

/**
 * Ids name resources in paths, the bridge's and Kommo's: `.` and `..` (which URL normalisation turns
 * into another path) and text holding an unpaired UTF-16 surrogate (which every UTF-8 store turns into
 * U+FFFD, so two ids become one) are refused with 400 invalid_field, in path and body alike, and change
 * nothing. API Gateway (HTTP API) hands a route its path parameters percent-decoded, so `%2E%2E` is
 * `..` too; the local runtime does the same.
 */

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

/** `.` and `..` as a path segment, as sent: literally or percent-encoded in any case. */
const DOT_SEGMENTS = ['.', '..', '%2E', '%2e', '%2E%2E', '%2e%2E', '.%2E', '%2E.'];

function expectInvalidField(response: TestResponse, field: string): void {
  expectContractError(response, [400]);
  expect(response.body.error.code).toBe('invalid_field');
  expect(response.body.error.message).toContain(field);
}

describe('"." and ".." as an id', () => {
  it.each(DOT_SEGMENTS)(
    'POST /chat/{scope_id}/messages/%s/status is 400 invalid_field, and Kommo hears nothing',
    async (segment) => {
      // Act
      const outcome = await observe(bridge, () =>
        bridge.chat('POST', `/chat/${bridge.scopeId}/messages/${segment}/status`, { status: 'read' }),
      );
      await bridge.advance(60_000);

      // Assess
      expectInvalidField(outcome.result, 'msgid');
      expect(outcome.effects).toEqual(NO_EFFECT);
      expect(bridge.kommo.calls).toEqual([]);
      expect(bridge.kommo.rejected).toEqual([]);
    },
  );

  it.each(DOT_SEGMENTS)('GET /chat/{scope_id}/messages/%s/status is 400 invalid_field', async (segment) => {
    // Act
    const outcome = await observe(bridge, () =>
      bridge.chat('GET', `/chat/${bridge.scopeId}/messages/${segment}/status`),
    );

    // Assess
    expectInvalidField(outcome.result, 'msgid');
    expect(outcome.effects).toEqual(NO_EFFECT);
  });

  it.each(DOT_SEGMENTS)('GET /chat/{scope_id}/presence/%s is 400 invalid_field', async (segment) => {
    // Act
    const outcome = await observe(bridge, () => bridge.chat('GET', `/chat/${bridge.scopeId}/presence/${segment}`));

    // Assess
    expectInvalidField(outcome.result, 'client_id');
    expect(outcome.effects).toEqual(NO_EFFECT);
  });

  it.each([
    ['conversation_id', '.'],
    ['conversation_id', '..'],
    ['sender_id', '.'],
    ['sender_id', '..'],
  ])('POST /chat/{scope_id}/typing with %s %j is 400 invalid_field, and Kommo hears nothing', async (field, id) => {
    // Act
    const body = { conversation_id: 'c-1', sender_id: 'u-1', state: 'start', [field]: id };
    const outcome = await observe(bridge, () => bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, body));
    await bridge.advance(10_000);

    // Assess
    expectInvalidField(outcome.result, field);
    expect(outcome.effects).toEqual(NO_EFFECT);
    expect(bridge.kommo.calls).toEqual([]);
  });

  it.each(['.', '..'])('POST /chat/{scope_id}/presence with client_id %j is 400 invalid_field', async (id) => {
    // Act
    const outcome = await observe(bridge, () =>
      bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, { client_id: id, state: 'online' }),
    );

    // Assess
    expectInvalidField(outcome.result, 'client_id');
    expect(outcome.effects).toEqual(NO_EFFECT);
  });

  it('ids that merely hold dots are ids like any other', async () => {
    // Act
    const typing = await bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, {
      conversation_id: '...',
      sender_id: '.u',
      state: 'start',
    });
    const status = await bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m.1/status`, { status: 'read' });
    const presence = await bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, {
      client_id: '..u',
      state: 'online',
    });
    await bridge.advance(0);

    // Assess
    expect([typing.status, status.status, presence.status]).toEqual([202, 202, 202]);
    expect(bridge.kommo.deliveryStatusCalls().map((call) => call.msgid)).toEqual(['m.1']);
    expect(bridge.kommo.typingCalls().map((call) => call.body.conversation_id)).toEqual(['...']);
    expect((await bridge.chat('GET', `/chat/${bridge.scopeId}/presence/..u`)).body).toMatchObject({
      client_id: '..u',
      online: true,
    });
  });

  it('a msgid holding "/" (sent as %2F) is 400 invalid_field: it would be two segments of Kommo\'s path', async () => {
    // Act
    const outcome = await observe(bridge, () =>
      bridge.chat('POST', `/chat/${bridge.scopeId}/messages/a%2F..%2Fb/status`, { status: 'read' }),
    );
    await bridge.advance(60_000);

    // Assess
    expectInvalidField(outcome.result, 'msgid');
    expect(outcome.effects).toEqual(NO_EFFECT);
    expect(bridge.kommo.calls).toEqual([]);
  });
});

describe('"." and ".." on the widget routes', () => {
  beforeEach(async () => {
    await givenConnectedAccount(bridge);
  });

  it.each(DOT_SEGMENTS)('GET /widget/chats/%s is 400 invalid_field', async (segment) => {
    // Act
    const outcome = await observe(bridge, () => widgetRequest(bridge, 'GET', `/widget/chats/${segment}`));

    // Assess
    expectInvalidField(outcome.result, 'kommo_conversation_id');
    expect(outcome.effects).toEqual(NO_EFFECT);
  });

  it.each(DOT_SEGMENTS)(
    'POST /widget/chats/%s/read is 400 invalid_field, and the chat service hears nothing',
    async (segment) => {
      // Act
      const outcome = await observe(bridge, () => widgetRequest(bridge, 'POST', `/widget/chats/${segment}/read`));
      await bridge.advance(10_000);

      // Assess
      expectInvalidField(outcome.result, 'kommo_conversation_id');
      expect(outcome.effects).toEqual(NO_EFFECT);
      expect(bridge.sink.events).toEqual([]);
    },
  );

  it.each(DOT_SEGMENTS)(
    'POST /widget/chats/%s/presence is 400 invalid_field, and the chat service hears nothing',
    async (segment) => {
      // Act
      const outcome = await observe(bridge, () =>
        widgetRequest(bridge, 'POST', `/widget/chats/${segment}/presence`, { state: 'online' }),
      );
      await bridge.advance(10_000);

      // Assess
      expectInvalidField(outcome.result, 'kommo_conversation_id');
      expect(outcome.effects).toEqual(NO_EFFECT);
      expect(bridge.sink.events).toEqual([]);
    },
  );
});

describe('unpaired UTF-16 surrogates', () => {
  /** A JSON body as raw text, so that `\uXXXX` escapes reach the bridge exactly as written. */
  const raw = (json: string) => ({ rawBody: json });

  it.each([
    ['conversation_id', String.raw`{"conversation_id":"\ud800","sender_id":"u-1","state":"start"}`],
    ['conversation_id', String.raw`{"conversation_id":"c\udfff","sender_id":"u-1","state":"start"}`],
    ['sender_id', String.raw`{"conversation_id":"c-1","sender_id":"\udc00u","state":"start"}`],
    ['sender_id', String.raw`{"conversation_id":"c-1","sender_id":"\ude00\ud83d","state":"start"}`],
  ])(
    'POST /chat/{scope_id}/typing with %s holding one is 400 invalid_field, and Kommo hears nothing',
    async (field, json) => {
      // Act
      const outcome = await observe(bridge, () =>
        bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, undefined, raw(json)),
      );
      await bridge.advance(10_000);

      // Assess
      expectInvalidField(outcome.result, field);
      expect(outcome.effects).toEqual(NO_EFFECT);
      expect(bridge.kommo.calls).toEqual([]);
    },
  );

  it('POST /chat/{scope_id}/presence: "\\ud800" and "\\udbff" are refused, not stored as one client', async () => {
    // Act
    const first = await observe(bridge, () =>
      bridge.chat(
        'POST',
        `/chat/${bridge.scopeId}/presence`,
        undefined,
        raw(String.raw`{"client_id":"\ud800","state":"online"}`),
      ),
    );
    const second = await observe(bridge, () =>
      bridge.chat(
        'POST',
        `/chat/${bridge.scopeId}/presence`,
        undefined,
        raw(String.raw`{"client_id":"\udbff","state":"online"}`),
      ),
    );

    // Assess
    for (const outcome of [first, second]) {
      expectInvalidField(outcome.result, 'client_id');
      expect(outcome.effects).toEqual(NO_EFFECT);
    }
  });

  it('POST /chat/{scope_id}/messages/{msgid}/status with error text holding one is 400 invalid_field, and Kommo hears nothing', async () => {
    // Act
    const json = String.raw`{"status":"error","error_code":905,"error":"blocked \ud800"}`;
    const outcome = await observe(bridge, () =>
      bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, undefined, raw(json)),
    );
    await bridge.advance(60_000);

    // Assess
    expectInvalidField(outcome.result, 'error');
    expect(outcome.effects).toEqual(NO_EFFECT);
    expect(bridge.kommo.calls).toEqual([]);
  });

  it('a widget presence heartbeat with a user_amojo_id holding one is 400 invalid_field', async () => {
    // Prepare
    await givenConnectedAccount(bridge);

    // Act
    const outcome = await observe(bridge, () =>
      widgetRequest(bridge, 'POST', '/widget/chats/k-c-1/presence', undefined, {
        rawBody: String.raw`{"state":"online","user_amojo_id":"\udc00"}`,
      }),
    );
    await bridge.advance(10_000);

    // Assess
    expectInvalidField(outcome.result, 'user_amojo_id');
    expect(outcome.effects).toEqual(NO_EFFECT);
    expect(bridge.sink.events).toEqual([]);
  });

  it('a well-formed pair (an emoji, escaped or not) is an id like any other', async () => {
    // Act
    const escaped = await bridge.chat(
      'POST',
      `/chat/${bridge.scopeId}/presence`,
      undefined,
      raw(String.raw`{"client_id":"u-\ud83d\ude00","state":"online"}`),
    );
    const literal = await bridge.chat(
      'POST',
      `/chat/${bridge.scopeId}/messages/${encodeURIComponent('m-😀')}/status`,
      undefined,
      raw('{"status":"error","error_code":905,"error":"blocked 🙈"}'),
    );
    await bridge.advance(0);

    // Assess
    expect([escaped.status, literal.status]).toEqual([202, 202]);
    expect(
      (await bridge.chat('GET', `/chat/${bridge.scopeId}/presence/${encodeURIComponent('u-😀')}`)).body,
    ).toMatchObject({ client_id: 'u-😀', online: true });
    expect(bridge.kommo.deliveryStatusCalls().map((call) => [call.msgid, call.body.error])).toEqual([
      ['m-😀', 'blocked 🙈'],
    ]);
  });
});

describe('the local runtime treats path parameters as API Gateway does', () => {
  it.each([
    ['%2E%2E', '..'],
    ['%2e', '.'],
    ['m%2D1', 'm-1'],
    ['a%2Fb', 'a/b'],
  ])('hands the route %s percent-decoded, as %j', (segment, decoded) => {
    // Act
    const { event, functionName } = toApiGatewayEvent(
      { method: 'GET', url: `/chat/s_a/messages/${segment}/status`, headers: {}, body: Buffer.alloc(0) },
      0,
    );

    // Assess
    expect(functionName).toBe('chat-status');
    expect(event.routeKey).toBe('GET /chat/{scope_id}/messages/{msgid}/status');
    expect(event.pathParameters).toEqual({ scope_id: 's_a', msgid: decoded });
  });

  it.each(['..', '%2E%2E', '.', '%2e'])(
    'answers a signed POST …/messages/%s/status sent over HTTP, path as is, with 400 invalid_field',
    async (segment) => {
      // Prepare: node:http sends the path exactly as given (fetch would normalise the dot segments away).
      const server = await serveBridge(bridge.bridge, { port: 0 });
      const body = Buffer.from(JSON.stringify({ status: 'read' }));
      const webhookId = `msg_http_${segment}`;
      const timestamp = Math.floor(bridge.clock.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': new StandardWebhookVerifier(bridge.secrets.chatServiceSecret).sign(
          webhookId,
          timestamp,
          body,
        ),
      };
      try {
        // Act
        const response = await sendAsIs(
          server.url,
          'POST',
          `/chat/${bridge.scopeId}/messages/${segment}/status`,
          headers,
          body,
        );
        await bridge.advance(60_000);

        // Assess
        expectInvalidField(response, 'msgid');
        expect(bridge.kommo.calls).toEqual([]);
      } finally {
        await server.close();
      }
    },
  );
});

/** One HTTP request whose path goes on the wire unchanged. */
function sendAsIs(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<TestResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { hostname, port, method, path, headers: { ...headers, 'content-length': String(body.length) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            body: text ? JSON.parse(text) : undefined,
            headers: response.headers as Record<string, string>,
          });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
