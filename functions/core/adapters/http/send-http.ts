import { OutboundCallError, type Party } from '../../ports/outbound';

/**
 * The most of an answer the bridge reads: every answer it parses (Kommo's errors, its OAuth token and
 * account, the chat service's status) is a few hundred bytes. The rest is never read: the stream is
 * cancelled, so a huge or endless answer costs 64 KiB of memory, not its size.
 */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** Text from another party (an error description, a hint) is cut to this many characters before it is stored or logged. */
export const MAX_REMOTE_TEXT_CHARS = 500;

export interface HttpCall {
  party: Party;
  url: string;
  method: 'POST' | 'DELETE' | 'GET';
  headers: Record<string, string>;
  /** None for a GET: fetch refuses a GET with a body, even an empty one. */
  body?: string | Buffer;
  /** How long the call may take; also what a timeout's message says. */
  timeoutMs: number;
  /** Ends the call instead of a real-time timer of `timeoutMs`, e.g. a deadline on the bridge's clock. */
  signal?: AbortSignal;
  /**
   * `discard`: only the status matters (event deliveries, hook forwards), so the body is not read at
   * all; by default its first `MAX_ANSWER_BYTES` are.
   */
  answer?: 'read' | 'discard';
}

export interface HttpAnswer {
  status: number;
  /** The answer's first `MAX_ANSWER_BYTES` as UTF-8 (empty when discarded). */
  text: string;
  /** The answer went on beyond `MAX_ANSWER_BYTES` and was cut there (so it is no JSON the bridge parses). */
  truncated: boolean;
}

/** One HTTP call with a hard timeout. Network failures and timeouts become a status-less `OutboundCallError`. */
export async function sendHttp(call: HttpCall): Promise<HttpAnswer> {
  try {
    const response = await fetch(call.url, {
      method: call.method,
      headers: call.headers,
      body: call.body,
      signal: call.signal ?? AbortSignal.timeout(call.timeoutMs),
      redirect: 'error',
    });
    if (call.answer === 'discard') {
      await response.body?.cancel();
      return { status: response.status, text: '', truncated: false };
    }
    return { status: response.status, ...(await readCapped(response, MAX_ANSWER_BYTES)) };
  } catch (error) {
    const reason =
      error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
        ? `timed out after ${call.timeoutMs} ms`
        : `network error: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`;
    throw new OutboundCallError(call.party, `${call.party} ${call.method} ${new URL(call.url).pathname} ${reason}`);
  }
}

/** Reads the body chunk by chunk up to `limit` bytes, then cancels the rest (the connection is closed, not drained). */
async function readCapped(response: Response, limit: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
    const room = limit - size;
    if (value.byteLength > room) {
      chunks.push(value.subarray(0, room));
      await reader.cancel();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
}

/**
 * Another party's text, cut to `MAX_REMOTE_TEXT_CHARS` (with `…` when cut): what the bridge keeps of
 * it in a stored record, an error message or a log line.
 */
export function remoteText(text: string, maxChars = MAX_REMOTE_TEXT_CHARS): string {
  if (text.length <= maxChars) return text;
  let end = maxChars - 1;
  // Never half a surrogate pair.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** A JSON object from an answer's text, or undefined when it is not one (error bodies are not always JSON). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
