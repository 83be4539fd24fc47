import { Webhook } from 'standardwebhooks';
import type { OutboundEvent } from '../../domain/outbound-event';
import { deadlineSignal, type Clock } from '../../ports/clock';
import { OutboundCallError, type ChatServiceClient, type ForwardedHook, type HookForwarder } from '../../ports/outbound';
import { sendHttp } from '../http/send-http';

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
        'webhook-id': event.id,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': this.webhooks.map((webhook) => webhook.sign(event.id, timestamp, body)).join(' '),
      },
      body,
      timeoutMs: this.options.timeoutMs,
      // On the bridge's clock, which also times the retry after a timeout: a busy machine alone never times a call out in tests.
      signal: deadlineSignal(this.options.clock, timestamp.getTime() + this.options.timeoutMs),
    });
    if (answer.status < 200 || answer.status >= 300) {
      throw new OutboundCallError('chat-service', `chat service answered ${answer.status} to ${event.type}`, answer.status);
    }
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
    });
    if (answer.status < 200 || answer.status >= 300) {
      throw new OutboundCallError('hook-forward', `hook forward target answered ${answer.status}`, answer.status);
    }
  }
}
