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

  it('a line written outside any invocation carries none', () => {
    log.info('outside');

    expect(log.lines.at(-1)).toEqual({ level: 'info', message: 'outside' });
  });
});
