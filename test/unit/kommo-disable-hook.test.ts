import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kommoDisableHookSignatureMatches, signKommoDisableHook } from '../../functions/core/domain/kommo-disable-hook';

/** Kommo's documented disable-hook example (test/fixtures/kommo-disable-hook-vectors.json). */
const { vectors } = JSON.parse(
  readFileSync(new URL('../fixtures/kommo-disable-hook-vectors.json', import.meta.url), 'utf8'),
) as {
  vectors: { client_uuid: string; account_id: string; client_secret: string; signature: string }[];
};

describe('the disable hook signature', () => {
  it.each(vectors)("reproduces Kommo's vector for account $account_id", (vector) => {
    // Act
    const signature = signKommoDisableHook(vector.client_uuid, vector.account_id, vector.client_secret);

    // Assess
    expect(signature).toBe(vector.signature);
    expect(
      kommoDisableHookSignatureMatches(vector.client_uuid, vector.account_id, vector.signature, vector.client_secret),
    ).toBe(true);
  });

  const vector = vectors[0]!;
  it.each([
    ['no signature', vector.client_uuid, vector.account_id, undefined, vector.client_secret],
    ['upper-case hex', vector.client_uuid, vector.account_id, vector.signature.toUpperCase(), vector.client_secret],
    [
      'a signature cut short',
      vector.client_uuid,
      vector.account_id,
      vector.signature.slice(0, -2),
      vector.client_secret,
    ],
    [
      'a signature with more after it',
      vector.client_uuid,
      vector.account_id,
      `${vector.signature}00`,
      vector.client_secret,
    ],
    ['another account', vector.client_uuid, '30000002', vector.signature, vector.client_secret],
    [
      'another integration',
      '5f2a3c1e-8b7d-4e21-9c3a-1d2e3f4a5b6d',
      vector.account_id,
      vector.signature,
      vector.client_secret,
    ],
    ['another secret', vector.client_uuid, vector.account_id, vector.signature, `${vector.client_secret}x`],
    [
      'the account id with a leading zero',
      vector.client_uuid,
      `0${vector.account_id}`,
      vector.signature,
      vector.client_secret,
    ],
  ])('refuses %s', (_, clientUuid, accountId, signature, secret) => {
    expect(kommoDisableHookSignatureMatches(clientUuid, accountId, signature, secret)).toBe(false);
  });
});
