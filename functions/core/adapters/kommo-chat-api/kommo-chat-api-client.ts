import { signAmojoRequest } from '../../domain/amojo-signature';
import { deadlineSignal, type Clock } from '../../ports/clock';
import {
  OutboundCallError,
  type CallDeadline,
  type KommoChatApi,
  type KommoDeliveryStatus,
  type KommoTyping,
} from '../../ports/outbound';
import { parseJsonObject, remoteText, sendHttp } from '../http/send-http';

export interface KommoChatApiClientOptions {
  /** amojo base URL, e.g. `https://amojo.kommo.com`. */
  baseUrl: string;
  channelId: string;
  channelSecret: string;
  /** How long a call may take, counted on `clock` (the clock leases and backoffs use). */
  timeoutMs: number;
  clock: Clock;
}

/**
 * Kommo Chat API client. Every request is serialized once and that exact string is signed and sent
 * (docs/kommo.md: "Hash exactly the bytes you send").
 */
export class KommoChatApiClient implements KommoChatApi {
  constructor(private readonly options: KommoChatApiClientOptions) {}

  async typing(scopeId: string, typing: KommoTyping): Promise<void> {
    await this.call('POST', customChannelPath(scopeId, 'typing'), {
      conversation_id: typing.conversationId,
      sender: { id: typing.senderId },
    });
  }

  async deliveryStatus(scopeId: string, status: KommoDeliveryStatus, call: CallDeadline = {}): Promise<void> {
    const body: Record<string, unknown> = { msgid: status.msgid, delivery_status: status.deliveryStatus };
    if (status.deliveryStatus === -1) {
      body.error_code = status.errorCode;
      if (status.error !== undefined) body.error = status.error;
    }
    await this.call('POST', customChannelPath(scopeId, status.msgid, 'delivery_status'), body, call);
  }

  async connect(amojoAccountId: string, title: string): Promise<{ scopeId: string }> {
    const answer = await this.call('POST', customChannelPath(this.options.channelId, 'connect'), {
      account_id: amojoAccountId,
      title,
      hook_api_version: 'v2',
    });
    const scopeId = (answer as { scope_id?: unknown } | undefined)?.scope_id;
    if (typeof scopeId !== 'string' || scopeId === '') {
      throw new OutboundCallError('kommo', 'Kommo connect answered without a scope_id', 502);
    }
    return { scopeId };
  }

  async disconnect(amojoAccountId: string): Promise<void> {
    await this.call('DELETE', customChannelPath(this.options.channelId, 'disconnect'), { account_id: amojoAccountId });
  }

  private async call(
    method: 'POST' | 'DELETE',
    path: string,
    payload: unknown,
    { deadlineAtMs }: CallDeadline = {},
  ): Promise<unknown> {
    const body = JSON.stringify(payload);
    const startedAt = this.options.clock.now();
    const headers = signAmojoRequest({ method, path, body, date: new Date(startedAt) }, this.options.channelSecret);
    // On the bridge's clock, not a real-time timer: a delivery-status call must be over before its sync
    // lease runs out, and the lease is measured on that clock (use-cases/delivery-status.ts).
    const deadline = deadlineAtMs ?? startedAt + this.options.timeoutMs;
    const answer = await sendHttp({
      party: 'kommo',
      url: this.options.baseUrl + path,
      method,
      headers: { ...headers },
      body,
      timeoutMs: deadline - startedAt,
      signal: deadlineSignal(this.options.clock, deadline),
    });
    const parsed = parseJsonObject(answer.text);
    if (answer.status >= 200 && answer.status < 300) return parsed;
    // Kommo's words are kept short: a status update's record stores them, and an item holds 400 KB at most.
    const errorType = typeof parsed?.error_type === 'string' ? remoteText(parsed.error_type, 100) : undefined;
    const description =
      typeof parsed?.error_description === 'string' ? `: ${remoteText(parsed.error_description)}` : '';
    throw new OutboundCallError(
      'kommo',
      `Kommo ${method} ${pathKind(path)} answered ${answer.status}${errorType ? ` ${errorType}` : ''}${description}`,
      answer.status,
      errorType,
    );
  }
}

/**
 * `/v2/origin/custom/` and `segments`, each percent-encoded. A segment that is empty, `.` or `..`, or
 * holds a `/`, is refused rather than sent: URL normalisation (or Kommo's router) would turn it into
 * another path, and the request would be signed for one path and reach another.
 */
export function customChannelPath(...segments: string[]): string {
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || segment.includes('/')) {
      throw new Error(
        `Refusing to build a Kommo path from the segment ${JSON.stringify(segment)}: it is empty, a dot segment or holds "/"`,
      );
    }
  }
  return `/v2/origin/custom/${segments.map(encodeURIComponent).join('/')}`;
}

/** The method name from a path, for messages: ids in paths are not secrets, but they are noise. */
function pathKind(path: string): string {
  return path.split('/').at(-1) ?? path;
}
