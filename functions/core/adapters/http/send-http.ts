import { OutboundCallError, type Party } from '../../ports/outbound';

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
}

export interface HttpAnswer {
  status: number;
  text: string;
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
    return { status: response.status, text: await response.text() };
  } catch (error) {
    const reason =
      error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
        ? `timed out after ${call.timeoutMs} ms`
        : `network error: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`;
    throw new OutboundCallError(call.party, `${call.party} ${call.method} ${new URL(call.url).pathname} ${reason}`);
  }
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
