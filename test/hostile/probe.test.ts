import { afterAll, beforeAll, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import { givenBridge, typingHook, type TestBridge } from '../support/test-bridge';

let b: TestBridge;
beforeAll(async () => { b = await givenBridge(); });
afterAll(async () => { await b.close(); });

it('probe', async () => {
  const out: unknown[] = [];
  out.push(['surrogate presence', await b.chat('POST', `/chat/${b.scopeId}/presence`, undefined, { rawBody: '{"client_id":"\\ud800","state":"online"}' })]);
  out.push(['surrogate typing', await b.chat('POST', `/chat/${b.scopeId}/typing`, undefined, { rawBody: '{"conversation_id":"\\udfff","sender_id":"x","state":"start"}' })]);
  out.push(['surrogate status err', await b.chat('POST', `/chat/${b.scopeId}/messages/m1/status`, undefined, { rawBody: '{"status":"error","error_code":905,"error":"a\\ud800"}' })]);
  out.push(['bad escape', await b.kommoHook(typingHook(b), { scope: `${b.scopeId}%E0%A4%A` })]);
  out.push(['bad escape GET presence', await b.chat('GET', `/chat/${b.scopeId}/presence/%ZZ`)]);
  out.push(['huge expired', await b.kommoHook(typingHook(b, { expiredAtSeconds: 1e13 }))]);
  await b.advance(1000);
  out.push(['dlq hooks', b.bridge.deadLetters('hooks'), b.bridge.queues.hooks.depth, b.sink.events.length]);
  const body = Buffer.alloc(65536, ' '); Buffer.from('{"conversation_id":"c","sender_id":"s","state":"stop"}').copy(body);
  out.push(['64k text', (await b.chat('POST', `/chat/${b.scopeId}/typing`, undefined, { rawBody: body })).status]);
  out.push(['64k octet', (await b.chat('POST', `/chat/${b.scopeId}/typing`, undefined, { rawBody: body, headers: { 'content-type': 'application/octet-stream' } })).status]);
  const deep = '['.repeat(30000) + ']'.repeat(30000);
  out.push(['deep', (await b.chat('POST', `/chat/${b.scopeId}/typing`, undefined, { rawBody: deep })).body]);
  const deepHook = JSON.stringify({ account_id: b.accountId, x: 1 }).replace('"x":1', '"x":' + '['.repeat(20000) + ']'.repeat(20000));
  out.push(['deep hook', (await b.kommoHook(undefined, { rawBody: deepHook })).status]);
  out.push(['collide1', (await b.chat('POST', `/chat/${b.scopeId}/typing`, { conversation_id: 'a#b', sender_id: 'c', state: 'start' })).status]);
  out.push(['collide2', (await b.chat('POST', `/chat/${b.scopeId}/typing`, { conversation_id: 'a', sender_id: 'b#c', state: 'start' })).status]);
  out.push(['typing calls', b.kommo.typingCalls().map((c) => c.body)]);
  out.push(['proto', await b.chat('POST', `/chat/${b.scopeId}/typing`, undefined, { rawBody: '{"__proto__":{"x":1},"conversation_id":"c","sender_id":"s","state":"stop"}' })]);
  out.push(['nul', await b.chat('GET', `/chat/${b.scopeId}/presence/%00`)]);
  const scan = await b.dynamo.send(new ScanCommand({ TableName: b.tableName }));
  out.push(['items', scan.Items?.map((i) => i.pk?.S)]);
  console.log(JSON.stringify(out, null, 1));
  expect(1).toBe(1);
});
