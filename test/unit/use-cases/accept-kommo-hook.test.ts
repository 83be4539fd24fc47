import { describe, expect, it } from 'vitest';
import { signKommoHook } from '../../../functions/core/domain/amojo-signature';
import { acceptKommoHook, type IncomingKommoHook } from '../../../functions/core/use-cases/accept-kommo-hook';
import { TEST_START } from '../../support/manual-clock';
import { baseDeps, UNIT_ACCOUNT_ID, UNIT_SCOPE_ID, unitSecrets } from '../../support/fakes/unit-deps';

const startSeconds = TEST_START / 1000;

function givenIntake() {
  const secrets = unitSecrets();
  const deps = baseDeps({ KOMMO_CHANNEL_SECRET: secrets.channelSecret });
  /** A hook as Kommo sends it: the raw body and its HMAC-SHA1 with the channel secret. */
  const signed = (body: unknown, scopeId: string = UNIT_SCOPE_ID) => {
    const rawBody = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return { scopeId, rawBody, signature: signKommoHook(rawBody, secrets.channelSecret) };
  };
  return { deps, signed };
}

const typingHook = (expiredAtSeconds = startSeconds + 5, accountId = UNIT_ACCOUNT_ID) => ({
  account_id: accountId,
  action: {
    typing: {
      user: { id: 'kommo-user-1' },
      conversation: { id: 'kommo-chat-1', client_id: 'conv-1' },
      expired_at: expiredAtSeconds,
    },
  },
});

describe('the Kommo hook intake', () => {
  it('queues a signed hook byte for byte and answers at once', async () => {
    // Prepare
    const { deps, signed } = givenIntake();
    const hook = signed(typingHook());

    // Act
    const outcome = await acceptKommoHook(deps, hook);

    // Assess
    expect(outcome).toEqual({ outcome: 'accepted', kind: 'typing' });
    expect(deps.queues.hooks.bodies()).toEqual([
      {
        scopeId: UNIT_SCOPE_ID,
        accountId: UNIT_ACCOUNT_ID,
        receivedAtMs: TEST_START,
        signature: hook.signature,
        rawBody: hook.rawBody.toString('base64'),
        attempt: 1,
      },
    ]);
    expect(deps.metrics.get('KommoHookAccepted')).toBe(1);
  });

  it('queues hooks it does not consume too (for the forward)', async () => {
    // Prepare
    const { deps, signed } = givenIntake();

    // Act
    const outcome = await acceptKommoHook(
      deps,
      signed({ account_id: UNIT_ACCOUNT_ID, action: { reaction: { type: 'like' } } }),
    );

    // Assess
    expect(outcome).toEqual({ outcome: 'accepted', kind: 'reaction' });
    expect(deps.queues.hooks.sent).toHaveLength(1);
  });

  it.each([
    [
      'a forged signature',
      (hook: IncomingKommoHook): IncomingKommoHook => ({ ...hook, signature: 'f'.repeat(40) }),
      'invalid_signature',
    ],
    [
      'no signature',
      (hook: IncomingKommoHook): IncomingKommoHook => ({ ...hook, signature: undefined }),
      'missing_signature',
    ],
  ])('refuses %s with 401 and queues nothing', async (_, tamper, code) => {
    // Prepare
    const { deps, signed } = givenIntake();

    // Act
    const refusal = await acceptKommoHook(deps, tamper(signed(typingHook()))).catch((error: unknown) => error);

    // Assess
    expect(refusal).toMatchObject({ kind: 'unauthenticated', code });
    expect(deps.queues.hooks.sent).toEqual([]);
    expect(deps.metrics.get('KommoHookRejected')).toBe(1);
  });

  it.each([
    ['a body that is not JSON', '{"account_id":', 'invalid_json'],
    [
      'a typing hook without its user',
      { account_id: UNIT_ACCOUNT_ID, action: { typing: { conversation: { id: 'c' }, expired_at: startSeconds + 5 } } },
      'invalid_hook',
    ],
    ["another account than the scope's", typingHook(startSeconds + 5, 'another-account'), 'account_mismatch'],
    ['typing that ends more than an hour ahead', typingHook(startSeconds + 3_601), 'invalid_hook'],
  ])('refuses %s with 400 and queues nothing', async (_, body, code) => {
    // Prepare
    const { deps, signed } = givenIntake();

    // Act
    const refusal = await acceptKommoHook(deps, signed(body)).catch((error: unknown) => error);

    // Assess
    expect(refusal).toMatchObject({ kind: 'invalid', code });
    expect(deps.queues.hooks.sent).toEqual([]);
  });

  it('refuses a scope of another channel with 404 before reading the body', async () => {
    // Prepare
    const { deps, signed } = givenIntake();

    // Act
    const refusal = await acceptKommoHook(deps, signed(typingHook(), `another-channel_${UNIT_ACCOUNT_ID}`)).catch(
      (error: unknown) => error,
    );

    // Assess
    expect(refusal).toMatchObject({ kind: 'not_found', code: 'unknown_scope' });
    expect(deps.queues.hooks.sent).toEqual([]);
  });

  it('drops typing that already ended: a late "typing" would be wrong information', async () => {
    // Prepare
    const { deps, signed } = givenIntake();

    // Act
    const outcome = await acceptKommoHook(deps, signed(typingHook(startSeconds)));

    // Assess
    expect(outcome).toEqual({ outcome: 'dropped', reason: 'expired' });
    expect(deps.queues.hooks.sent).toEqual([]);
  });
});
