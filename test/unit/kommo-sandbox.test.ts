import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signAmojoRequest } from '../../functions/core/domain/amojo-signature';
import { KommoSandbox } from '../../local/sandbox/kommo-sandbox';

const channelId = '344a5002-f8ca-454d-af3d-396180102ac7';
const channelSecret = 'f2d7f8704eff95087ed45b23ba99c0b5aac8278e';
const accountId = '52e591f7-c98f-4255-8495-827210138c81';
const scopeId = `${channelId}_${accountId}`;
const minutes = (count: number) => count * 60_000;

/** The sandbox's notion of now, moved by tests instead of waiting. */
const clock = {
  nowMs: Date.parse('2026-11-21T10:00:00Z'),
  now() {
    return this.nowMs;
  },
};

interface KommoRequest {
  method: 'POST' | 'DELETE' | 'GET';
  path: string;
  body: string;
  headers: Record<string, string>;
}

interface Signing {
  secret?: string;
  date?: Date | string;
  contentType?: string;
}

/** A request signed the way the official guide signs it, at the sandbox clock unless told otherwise. */
function signedRequest(
  method: KommoRequest['method'],
  path: string,
  payload: unknown,
  signing: Signing = {},
): KommoRequest {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers = signAmojoRequest(
    { method, path, body, date: signing.date ?? new Date(clock.now()), contentType: signing.contentType },
    signing.secret ?? channelSecret,
  );
  return { method, path, body, headers: { ...headers } };
}

const typingRequest = (signing: Signing = {}) =>
  signedRequest(
    'POST',
    `/v2/origin/custom/${scopeId}/typing`,
    { conversation_id: 'c-1', sender: { id: 'u-7' } },
    signing,
  );

const deliveryStatusRequest = (msgid: string, payload: Record<string, unknown>) =>
  signedRequest('POST', `/v2/origin/custom/${scopeId}/${encodeURIComponent(msgid)}/delivery_status`, {
    msgid,
    ...payload,
  });

let sandbox: KommoSandbox;
let baseUrl: string;
let logLines: string[];

