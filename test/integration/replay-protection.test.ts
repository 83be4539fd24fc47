import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import { json, type ApiEvent } from '../../functions/core/http/api';
import { httpHandler } from '../../functions/core/http/route';
import { httpRoutes } from '../../functions/manifest';
import { toApiGatewayEvent } from '../../local/api-gateway-event';
import { replayRecord } from '../support/hostile';
import { givenBridge, type TestBridge } from '../support/test-bridge';

/**
 * Replay protection is declared per route in the manifest (`replay`) and read by the chat-service
 * authentication: requests whose repeat would change something are claimed (their webhook-id is single
 * use, a repeat gets the first answer); typing, presence heartbeats and every GET only extend what is
 * there or read, so they are not claimed. A route that says nothing is claimed: forgetting costs a
 * write, never a replay.
 */

const chatRoutes = httpRoutes.filter((route) => route.path.startsWith('/chat/'));
const routeKey = (route: { method: string; path: string }) => `${route.method} ${route.path}`;

describe('the manifest', () => {
  it('declares replay protection for every /chat/... route', () => {
    expect(chatRoutes.length).toBeGreaterThan(0);
    expect(chatRoutes.filter((route) => route.replay === undefined).map(routeKey)).toEqual([]);
  });

  it('claims exactly the status update and the conversation registration', () => {
    expect(
      chatRoutes
        .filter((route) => route.replay === 'claimed')
        .map(routeKey)
        .sort(),
    ).toEqual([
      'POST /chat/{scope_id}/messages/{msgid}/status',
      'PUT /chat/{scope_id}/conversations/{conversation_id}',
    ]);
  });

  it('leaves typing, presence heartbeats and every GET unclaimed', () => {
    const reads = chatRoutes.filter((route) => route.method === 'GET').map(routeKey);

    expect(reads.length).toBeGreaterThan(0);
    expect(
      chatRoutes
        .filter((route) => route.replay === 'idempotent')
        .map(routeKey)
        .sort(),
    ).toEqual(['POST /chat/{scope_id}/typing', 'POST /chat/{scope_id}/presence', ...reads].sort());
  });

  it('declares it on no other route (widget, admin and install have their own token rules)', () => {
    expect(
      httpRoutes.filter((route) => !route.path.startsWith('/chat/') && route.replay !== undefined).map(routeKey),
    ).toEqual([]);
  });
});

describe('the chat-service authentication', () => {
  let bridge: TestBridge;
  let runs: number;
  let handler: (event: ApiEvent, context: Context) => Promise<unknown>;
  beforeAll(async () => {
    bridge = await givenBridge();
    runs = 0;
    handler = httpHandler(bridge.deps, 'chat-service', async () => json(200, { run: (runs += 1) })) as typeof handler;
  });
  afterAll(async () => {
    await bridge.close();
  });

  const context = {
    functionName: 'replay-protection-test',
    awsRequestId: 'test',
    getRemainingTimeInMillis: () => 10_000,
  } as unknown as Context;

  /** A signed request as API Gateway delivers it, under the route key `key` whatever the path. */
  function signedEvent(key: string, webhookId: string): ApiEvent {
    const body = Buffer.from('{"client_id":"u-1","state":"online"}');
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
    const { event } = toApiGatewayEvent(
      { method: 'POST', url: `/chat/${bridge.scopeId}/presence`, headers, body },
      bridge.clock.now(),
    );
    return { ...event, routeKey: key, requestContext: { ...event.requestContext, routeKey: key } };
  }

  /** Sends the same signed request twice; what the route and the table saw. */
  async function sentTwice(key: string, webhookId: string) {
    const before = runs;
    const first = (await handler(signedEvent(key, webhookId), context)) as {
      statusCode: number;
      headers?: Record<string, string>;
      body: string;
    };
    const second = (await handler(signedEvent(key, webhookId), context)) as {
      statusCode: number;
      headers?: Record<string, string>;
      body: string;
    };
    return { first, second, runs: runs - before, record: await replayRecord(bridge, webhookId) };
  }

  it('claims a route the manifest does not know (fail safe): the repeat gets the first answer, and the route runs once', async () => {
    // Act
    const outcome = await sentTwice('POST /chat/{scope_id}/not-in-the-manifest', 'msg_unknown_route');

    // Assess
    expect(outcome.runs).toBe(1);
    expect(outcome.first.statusCode).toBe(200);
    expect(outcome.second).toMatchObject({
      statusCode: 200,
      body: outcome.first.body,
      headers: { 'webhook-replayed': 'true' },
    });
    expect(outcome.record).toEqual({ state: 'answered', statusCode: 200 });
  });

  it('claims a route whose manifest entry says nothing about replays', async () => {
    // Act: a route of the manifest without `replay` (not a chat-service route; only its entry matters here).
    const outcome = await sentTwice('POST /admin/connect', 'msg_undeclared_route');

    // Assess
    expect(httpRoutes.find((route) => routeKey(route) === 'POST /admin/connect')?.replay).toBeUndefined();
    expect(outcome.runs).toBe(1);
    expect(outcome.second.headers?.['webhook-replayed']).toBe('true');
    expect(outcome.record).toEqual({ state: 'answered', statusCode: 200 });
  });

  it('does not claim an idempotent route: the repeat runs again, and no replay record is written', async () => {
    // Act
    const outcome = await sentTwice('POST /chat/{scope_id}/presence', 'msg_idempotent_route');

    // Assess
    expect(outcome.runs).toBe(2);
    expect(outcome.second.statusCode).toBe(200);
    expect(outcome.second.headers?.['webhook-replayed']).toBeUndefined();
    expect(outcome.record).toBeUndefined();
  });

  it('claims a claimed route: the repeat gets the first answer', async () => {
    // Act
    const outcome = await sentTwice('POST /chat/{scope_id}/messages/{msgid}/status', 'msg_claimed_route');

    // Assess
    expect(outcome.runs).toBe(1);
    expect(outcome.second).toMatchObject({
      statusCode: 200,
      body: outcome.first.body,
      headers: { 'webhook-replayed': 'true' },
    });
    expect(outcome.record).toEqual({ state: 'answered', statusCode: 200 });
  });
});
