import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { BridgeError } from '../../../functions/core/domain/errors';
import { StandardWebhookVerifier } from '../../../functions/core/domain/standard-webhooks';
import { json, MAX_BODY_BYTES, type ApiEvent, type ApiResult } from '../../../functions/core/http/api';
import { httpHandler } from '../../../functions/core/http/route';
import { toApiGatewayEvent } from '../../../local/api-gateway-event';
import { InMemoryReplayStore } from '../../support/fakes/replay-store';
import { baseDeps, UNIT_SCOPE_ID, unitSecrets } from '../../support/fakes/unit-deps';

const context = {
  functionName: 'middleware-test',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

/** A route that counts its runs and answers what the test tells it to. */
function countingRoute(answer: (run: number) => Promise<ApiResult> = async (run) => json(200, { run })) {
  const route = async () => answer((route.runs += 1));
  route.runs = 0;
  return route;
}

function givenHttp(settings: { CHAT_SERVICE_SECRET_PREVIOUS?: string } = {}) {
  const secrets = unitSecrets();
  let flushes = 0;
  const base = baseDeps({ CHAT_SERVICE_SECRET: secrets.chatServiceSecret, ...settings });
  const metrics = Object.assign(base.metrics, { flush: () => void (flushes += 1) });
  const parts = { ...base, metrics, replays: new InMemoryReplayStore() };
  const request = (method: string, url: string, body: string, headers: Record<string, string> = {}): ApiEvent =>
    toApiGatewayEvent(
      { method, url, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(body) },
      parts.clock.now(),
    ).event;
  /** A request signed as the chat service signs it (Standard Webhooks), with `secret` unless told otherwise. */
  const signed = (
    method: string,
    url: string,
    body: string,
    options: { webhookId?: string; secret?: string; timestampSeconds?: number } = {},
  ): ApiEvent => {
    const webhookId = options.webhookId ?? 'msg_1';
    const timestamp = options.timestampSeconds ?? Math.floor(parts.clock.now() / 1000);
    const signature = new StandardWebhookVerifier(options.secret ?? secrets.chatServiceSecret).sign(
      webhookId,
      timestamp,
      body,
    );
    return request(method, url, body, {
      'webhook-id': webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    });
  };
  return { deps: parts, request, signed, flushes: () => flushes };
}

const statusUrl = `/chat/${UNIT_SCOPE_ID}/messages/msg-1/status`;
const typingUrl = `/chat/${UNIT_SCOPE_ID}/typing`;
const body = JSON.stringify({ status: 'delivered' });

const parsed = (result: unknown) => {
  const answer = result as ApiResult;
  return { status: answer.statusCode, body: JSON.parse(answer.body) as unknown, headers: answer.headers ?? {} };
};

describe('JSON errors', () => {
  it("answers a refusal with the contract's error body", async () => {
    // Prepare
    const { deps, request } = givenHttp();
    const handler = httpHandler(deps, 'none', async () => {
      throw new BridgeError('conflict', 'webhook_id_used', 'used before');
    });

    // Act
    const answer = parsed(await handler(request('POST', `/kommo/${UNIT_SCOPE_ID}`, '{}'), context));

    // Assess
    expect(answer).toMatchObject({ status: 409, body: { error: { code: 'webhook_id_used', message: 'used before' } } });
  });

  it('answers an unexpected failure 500 without its message, and logs it with its stack', async () => {
    // Prepare
    const { deps, request } = givenHttp();
    const handler = httpHandler(deps, 'none', async () => {
      throw new Error('connection string with a password');
    });

    // Act
    const answer = parsed(await handler(request('POST', `/kommo/${UNIT_SCOPE_ID}`, '{}'), context));

    // Assess
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.body)).not.toContain('password');
    expect(answer.body).toMatchObject({ error: { code: 'internal_error' } });
    const logged = deps.log.lines.find((line) => line.level === 'error');
    expect(logged?.attributes).toMatchObject({
      error: { message: 'connection string with a password', stack: expect.stringContaining('Error') },
    });
  });

  it('publishes the metrics once per invocation, after an answer and after a failure', async () => {
    // Prepare
    const { deps, request, flushes } = givenHttp();
    const ok = httpHandler(deps, 'none', async () => json(200, {}));
    const failing = httpHandler(deps, 'none', async () => {
      throw new Error('boom');
    });

    // Act
    await ok(request('POST', `/kommo/${UNIT_SCOPE_ID}`, '{}'), context);
    await failing(request('POST', `/kommo/${UNIT_SCOPE_ID}`, '{}'), context);

    // Assess
    expect(flushes()).toBe(2);
  });

  it("writes every line of an invocation with API Gateway's request id", async () => {
    // Prepare
    const { deps, request } = givenHttp();
    const handler = httpHandler(deps, 'none', async () => {
      deps.log.info('inside the route');
      return json(200, {});
    });
    const event = request('POST', `/kommo/${UNIT_SCOPE_ID}`, '{}');

    // Act
    await handler(event, context);

    // Assess
    expect(deps.log.lines.find((line) => line.message === 'inside the route')?.invocation).toMatchObject({
      api_gateway_request_id: event.requestContext.requestId,
      function_name: 'middleware-test',
    });
  });
});

