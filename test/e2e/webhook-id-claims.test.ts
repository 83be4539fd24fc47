import { GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import { announcedPresence } from '../support/client-presence';
import { DynamoFaults, NO_EFFECT, observe } from '../support/hostile';
import { givenBridge, type TestBridge, type TestResponse } from '../support/test-bridge';
import { expectContractError } from '../support/contract-errors';

/**
 * A Standard Webhooks signature covers the webhook-id, the timestamp and the body, not the method or
 * the path. So on the routes whose repeat would change something (the manifest's `replay: 'claimed'`:
 * status updates and conversation registrations) a `webhook-id` is single use across the whole API: it
 * belongs to the first request that came with it (method, route, path parameters, body bytes); a
 * repeat of that request gets the first answer back; the same signed headers and body sent anywhere
 * else are refused with 409 `webhook_id_used`, and change nothing. The idempotent routes (typing,
 * presence heartbeats, GETs) claim no id: a repeat inside the timestamp window is processed again.
 */

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

/** Another Kommo account's scope on the same channel: a valid target for the bridge. */
const otherScope = () => `${bridge.channelId}_0b5e7a1c-3d4f-4e6a-9b8c-7d6e5f4a3b2c`;

interface SignedRequest {
  headers: Record<string, string>;
  body: Buffer;
}

/** Headers and body as the chat service signs them once; they can then be sent to any method and path. */
function signed(body: unknown, webhookId: string): SignedRequest {
  const raw = Buffer.from(body === undefined ? '' : JSON.stringify(body));
  const timestamp = Math.floor(bridge.clock.now() / 1000);
  return {
    body: raw,
    headers: {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': new StandardWebhookVerifier(bridge.secrets.chatServiceSecret).sign(
        webhookId,
        timestamp,
        raw,
      ),
    },
  };
}

const sendTo = (method: string, path: string, request: SignedRequest) =>
  bridge.send(method, path, request.headers, request.body);

/** The whole replay record of an id, as DynamoDB holds it. */
async function replayItem(webhookId: string): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await bridge.dynamo.send(
    new GetItemCommand({
      TableName: bridge.tableName,
      Key: { pk: { S: `WEBHOOK#${webhookId}` }, sk: { S: 'REQUEST' } },
      ConsistentRead: true,
    }),
  );
  return Item;
}

function expectWebhookIdUsed(response: TestResponse): void {
  expectContractError(response, [409]);
  expect(response.body.error.code).toBe('webhook_id_used');
  expect(response.headers['webhook-replayed']).toBeUndefined();
}

