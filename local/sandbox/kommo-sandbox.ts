import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  AMOJO_CONTENT_TYPE,
  amojoStringToSign,
  contentMd5,
  hexSignatureMatches,
  parseAmojoDate,
} from '../../functions/core/domain/amojo-signature';
import { systemClock, type Clock } from '../../functions/core/ports/clock';
import * as z from '../../functions/core/zod';
import {
  SandboxServer,
  singleHeader,
  type SandboxAnswer,
  type SandboxRequest,
  type ScriptedAnswer,
} from './sandbox-server';

/**
 * A stand-in for Kommo's Chat API (amojo) that refuses what Kommo refuses, for the local runtime and
 * end-to-end tests. Rules: docs/kommo.md ("Signing every request we send to Kommo", "Methods").
 *
 * Checks run in the order a real server can run them:
 * 1. body size (413) and route (404 unknown path, 405 wrong method);
 * 2. channel: a channel id or scope of another channel is 404 `ORIGIN_NOT_REGISTERED`, before the
 *    signature, because Kommo needs the channel to know which secret verifies it;
 * 3. signature: `Date` (RFC 2822 with a numeric zone, within 15 min of the sandbox clock), `Content-Type`,
 *    `Content-MD5` and `X-Signature`, all lowercase hex; any failure is 403 `ORIGIN_INVALID_SIGNATURE`;
 * 4. body: JSON and Kommo's field rules, 400 `BAD_REQUEST`;
 * 5. scripted answers (`failNext`, `respondWith`), so a forged or malformed request is never
 *    answered with a scripted status.
 *
 * Simplification: per-account calls need a scope of this channel (`<channel_id>_<account id>`), not a
 * scope that was `connect`ed first, so tests and the local runtime can start without an operator step.
 *
 * It also stands in for Kommo accounts' own hosts (docs/kommo.md, "Installation (OAuth) and
 * uninstall"), each at `/accounts/<subdomain>` (`accountUrlTemplate`, the bridge's KOMMO_ACCOUNT_URL):
 * `POST …/oauth2/access_token` exchanges a code this sandbox issued (`issueAuthorizationCode`, what
 * Kommo's redirect carries) once, within 20 minutes, for the registered integration's exact
 * `client_id`, `client_secret` and `redirect_uri`, and answers 400 otherwise; `GET …/api/v4/account`
 * answers the account for an access token it issued to that account, and 401 otherwise.
 */

/** Kommo answers 413 well before this in practice; 1 MiB is far above any body the bridge sends. */
export const KOMMO_SANDBOX_MAX_BODY_BYTES = 1024 * 1024;

/** Kommo accepts a request signature for 15 minutes (docs/kommo.md). */
export const AMOJO_DATE_TOLERANCE_MS = 15 * 60 * 1000;

/** Kommo shows "typing" for 5 s per call unless `duration_ms` says otherwise (Russian reference). */
export const DEFAULT_TYPING_DURATION_MS = 5000;

const connectBody = z.object({
  account_id: z.string().check(z.minLength(1)),
  title: z.string().check(z.minLength(1)),
  hook_api_version: z.enum(['v1', 'v2']),
});

const disconnectBody = z.object({ account_id: z.string().check(z.minLength(1)) });

const typingBody = z.object({
  conversation_id: z.string().check(z.minLength(1)),
  sender: z.object({ id: z.string().check(z.minLength(1)) }),
  duration_ms: z.optional(z.int().check(z.positive())),
});

const deliveryStatusBody = z.object({
  msgid: z.string().check(z.minLength(1)),
  delivery_status: z.literal([1, 2, -1]),
  error_code: z.optional(z.int().check(z.gte(901), z.lte(905))),
  error: z.optional(z.string()),
});

/** Kommo's authorization codes live 20 minutes (docs/kommo.md). */
export const AUTHORIZATION_CODE_LIFETIME_MS = 20 * 60 * 1000;

/** What the token endpoint answers as `expires_in` (Kommo's access tokens live a day). */
export const ACCESS_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

/** Where the sandbox serves each account's own API: `<sandbox URL>/accounts/<subdomain>`. */
const ACCOUNTS_PATH = '/accounts/';

