import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  contentMd5,
  formatAmojoDate,
  parseAmojoDate,
  signAmojoRequest,
  signKommoHook,
  verifyKommoHookSignature,
} from '../../functions/core/domain/amojo-signature';

/**
 * Kommo's official signing vectors (expected values printed in the official amoCRM chat guide; see
 * docs/kommo.md, "Signing every request we send to Kommo"), kept in the repo so any clone can run it.
 */
const vectors = JSON.parse(readFileSync(new URL('../fixtures/kommo-vectors.json', import.meta.url), 'utf8')) as {
  channel_secret: string;
  content_type: string;
  requests: {
    name: string;
    method: string;
    path: string;
    date: string;
    body: string;
    content_md5: string;
    x_signature: string;
  }[];
  webhooks: { name: string; body: string; x_signature: string }[];
};

describe('signing requests to amojo', () => {
  it('covers all six official request vectors', () => {
    expect(vectors.requests.map((vector) => vector.name)).toEqual([
      'connect',
      'disconnect',
      'typing',
      'delivery_status',
      'new_message',
      'create_chat',
    ]);
  });

  it.each(vectors.requests)('reproduces the $name vector byte for byte', (vector) => {
    const headers = signAmojoRequest(
      { method: vector.method, path: vector.path, body: vector.body, date: vector.date },
      vectors.channel_secret,
    );

    expect(headers).toEqual({
      Date: vector.date,
      'Content-Type': vectors.content_type,
      'Content-MD5': vector.content_md5,
      'X-Signature': vector.x_signature,
    });
  });

  it.each(vectors.requests)('formats the $name date from a Date object as Kommo prints it', (vector) => {
    const date = parseAmojoDate(vector.date)!;

    expect(formatAmojoDate(date)).toBe(vector.date);
    expect(
      signAmojoRequest({ method: vector.method, path: vector.path, body: vector.body, date }, vectors.channel_secret)[
        'X-Signature'
      ],
    ).toBe(vector.x_signature);
  });

  it('hashes the empty body too', () => {
    expect(contentMd5('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });

  it.each(['Thu, 16 Dec 2021 16:01:21 GMT', '2021-12-16T16:01:21Z', 'Thu, 32 Dec 2021 16:01:21 +0000', ''])(
    'refuses the date %j',
    (value) => {
      expect(parseAmojoDate(value)).toBeUndefined();
    },
  );
});

describe('verifying Kommo webhooks', () => {
  const [hook] = vectors.webhooks;
  const body = Buffer.from(hook!.body);

  it('reproduces the typing hook vector', () => {
    expect(signKommoHook(body, vectors.channel_secret)).toBe(hook!.x_signature);
    expect(verifyKommoHookSignature(body, hook!.x_signature, vectors.channel_secret)).toBe(true);
  });

  it('accepts a body with an unsigned trailing CR/LF', () => {
    expect(
      verifyKommoHookSignature(Buffer.concat([body, Buffer.from('\r\n')]), hook!.x_signature, vectors.channel_secret),
    ).toBe(true);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['uppercase hex', hook!.x_signature.toUpperCase()],
    ['truncated', hook!.x_signature.slice(0, 39)],
    ['one digit changed', hook!.x_signature.replace(/.$/, (last) => (last === '0' ? '1' : '0'))],
    ['from another secret', signKommoHook(body, '0'.repeat(40))],
    ['sha256 of the body', 'b54ee33139aef6e12279b4f5c0a410bf54f2a5a2b54ee33139aef6e12279b4f5'],
  ])('refuses a signature that is %s', (_, signature) => {
    expect(verifyKommoHookSignature(body, signature, vectors.channel_secret)).toBe(false);
  });

  it('refuses the right signature over a body with one byte changed', () => {
    const changed = Buffer.from(body);
    changed[changed.length - 3] = changed[changed.length - 3]! ^ 1;

    expect(verifyKommoHookSignature(changed, hook!.x_signature, vectors.channel_secret)).toBe(false);
  });
});
