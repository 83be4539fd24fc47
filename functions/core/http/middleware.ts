import { createHash } from 'node:crypto';
import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { httpRoutes } from '../../manifest';
import { requireSettings } from '../config';
import { BridgeError, unauthenticated } from '../domain/errors';
import { StandardWebhookVerifier } from '../domain/standard-webhooks';
import type { BridgeDeps } from '../deps';
import type { WebhookRequest } from '../ports/replay-store';
import { runOnce, type RunOnceDeps, type RunOnceRules } from '../use-cases/run-once';
import type { Log } from '../ports/telemetry';
import { errorAnswer, header, MAX_BODY_BYTES, rawBody, type ApiEvent, type ApiResult } from './api';

type HttpMiddleware = middy.MiddlewareObj<ApiEvent, ApiResult, Error, Context>;
type Route = (event: ApiEvent) => Promise<ApiResult>;

/** Maps every error to the contract's JSON error; unexpected ones are logged (with their stack) and answered 500 without it. */
export function jsonErrors(log: Log): HttpMiddleware {
  return {
    onError: async (request) => {
      const error = request.error;
      if (!(error instanceof BridgeError)) {
        log.error('request failed', {
          error:
            error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
        });
      }
      // Set, not returned: returning would skip the onError middlewares used before this one (metrics flush).
      request.response = errorAnswer(error);
    },
  };
}

/** Refuses bodies over 64 KiB before anything reads them. */
export function bodyLimit(): HttpMiddleware {
  return {
    before: async (request) => {
      const event = request.event;
      const size = event.body ? Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : 0;
      if (size > MAX_BODY_BYTES) {
        throw new BridgeError('too_large', 'body_too_large', `The body is larger than ${MAX_BODY_BYTES} bytes`);
      }
    },
  };
}

/** How long a `webhook-id` and its answer are kept: past the 5-minute window on either side, plus margin. */
export const REPLAY_RECORD_SECONDS = 15 * 60;

/**
 * What a request targets and carries: method, route, path parameters (as the route reads them, so
 * `u%2D1` and `u-1` are the same target) and the SHA-256 of the raw body. A Standard Webhooks signature
 * does not cover the method or the path; this binds a `webhook-id` to the one request it was signed for.
 */
export function requestFingerprint(event: ApiEvent, body: Buffer): string {
  const parameters = Object.entries(event.pathParameters ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return createHash('sha256')
    .update(JSON.stringify([event.requestContext.http.method, event.routeKey, parameters, bodyHash]))
    .digest('hex');
}

/** Unknown routes are claimed: a route forgets to say it is idempotent, and the cost is one write, not a replay. */
function claimsWebhookId(routeKey: string): boolean {
  return httpRoutes.find((route) => `${route.method} ${route.path}` === routeKey)?.replay !== 'idempotent';
}

export type ChatServiceAuthDeps = Pick<BridgeDeps, 'config' | 'clock' | 'replays' | 'log'>;

/**
 * Standard Webhooks authentication for `/chat/...` routes: the signature and the 5-minute window.
 * Replay protection is `webhookIdClaims`, around the route, where the route's manifest entry asks for it.
 */
export function chatServiceAuth(deps: ChatServiceAuthDeps): HttpMiddleware {
  const { CHAT_SERVICE_SECRET, CHAT_SERVICE_SECRET_PREVIOUS } = requireSettings(
    deps.config,
    ['CHAT_SERVICE_SECRET'],
    'the /chat/... routes',
  );
  // During a rotation requests signed with the previous secret are accepted too (docs/deploy-and-operate.md, "Rotating secrets").
  const verifier = new StandardWebhookVerifier(
    CHAT_SERVICE_SECRET_PREVIOUS === undefined
      ? CHAT_SERVICE_SECRET
      : [CHAT_SERVICE_SECRET, CHAT_SERVICE_SECRET_PREVIOUS],
  );
  return {
    before: async (request) => {
      const event = request.event;
      const verdict = verifier.verify(
        {
          'webhook-id': header(event, 'webhook-id'),
          'webhook-timestamp': header(event, 'webhook-timestamp'),
          'webhook-signature': header(event, 'webhook-signature'),
        },
        rawBody(event),
        deps.clock.now(),
      );
      if (!verdict.ok) throw unauthenticated(verdict.code, verdict.message);
    },
  };
}

/**
 * Replay protection for `/chat/...` routes whose manifest entry says a repeat would do harm
 * (`replay: 'claimed'`); idempotent routes (typing, presence heartbeats, GETs) only get the signature
 * and window check. A claimed `webhook-id` is single use across the whole API (`runOnce`): the first
 * request with it claims it; a repeat of that same request gets the first answer again and changes
 * nothing; the id with any other request (another route, scope, method or body) is refused with 409
 * `webhook_id_used`, whichever was first, even while the first runs. A request that failed on our side
 * (5xx) releases its claim so the chat service's retry of that same request is processed. Runs after
 * `chatServiceAuth`, so the `webhook-id` it reads is the verified one.
 */
export function webhookIdClaims(deps: RunOnceDeps, route: Route): Route {
  const rules: RunOnceRules<ApiResult> = {
    ttlSeconds: REPLAY_RECORD_SECONDS,
    keep: (answer) => ({ statusCode: answer.statusCode, body: answer.body }),
    keepError: (error) => {
      const answer = errorAnswer(error);
      return answer.statusCode < 500 ? { statusCode: answer.statusCode, body: answer.body } : 'release';
    },
    unrecorded: 'could not record the answer for a webhook-id',
  };
  return async (event) => {
    // A repeat of an idempotent request only extends what is there, or reads: no write to claim it.
    if (!claimsWebhookId(event.routeKey)) return route(event);
    const webhookRequest: WebhookRequest = {
      webhookId: header(event, 'webhook-id') ?? '',
      fingerprint: requestFingerprint(event, rawBody(event)),
    };
    const outcome = await runOnce(deps, webhookRequest, rules, () => route(event));
    switch (outcome.state) {
      case 'ran':
        return outcome.result;
      case 'answered':
        return {
          statusCode: outcome.answer.statusCode,
          headers: { 'content-type': 'application/json; charset=utf-8', 'webhook-replayed': 'true' },
          body: outcome.answer.body,
        };
      case 'in_progress':
        throw new BridgeError(
          'conflict',
          'request_in_progress',
          'A request with this webhook-id is still being processed; retry shortly',
        );
      case 'used_elsewhere':
        throw new BridgeError(
          'conflict',
          'webhook_id_used',
          'This webhook-id was already used for another request (another route, scope, method or body); every request needs its own webhook-id',
        );
    }
  };
}

/** Publishes buffered metrics once per invocation (Powertools EMF in Lambda). */
export function flushMetrics(metrics: { flush?: () => void }): middy.MiddlewareObj {
  const flush = async () => metrics.flush?.();
  return { after: flush, onError: flush };
}