const tokenRequestBody = z.object({
  client_id: z.string(),
  client_secret: z.string(),
  grant_type: z.string(),
  code: z.string(),
  redirect_uri: z.string(),
});

/** The Kommo integration installs are for, as registered in Kommo (its keys and Redirect URI). */
export interface SandboxIntegration {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/** A Kommo account: its numeric id (widget tokens' `account_id`), subdomain and Chat API (amojo) id. */
export interface SandboxKommoAccount {
  id: number;
  subdomain: string;
  amojoId: string;
  name?: string;
}

/** The token request as recorded: everything but the client secret. */
export type KommoTokenRequest = Omit<z.infer<typeof tokenRequestBody>, 'client_secret'>;

export type KommoConnectBody = z.infer<typeof connectBody>;
export type KommoDisconnectBody = z.infer<typeof disconnectBody>;
export type KommoTypingBody = z.infer<typeof typingBody>;
export type KommoDeliveryStatusBody = z.infer<typeof deliveryStatusBody>;

/** A call Kommo accepted; `at` is the sandbox clock when it was handled. */
export type KommoSandboxCall =
  | { method: 'connect'; scopeId: string; body: KommoConnectBody; at: number }
  | { method: 'disconnect'; scopeId: string; body: KommoDisconnectBody; at: number }
  | { method: 'typing'; scopeId: string; body: KommoTypingBody; at: number }
  | { method: 'delivery_status'; scopeId: string; msgid: string; body: KommoDeliveryStatusBody; at: number }
  /** An account's token endpoint exchanged a code (`POST /accounts/<subdomain>/oauth2/access_token`). */
  | { method: 'oauth_token'; subdomain: string; body: KommoTokenRequest; at: number }
  /** An account's API answered who it is (`GET /accounts/<subdomain>/api/v4/account`); `body` is its query (a GET has no body), like every call's. */
  | { method: 'account'; subdomain: string; body: { with: string | undefined }; accessToken: string; at: number };

export type KommoMethod = KommoSandboxCall['method'];

/** A request the sandbox refused, or answered from a script (`scripted: true`). */
export interface KommoRefusal {
  status: number;
  errorType: string;
  httpMethod: string;
  path: string;
  reason: string;
  scripted: boolean;
  at: number;
}

export type ScriptedKommoAnswer = ScriptedAnswer;

/** Returns an answer to script one call, or `undefined` to let the sandbox handle it normally. */
export type KommoScript = (call: KommoSandboxCall) => ScriptedKommoAnswer | undefined;

export interface KommoSandboxOptions {
  channelId: string;
  /** Used as a plain ASCII HMAC key, as Kommo does. */
  channelSecret: string;
  clock?: Clock;
  /** Receives one line per accepted or refused call; silent by default. */
  log?: (line: string) => void;
  /** The integration whose installs the accounts' token endpoints take; without it every exchange is refused. */
  integration?: SandboxIntegration;
  /** The accounts served under `/accounts/<subdomain>` (more with `addAccount`). */
  accounts?: readonly SandboxKommoAccount[];
}

/** Kommo's error body shape, e.g. `{"status":0,"error_code":403,"error_type":"ORIGIN_INVALID_SIGNATURE",…}`. */
export function kommoErrorBody(status: number, errorType: string, description: string) {
  return { status: 0, error_code: status, error_type: errorType, error_description: description };
}

/** An OAuth error as Kommo's token endpoint and API answer it (`title`, `type`, `status`, `detail`, `hint`). */
export function kommoOAuthErrorBody(status: number, errorType: string, detail: string) {
  return { title: errorType, type: `https://httpstatus.es/${status}`, status, detail, hint: detail };
}

type Route =
  | { method: 'connect' | 'disconnect'; httpMethod: 'POST' | 'DELETE'; channelId: string }
  | { method: 'typing'; httpMethod: 'POST'; scopeId: string }
  | { method: 'delivery_status'; httpMethod: 'POST'; scopeId: string; msgid: string };

interface Refusal {
  status: number;
  errorType: string;
  reason: string;
}

type Verdict = { accepted: KommoSandboxCall } | { refused: Refusal };

const refuse = (status: number, errorType: string, reason: string): Verdict => ({
  refused: { status, errorType, reason },
});

export class KommoSandbox extends SandboxServer<KommoSandboxCall> {
  /** Calls Kommo accepted and applied, oldest first. */
  readonly calls: KommoSandboxCall[] = [];
  /** Requests refused by a rule or answered from a script, oldest first. */
  readonly rejected: KommoRefusal[] = [];

