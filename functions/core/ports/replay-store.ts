/** The first answer given to a Standard Webhooks `webhook-id`, replayed for repeats. */
export interface StoredAnswer {
  statusCode: number;
  body: string;
}

/**
 * What a `webhook-id` was first used for. A Standard Webhooks signature covers the id, the timestamp and
 * the body, not the method or the path, so the id is bound to the request it first came with.
 */
export interface WebhookRequest {
  webhookId: string;
  /** A hash of what the request targets and carries (method, route and path parameters, body bytes). */
  fingerprint: string;
}

export type ReplayClaim =
  | { state: 'new' }
  /** The same request was answered before: this is its answer. */
  | { state: 'answered'; answer: StoredAnswer }
  /** The same request is still being processed. */
  | { state: 'in_progress' }
  /** The id was used by another request (another route, scope, method or body). */
  | { state: 'used_elsewhere' };

export interface ReplayStore {
  /**
   * Atomically claims the id for this request, once across the whole API. A live claim of the same
   * request wins over this one; a claim of another request makes the id unusable for this one.
   * `ttlSeconds`: how long the id stays bound to the request.
   */
  claim(request: WebhookRequest, nowMs: number, ttlSeconds: number): Promise<ReplayClaim>;
  /** Records the answer so that repeats get it again. */
  answer(request: WebhookRequest, answer: StoredAnswer, nowMs: number, ttlSeconds: number): Promise<void>;
  /**
   * Gives up a claim whose request failed on our side (5xx), so the sender's retry of the same request
   * is processed; the id stays bound to that request.
   */
  release(request: WebhookRequest): Promise<void>;
}