describe('the body limit', () => {
  it('refuses a body over 64 KiB with 413 before the route reads it', async () => {
    // Prepare
    const { deps, request } = givenHttp();
    const route = countingRoute();
    const handler = httpHandler(deps, 'none', route);

    // Act
    const over = parsed(
      await handler(request('POST', `/kommo/${UNIT_SCOPE_ID}`, 'x'.repeat(MAX_BODY_BYTES + 1)), context),
    );
    const atLimit = parsed(
      await handler(request('POST', `/kommo/${UNIT_SCOPE_ID}`, 'x'.repeat(MAX_BODY_BYTES)), context),
    );

    // Assess
    expect(over).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });
    expect(atLimit.status).toBe(200);
    expect(route.runs).toBe(1);
  });
});

describe('the chat-service authentication', () => {
  it('runs the route for a request signed with the chat-service secret', async () => {
    // Prepare
    const { deps, signed } = givenHttp();
    const route = countingRoute();

    // Act
    const answer = parsed(await httpHandler(deps, 'chat-service', route)(signed('POST', typingUrl, '{}'), context));

    // Assess
    expect(answer.status).toBe(200);
    expect(route.runs).toBe(1);
  });

  it.each([
    [
      'no signature',
      (http: ReturnType<typeof givenHttp>) => http.request('POST', typingUrl, '{}'),
      'missing_signature',
    ],
    [
      'another secret',
      (http: ReturnType<typeof givenHttp>) =>
        http.signed('POST', typingUrl, '{}', { secret: unitSecrets().chatServiceSecret }),
      'invalid_signature',
    ],
    [
      'a timestamp 6 minutes old',
      (http: ReturnType<typeof givenHttp>) =>
        http.signed('POST', typingUrl, '{}', { timestampSeconds: Math.floor(http.deps.clock.now() / 1000) - 360 }),
      'stale_timestamp',
    ],
  ])('refuses %s with 401 and runs nothing', async (_, build, code) => {
    // Prepare
    const http = givenHttp();
    const route = countingRoute();

    // Act
    const answer = parsed(await httpHandler(http.deps, 'chat-service', route)(build(http), context));

    // Assess
    expect(answer).toMatchObject({ status: 401, body: { error: { code } } });
    expect(route.runs).toBe(0);
  });

  it('accepts the previous secret during a rotation', async () => {
    // Prepare
    const previous = unitSecrets().chatServiceSecret;
    const { deps, signed } = givenHttp({ CHAT_SERVICE_SECRET_PREVIOUS: previous });
    const route = countingRoute();

    // Act
    const answer = parsed(
      await httpHandler(deps, 'chat-service', route)(signed('POST', typingUrl, '{}', { secret: previous }), context),
    );

    // Assess
    expect(answer.status).toBe(200);
    expect(route.runs).toBe(1);
  });

  it('answers the repeat of a claimed request with the first answer, and runs the route once', async () => {
    // Prepare
    const { deps, signed } = givenHttp();
    const route = countingRoute();
    const handler = httpHandler(deps, 'chat-service', route);

    // Act
    const first = parsed(await handler(signed('POST', statusUrl, body), context));
    const repeat = parsed(await handler(signed('POST', statusUrl, body), context));

    // Assess
    expect(route.runs).toBe(1);
    expect(repeat).toEqual({
      status: 200,
      body: first.body,
      headers: expect.objectContaining({ 'webhook-replayed': 'true' }),
    });
  });

  it('refuses the id of a claimed request with another body: 409, and the route does not run', async () => {
    // Prepare
    const { deps, signed } = givenHttp();
    const route = countingRoute();
    const handler = httpHandler(deps, 'chat-service', route);
    await handler(signed('POST', statusUrl, body), context);

    // Act
    const other = parsed(await handler(signed('POST', statusUrl, JSON.stringify({ status: 'read' })), context));

    // Assess
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'webhook_id_used' } } });
    expect(route.runs).toBe(1);
  });

  it('refuses the repeat of a request still running: 409 request_in_progress', async () => {
    // Prepare
    const { deps, signed } = givenHttp();
    let finish: () => void = () => undefined;
    const route = countingRoute(() => new Promise((resolve) => (finish = () => resolve(json(200, {})))));
    const handler = httpHandler(deps, 'chat-service', route);
    const running = handler(signed('POST', statusUrl, body), context);
    await new Promise((resolve) => setImmediate(resolve));

    // Act
    const repeat = parsed(await handler(signed('POST', statusUrl, body), context));
    finish();
    await running;

    // Assess
    expect(repeat).toMatchObject({ status: 409, body: { error: { code: 'request_in_progress' } } });
    expect(route.runs).toBe(1);
  });

  it('keeps a refusal (4xx) as the answer to repeats, but processes the retry of a request that failed on our side (5xx)', async () => {
    // Prepare
    const { deps, signed } = givenHttp();
    const refusing = countingRoute(async () => {
      throw new BridgeError('invalid', 'invalid_field', 'status: unknown');
    });
    const failingOnce = countingRoute(async (run) => {
      if (run === 1) throw new BridgeError('unavailable', 'queue_unavailable', 'try again');
      return json(200, { run });
    });

    // Act
    const refusals = [
      await httpHandler(
        deps,
        'chat-service',
        refusing,
      )(signed('POST', statusUrl, body, { webhookId: 'msg_refused' }), context),
    ];
    refusals.push(
      await httpHandler(
        deps,
        'chat-service',
        refusing,
      )(signed('POST', statusUrl, body, { webhookId: 'msg_refused' }), context),
    );
    const failed = parsed(
      await httpHandler(
        deps,
        'chat-service',
        failingOnce,
      )(signed('POST', statusUrl, body, { webhookId: 'msg_failed' }), context),
    );
    const retried = parsed(
      await httpHandler(
        deps,
        'chat-service',
        failingOnce,
      )(signed('POST', statusUrl, body, { webhookId: 'msg_failed' }), context),
    );

    // Assess
    expect(refusals.map((answer) => parsed(answer).status)).toEqual([400, 400]);
    expect(parsed(refusals[1]).headers['webhook-replayed']).toBe('true');
    expect(refusing.runs).toBe(1);
    expect([failed.status, retried.status]).toEqual([503, 200]);
    expect(failingOnce.runs).toBe(2);
  });

  it('does not claim an idempotent route: its repeat runs again', async () => {
    // Prepare
    const { deps, signed } = givenHttp();
    const route = countingRoute();
    const handler = httpHandler(deps, 'chat-service', route);

    // Act
    const answers = [
      parsed(await handler(signed('POST', typingUrl, '{}'), context)),
      parsed(await handler(signed('POST', typingUrl, '{}'), context)),
    ];

    // Assess
    expect(route.runs).toBe(2);
    expect(answers.map((answer) => answer.headers['webhook-replayed'])).toEqual([undefined, undefined]);
  });
});