describe('a webhook-id is single use across the whole API', () => {
  it('the same signed status report replayed to another scope is 409 webhook_id_used, and Kommo hears of the first only', async () => {
    // Prepare
    const report = signed({ status: 'read' }, 'msg_scope');
    const first = await sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, report);
    await bridge.advance(0);
    const recordBefore = await replayItem('msg_scope');

    // Act
    const replay = await observe(bridge, () => sendTo('POST', `/chat/${otherScope()}/messages/m-1/status`, report));
    await bridge.advance(60_000);

    // Assess
    expect(first).toMatchObject({ status: 202, body: { ok: true, applied: true } });
    expectWebhookIdUsed(replay.result);
    expect(replay.effects).toEqual(NO_EFFECT);
    expect(replay.newReplays).toBe(0);
    expect(await replayItem('msg_scope')).toEqual(recordBefore);
    expect(bridge.kommo.deliveryStatusCalls().map((call) => [call.scopeId, call.msgid])).toEqual([
      [bridge.scopeId, 'm-1'],
    ]);
  });

  it('the same signed status report replayed for another msgid is 409 webhook_id_used, and that message stays unknown', async () => {
    // Prepare
    const report = signed({ status: 'delivered' }, 'msg_msgid');
    await sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, report);
    await bridge.advance(0);

    // Act
    const replay = await observe(bridge, () => sendTo('POST', `/chat/${bridge.scopeId}/messages/m-2/status`, report));
    await bridge.advance(60_000);

    // Assess
    expectWebhookIdUsed(replay.result);
    expect(replay.effects).toEqual(NO_EFFECT);
    expect((await bridge.chat('GET', `/chat/${bridge.scopeId}/messages/m-2/status`)).status).toBe(404);
    expect(bridge.kommo.deliveryStatusCalls().map((call) => call.msgid)).toEqual(['m-1']);
  });

  it('a signed conversation registration replayed for another conversation, or to the status route, is 409 webhook_id_used and stores nothing', async () => {
    // Prepare
    const registration = signed({ kommo_conversation_id: 'kommo-chat-1', client_id: 'u-1' }, 'msg_register');
    const first = await sendTo('PUT', `/chat/${bridge.scopeId}/conversations/c-1`, registration);
    const recordBefore = await replayItem('msg_register');

    // Act
    const otherConversation = await observe(bridge, () =>
      sendTo('PUT', `/chat/${bridge.scopeId}/conversations/c-2`, registration),
    );
    const otherScopeToo = await observe(bridge, () =>
      sendTo('PUT', `/chat/${otherScope()}/conversations/c-1`, registration),
    );
    const otherRoute = await observe(bridge, () =>
      sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, registration),
    );

    // Assess
    expect(first).toMatchObject({ status: 200, body: { ok: true } });
    for (const outcome of [otherConversation, otherScopeToo, otherRoute]) {
      expectWebhookIdUsed(outcome.result);
      expect(outcome.effects).toEqual(NO_EFFECT);
      expect(outcome.newReplays).toBe(0);
    }
    expect(await replayItem('msg_register')).toEqual(recordBefore);
    expect(await bridge.deps.conversations.byKommoConversation(bridge.scopeId, 'kommo-chat-1')).toMatchObject({
      conversationId: 'c-1',
    });
  });

  it('the same signed request sent with another method, to the other claimed route, is 409 webhook_id_used', async () => {
    // Prepare: the signature covers neither method nor path, so a registration's headers and body also sign a POST.
    const registration = signed({ kommo_conversation_id: 'kommo-chat-1', client_id: 'u-1' }, 'msg_method');
    const first = await sendTo('PUT', `/chat/${bridge.scopeId}/conversations/m-1`, registration);
    const recordBefore = await replayItem('msg_method');

    // Act
    const asPost = await observe(bridge, () =>
      sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, registration),
    );

    // Assess
    expect(first.status).toBe(200);
    expectWebhookIdUsed(asPost.result);
    expect(asPost.effects).toEqual(NO_EFFECT);
    expect(await replayItem('msg_method')).toEqual(recordBefore);
  });

  it('an id whose first request was refused with a 4xx is used up for every other request too', async () => {
    // Prepare
    const bad = signed({ status: 'seen' }, 'msg_bad');
    const first = await sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, bad);

    // Act
    const elsewhere = await observe(bridge, () => sendTo('POST', `/chat/${otherScope()}/messages/m-1/status`, bad));
    const otherRoute = await observe(bridge, () => sendTo('PUT', `/chat/${bridge.scopeId}/conversations/c-1`, bad));
    const repeat = await sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, bad);

    // Assess
    expect(first).toMatchObject({ status: 400, body: { error: { code: 'invalid_field' } } });
    for (const outcome of [elsewhere, otherRoute]) {
      expectWebhookIdUsed(outcome.result);
      expect(outcome.effects).toEqual(NO_EFFECT);
    }
    expect(repeat).toMatchObject({ status: 400, body: first.body, headers: { 'webhook-replayed': 'true' } });
  });

  it('a true repeat gets the first answer back, however its path is percent-encoded', async () => {
    // Prepare
    const report = signed({ status: 'read' }, 'msg_repeat');
    const first = await sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, report);
    await bridge.advance(0);

    // Act
    const repeat = await observe(bridge, () => sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, report));
    const encoded = await observe(bridge, () =>
      sendTo('POST', `/chat/${bridge.scopeId}/messages/m%2D1/status`, report),
    );
    await bridge.advance(60_000);

    // Assess
    for (const outcome of [repeat, encoded]) {
      expect(outcome.result).toMatchObject({ status: 202, body: first.body, headers: { 'webhook-replayed': 'true' } });
      expect(outcome.effects).toEqual(NO_EFFECT);
    }
    expect(bridge.kommo.deliveryStatusCalls()).toHaveLength(1);
  });

  it('a repeat re-signed with a fresh timestamp (a Standard Webhooks retry) is still the same request', async () => {
    // Prepare
    const first = await bridge.chat(
      'POST',
      `/chat/${bridge.scopeId}/messages/m-1/status`,
      { status: 'read' },
      { webhookId: 'msg_retry' },
    );
    await bridge.advance(2 * 60_000);

    // Act
    const retry = await observe(bridge, () =>
      bridge.chat(
        'POST',
        `/chat/${bridge.scopeId}/messages/m-1/status`,
        { status: 'read' },
        { webhookId: 'msg_retry' },
      ),
    );
    await bridge.advance(60_000);

    // Assess
    expect(retry.result).toMatchObject({ status: 202, body: first.body, headers: { 'webhook-replayed': 'true' } });
    expect(retry.effects).toEqual(NO_EFFECT);
    expect(bridge.kommo.deliveryStatusCalls()).toHaveLength(1);
  });
});

