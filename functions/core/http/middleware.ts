import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { BridgeError, unauthenticated } from '../domain/errors';
import { StandardWebhookVerifier } from '../domain/standard-webhooks';
import type { BridgeDeps } from '../deps';
import type { Log } from '../ports/telemetry';
import { errorAnswer, header, MAX_BODY_BYTES, rawBody, type ApiEvent, type ApiResult } from './api';

type HttpMiddleware = middy.MiddlewareObj<ApiEvent, ApiResult, Error, Context>;

/** Maps every error to the contract's JSON error; unexpected ones are logged (with their stack) and answered 500 without it. */
export function jsonErrors(log: Log): HttpMiddleware {
  return {
    onError: async (request) => {
      const error = request.error;
      if (!(error instanceof BridgeError)) {
        log.error('request failed', { error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error) });
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
 * Standard Webhooks authentication for `/chat/...` routes, with replay protection: the first request
 * with a `webhook-id` claims it; repeats get the first answer again and change nothing. A request that
 * failed on our side (5xx) releases its claim so the chat service's retry is processed.
 */
export function chatServiceAuth(deps: Pick<BridgeDeps, 'config' | 'clock' | 'replays' | 'log'>): HttpMiddleware {
  const verifier = new StandardWebhookVerifier(deps.config.CHAT_SERVICE_SECRET);
  const claimed = new WeakMap<object, string>();
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
      const claim = await deps.replays.claim(verdict.webhookId, deps.clock.now());
      if (claim.state === 'answered') {
        return {
          statusCode: claim.answer.statusCode,
          headers: { 'content-type': 'application/json; charset=utf-8', 'webhook-replayed': 'true' },
          body: claim.answer.body,
        };
      }
      if (claim.state === 'in_progress') {
        throw new BridgeError('conflict', 'request_in_progress', 'A request with this webhook-id is still being processed; retry shortly');
      }
      claimed.set(request, verdict.webhookId);
    },
    after: async (request) => {
      const webhookId = claimed.get(request);
      if (webhookId === undefined || !request.response) return;
      try {
        await deps.replays.answer(webhookId, { statusCode: request.response.statusCode, body: request.response.body }, deps.clock.now(), REPLAY_RECORD_SECONDS);
      } catch (error) {
        // The request took effect: answer it truly. Its claim lapses on its own, so a retry is processed again.
        deps.log.warn('could not record the answer for a webhook-id', { error: error instanceof Error ? error.message : String(error) });
      }
    },
    onError: async (request) => {
      const webhookId = claimed.get(request);
      if (webhookId === undefined) return;
      const answer = errorAnswer(request.error);
      try {
        if (answer.statusCode < 500) {
          await deps.replays.answer(webhookId, { statusCode: answer.statusCode, body: answer.body }, deps.clock.now(), REPLAY_RECORD_SECONDS);
        } else {
          await deps.replays.release(webhookId);
        }
      } catch (error) {
        deps.log.warn('could not record the answer for a webhook-id', { error: error instanceof Error ? error.message : String(error) });
      }
    },
  };
}

/** Publishes buffered metrics once per invocation (Powertools EMF in Lambda). */
export function flushMetrics(metrics: { flush?: () => void }): middy.MiddlewareObj {
  const flush = async () => metrics.flush?.();
  return { after: flush, onError: flush };
}
