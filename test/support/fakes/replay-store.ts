import { IN_PROGRESS_CLAIM_SECONDS } from '../../../functions/core/adapters/dynamodb/replay-store';
import type {
  ReplayClaim,
  ReplayStore,
  StoredAnswer,
  WebhookRequest,
} from '../../../functions/core/ports/replay-store';

interface ReplayRecord {
  fingerprint: string;
  state: 'in_progress' | 'answered' | 'released';
  leaseUntilMs?: number;
  answer?: StoredAnswer;
  expiresAtMs: number;
}

/**
 * Claimed `webhook-id`s in memory, with the port's rules: an id is bound to the first request that
 * claimed it until it expires; only that same request may take back a released or lapsed claim.
 */
export class InMemoryReplayStore implements ReplayStore {
  private readonly records = new Map<string, ReplayRecord>();

  async claim(request: WebhookRequest, nowMs: number, ttlSeconds: number): Promise<ReplayClaim> {
    const existing = this.records.get(request.webhookId);
    const free =
      !existing ||
      existing.expiresAtMs <= nowMs ||
      (existing.fingerprint === request.fingerprint &&
        (existing.state === 'released' || (existing.state === 'in_progress' && (existing.leaseUntilMs ?? 0) <= nowMs)));
    if (free) {
      this.records.set(request.webhookId, {
        fingerprint: request.fingerprint,
        state: 'in_progress',
        leaseUntilMs: nowMs + IN_PROGRESS_CLAIM_SECONDS * 1000,
        expiresAtMs: nowMs + ttlSeconds * 1000,
      });
      return { state: 'new' };
    }
    if (existing.fingerprint !== request.fingerprint) return { state: 'used_elsewhere' };
    if (existing.state === 'answered' && existing.answer) return { state: 'answered', answer: { ...existing.answer } };
    return { state: 'in_progress' };
  }

  async answer(request: WebhookRequest, answer: StoredAnswer, nowMs: number, ttlSeconds: number): Promise<void> {
    const existing = this.records.get(request.webhookId);
    if (existing?.fingerprint !== request.fingerprint) return;
    this.records.set(request.webhookId, {
      fingerprint: request.fingerprint,
      state: 'answered',
      answer: { ...answer },
      expiresAtMs: nowMs + ttlSeconds * 1000,
    });
  }

  async release(request: WebhookRequest): Promise<void> {
    const existing = this.records.get(request.webhookId);
    if (existing?.fingerprint !== request.fingerprint || existing.state !== 'in_progress') return;
    existing.state = 'released';
    delete existing.leaseUntilMs;
  }
}
