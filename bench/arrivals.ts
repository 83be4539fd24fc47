import type { ChatServiceSink, ReceivedChatEvent } from '../local/sandbox/chat-service-sink';
import { sourceOfPrintedLine } from '../local/runtime';
import type { KommoSandbox, KommoSandboxCall } from '../local/sandbox/kommo-sandbox';

/** When something reached a sandbox, on the `performance.now()` clock the bench also sends on. */
export interface Arrival<T> {
  item: T;
  at: number;
}

/**
 * Timestamps what the Kommo sandbox accepts and what the chat-service sink records with
 * `performance.now()`, sub-millisecond and on the same clock the bench sends requests on.
 *
 * The hook is the sandboxes' `log` callback (routed through the runtime's `print`): both call it
 * synchronously right after recording a call or an event, so on every sandbox line the new entries of
 * `kommo.calls` and `sink.events` are stamped. No sandbox code is changed and no log text is parsed.
 */
export class ArrivalClock {
  private kommo: KommoSandbox | undefined;
  private sink: ChatServiceSink | undefined;
  private kommoSeen = 0;
  private sinkSeen = 0;
  private recording = true;
  private readonly arrivals = new Map<string, Arrival<unknown>[]>();
  private readonly waiters = new Map<string, (() => void)[]>();

  attach(kommo: KommoSandbox, sink: ChatServiceSink): void {
    this.kommo = kommo;
    this.sink = sink;
    this.kommoSeen = kommo.calls.length;
    this.sinkSeen = sink.events.length;
  }

  /** Give every line the runtime prints; sandbox lines trigger a scan. */
  onLine(line: string): void {
    const source = sourceOfPrintedLine(line);
    if (source === 'kommo sandbox') this.scanKommo();
    else if (source === 'chat service') this.scanSink();
  }

  /** Everything that arrived under `key` so far, oldest first. */
  all<T>(key: string): Arrival<T>[] {
    return (this.arrivals.get(key) ?? []) as Arrival<T>[];
  }

  /** Resolves with the first arrival under `key` (already there or yet to come), or `undefined` after `timeoutMs`. */
  async first<T>(key: string, timeoutMs: number): Promise<Arrival<T> | undefined> {
    const known = this.all<T>(key)[0];
    if (known) return known;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.set(
          key,
          (this.waiters.get(key) ?? []).filter((waiter) => waiter !== wake),
        );
        resolve(undefined);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(this.all<T>(key)[0]);
      };
      this.waiters.set(key, [...(this.waiters.get(key) ?? []), wake]);
    });
  }

  /**
   * Stops (or resumes) stamping: for load runs that need no stamps, so the bench does not hold one
   * entry per request. The sandboxes keep their own records either way.
   */
  setRecording(recording: boolean): void {
    this.recording = recording;
  }

  private scanKommo(): void {
    const kommo = this.kommo;
    if (!kommo) return;
    const at = performance.now();
    while (this.kommoSeen < kommo.calls.length) {
      const call = kommo.calls[this.kommoSeen]!;
      this.kommoSeen += 1;
      if (this.recording) this.record(kommoKey(call), call, at);
    }
  }

  private scanSink(): void {
    const sink = this.sink;
    if (!sink) return;
    const at = performance.now();
    while (this.sinkSeen < sink.events.length) {
      const event = sink.events[this.sinkSeen]!;
      this.sinkSeen += 1;
      if (this.recording) this.record(sinkKey(event), event, at);
    }
  }

  private record(key: string | undefined, item: unknown, at: number): void {
    if (key === undefined) return;
    const list = this.arrivals.get(key);
    if (list) list.push({ item, at });
    else this.arrivals.set(key, [{ item, at }]);
    const waiting = this.waiters.get(key);
    if (waiting) {
      this.waiters.delete(key);
      for (const wake of waiting) wake();
    }
  }
}

/** `typing:<conversation_id>` or `delivery_status:<msgid>` for a Kommo call. */
export function kommoKey(call: KommoSandboxCall): string | undefined {
  if (call.method === 'typing') return typingCallKey(call.body.conversation_id);
  if (call.method === 'delivery_status') return deliveryStatusCallKey(call.msgid);
  return undefined;
}

/** `<event type>:<kommo_conversation_id>` for a chat-service event. */
export function sinkKey(event: ReceivedChatEvent): string | undefined {
  const conversation = event.data.kommo_conversation_id;
  return typeof conversation === 'string' ? chatEventKey(event.type, conversation) : undefined;
}

export const typingCallKey = (conversationId: string) => `typing:${conversationId}`;
export const deliveryStatusCallKey = (msgid: string) => `delivery_status:${msgid}`;
export const chatEventKey = (type: string, kommoConversationId: string) => `${type}:${kommoConversationId}`;
