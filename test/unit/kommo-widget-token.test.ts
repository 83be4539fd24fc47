import { randomBytes } from 'node:crypto';
import { CompactSign, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { BridgeError } from '../../functions/core/domain/errors';
import { kommoWidgetTokenRules, verifyKommoWidgetToken } from '../../functions/core/domain/kommo-widget-token';
import { signKommoWidgetToken } from '../../local/kommo-widget-token';
import { TEST_START } from '../support/manual-clock';

const clientSecret = randomBytes(32).toString('base64url');
const redirectUri = 'https://bridge.example.com/kommo/oauth';
const rules = kommoWidgetTokenRules(clientSecret, redirectUri);
const nowSeconds = TEST_START / 1000;

/** A token as Kommo makes it at TEST_START, with one thing changed. */
const kommoToken = (change: { secret?: string; claims?: Record<string, unknown> } = {}) =>
  signKommoWidgetToken({
    clientSecret: change.secret ?? clientSecret,
    redirectUri,
    kommoAccountId: 31_000_001,
    kommoUserId: 7001,
    subdomain: 'testaccount',
    nowMs: TEST_START,
    claims: change.claims,
  });

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const validClaims = {
  iss: 'https://testaccount.kommo.com',
  aud: 'https://bridge.example.com',
  exp: nowSeconds + 1800,
  nbf: nowSeconds,
  account_id: 31_000_001,
  user_id: 7001,
};

/** A HS256 JWS with the right secret over a payload that is not a claims object. */
const signedPayload = (payload: unknown) =>
  new CompactSign(new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(clientSecret));

async function refusal(token: string | Promise<string> | undefined): Promise<BridgeError> {
  try {
    await verifyKommoWidgetToken(await token, rules, TEST_START);
  } catch (error) {
    if (error instanceof BridgeError) return error;
    throw error;
  }
  throw new Error('expected the token to be refused');
}

describe('Kommo widget one-time tokens', () => {
  it('accepts a token as Kommo makes it and names its account and its user', async () => {
    // Act
    const identity = await verifyKommoWidgetToken(await kommoToken(), rules, TEST_START);

    // Assess
    expect(identity).toEqual({ kommoAccountId: 31_000_001, kommoUserId: 7001 });
  });

  it('accepts the same token again and again until its exp: Kommo reuses one per page', async () => {
    const token = await kommoToken();

    for (const minute of [0, 1, 10, 25, 29, 30]) {
      const identity = await verifyKommoWidgetToken(token, rules, TEST_START + minute * 60_000);
      expect(identity.kommoUserId).toBe(7001);
    }
    const error = await verifyKommoWidgetToken(token, rules, TEST_START + 31 * 60_000 + 1000).catch((e) => e);
    expect(error).toMatchObject({ kind: 'unauthenticated', code: 'token_expired' });
  });

  it.each([
    ['an amoCRM account', { iss: 'https://shop.amocrm.ru', subdomain: 'shop' }],
    ['an amoCRM .com account', { iss: 'https://shop.amocrm.com', subdomain: 'shop' }],
    ['no subdomain claim', { iss: 'https://testaccount.kommo.com', subdomain: undefined }],
  ])('accepts iss of %s', async (_, claims) => {
    const identity = await verifyKommoWidgetToken(await kommoToken({ claims }), rules, TEST_START);

    expect(identity.kommoAccountId).toBe(31_000_001);
  });

  it('takes aud from the origin of the redirect URI, default port left out', () => {
    expect(kommoWidgetTokenRules(clientSecret, 'https://bridge.example.com:443/oauth/kommo?x=1').audience).toBe(
      'https://bridge.example.com',
    );
    expect(kommoWidgetTokenRules(clientSecret, 'http://127.0.0.1:3000/oauth').audience).toBe('http://127.0.0.1:3000');
  });

  it.each([
    ['expired 59 s ago', { exp: nowSeconds - 59 }],
    ['valid from 59 s ahead', { nbf: nowSeconds + 59 }],
    ['issued 59 s ahead', { iat: nowSeconds + 59 }],
    ['an aud list that holds the origin', { aud: ['https://other.example.com', 'https://bridge.example.com'] }],
    ['an aud with a trailing slash', { aud: 'https://bridge.example.com/' }],
    ['an iss with a trailing slash', { iss: 'https://testaccount.kommo.com/' }],
    ['no iat and no nbf', { iat: undefined, nbf: undefined }],
    ['living exactly 1 h', { iat: nowSeconds, exp: nowSeconds + 3600 }],
  ])('accepts a token %s (within the 60 s leeway)', async (_, claims) => {
    const identity = await verifyKommoWidgetToken(await kommoToken({ claims }), rules, TEST_START);

    expect(identity.kommoAccountId).toBe(31_000_001);
  });

  it.each([
    ['no token', () => undefined, 'missing_token'],
    ['an empty token', () => '', 'missing_token'],
    [
      'a token signed with another secret',
      () => kommoToken({ secret: randomBytes(32).toString('base64url') }),
      'invalid_token',
    ],
    ['a token that is not a JWT', () => 'not-a-jwt', 'invalid_token'],
    [
      'a token whose signature was cut off',
      async () => `${(await kommoToken()).split('.').slice(0, 2).join('.')}.`,
      'invalid_token',
    ],
    [
      'a token whose payload was changed after signing',
      async () => {
        const [header, , signature] = (await kommoToken()).split('.');
        return `${header}.${base64url({ ...validClaims, account_id: 31_000_002 })}.${signature}`;
      },
      'invalid_token',
    ],
    ['alg none', () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(validClaims)}.`, 'invalid_token'],
    [
      'alg RS256',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT(validClaims).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
      },
      'invalid_token',
    ],
    [
      'alg HS512 with the right secret',
      () => new SignJWT(validClaims).setProtectedHeader({ alg: 'HS512' }).sign(new TextEncoder().encode(clientSecret)),
      'invalid_token',
    ],
    [
      'aud of another integration',
      () => kommoToken({ claims: { aud: 'https://other.example.com' } }),
      'invalid_token_audience',
    ],
    [
      'aud with the path of the redirect URI',
      () => kommoToken({ claims: { aud: redirectUri } }),
      'invalid_token_audience',
    ],
    ['no aud', () => kommoToken({ claims: { aud: undefined } }), 'invalid_token_audience'],
    ['expired 61 s ago (beyond the leeway)', () => kommoToken({ claims: { exp: nowSeconds - 61 } }), 'token_expired'],
    [
      'valid from 61 s ahead (beyond the leeway)',
      () => kommoToken({ claims: { nbf: nowSeconds + 61 } }),
      'invalid_token',
    ],
    ['issued 61 s ahead (beyond the leeway)', () => kommoToken({ claims: { iat: nowSeconds + 61 } }), 'invalid_token'],
    ['no exp', () => kommoToken({ claims: { exp: undefined } }), 'invalid_token_claims'],
    ['exp that is not a number', () => kommoToken({ claims: { exp: String(nowSeconds + 1800) } }), 'invalid_token'],
    ['exp 1e300', () => kommoToken({ claims: { exp: 1e300 } }), 'invalid_token'],
    ['exp 2^53 (an unsafe integer)', () => kommoToken({ claims: { exp: 2 ** 53 } }), 'invalid_token'],
    ['exp that is not whole', () => kommoToken({ claims: { exp: nowSeconds + 1800.5 } }), 'invalid_token'],
    ['iat that is not whole', () => kommoToken({ claims: { iat: nowSeconds + 0.5 } }), 'invalid_token'],
    ['nbf as a string', () => kommoToken({ claims: { nbf: String(nowSeconds) } }), 'invalid_token'],
    ['iat of -1e300', () => kommoToken({ claims: { iat: -1e300 } }), 'invalid_token'],
    [
      'a lifetime of 1 h and 1 s after iat',
      () => kommoToken({ claims: { iat: nowSeconds - 1, exp: nowSeconds + 3600 } }),
      'invalid_token',
    ],
    [
      'exp more than 1 h after now, without iat',
      () => kommoToken({ claims: { iat: undefined, exp: nowSeconds + 3601 } }),
      'invalid_token',
    ],
    ['a payload that is a JSON list', () => signedPayload([1, 2]), 'invalid_token'],
    ['a payload that is not JSON', () => signedPayload('not json'), 'invalid_token'],
    ['no account_id', () => kommoToken({ claims: { account_id: undefined } }), 'invalid_token_claims'],
    ['no user_id', () => kommoToken({ claims: { user_id: undefined } }), 'invalid_token_claims'],
    ['account_id as a string', () => kommoToken({ claims: { account_id: '31000001' } }), 'invalid_token_claims'],
    ['user_id that is not a whole number', () => kommoToken({ claims: { user_id: 70.5 } }), 'invalid_token_claims'],
    ['account_id 0', () => kommoToken({ claims: { account_id: 0 } }), 'invalid_token_claims'],
    [
      'aud with a query',
      () => kommoToken({ claims: { aud: 'https://bridge.example.com/?x=1' } }),
      'invalid_token_audience',
    ],
    ['aud that is a number', () => kommoToken({ claims: { aud: 7 } }), 'invalid_token_audience'],
    ['no iss', () => kommoToken({ claims: { iss: undefined } }), 'invalid_token_issuer'],
    [
      'iss of another host',
      () => kommoToken({ claims: { iss: 'https://testaccount.example.com' } }),
      'invalid_token_issuer',
    ],
    [
      'iss of a look-alike host',
      () => kommoToken({ claims: { iss: 'https://testaccount.kommo.com.evil.example' } }),
      'invalid_token_issuer',
    ],
    [
      'iss over plain http',
      () => kommoToken({ claims: { iss: 'http://testaccount.kommo.com' } }),
      'invalid_token_issuer',
    ],
    [
      'iss with a path',
      () => kommoToken({ claims: { iss: 'https://testaccount.kommo.com/api' } }),
      'invalid_token_issuer',
    ],
    [
      'iss that is a list',
      () => kommoToken({ claims: { iss: ['https://testaccount.kommo.com'] } }),
      'invalid_token_issuer',
    ],
    [
      'iss of another account than its subdomain claim',
      () => kommoToken({ claims: { iss: 'https://otheraccount.kommo.com' } }),
      'invalid_token_issuer',
    ],
    ['a subdomain claim that is not a string', () => kommoToken({ claims: { subdomain: 7 } }), 'invalid_token_issuer'],
  ])('refuses %s with a 401 naming the rule', async (_, token, code) => {
    // Act
    const error = await refusal(token());

    // Assess
    expect(error).toMatchObject({ kind: 'unauthenticated', code });
    expect(error.message).toContain('X-Auth-Token');
    expect(error.message).not.toContain(clientSecret);
  });
});
