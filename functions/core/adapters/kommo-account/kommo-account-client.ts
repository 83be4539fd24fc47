import { kommoAccountUrlFor } from '../../config';
import type { KommoAccountHost } from '../../domain/kommo-origin';
import { deadlineSignal, type Clock } from '../../ports/clock';
import {
  KommoCodeRefused,
  type KommoAccessToken,
  type KommoAccountApi,
  type KommoAccountInfo,
} from '../../ports/kommo-account-api';
import { OutboundCallError, type CallDeadline } from '../../ports/outbound';
import { type HttpAnswer, parseJsonObject, remoteText, sendHttp } from '../http/send-http';

export interface KommoAccountClientOptions {
  /** `KOMMO_CLIENT_ID`: the integration id. */
  clientId: string;
  /** `KOMMO_CLIENT_SECRET`: the integration's secret key. */
  clientSecret: string;
  /** `KOMMO_REDIRECT_URI`: Kommo compares it with the registered one, character for character. */
  redirectUri: string;
  /** `KOMMO_ACCOUNT_URL`; undefined: the account's own host. */
  accountUrlTemplate: string | undefined;
  /** How long one call may take, counted on `clock`. */
  timeoutMs: number;
  clock: Clock;
}

/** An amojo id as scopes carry it (functions/core/domain/scope.ts). */
const AMOJO_ID = /^[A-Za-z0-9-]{1,64}$/;

/**
 * Kommo's OAuth token endpoint and account API (docs/kommo.md, "Installation (OAuth) and
 * uninstall"). Redirects are refused (`sendHttp`), so the client secret and the access token go to
 * the account's host and nowhere else. Neither they nor the code ever appear in an error message.
 */
export class KommoAccountClient implements KommoAccountApi {
  constructor(private readonly options: KommoAccountClientOptions) {}

  async exchangeAuthorizationCode(
    account: KommoAccountHost,
    code: string,
    call: CallDeadline = {},
  ): Promise<KommoAccessToken> {
    const { clientId, clientSecret, redirectUri } = this.options;
    const body = JSON.stringify({
      client_id: clientId,
      client_secret: clientSecret,
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
    });
    const answer = await this.send(
      account,
      'POST',
      '/oauth2/access_token',
      { 'content-type': 'application/json', accept: 'application/json' },
      body,
      call,
    );
    const parsed = parseJsonObject(answer.text);
    const detail = describeProblem(parsed, [code, clientSecret]);
    if (answer.status === 400) throw new KommoCodeRefused(`Kommo refused the authorization code (400${detail})`);
    if (answer.status < 200 || answer.status >= 300) {
      throw new OutboundCallError(
        'kommo',
        `Kommo POST /oauth2/access_token answered ${answer.status}${detail}`,
        answer.status,
      );
    }
    const accessToken = parsed?.access_token;
    const tokenType = parsed?.token_type;
    if (
      typeof accessToken !== 'string' ||
      accessToken === '' ||
      typeof tokenType !== 'string' ||
      tokenType.toLowerCase() !== 'bearer'
    ) {
      throw new OutboundCallError(
        'kommo',
        'Kommo POST /oauth2/access_token answered 200 without a Bearer access_token',
        502,
      );
    }
    return { accessToken };
  }

  async account(account: KommoAccountHost, accessToken: string, call: CallDeadline = {}): Promise<KommoAccountInfo> {
    const answer = await this.send(
      account,
      'GET',
      '/api/v4/account?with=amojo_id',
      { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      undefined,
      call,
    );
    const parsed = parseJsonObject(answer.text);
    if (answer.status < 200 || answer.status >= 300) {
      throw new OutboundCallError(
        'kommo',
        `Kommo GET /api/v4/account answered ${answer.status}${describeProblem(parsed, [accessToken])}`,
        answer.status,
      );
    }
    const { id, subdomain, amojo_id: amojoId }: Record<string, unknown> = parsed ?? {};
    if (
      typeof id !== 'number' ||
      !Number.isSafeInteger(id) ||
      id <= 0 ||
      typeof subdomain !== 'string' ||
      typeof amojoId !== 'string' ||
      !AMOJO_ID.test(amojoId)
    ) {
      throw new OutboundCallError(
        'kommo',
        'Kommo GET /api/v4/account answered without a numeric id, a subdomain and an amojo_id',
        502,
      );
    }
    return { id, subdomain, amojoId };
  }

  private async send(
    account: KommoAccountHost,
    method: 'GET' | 'POST',
    pathAndQuery: string,
    headers: Record<string, string>,
    body: string | undefined,
    { deadlineAtMs }: CallDeadline,
  ): Promise<HttpAnswer> {
    const startedAt = this.options.clock.now();
    const deadline = Math.min(deadlineAtMs ?? Number.POSITIVE_INFINITY, startedAt + this.options.timeoutMs);
    return sendHttp({
      party: 'kommo',
      url: `${kommoAccountUrlFor(this.options.accountUrlTemplate, account)}${pathAndQuery}`,
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      timeoutMs: Math.max(0, deadline - startedAt),
      signal: deadlineSignal(this.options.clock, deadline),
    });
  }
}

/**
 * Kommo's OAuth errors carry `hint` / `detail` (e.g. "Authorization code has expired"): kept for the
 * log, cut short, and with any of `secrets` blanked in case a server echoes what it was sent.
 */
function describeProblem(body: Record<string, unknown> | undefined, secrets: string[]): string {
  const parts = [body?.hint, body?.detail, body?.title].filter(
    (part): part is string => typeof part === 'string' && part !== '',
  );
  if (parts.length === 0) return '';
  // Blanked before cut, so no cut leaves a secret's beginning behind.
  let text = parts.join('; ');
  for (const secret of secrets) if (secret !== '') text = text.replaceAll(secret, '…');
  return `: ${remoteText(text, 300)}`;
}