describe('the idempotent routes claim no webhook-id', () => {
  it('a presence heartbeat repeated 2 minutes later, re-signed, is processed again: it extends the window, with one online transition and no replay record', async () => {
    // Prepare
    const heartbeat = { client_id: 'u-1', state: 'online', ttl_seconds: 180 };
    const first = await bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, heartbeat, {
      webhookId: 'msg_heartbeat',
    });
    await bridge.advance(2 * 60_000);

    // Act
    const repeat = await bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, heartbeat, {
      webhookId: 'msg_heartbeat',
    });
    await bridge.advance(2 * 60_000);
    const stillOnline = await bridge.chat('GET', `/chat/${bridge.scopeId}/presence/u-1`);
    await bridge.advance(2 * 60_000);

    // Assess: without the repeat the window would have closed 3 minutes after the first heartbeat.
    expect(repeat).toMatchObject({ status: 202, body: first.body });
    expect(repeat.headers['webhook-replayed']).toBeUndefined();
    expect(stillOnline.body).toMatchObject({ online: true });
    expect(announcedPresence(bridge, 'u-1')).toEqual([
      ['online', 0],
      ['offline', 5 * 60_000],
    ]);
    expect(await replayItem('msg_heartbeat')).toBeUndefined();
  });

  it('a signed GET (empty body) sent again, to another GET route or for another client, is read again and writes nothing', async () => {
    // Prepare: the record of m-1 exists, and u-2 is online.
    await bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, { status: 'read' });
    await bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, { client_id: 'u-2', state: 'online' });
    const read = signed(undefined, 'msg_get');
    const first = await sendTo('GET', `/chat/${bridge.scopeId}/presence/u-1`, read);

    // Act
    const again = await observe(bridge, () => sendTo('GET', `/chat/${bridge.scopeId}/presence/u-1`, read));
    const otherRoute = await observe(bridge, () => sendTo('GET', `/chat/${bridge.scopeId}/messages/m-1/status`, read));
    const otherClient = await observe(bridge, () => sendTo('GET', `/chat/${bridge.scopeId}/presence/u-2`, read));

    // Assess: reads, inside the 5-minute window, with the chat service's own valid signature.
    expect(first).toMatchObject({ status: 200, body: { client_id: 'u-1', online: false } });
    expect(again.result).toMatchObject({ status: 200, body: first.body });
    expect(otherRoute.result).toMatchObject({ status: 200, body: { msgid: 'm-1', status: 'read' } });
    expect(otherClient.result).toMatchObject({ status: 200, body: { client_id: 'u-2', online: true } });
    for (const outcome of [again, otherRoute, otherClient]) {
      expect(outcome.result.headers['webhook-replayed']).toBeUndefined();
      expect(outcome.effects).toEqual(NO_EFFECT);
      expect(outcome.newReplays).toBe(0);
    }
    expect(await replayItem('msg_get')).toBeUndefined();
  });
});