async function send(request: KommoRequest): Promise<{ status: number; body: unknown }> {
  // fetch cannot send a body with GET; the signature still covers the empty body's MD5.
  const body = request.method === 'GET' ? undefined : request.body;
  const response = await fetch(baseUrl + request.path, { method: request.method, headers: request.headers, body });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

beforeEach(async () => {
  clock.nowMs = Date.parse('2026-11-21T10:00:00Z');
  logLines = [];
  sandbox = new KommoSandbox({ channelId, channelSecret, clock, log: (line) => logLines.push(line) });
  baseUrl = await sandbox.start();
});

afterEach(async () => {
  await sandbox.close();
});

describe('KommoSandbox accepts correctly signed calls', () => {
  it.each([
    {
      name: 'typing',
      request: typingRequest,
      status: 204,
      answer: undefined,
      call: { method: 'typing', scopeId, body: { conversation_id: 'c-1', sender: { id: 'u-7' } } },
      logLine: 'Kommo shows "typing…" from client u-7 in conversation c-1 for 5 s',
    },
    {
      name: 'typing with duration_ms',
      request: () =>
        signedRequest('POST', `/v2/origin/custom/${scopeId}/typing`, {
          conversation_id: 'c-1',
          sender: { id: 'u-7' },
          duration_ms: 8000,
        }),
      status: 204,
      answer: undefined,
      call: { method: 'typing', scopeId, body: { conversation_id: 'c-1', sender: { id: 'u-7' }, duration_ms: 8000 } },
      logLine: 'Kommo shows "typing…" from client u-7 in conversation c-1 for 8 s',
    },
    {
      name: 'delivery status "read"',
      request: () => deliveryStatusRequest('m-1', { delivery_status: 2 }),
      status: 200,
      answer: {},
      call: { method: 'delivery_status', scopeId, msgid: 'm-1', body: { msgid: 'm-1', delivery_status: 2 } },
      logLine: 'Kommo marks message m-1 as read',
    },
    {
      name: 'delivery status error 905 with its text',
      request: () =>
        deliveryStatusRequest('m-1', { delivery_status: -1, error_code: 905, error: 'blocked by the user' }),
      status: 200,
      answer: {},
      call: {
        method: 'delivery_status',
        scopeId,
        msgid: 'm-1',
        body: { msgid: 'm-1', delivery_status: -1, error_code: 905, error: 'blocked by the user' },
      },
      logLine: 'Kommo marks message m-1 as error 905: blocked by the user',
    },
    {
      name: 'delivery status for a msgid that needs percent-encoding in the path',
      request: () => deliveryStatusRequest('m/1 ü', { delivery_status: 1 }),
      status: 200,
      answer: {},
      call: { method: 'delivery_status', scopeId, msgid: 'm/1 ü', body: { msgid: 'm/1 ü', delivery_status: 1 } },
      logLine: 'Kommo marks message m/1 ü as delivered',
    },
    {
      name: 'connect',
      request: () =>
        signedRequest('POST', `/v2/origin/custom/${channelId}/connect`, {
          account_id: accountId,
          title: 'Live Bridge',
          hook_api_version: 'v2',
        }),
      status: 200,
      answer: { account_id: accountId, scope_id: scopeId, title: 'Live Bridge', hook_api_version: 'v2' },
      call: {
        method: 'connect',
        scopeId,
        body: { account_id: accountId, title: 'Live Bridge', hook_api_version: 'v2' },
      },
      logLine: `Kommo connects account ${accountId} to channel "Live Bridge" as scope ${scopeId}`,
    },
    {
      name: 'disconnect',
      request: () => signedRequest('DELETE', `/v2/origin/custom/${channelId}/disconnect`, { account_id: accountId }),
      status: 200,
      answer: {},
      call: { method: 'disconnect', scopeId, body: { account_id: accountId } },
      logLine: `Kommo disconnects account ${accountId} from the channel`,
    },
  ])('$name: answers $status and records the call', async ({ request, status, answer, call, logLine }) => {
    // Prepare
    const signed = request();

    // Act
    const response = await send(signed);

    // Assess
    expect(response).toEqual({ status, body: answer });
    expect(sandbox.calls).toEqual([{ ...call, at: clock.now() }]);
    expect(sandbox.rejected).toEqual([]);
    expect(logLines).toEqual([logLine]);
  });

  it.each([
    { name: '14 minutes old', offsetMs: -minutes(14) },
    { name: '14 minutes ahead', offsetMs: minutes(14) },
  ])('accepts a Date $name, inside the 15-minute window', async ({ offsetMs }) => {
    // Prepare
    const signed = typingRequest({ date: new Date(clock.now() + offsetMs) });

    // Act
    const response = await send(signed);

    // Assess
    expect(response.status).toBe(204);
    expect(sandbox.typingCalls()).toHaveLength(1);
  });

  it('remembers a connected scope until it is disconnected', async () => {
    // Prepare
    await send(
      signedRequest('POST', `/v2/origin/custom/${channelId}/connect`, {
        account_id: accountId,
        title: 'Bridge',
        hook_api_version: 'v2',
      }),
    );
    const connectedAfterConnect = sandbox.isConnected(scopeId);

    // Act
    await send(signedRequest('DELETE', `/v2/origin/custom/${channelId}/disconnect`, { account_id: accountId }));

    // Assess
    expect(connectedAfterConnect).toBe(true);
    expect(sandbox.isConnected(scopeId)).toBe(false);
  });
});

describe('KommoSandbox refuses what Kommo refuses', () => {
  it.each([
    { name: 'is signed with another secret', tamper: () => typingRequest({ secret: 'a'.repeat(40) }) },
    {
      name: 'body was changed after signing',
      tamper: () => ({ ...typingRequest(), body: JSON.stringify({ conversation_id: 'c-2', sender: { id: 'u-7' } }) }),
    },
    {
      name: 'Date is 16 minutes old',
      tamper: () => {
        const signed = typingRequest();
        clock.nowMs += minutes(16);
        return signed;
      },
    },
    { name: 'Date is 16 minutes ahead', tamper: () => typingRequest({ date: new Date(clock.now() + minutes(16)) }) },
    {
      name: 'Date uses GMT instead of +0000',
      tamper: () => typingRequest({ date: new Date(clock.now()).toUTCString() }),
    },
    { name: 'has no Date header', tamper: () => withoutHeader(typingRequest(), 'Date') },
    { name: 'has no X-Signature header', tamper: () => withoutHeader(typingRequest(), 'X-Signature') },
    { name: 'has no Content-MD5 header', tamper: () => withoutHeader(typingRequest(), 'Content-MD5') },
    {
      name: 'has an uppercase hex X-Signature',
      tamper: () => withHeader(typingRequest(), 'X-Signature', (value) => value.toUpperCase()),
    },
    {
      name: 'has an uppercase hex Content-MD5',
      tamper: () => withHeader(typingRequest(), 'Content-MD5', (value) => value.toUpperCase()),
    },
    {
      name: 'is signed and sent as text/plain',
      tamper: () => typingRequest({ contentType: 'text/plain' }),
    },
    {
      name: 'signed its query string as part of the path',
      tamper: () =>
        signedRequest('POST', `/v2/origin/custom/${scopeId}/typing?trace=1`, {
          conversation_id: 'c-1',
          sender: { id: 'u-7' },
        }),
    },
  ])('403 ORIGIN_INVALID_SIGNATURE when the request $name, and nothing is applied', async ({ tamper }) => {
    // Prepare
    const forged = tamper();

    // Act
    const response = await send(forged);

    // Assess
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ status: 0, error_code: 403, error_type: 'ORIGIN_INVALID_SIGNATURE' });
    expect(sandbox.calls).toEqual([]);
    expect(sandbox.rejected).toMatchObject([{ status: 403, errorType: 'ORIGIN_INVALID_SIGNATURE', scripted: false }]);
    expect(logLines).toEqual([
      expect.stringMatching(
        /^Kommo refuses POST \/v2\/origin\/custom\/.+\/typing: 403 ORIGIN_INVALID_SIGNATURE \(.+\)$/,
      ),
    ]);
  });

  it.each([
    {
      name: 'connect on another channel',
      request: () =>
        signedRequest('POST', '/v2/origin/custom/another-channel/connect', {
          account_id: accountId,
          title: 'X',
          hook_api_version: 'v2',
        }),
    },
    {
      name: 'typing in another channel’s scope',
      request: () =>
        signedRequest('POST', `/v2/origin/custom/another-channel_${accountId}/typing`, {
          conversation_id: 'c-1',
          sender: { id: 'u-7' },
        }),
    },
    {
      name: 'typing in a scope without an account',
      request: () =>
        signedRequest('POST', `/v2/origin/custom/${channelId}_/typing`, {
          conversation_id: 'c-1',
          sender: { id: 'u-7' },
        }),
    },
  ])('404 ORIGIN_NOT_REGISTERED for $name', async ({ request }) => {
    // Prepare
    const signed = request();

    // Act
    const response = await send(signed);

    // Assess
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ status: 0, error_code: 404, error_type: 'ORIGIN_NOT_REGISTERED' });
    expect(sandbox.calls).toEqual([]);
  });

  it.each([
    {
      name: 'msgid differs from the path',
      request: () =>
        signedRequest('POST', `/v2/origin/custom/${scopeId}/m-1/delivery_status`, { msgid: 'm-2', delivery_status: 1 }),
    },
    {
      name: 'error_code comes with status 1',
      request: () => deliveryStatusRequest('m-1', { delivery_status: 1, error_code: 903 }),
    },
    {
      name: 'error 905 has no text',
      request: () => deliveryStatusRequest('m-1', { delivery_status: -1, error_code: 905 }),
    },
    { name: 'status -1 has no error_code', request: () => deliveryStatusRequest('m-1', { delivery_status: -1 }) },
    {
      name: 'error_code is outside 901-905',
      request: () => deliveryStatusRequest('m-1', { delivery_status: -1, error_code: 906, error: 'x' }),
    },
    { name: 'delivery_status is not 1, 2 or -1', request: () => deliveryStatusRequest('m-1', { delivery_status: 3 }) },
    {
      name: 'typing has no sender id',
      request: () =>
        signedRequest('POST', `/v2/origin/custom/${scopeId}/typing`, { conversation_id: 'c-1', sender: {} }),
    },
    {
      name: 'body is not JSON',
      request: () => signedRequest('POST', `/v2/origin/custom/${scopeId}/typing`, '{"conversation_id":'),
    },
  ])('400 BAD_REQUEST when $name', async ({ request }) => {
    // Prepare
    const signed = request();

    // Act
    const response = await send(signed);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      status: 0,
      error_code: 400,
      error_type: 'BAD_REQUEST',
      error_description: expect.any(String),
    });
    expect(sandbox.calls).toEqual([]);
    expect(sandbox.rejected).toMatchObject([{ status: 400, errorType: 'BAD_REQUEST' }]);
  });

  it.each([
    {
      name: 'an unknown path',
      request: () => signedRequest('POST', `/v2/origin/custom/${scopeId}/chats`, {}),
      status: 404,
      errorType: 'NOT_FOUND',
    },
    {
      name: 'a wrong method',
      request: () => signedRequest('GET', `/v2/origin/custom/${scopeId}/typing`, ''),
      status: 405,
      errorType: 'METHOD_NOT_ALLOWED',
    },
    {
      name: 'a body over 1 MiB',
      request: () =>
        signedRequest('POST', `/v2/origin/custom/${scopeId}/typing`, {
          conversation_id: 'c-1',
          sender: { id: 'u-7' },
          padding: 'x'.repeat(1024 * 1024),
        }),
      status: 413,
      errorType: 'REQUEST_ENTITY_TOO_LARGE',
    },
  ])('$status $errorType for $name', async ({ request, status, errorType }) => {
    // Prepare
    const signed = request();

    // Act
    const response = await send(signed);

    // Assess
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ error_code: status, error_type: errorType });
    expect(sandbox.calls).toEqual([]);
  });
});

