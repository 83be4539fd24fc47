import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type {
  ClientTypingKey,
  ClientTypingStore,
  KommoUserTyping,
  KommoUserTypingStore,
} from '../../../functions/core/ports/typing-store';
import { TEST_START } from '../manual-clock';

/**
 * What every ClientTypingStore and KommoUserTypingStore must do, seen only through the port: run
 * against the DynamoDB adapters (test/integration) and the in-memory fakes the unit tests use
 * (test/unit/fakes), so a fake never drifts from the store it stands in for. Each test uses keys of
 * its own, so one store (one table) serves them all.
 */

const scopeId = 'c0ffee00-0000-4000-8000-000000000001_52e591f7-c98f-4255-8495-827210138c81';

/** A start at `nowMs` that types for `ttlMs` and whose Kommo call covers 4 s. */
export const typingWindow = (nowMs: number, ttlMs = 6_000) => ({
  nowMs,
  activeUntilMs: nowMs + ttlMs,
  nextCallAtMs: nowMs + 4_000,
});

export const aTypingClient = (): ClientTypingKey => ({
  scopeId,
  conversationId: `conv-${randomUUID()}`,
  senderId: 'client-1',
});

export function clientTypingStoreContract(store: ClientTypingStore): void {
  it('claims the first window; a start inside it claims nothing', async () => {
    // Prepare
    const key = aTypingClient();

    // Act
    const outcomes = [
      await store.start(key, typingWindow(TEST_START), 'attempt-1'),
      await store.start(key, typingWindow(TEST_START + 1_000), 'attempt-2'),
    ];

    // Assess
    expect(outcomes).toEqual([{ claimed: true }, { claimed: false }]);
  });

  it('lets exactly one of 20 concurrent starts claim the window', async () => {
    // Prepare
    const key = aTypingClient();

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.start(key, typingWindow(TEST_START), `attempt-${i}`)),
    );

    // Assess
    expect(outcomes.filter((outcome) => outcome.claimed)).toHaveLength(1);
  });

  it('never shortens typing with a start inside a claimed window, and extends it with a longer one', async () => {
    // Prepare
    const shortened = aTypingClient();
    const extended = aTypingClient();
    await store.start(shortened, typingWindow(TEST_START, 10_000), 'attempt-1');
    await store.start(extended, typingWindow(TEST_START, 6_000), 'attempt-1');

    // Act
    await store.start(shortened, typingWindow(TEST_START + 1_000, 2_000), 'attempt-2');
    await store.start(extended, typingWindow(TEST_START + 2_000, 20_000), 'attempt-2');

    // Assess: typing still lasts, so the refresh after the first window is claimed.
    expect(await store.claimRefresh(shortened, TEST_START + 4_000, TEST_START + 8_000)).toBe(true);
    expect(await store.claimRefresh(extended, TEST_START + 8_000, TEST_START + 12_000)).toBe(true);
  });

  it('claims again once no Kommo call covers now', async () => {
    // Prepare
    const key = aTypingClient();
    await store.start(key, typingWindow(TEST_START), 'attempt-1');

    // Act
    const outcome = await store.start(key, typingWindow(TEST_START + 4_000), 'attempt-2');

    // Assess
    expect(outcome).toEqual({ claimed: true });
  });

  it('gives a window back only to the attempt that claimed it', async () => {
    // Prepare
    const key = aTypingClient();
    await store.start(key, typingWindow(TEST_START), 'attempt-1');

    // Act
    await store.release(key, 'attempt-other', TEST_START + 10);
    const afterOther = await store.start(key, typingWindow(TEST_START + 20), 'attempt-2');
    await store.release(key, 'attempt-1', TEST_START + 30);
    const afterOwn = await store.start(key, typingWindow(TEST_START + 40), 'attempt-3');

    // Assess
    expect([afterOther, afterOwn]).toEqual([{ claimed: false }, { claimed: true }]);
  });

  it('claims a refresh only while typing lasts and the current window is over', async () => {
    // Prepare
    const key = aTypingClient();
    await store.start(key, typingWindow(TEST_START, 10_000), 'attempt-1');

    // Act
    const early = await store.claimRefresh(key, TEST_START + 3_999, TEST_START + 8_000);
    const due = await store.claimRefresh(key, TEST_START + 4_000, TEST_START + 8_000);
    const again = await store.claimRefresh(key, TEST_START + 4_000, TEST_START + 8_000);
    const afterTyping = await store.claimRefresh(key, TEST_START + 10_000, TEST_START + 14_000);

    // Assess
    expect([early, due, again, afterTyping]).toEqual([false, true, false, false]);
  });

  it('claims no refresh after stop, nor for a client who never typed', async () => {
    // Prepare
    const key = aTypingClient();
    const nobody = aTypingClient();
    await store.start(key, typingWindow(TEST_START, 30_000), 'attempt-1');

    // Act
    await store.stop(key, TEST_START + 1_000);
    await store.stop(nobody, TEST_START + 1_000);
    const refreshes = [
      await store.claimRefresh(key, TEST_START + 4_000, TEST_START + 8_000),
      await store.claimRefresh(nobody, TEST_START + 4_000, TEST_START + 8_000),
    ];

    // Assess
    expect(refreshes).toEqual([false, false]);
  });
}