  private readonly channelId: string;
  private readonly channelSecret: string;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly connectedScopes = new Set<string>();
  private readonly integration: SandboxIntegration | undefined;
  private readonly accounts = new Map<string, SandboxKommoAccount>();
  /** Codes issued, by code: for which account, when, and whether exchanged. */
  private readonly codes = new Map<string, { subdomain: string; issuedAt: number; used: boolean }>();
  /** Access tokens issued, by token. */
  private readonly accessTokens = new Map<string, { subdomain: string; expiresAt: number }>();
  private baseUrl: string | undefined;

  constructor(options: KommoSandboxOptions) {
    const log = options.log ?? (() => {});
    super({
      name: 'Kommo sandbox',
      maxBodyBytes: KOMMO_SANDBOX_MAX_BODY_BYTES,
      internalErrorBody: kommoErrorBody(500, 'INTERNAL_SERVER_ERROR', 'sandbox failure'),
      log,
    });
    this.channelId = options.channelId;
    this.channelSecret = options.channelSecret;
    this.clock = options.clock ?? systemClock;
    this.log = log;
    this.integration = options.integration;
    for (const account of options.accounts ?? []) this.addAccount(account);
  }

  override async start(port?: number, host?: string): Promise<string> {
    this.baseUrl = await super.start(port, host);
    return this.baseUrl;
  }

  /** The bridge's KOMMO_ACCOUNT_URL for this sandbox (once started): every account at `/accounts/<subdomain>`. */
  get accountUrlTemplate(): string {
    if (this.baseUrl === undefined) throw new Error('the Kommo sandbox is not started');
    return `${this.baseUrl}${ACCOUNTS_PATH}{subdomain}`;
  }

  addAccount(account: SandboxKommoAccount): void {
    this.accounts.set(account.subdomain, account);
  }

  /**
   * What Kommo puts in its redirect when an admin of the account allows the integration: a fresh code,
   * single use, valid 20 minutes on the sandbox clock.
   */
  issueAuthorizationCode(subdomain: string): string {
    if (!this.integration) throw new Error('the Kommo sandbox has no integration: pass `integration` to issue codes');
    if (!this.accounts.has(subdomain)) throw new Error(`the Kommo sandbox has no account "${subdomain}"`);
    const code = `def50200${randomBytes(96).toString('hex')}`;
    this.codes.set(code, { subdomain, issuedAt: this.clock.now(), used: false });
    return code;
  }

  oauthTokenCalls(): Extract<KommoSandboxCall, { method: 'oauth_token' }>[] {
    return this.calls.filter(
      (call): call is Extract<KommoSandboxCall, { method: 'oauth_token' }> => call.method === 'oauth_token',
    );
  }

  /** Whether `connect` was called for this scope and no `disconnect` since. */
  isConnected(scopeId: string): boolean {
    return this.connectedScopes.has(scopeId);
  }

  typingCalls(): Extract<KommoSandboxCall, { method: 'typing' }>[] {
    return this.calls.filter(
      (call): call is Extract<KommoSandboxCall, { method: 'typing' }> => call.method === 'typing',
    );
  }

  deliveryStatusCalls(): Extract<KommoSandboxCall, { method: 'delivery_status' }>[] {
    return this.calls.filter(
      (call): call is Extract<KommoSandboxCall, { method: 'delivery_status' }> => call.method === 'delivery_status',
    );
  }

  /** Forgets calls, refusals, connections and every fault injected. */
  reset(): void {
    this.calls.length = 0;
    this.rejected.length = 0;
    this.connectedScopes.clear();
    this.codes.clear();
    this.accessTokens.clear();
    this.resetFaults();
  }

