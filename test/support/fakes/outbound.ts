import type { OutboundEvent } from '../../../functions/core/domain/outbound-event';
import type { PolledStatus } from '../../../functions/core/domain/status-poll';
import type {
  CallDeadline,
  ChatServiceClient,
  ChatServiceStatusSource,
  ForwardedHook,
  HookForwarder,
  KommoChatApi,
  KommoDeliveryStatus,
  KommoTyping,
} from '../../../functions/core/ports/outbound';
import { OutboundCallError } from '../../../functions/core/ports/outbound';

/** Answers scripted by a test: each call takes the next one; none left means success. */
class ScriptedFailures {
  private queue: Error[] = [];

  push(...errors: Error[]): void {
    this.queue.push(...errors);
  }

  throwNext(): void {
    const error = this.queue.shift();
    if (error) throw error;
  }
}

/** Kommo's Chat API as a unit test sees it: what it received, and the failures a test scripted. */
export class FakeKommoChatApi implements KommoChatApi {
  readonly typingCalls: { scopeId: string; typing: KommoTyping }[] = [];
  readonly deliveryStatuses: { scopeId: string; status: KommoDeliveryStatus; call?: CallDeadline }[] = [];
  private readonly typingFailures = new ScriptedFailures();
  private readonly statusFailures = new ScriptedFailures();

  /** The next typing calls fail with these errors, one each (received all the same: the call was made). */
  failTyping(...errors: Error[]): void {
    this.typingFailures.push(...errors);
  }

  failDeliveryStatus(...errors: Error[]): void {
    this.statusFailures.push(...errors);
  }

  async typing(scopeId: string, typing: KommoTyping): Promise<void> {
    this.typingCalls.push({ scopeId, typing: { ...typing } });
    this.typingFailures.throwNext();
  }

  async deliveryStatus(scopeId: string, status: KommoDeliveryStatus, call?: CallDeadline): Promise<void> {
    this.deliveryStatuses.push({ scopeId, status: { ...status }, ...(call ? { call: { ...call } } : {}) });
    this.statusFailures.throwNext();
  }

  async connect(): Promise<{ scopeId: string }> {
    throw new Error('connect is not part of this unit test');
  }

  async disconnect(): Promise<void> {
    throw new Error('disconnect is not part of this unit test');
  }
}

/** The chat service's event endpoint: the events it received, and the failures a test scripted. */
export class FakeChatServiceClient implements ChatServiceClient {
  readonly received: OutboundEvent[] = [];
  private readonly failures = new ScriptedFailures();

  failNext(...errors: Error[]): void {
    this.failures.push(...errors);
  }

  async deliver(event: OutboundEvent): Promise<void> {
    this.received.push(structuredClone(event));
    this.failures.throwNext();
  }
}

/** `KOMMO_HOOK_FORWARD_URL`: set or not, the hooks it received, and scripted failures. */
export class FakeHookForwarder implements HookForwarder {
  readonly forwarded: ForwardedHook[] = [];
  private readonly failures = new ScriptedFailures();

  constructor(readonly enabled: boolean) {}

  failNext(...errors: Error[]): void {
    this.failures.push(...errors);
  }

  async forward(hook: ForwardedHook): Promise<void> {
    if (!this.enabled) throw new Error('forward called while KOMMO_HOOK_FORWARD_URL is unset');
    this.forwarded.push({ ...hook, rawBody: Buffer.from(hook.rawBody) });
    this.failures.throwNext();
  }
}

/** `CHAT_SERVICE_STATUS_URL`: set or not, the queries it received, and the answers a test scripted (none left: `sent`). */
export class FakeStatusSource implements ChatServiceStatusSource {
  readonly queries: { msgid: string; webhookId: string }[] = [];
  private readonly answers: (PolledStatus | Error)[] = [];

  constructor(readonly enabled: boolean) {}

  answerNext(...answers: (PolledStatus | Error)[]): void {
    this.answers.push(...answers);
  }

  async query(msgid: string, call: { webhookId: string }): Promise<PolledStatus> {
    if (!this.enabled) throw new Error('query called while CHAT_SERVICE_STATUS_URL is unset');
    this.queries.push({ msgid, webhookId: call.webhookId });
    const answer = this.answers.shift() ?? { outcome: 'sent' };
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

/** What a party answers: `status` undefined is a network error or a timeout. */
export const callFailure = (party: 'kommo' | 'chat-service' | 'hook-forward', status?: number, errorType?: string) =>
  new OutboundCallError(party, status === undefined ? 'connection reset' : `answered ${status}`, status, errorType);