describe('KommoSandbox fault injection', () => {
  it('failNext answers the next call 503 without applying it, then handles calls normally', async () => {
    // Prepare
    sandbox.failNext(1, 503);

    // Act
    const first = await send(typingRequest());
    const retry = await send(typingRequest());

    // Assess
    expect(first).toEqual({
      status: 503,
      body: expect.objectContaining({ error_code: 503, error_type: 'SERVICE_UNAVAILABLE' }),
    });
    expect(retry.status).toBe(204);
    expect(sandbox.typingCalls()).toHaveLength(1);
    expect(sandbox.rejected).toMatchObject([{ status: 503, errorType: 'SERVICE_UNAVAILABLE', scripted: true }]);
  });

  it('respondWith scripts answers per call and leaves the others to normal handling', async () => {
    // Prepare
    sandbox.respondWith((call) =>
      call.method === 'delivery_status' && call.msgid === 'gone'
        ? {
            status: 404,
            body: {
              status: 0,
              error_code: 404,
              error_type: 'MESSAGE_NOT_FOUND',
              error_description: 'message not found',
            },
          }
        : undefined,
    );

    // Act
    const unknownMessage = await send(deliveryStatusRequest('gone', { delivery_status: 2 }));
    const knownMessage = await send(deliveryStatusRequest('m-1', { delivery_status: 2 }));

    // Assess
    expect(unknownMessage).toEqual({ status: 404, body: expect.objectContaining({ error_type: 'MESSAGE_NOT_FOUND' }) });
    expect(knownMessage.status).toBe(200);
    expect(sandbox.deliveryStatusCalls().map((call) => call.msgid)).toEqual(['m-1']);
    expect(sandbox.rejected).toMatchObject([{ status: 404, errorType: 'MESSAGE_NOT_FOUND', scripted: true }]);
  });

  it('still refuses a forged request with 403 while a script answers every call', async () => {
    // Prepare
    sandbox.respondWith(() => ({ status: 503 }));
    const forged = withHeader(typingRequest(), 'X-Signature', (value) =>
      value.replace(/^./, (c) => (c === '0' ? '1' : '0')),
    );

    // Act
    const response = await send(forged);

    // Assess
    expect(response.status).toBe(403);
    expect(sandbox.rejected).toMatchObject([{ status: 403, scripted: false }]);
  });

  it('while down, clients get a network error and nothing is recorded; back up, calls succeed', async () => {
    // Prepare
    sandbox.setDown(true);

    // Act
    const whileDown = send(typingRequest());
    await expect(whileDown).rejects.toThrow(TypeError);
    sandbox.setDown(false);
    const afterRecovery = await send(typingRequest());

    // Assess
    expect(afterRecovery.status).toBe(204);
    expect(sandbox.typingCalls()).toHaveLength(1);
    expect(sandbox.rejected).toEqual([]);
  });

  it('setLatency delays the answer in real time', async () => {
    // Prepare
    sandbox.setLatency(50);
    const startedAt = performance.now();

    // Act
    const response = await send(typingRequest());

    // Assess
    expect(response.status).toBe(204);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(45);
  });

  it('holdAnswers applies the call at once and answers it only when released', async () => {
    // Prepare
    const release = sandbox.holdAnswers();
    const arrived = new Promise<void>((resolve) =>
      sandbox.respondWith(() => {
        resolve();
        return undefined;
      }),
    );
    let answered = false;

    // Act
    const response = send(typingRequest()).then((answer) => {
      answered = true;
      return answer;
    });
    await arrived;
    const answeredWhileHeld = answered;
    release();

    // Assess
    expect(answeredWhileHeld).toBe(false);
    expect((await response).status).toBe(204);
    expect(sandbox.typingCalls()).toHaveLength(1);
  });
});

function withoutHeader(request: KommoRequest, name: string): KommoRequest {
  const headers = { ...request.headers };
  delete headers[name];
  return { ...request, headers };
}

function withHeader(request: KommoRequest, name: string, change: (value: string) => string): KommoRequest {
  return { ...request, headers: { ...request.headers, [name]: change(request.headers[name] ?? '') } };
}