  protected answer({ method: httpMethod, path, query, headers, body }: SandboxRequest): SandboxAnswer {
    const accountApi = path.startsWith(ACCOUNTS_PATH);
    const verdict =
      body === undefined
        ? refuse(413, 'REQUEST_ENTITY_TOO_LARGE', `body is larger than ${KOMMO_SANDBOX_MAX_BODY_BYTES} bytes`)
        : accountApi
          ? this.judgeAccountApi(httpMethod, path, query, headers, body)
          : this.judge(httpMethod, path, headers, body);
    if ('refused' in verdict) {
      const { refused } = verdict;
      this.rejected.push({ ...refused, httpMethod, path, scripted: false, at: this.clock.now() });
      this.log(`Kommo refuses ${httpMethod} ${path}: ${refused.status} ${refused.errorType} (${refused.reason})`);
      return {
        status: refused.status,
        body: accountApi
          ? kommoOAuthErrorBody(refused.status, refused.errorType, refused.reason)
          : kommoErrorBody(refused.status, refused.errorType, refused.reason),
        ...(refused.status === 405
          ? { headers: { allow: (accountApi ? matchAccountRoute(path)?.httpMethod : routeHttpMethod(path)) ?? '' } }
          : {}),
      };
    }
    const call = verdict.accepted;
    const scripted = this.scriptedAnswer(call);
    if (scripted) {
      const errorType = errorTypeOf(scripted.body) ?? defaultErrorType(scripted.status);
      this.rejected.push({
        status: scripted.status,
        errorType,
        httpMethod,
        path,
        reason: 'scripted answer',
        scripted: true,
        at: call.at,
      });
      this.log(
        `Kommo answers ${call.method} with a scripted ${scripted.status} ${errorType}; nothing changes in Kommo`,
      );
      return {
        status: scripted.status,
        body:
          scripted.body ??
          (scripted.status >= 400 ? kommoErrorBody(scripted.status, errorType, 'scripted failure') : {}),
        headers: scripted.headers ?? {},
      };
    }
    const [status, answerBody] = this.apply(call);
    return { status, body: answerBody };
  }

  private judge(httpMethod: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Verdict {
    const route = matchRoute(path);
    if (!route) return refuse(404, 'NOT_FOUND', `no Kommo Chat API method at ${path}`);
    if (httpMethod !== route.httpMethod)
      return refuse(405, 'METHOD_NOT_ALLOWED', `${route.method} takes ${route.httpMethod}, not ${httpMethod}`);

    if ('channelId' in route) {
      if (route.channelId !== this.channelId)
        return refuse(404, 'ORIGIN_NOT_REGISTERED', `channel ${route.channelId} is not registered`);
    } else if (!route.scopeId.startsWith(`${this.channelId}_`) || route.scopeId.length === this.channelId.length + 1) {
      return refuse(
        404,
        'ORIGIN_NOT_REGISTERED',
        `scope ${route.scopeId} does not belong to channel ${this.channelId}`,
      );
    }

    const signatureProblem = this.signatureProblem(httpMethod, path, headers, body);
    if (signatureProblem) return refuse(403, 'ORIGIN_INVALID_SIGNATURE', signatureProblem);

    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return refuse(400, 'BAD_REQUEST', 'body is not valid JSON');
    }
    const at = this.clock.now();
    switch (route.method) {
      case 'connect': {
        const parsed = connectBody.safeParse(json);
        if (!parsed.success) return refuse(400, 'BAD_REQUEST', describeIssues(parsed.error));
        return {
          accepted: {
            method: 'connect',
            scopeId: `${this.channelId}_${parsed.data.account_id}`,
            body: parsed.data,
            at,
          },
        };
      }
      case 'disconnect': {
        const parsed = disconnectBody.safeParse(json);
        if (!parsed.success) return refuse(400, 'BAD_REQUEST', describeIssues(parsed.error));
        return {
          accepted: {
            method: 'disconnect',
            scopeId: `${this.channelId}_${parsed.data.account_id}`,
            body: parsed.data,
            at,
          },
        };
      }
      case 'typing': {
        const parsed = typingBody.safeParse(json);
        if (!parsed.success) return refuse(400, 'BAD_REQUEST', describeIssues(parsed.error));
        return { accepted: { method: 'typing', scopeId: route.scopeId, body: parsed.data, at } };
      }
      case 'delivery_status': {
        const parsed = deliveryStatusBody.safeParse(json);
        if (!parsed.success) return refuse(400, 'BAD_REQUEST', describeIssues(parsed.error));
        const problem = deliveryStatusProblem(parsed.data, route.msgid);
        if (problem) return refuse(400, 'BAD_REQUEST', problem);
        return {
          accepted: { method: 'delivery_status', scopeId: route.scopeId, msgid: route.msgid, body: parsed.data, at },
        };
      }
    }
  }

