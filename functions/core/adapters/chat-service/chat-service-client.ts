import { Webhook } from 'standardwebhooks';
import type { OutboundEvent } from '../../domain/outbound-event';
import type { Clock } from '../../ports/clock';
import { OutboundCallError, type ChatServiceClient, type ForwardedHook, type HookForwarder } from '../../ports/outbound';
import { sendHttp } from '../http/send-http';

export interface ChatServiceClientOptions {
  url: string;
  /** `whsec_…` Standard Webhooks secret. */
  secret: string;
  timeoutMs: number;
  clock: Clock;
}

/** Posts events to the chat service, signed with Standard Webhooks; `webhook-id` is the event id. */
export class StandardWebhooksChatService implements ChatServiceClient {
  private readonly webhook: Webhook;

  constructor(private readonly options: ChatServiceClientOptions) {
    this.webhook = new Webhook(options.secret);
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
        'webhook-signature': this.webhook.sign(event.id, timestamp, body),
      },
      body,
      timeoutMs: this.options.timeoutMs,
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
