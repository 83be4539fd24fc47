import { describe, expect, it } from 'vitest';
import { adminBearerMatches } from '../../functions/core/domain/admin-token';
import { isKommoAccountOrigin, kommoAccountHost } from '../../functions/core/domain/kommo-origin';

describe('Kommo account origins (CORS for the widget routes)', () => {
  it.each([
    'https://testaccount.kommo.com',
    'https://my-shop.amocrm.ru',
    'https://a.amocrm.com',
    'https://shop2024.kommo.com',
  ])('allows %s', (origin) => {
    expect(isKommoAccountOrigin(origin)).toBe(true);
  });

  it.each([
    ['no origin', undefined],
    ['the opaque origin', 'null'],
    ['plain http', 'http://testaccount.kommo.com'],
    ['the apex domain', 'https://kommo.com'],
    ['a nested subdomain', 'https://a.b.kommo.com'],
    ['a look-alike suffix', 'https://testaccount.kommo.com.evil.example'],
    ['a look-alike prefix', 'https://testaccountkommo.com'],
    ['a port', 'https://testaccount.kommo.com:8443'],
    ['a trailing slash', 'https://testaccount.kommo.com/'],
    ['a path', 'https://testaccount.kommo.com/leads'],
    ['upper case (browsers send lower case)', 'https://TestAccount.kommo.com'],
    ['a subdomain starting with a dash', 'https://-x.kommo.com'],
    ['another CRM', 'https://testaccount.bitrix24.com'],
    ['amocrm.org', 'https://testaccount.amocrm.org'],
    ['userinfo', 'https://user@testaccount.kommo.com'],
    ['a newline', 'https://testaccount.kommo.com\nhttps://evil.example'],
  ])('refuses %s', (_, origin) => {
    expect(isKommoAccountOrigin(origin)).toBe(false);
  });
});

describe("Kommo account hosts (the install redirect's referer)", () => {
  it.each([
    ['testaccount.kommo.com', 'testaccount', 'kommo.com'],
    ['my-shop.amocrm.ru', 'my-shop', 'amocrm.ru'],
    ['a.amocrm.com', 'a', 'amocrm.com'],
    ['shop2024.kommo.com', 'shop2024', 'kommo.com'],
  ])('takes %s: subdomain %s of %s', (host, subdomain, domain) => {
    expect(kommoAccountHost(host)).toEqual({ host, subdomain, domain });
  });

  it.each([
    ['nothing', undefined],
    ['an empty value', ''],
    ['another domain', 'evil.example.com'],
    ['a look-alike suffix', 'kommo.com.evil.io'],
    ['an account host followed by another', 'testaccount.kommo.com.evil.io'],
    ['userinfo', 'x.kommo.com@evil.io'],
    ['userinfo before the host', 'evil.io@x.kommo.com'],
    ['an IPv4 literal', '127.0.0.1'],
    ['an IPv6 literal', '[::1]'],
    ['a port', 'testaccount.kommo.com:8443'],
    ['a scheme', 'https://testaccount.kommo.com'],
    ['a path', 'testaccount.kommo.com/leads'],
    ['a trailing dot', 'testaccount.kommo.com.'],
    ['the apex domain', 'kommo.com'],
    ['a nested subdomain', 'a.b.kommo.com'],
    ['upper case', 'TestAccount.kommo.com'],
    ['a leading dash', '-x.kommo.com'],
    ['a label over 63 characters', `${'a'.repeat(64)}.kommo.com`],
    ['a newline', 'testaccount.kommo.com\nevil.io'],
    ['a percent-escape', 'test%61ccount.kommo.com'],
    ['amocrm.org', 'testaccount.amocrm.org'],
  ])('refuses %s', (_, value) => {
    expect(kommoAccountHost(value)).toBeUndefined();
  });
});

describe('the admin bearer token', () => {
  const adminToken = `${'a'.repeat(20)}Token-0123456789`;

  it.each([`Bearer ${adminToken}`, `bearer ${adminToken}`, `Bearer  ${adminToken} `])('accepts %j', (authorization) => {
    expect(adminBearerMatches(authorization, adminToken)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the token without the scheme', adminToken],
    ['another scheme', `Basic ${adminToken}`],
    ['a prefix of the token', `Bearer ${adminToken.slice(0, -1)}`],
    ['the token with more after it', `Bearer ${adminToken}x`],
    ['two tokens', `Bearer ${adminToken} ${adminToken}`],
    ['only the scheme', 'Bearer'],
  ])('refuses %s', (_, authorization) => {
    expect(adminBearerMatches(authorization, adminToken)).toBe(false);
  });
});