  /** An account's own API: the token endpoint and the account read (see the class comment). */
  private judgeAccountApi(
    httpMethod: string,
    path: string,
    query: URLSearchParams,
    headers: IncomingHttpHeaders,
    body: Buffer,
  ): Verdict {
    const route = matchAccountRoute(path);
    if (!route) return refuse(404, 'NOT_FOUND', `no Kommo account API at ${path}`);
    if (httpMethod !== route.httpMethod)
      return refuse(405, 'METHOD_NOT_ALLOWED', `${path} takes ${route.httpMethod}, not ${httpMethod}`);
    // A subdomain with no account is a host that does not exist.
    if (!this.accounts.has(route.subdomain)) return refuse(404, 'NOT_FOUND', `no Kommo account "${route.subdomain}"`);
    const at = this.clock.now();
    if (route.method === 'account') {
      const token = /^Bearer (\S+)$/.exec(singleHeader(headers, 'authorization') ?? '')?.[1];
      const issued = token === undefined ? undefined : this.accessTokens.get(token);
      if (!issued || issued.subdomain !== route.subdomain)
        return refuse(401, 'Unauthorized', 'Authorization must be "Bearer <an access token this account issued>"');
      if (issued.expiresAt <= at) return refuse(401, 'Unauthorized', 'the access token has expired');
      return {
        accepted: {
          method: 'account',
          subdomain: route.subdomain,
          body: { with: query.get('with') ?? undefined },
          accessToken: token!,
          at,
        },
      };
    }
    const contentType = singleHeader(headers, 'content-type') ?? '';
    if (!/^application\/json\b/i.test(contentType))
      return refuse(
        400,
        'invalid_request',
        `the token request must be JSON, got Content-Type ${contentType || 'none'}`,
      );
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return refuse(400, 'invalid_request', 'body is not valid JSON');
    }
    const parsed = tokenRequestBody.safeParse(json);
    if (!parsed.success) return refuse(400, 'invalid_request', describeIssues(parsed.error));
    const request = parsed.data;
    const integration = this.integration;
    if (!integration || request.client_id !== integration.clientId)
      return refuse(400, 'invalid_client', `client_id ${request.client_id} is no integration of this sandbox`);
    if (!sameText(request.client_secret, integration.clientSecret))
      return refuse(400, 'invalid_client', "client_secret is not the integration's secret key");
    if (request.grant_type !== 'authorization_code')
      return refuse(400, 'unsupported_grant_type', `grant_type must be authorization_code, got ${request.grant_type}`);
    if (request.redirect_uri !== integration.redirectUri)
      return refuse(400, 'invalid_client', 'redirect_uri differs from the Redirect URI registered for the integration');
    const code = this.codes.get(request.code);
    if (!code || code.subdomain !== route.subdomain)
      return refuse(400, 'invalid_grant', 'Cannot decrypt the authorization code: this account never issued it');
    if (code.used) return refuse(400, 'invalid_grant', 'Authorization code has been revoked: it was already exchanged');
    if (at - code.issuedAt > AUTHORIZATION_CODE_LIFETIME_MS)
      return refuse(400, 'invalid_grant', 'Authorization code has expired');
    const { client_secret: _, ...recorded } = request;
    return { accepted: { method: 'oauth_token', subdomain: route.subdomain, body: recorded, at } };
  }

