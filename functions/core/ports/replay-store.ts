/** The first answer given to a Standard Webhooks `webhook-id`, replayed for repeats. */
export interface StoredAnswer {
  statusCode: number;
  body: string;
}

export type ReplayClaim = { state: 'new' } | { state: 'answered'; answer: StoredAnswer } | { state: 'in_progress' };

export interface ReplayStore {
  /** Atomically claims `webhookId` for as long as a request can run; a live earlier claim wins. */
  claim(webhookId: string, nowMs: number): Promise<ReplayClaim>;
  /** Records the answer so that repeats get it again. */
  answer(webhookId: string, answer: StoredAnswer, nowMs: number, ttlSeconds: number): Promise<void>;
  /** Drops a claim whose request failed on our side (5xx), so the sender's retry is processed. */
  release(webhookId: string): Promise<void>;
}