describe('a claim given up or lapsed stays bound to its request', () => {
  let faults: DynamoFaults;
  beforeEach(() => {
    faults = new DynamoFaults(bridge.dynamo);
  });
  afterEach(() => {
    faults.disarm();
  });

  it('after a 5xx, only the same request may use the id again: another route is 409, the retry is processed', async () => {
    // Prepare: the claim (call 1) succeeds, the status write (call 2) fails, so the claim is released.
    const report = signed({ status: 'read' }, 'msg_5xx');
    faults.arm(2);
    const failed = await sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, report);
    faults.disarm();

    // Act
    const elsewhere = await observe(bridge, () =>
      sendTo('POST', `/chat/${bridge.scopeId}/messages/m-2/status`, report),
    );
    const retry = await sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, report);
    await bridge.advance(60_000);

    // Assess
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expectWebhookIdUsed(elsewhere.result);
    expect(elsewhere.effects).toEqual(NO_EFFECT);
    expect(retry).toMatchObject({ status: 202, body: { ok: true, applied: true } });
    expect(bridge.kommo.deliveryStatusCalls().map((call) => call.msgid)).toEqual(['m-1']);
  });

  it('after a claim whose answer was lost has lapsed, another route is 409 and the same request is processed', async () => {
    // Prepare: the claim is written, but the bridge never hears so.
    const report = signed({ status: 'read' }, 'msg_lapsed');
    faults.arm(1, 'answer-lost');
    const failed = await sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, report);
    faults.disarm();
    await bridge.advance(30_000);

    // Act: re-signed, as a retry 30 s later would be.
    const resigned = signed({ status: 'read' }, 'msg_lapsed');
    const elsewhere = await observe(bridge, () =>
      sendTo('POST', `/chat/${otherScope()}/messages/m-1/status`, resigned),
    );
    const retry = await sendTo('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, resigned);
    await bridge.advance(60_000);

    // Assess
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expectWebhookIdUsed(elsewhere.result);
    expect(elsewhere.effects).toEqual(NO_EFFECT);
    expect(retry).toMatchObject({ status: 202, body: { ok: true, applied: true } });
    expect(bridge.kommo.deliveryStatusCalls().map((call) => [call.scopeId, call.msgid])).toEqual([
      [bridge.scopeId, 'm-1'],
    ]);
  });
});

describe('one id sent to two targets at once', () => {
  const ROUNDS = 12;

  it('to two routes: exactly one is processed, the other is 409 webhook_id_used', async () => {
    // Act: each round signs a request for each claimed route under one id and sends both at once.
    const rounds = await Promise.all(
      Array.from({ length: ROUNDS }, async (_, round) => {
        const webhookId = `msg_race_${round}`;
        const [status, registration] = await Promise.all([
          sendTo('POST', `/chat/${bridge.scopeId}/messages/m-${round}/status`, signed({ status: 'read' }, webhookId)),
          sendTo(
            'PUT',
            `/chat/${bridge.scopeId}/conversations/c-${round}`,
            signed({ kommo_conversation_id: `kommo-chat-${round}`, client_id: `u-${round}` }, webhookId),
          ),
        ]);
        return { round, status, registration };
      }),
    );
    await bridge.advance(60_000);

    // Assess
    const kommoMsgids = new Set(bridge.kommo.deliveryStatusCalls().map((call) => call.msgid));
    for (const { round, status, registration } of rounds) {
      const answers = [status, registration];
      expect(
        answers.filter((answer) => answer.status < 300 && answer.headers['webhook-replayed'] === undefined),
      ).toHaveLength(1);
      expectWebhookIdUsed(answers.find((answer) => answer.status >= 300)!);
      const statusProcessed = status.status === 202;
      const registered =
        (await bridge.deps.conversations.byKommoConversation(bridge.scopeId, `kommo-chat-${round}`)) !== undefined;
      expect({ round, kommo: kommoMsgids.has(`m-${round}`), registered }).toEqual({
        round,
        kommo: statusProcessed,
        registered: !statusProcessed,
      });
    }
  });

  it('to two scopes: exactly one is processed, the other is 409 webhook_id_used', async () => {
    // Act
    const rounds = await Promise.all(
      Array.from({ length: ROUNDS }, async (_, round) => {
        const report = signed({ status: 'read' }, `msg_scopes_${round}`);
        const answers = await Promise.all([
          sendTo('POST', `/chat/${bridge.scopeId}/messages/m-${round}/status`, report),
          sendTo('POST', `/chat/${otherScope()}/messages/m-${round}/status`, report),
        ]);
        return { round, answers };
      }),
    );
    await bridge.advance(60_000);

    // Assess
    for (const { round, answers } of rounds) {
      expect(answers.filter((answer) => answer.status === 202)).toHaveLength(1);
      expectWebhookIdUsed(answers.find((answer) => answer.status !== 202)!);
      expect(bridge.kommo.deliveryStatusCalls().filter((call) => call.msgid === `m-${round}`)).toHaveLength(1);
    }
  });
});
