import { expect } from 'vitest';
import type { TestResponse } from './test-bridge';

/**
 * docs/contract.md: every error is `{"error": {"code", "message"}}` in JSON and nothing else. With
 * `status` (one, or the ones a probe may get) the answer has that status, and with `code` that code;
 * without a status it is any 4xx: a refusal of the request, never the bridge failing.
 */
export function expectContractError(response: TestResponse, status?: number | readonly number[], code?: string): void {
  const said = `status ${response.status} ${JSON.stringify(response.body)}`;
  if (typeof status === 'number') expect(response.status, said).toBe(status);
  else if (status) expect(status, said).toContain(response.status);
  else {
    expect(response.status, said).toBeGreaterThanOrEqual(400);
    expect(response.status, said).toBeLessThan(500);
  }
  expectErrorBody(response);
  if (code !== undefined) expect(response.body.error.code, said).toBe(code);
}

/** The error body alone: two strings under `error`, no stack, no other key. */
export function expectErrorBody(response: TestResponse): void {
  expect(String(response.headers['content-type'])).toMatch(/^application\/json/);
  expect(Object.keys(response.body ?? {})).toEqual(['error']);
  expect(Object.keys(response.body.error).sort()).toEqual(['code', 'message']);
  expect(response.body.error.code).toMatch(/^[a-z][a-z_]*$/);
  expect(typeof response.body.error.message).toBe('string');
  expect(response.body.error.message.length).toBeGreaterThan(0);
  expect(JSON.stringify(response.body)).not.toMatch(/stack|\n\s+at |\.ts:\d+|node_modules/i);
}
