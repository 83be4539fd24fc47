import { Webhook } from 'standardwebhooks';
import { statusUrlFor } from '../../config';
import type { OutboundEvent } from '../../domain/outbound-event';
import type { PolledStatus } from '../../domain/status-poll';
import { parseStatusAnswer } from '../../http/status-report';
import { deadlineSignal, type Clock } from '../../ports/clock';
import {
  OutboundCallError,
  type ChatServiceClient,
  type ChatServiceStatusSource,
  type ForwardedHook,
  type HookForwarder,
} from '../../ports/outbound';
import { MAX_ANSWER_BYTES, sendHttp } from '../http/send-http';

export interface ChatServiceClientOptions {
  url: string;
  /**
   * `whsec_…` Standard Webhooks secrets: the current one first, then the previous one while a rotation
   * is under way. Each signs the event; Standard Webhooks carries several signatures, space-separated.
   */
  secrets: readonly [string, ...string[]];
  timeoutMs: number;
  clock: Clock;
}

/** Posts events to the chat service, signed with Standard Webhooks; `webhook-id` is the event id. */
export class StandardWebhooksChatService implements ChatServiceClient {
  private readonly webhooks: readonly Webhook[];

  constructor(private readonly options: ChatServiceClientOptions) {
    this.webhooks = options.secrets.map((secret) => new Webhook(secret));
  }

  async deliver(event: OutboundEvent): Promise<void> {
    const body = JSON.stringify(event);
    const timestamp = new Date(this.options.clock.now());
    const answer = await sendHttp({
      party: 'chat-service',
      url: this.options.url,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...standardWebhooksHeaders(this.webhooks, event.id, timestamp, body),
      },
      body,
      timeoutMs: this.options.timeoutMs,
      // Only the status counts; the chat service's answer is never read.
      answer: 'discard',
      // On the bridge's clock, which also times the retry after a timeout: a busy machine alone never times a call out in tests.
      signal: deadlineSignal(this.options.clock, timestamp.getTime() + this.options.timeoutMs),
    });
    if (answer.status < 200 || answer.status >= 300) {
      throw new OutboundCallError(
        'chat-service',
        `chat service answered ${answer.status} to ${event.type}`,
        answer.status,
      );
    }
  }
}

/**
 * The Standard Webhooks headers of a request to the chat service: one signature per secret
 * (space-separated), so during a rotation it accepts the request whichever secret it holds.
 */
function standardWebhooksHeaders(
  webhooks: readonly Webhook[],
  webhookId: string,
  timestamp: Date,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': webhooks.map((webhook) => webhook.sign(webhookId, timestamp, body)).join(' '),
  };
}

export interface ChatServiceStatusSourceOptions extends Omit<ChatServiceClientOptions, 'url'> {
  /** `CHAT_SERVICE_STATUS_URL`, with `{msgid}`. */
  urlTemplate: string;
}

/**
 * Asks the chat service for a message's status: a GET signed like the events (Standard Webhooks over
 * the empty body), with the call's deadline on the bridge's clock.
 */
export class StandardWebhooksStatusSource implements ChatServiceStatusSource {
  readonly enabled = true;
  private readonly webhooks: readonly Webhook[];

  constructor(private readonly options: ChatServiceStatusSourceOptions) {
    this.webhooks = options.secrets.map((secret) => new Webhook(secret));
  }

  async query(msgid: string, call: { webhookId: string }): Promise<PolledStatus> {
    const timestamp = new Date(this.options.clock.now());
    const answer = await sendHttp({
      party: 'chat-service',
      url: statusUrlFor(this.options.urlTemplate, msgid),
      method: 'GET',
      headers: { accept: 'application/json', ...standardWebhooksHeaders(this.webhooks, call.webhookId, timestamp, '') },
      timeoutMs: this.options.timeoutMs,
      signal: deadlineSignal(this.options.clock, timestamp.getTime() + this.options.timeoutMs),
    });
    if (answer.status === 404) return { outcome: 'unknown' };
    if (answer.status < 200 || answer.status >= 300) {
      throw new OutboundCallError(
        'chat-service',
        `chat service answered ${answer.status} to the status query of message ${msgid}`,
        answer.status,
      );
    }
    if (answer.truncated)
      return {
        outcome: 'malformed',
        reason: `the answer is longer than ${MAX_ANSWER_BYTES} bytes (the rest was not read)`,
      };
    return parseStatusAnswer(answer.text);
  }
}

/** Forwards unconsumed Kommo hooks unchanged: same bytes, same `X-Signature`, plus `X-Kommo-Scope-Id`. */
export class HttpHookForwarder implements HookForwarder {
  constructor(private readonly options: { url: string | undefined; timeoutMs: number }) {}

  get enabled(): boolean {
    return this.options.url !== undefined;
  }

  async forward(hook: ForwardedHook): Promise<void> {
    if (this.options.url === undefined) return;
    const answer = await sendHttp({
      party: 'hook-forward',
      url: this.options.url,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': hook.signature, 'x-kommo-scope-id': hook.scopeId },
      body: hook.rawBody,
      timeoutMs: this.options.timeoutMs,
      answer: 'discard',
    });
    if (answer.status < 200 || answer.status >= 300) {
      throw new OutboundCallError('hook-forward', `hook forward target answered ${answer.status}`, answer.status);
    }
  }
}