  /** Why the request's signature headers fail Kommo's check, or `undefined` when they pass. */
  private signatureProblem(
    httpMethod: string,
    path: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
  ): string | undefined {
    const date = singleHeader(headers, 'date');
    if (date === undefined) return 'Date header is missing';
    const signedAt = parseAmojoDate(date);
    if (!signedAt) return `Date "${date}" is not RFC 2822 with a numeric zone, e.g. "Thu, 16 Dec 2021 16:01:21 +0000"`;
    if (Math.abs(this.clock.now() - signedAt.getTime()) > AMOJO_DATE_TOLERANCE_MS) {
      return `Date "${date}" is more than 15 minutes away from Kommo's clock`;
    }
    const contentType = singleHeader(headers, 'content-type');
    if (contentType !== AMOJO_CONTENT_TYPE)
      return `Content-Type must be ${AMOJO_CONTENT_TYPE}, got ${contentType ?? 'none'}`;
    const md5 = contentMd5(body);
    if (!hexSignatureMatches(md5, singleHeader(headers, 'content-md5')))
      return 'Content-MD5 is not the lowercase hex MD5 of the body';
    // The MD5 of the received bytes is already proven equal to the header, so the string to sign is
    // byte-exact even for a body that is not valid UTF-8.
    const stringToSign = amojoStringToSign({ method: httpMethod, path, body: '', date }, md5, date);
    const expected = createHmac('sha1', this.channelSecret).update(stringToSign).digest('hex');
    if (!hexSignatureMatches(expected, singleHeader(headers, 'x-signature'))) {
      return 'X-Signature is not the lowercase hex HMAC-SHA1 of method, Content-MD5, Content-Type, Date and path';
    }
    return undefined;
  }

  /** Applies an accepted call and returns Kommo's answer. */
  private apply(call: KommoSandboxCall): [status: number, body: unknown] {
    this.calls.push(call);
    switch (call.method) {
      case 'connect':
        this.connectedScopes.add(call.scopeId);
        this.log(
          `Kommo connects account ${call.body.account_id} to channel "${call.body.title}" as scope ${call.scopeId}`,
        );
        return [200, { ...call.body, scope_id: call.scopeId }];
      case 'disconnect':
        this.connectedScopes.delete(call.scopeId);
        this.log(`Kommo disconnects account ${call.body.account_id} from the channel`);
        return [200, {}];
      case 'typing': {
        const seconds = (call.body.duration_ms ?? DEFAULT_TYPING_DURATION_MS) / 1000;
        this.log(
          `Kommo shows "typing…" from client ${call.body.sender.id} in conversation ${call.body.conversation_id} for ${seconds} s`,
        );
        return [204, undefined];
      }
      case 'delivery_status':
        this.log(`Kommo marks message ${call.msgid} as ${describeDeliveryStatus(call.body)}`);
        return [200, {}];
      case 'oauth_token': {
        this.codes.get(call.body.code)!.used = true;
        const accessToken = randomBytes(48).toString('base64url');
        this.accessTokens.set(accessToken, {
          subdomain: call.subdomain,
          expiresAt: call.at + ACCESS_TOKEN_LIFETIME_SECONDS * 1000,
        });
        this.log(`Kommo account ${call.subdomain} exchanges an authorization code for the integration's access token`);
        return [
          200,
          {
            token_type: 'Bearer',
            expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
            server_time: Math.floor(call.at / 1000),
            access_token: accessToken,
            refresh_token: randomBytes(48).toString('base64url'),
          },
        ];
      }
      case 'account': {
        const account = this.accounts.get(call.subdomain)!;
        const withAmojoId = (call.body.with ?? '').split(',').includes('amojo_id');
        this.log(
          `Kommo account ${call.subdomain} answers who it is (id ${account.id}${withAmojoId ? `, amojo id ${account.amojoId}` : ''})`,
        );
        return [
          200,
          {
            id: account.id,
            name: account.name ?? account.subdomain,
            subdomain: account.subdomain,
            country: 'US',
            currency: 'USD',
            ...(withAmojoId ? { amojo_id: account.amojoId } : {}),
            _links: { self: { href: `https://${account.subdomain}.kommo.com/api/v4/account` } },
          },
        ];
      }
    }
  }
}

