import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingLog } from '../../functions/core/adapters/telemetry/in-memory';
import { givenBridge, givenConnectedAccount, typingHook, widgetRequest, type TestBridge } from '../support/test-bridge';

let bridge: TestBridge;
let log: RecordingLog;
beforeEach(async () => {
  log = new RecordingLog({ level: 'silent' });
  bridge = await givenBridge({}, { log });
});
afterEach(async () => {
  await bridge.close();
});

describe('log lines carry the invocation they were written in', () => {
  it("an HTTP invocation's lines: function name, Lambda request id, cold start, API Gateway request id; the next invocation has its own", async () => {
    const expired = () => typingHook(bridge, { expiredAtSeconds: Math.floor(bridge.clock.now() / 1000) - 60 });

    await bridge.kommoHook(expired());
    await bridge.kommoHook(expired());

    const dropped = log.lines.filter((line) => line.message === 'typing hook already expired; dropped');
    expect(dropped.map((line) => line.invocation)).toEqual([
      {
        function_name: 'kommo-hook',
        function_request_id: expect.any(String),
        cold_start: true,
        api_gateway_request_id: expect.any(String),
      },
      {
        function_name: 'kommo-hook',
        function_request_id: expect.any(String),
        cold_start: false,
        api_gateway_request_id: expect.any(String),
      },
    ]);
    expect(dropped[0]!.invocation!.function_request_id).not.toBe(dropped[1]!.invocation!.function_request_id);
    expect(dropped[0]!.invocation!.api_gateway_request_id).not.toBe(dropped[1]!.invocation!.api_gateway_request_id);
  });

  it("a queue record's lines also carry its SQS message id", async () => {
    // A body no hook job schema accepts: the consumer logs and dead-letters it.
    await (bridge.bridge.queues.hooks as unknown as { send(body: unknown): Promise<void> }).send({ not: 'a hook job' });
    await bridge.advance(0);

    const deadLettered = log.lines.filter((line) => line.message === 'malformed queue message dead-lettered');
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]!.invocation).toEqual({
      function_name: 'hook-worker',
      function_request_id: expect.any(String),
      cold_start: true,
      sqs_message_id: deadLettered[0]!.attributes!.messageId,
    });
  });

  it("a live channel invocation's lines: the Lambda context, API Gateway's request id and the connection", async () => {
    // Prepare
    await givenConnectedAccount(bridge);
    const ticket = await widgetRequest(bridge, 'POST', '/widget/live');
    expect(ticket.status).toBe(200);

    // Act
    const client = await bridge.bridge.live.connectInProcess(ticket.body.url);

    // Assess
    expect(client.status).toBe(200);
    const opened = log.lines.filter((line) => line.message === 'live connection opened');
    expect(opened).toHaveLength(1);
    expect(opened[0]!.invocation).toEqual({
      function_name: 'live',
      function_request_id: expect.any(String),
      cold_start: true,
      api_gateway_request_id: expect.any(String),
      live_connection_id: client.connectionId,
    });
  });

  it('every HTTP invocation ends with one INFO line: route, answer, scope, ids and duration', async () => {
    // Act: one request answered 202, one refused by the contract's validation.
    const accepted = await bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, {
      client_id: 'u-1',
      state: 'online',
    });
    const refused = await bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, { status: 'lost' });

    // Assess
    expect(accepted.status).toBe(202);
    expect(refused.status).toBe(400);
    const answered = log.lines.filter((line) => line.message === 'answered');
    expect(answered.map((line) => ({ level: line.level, ...line.attributes }))).toEqual([
      {
        level: 'info',
        route: 'POST /chat/{scope_id}/presence',
        status: 202,
        scope_id: bridge.scopeId,
        duration_ms: expect.any(Number),
      },
      {
        level: 'info',
        route: 'POST /chat/{scope_id}/messages/{msgid}/status',
        status: 400,
        error_code: (refused.body as { error: { code: string } }).error.code,
        scope_id: bridge.scopeId,
        msgid: 'm-1',
        duration_ms: expect.any(Number),
      },
    ]);
    expect(answered[0]!.invocation).toMatchObject({ function_name: 'chat-presence' });
    // The presence change itself is detail: DEBUG, sampled in Lambda.
    expect(log.lines.filter((line) => line.invocation?.function_name === 'chat-presence')).toEqual([
      expect.objectContaining({ level: 'debug', message: 'presence changed' }),
      expect.objectContaining({ level: 'info', message: 'answered' }),
    ]);
  });

  it('every queue invocation ends with one INFO line for its batch', async () => {
    await (bridge.bridge.queues.hooks as unknown as { send(body: unknown): Promise<void> }).send({ not: 'a hook job' });
    await bridge.advance(0);

    const done = log.lines.filter((line) => line.message === 'batch done');
    expect(done).toEqual([
      {
        level: 'info',
        message: 'batch done',
        attributes: { queue: 'hooks', records: 1, failed: 0, duration_ms: expect.any(Number) },
        invocation: { function_name: 'hook-worker', function_request_id: expect.any(String), cold_start: true },
      },
    ]);
  });

  it('a line written outside any invocation carries none', () => {
    log.info('outside');

    expect(log.lines.at(-1)).toEqual({ level: 'info', message: 'outside' });
  });
});