/** Every test types in its own Kommo chat. */
export function aKommoUserTyping(deadlineMs: number): KommoUserTyping {
  return {
    scopeId,
    kommoConversationId: `kommo-chat-${randomUUID()}`,
    userId: 'kommo-user-1',
    accountId: 'account-1',
    conversationId: 'conv-1',
    deadlineMs,
  };
}

export function kommoUserTypingStoreContract(store: KommoUserTypingStore): void {
  it('keeps the latest deadline with the ids it came with; "write first" chats have no conversation id', async () => {
    // Prepare
    const typing = aKommoUserTyping(TEST_START + 5_000);
    const writeFirst = { ...aKommoUserTyping(TEST_START + 5_000), conversationId: null };

    // Act
    const outcomes = [await store.renew(typing, TEST_START), await store.renew(writeFirst, TEST_START)];

    // Assess
    expect(outcomes).toEqual([{ moved: true }, { moved: true }]);
    expect([await store.get(typing), await store.get(writeFirst)]).toEqual([typing, writeFirst]);
  });

  it('never moves the deadline back: an older hook changes nothing; the same one re-arms', async () => {
    // Prepare
    const typing = aKommoUserTyping(TEST_START + 8_000);
    await store.renew(typing, TEST_START);

    // Act
    const older = await store.renew(
      { ...typing, deadlineMs: TEST_START + 5_000, accountId: 'another' },
      TEST_START + 1_000,
    );
    const same = await store.renew(typing, TEST_START + 1_000);

    // Assess
    expect([older, same]).toEqual([{ moved: false }, { moved: true }]);
    expect(await store.get(typing)).toEqual(typing);
  });

  it('claims exactly one stop per deadline, of 10 concurrent timers', async () => {
    // Prepare
    const typing = aKommoUserTyping(TEST_START + 5_000);
    await store.renew(typing, TEST_START);

    // Act
    const claims = await Promise.all(Array.from({ length: 10 }, () => store.claimStop(typing, TEST_START + 5_000)));

    // Assess
    expect(claims.filter((claim) => claim !== undefined)).toEqual([typing]);
  });

  it('claims no stop for a deadline a renewal moved', async () => {
    // Prepare
    const typing = aKommoUserTyping(TEST_START + 5_000);
    await store.renew(typing, TEST_START);
    await store.renew({ ...typing, deadlineMs: TEST_START + 9_000 }, TEST_START + 4_000);

    // Act
    const claims = [
      await store.claimStop(typing, TEST_START + 5_000),
      await store.claimStop(typing, TEST_START + 9_000),
    ];

    // Assess
    expect(claims).toEqual([undefined, { ...typing, deadlineMs: TEST_START + 9_000 }]);
  });

  it("lets a stop given back be claimed again, and ignores giving back another deadline's", async () => {
    // Prepare
    const typing = aKommoUserTyping(TEST_START + 5_000);
    await store.renew(typing, TEST_START);
    await store.claimStop(typing, TEST_START + 5_000);

    // Act
    await store.releaseStop(typing, TEST_START + 4_000);
    const whileHeld = await store.claimStop(typing, TEST_START + 5_000);
    await store.releaseStop(typing, TEST_START + 5_000);
    const afterRelease = await store.claimStop(typing, TEST_START + 5_000);

    // Assess
    expect(whileHeld).toBeUndefined();
    expect(afterRelease).toEqual(typing);
  });
}