/** An account API route: `/accounts/<subdomain>/oauth2/access_token` or `/accounts/<subdomain>/api/v4/account`. */
function matchAccountRoute(
  path: string,
): { method: 'oauth_token' | 'account'; httpMethod: 'POST' | 'GET'; subdomain: string } | undefined {
  const match = /^\/accounts\/([a-z0-9-]+)\/(oauth2\/access_token|api\/v4\/account)$/.exec(path);
  if (!match) return undefined;
  return match[2] === 'oauth2/access_token'
    ? { method: 'oauth_token', httpMethod: 'POST', subdomain: match[1]! }
    : { method: 'account', httpMethod: 'GET', subdomain: match[1]! };
}

function sameText(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const routePattern = /^\/v2\/origin\/custom\/([^/]+)\/(?:(connect|disconnect|typing)|([^/]+)\/delivery_status)$/;

function matchRoute(path: string): Route | undefined {
  const match = routePattern.exec(path);
  if (!match) return undefined;
  const [, first, action, encodedMsgid] = match;
  const id = decodeSegment(first);
  if (id === undefined) return undefined;
  if (action === 'connect') return { method: 'connect', httpMethod: 'POST', channelId: id };
  if (action === 'disconnect') return { method: 'disconnect', httpMethod: 'DELETE', channelId: id };
  if (action === 'typing') return { method: 'typing', httpMethod: 'POST', scopeId: id };
  const msgid = decodeSegment(encodedMsgid);
  return msgid === undefined ? undefined : { method: 'delivery_status', httpMethod: 'POST', scopeId: id, msgid };
}

function routeHttpMethod(path: string): string | undefined {
  return matchRoute(path)?.httpMethod;
}

function decodeSegment(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Kommo's delivery-status rules beyond field shapes (docs/kommo.md, "Methods"). */
function deliveryStatusProblem(body: KommoDeliveryStatusBody, pathMsgid: string): string | undefined {
  if (body.msgid !== pathMsgid) return `msgid "${body.msgid}" differs from the msgid in the path "${pathMsgid}"`;
  if (body.delivery_status !== -1) {
    // The official guide's example sends error fields with status 2; the reference allows them only with -1,
    // and the sandbox keeps the bridge to the reference.
    if (body.error_code !== undefined || body.error !== undefined)
      return 'error_code and error are allowed only with delivery_status -1';
    return undefined;
  }
  if (body.error_code === undefined) return 'error_code (901-905) is required with delivery_status -1';
  if (body.error_code === 905 && (body.error === undefined || body.error.trim() === '')) {
    return 'error text is required with error_code 905: it is shown to the Kommo user';
  }
  return undefined;
}

const errorCodeMeanings: Record<number, string> = {
  901: 'the user deleted the message',
  902: 'integration disabled on the channel side',
  903: 'internal server error',
  904: 'unable to create a conversation',
};

function describeDeliveryStatus(body: KommoDeliveryStatusBody): string {
  if (body.delivery_status === 1) return 'delivered';
  if (body.delivery_status === 2) return 'read';
  const code = body.error_code ?? 905;
  return `error ${code}: ${body.error ?? errorCodeMeanings[code] ?? 'error'}`;
}

function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}

function defaultErrorType(status: number): string {
  const types: Record<number, string> = {
    400: 'BAD_REQUEST',
    403: 'ORIGIN_INVALID_SIGNATURE',
    404: 'NOT_FOUND',
    429: 'TOO_MANY_REQUESTS',
    500: 'INTERNAL_SERVER_ERROR',
    502: 'BAD_GATEWAY',
    503: 'SERVICE_UNAVAILABLE',
    504: 'GATEWAY_TIMEOUT',
  };
  return types[status] ?? `HTTP_${status}`;
}

function errorTypeOf(body: unknown): string | undefined {
  const value = body !== null && typeof body === 'object' ? (body as { error_type?: unknown }).error_type : undefined;
  return typeof value === 'string' ? value : undefined;
}
