import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDevSettings } from '../../local/dev-settings';
import { serveBridge, type RunningHttpServer } from '../../local/http-server';
import { givenBridge, type TestBridge } from '../support/test-bridge';

/**
 * `npm run send -- …` as a developer types it in the first hour, run as the process it is, against a
 * bridge served over HTTP (the dev settings file points it there, as `npm start` writes it).
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const settingsDir = mkdtempSync(join(tmpdir(), 'send-command-'));
const settingsFile = join(settingsDir, 'sandbox.json');

function send(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'local/send.ts', ...args],
      { cwd: root, env: { ...process.env, LOCAL_DEV_SETTINGS_FILE: settingsFile } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let bridge: TestBridge;
let http: RunningHttpServer;
/** One line per request the served bridge answered. */
const answered: string[] = [];

beforeAll(async () => {
  bridge = await givenBridge({}, { pollStatuses: true });
  http = await serveBridge(bridge.bridge, { port: 0, onAnswer: (line) => answered.push(line) });
  // writeDevSettings writes where LOCAL_DEV_SETTINGS_FILE says, as for the spawned commands.
  process.env.LOCAL_DEV_SETTINGS_FILE = settingsFile;
  try {
    writeDevSettings({
      url: http.url,
      scopeId: bridge.scopeId,
      accountId: bridge.accountId,
      channelSecret: bridge.secrets.channelSecret,
      chatServiceSecret: bridge.secrets.chatServiceSecret,
    });
  } finally {
    delete process.env.LOCAL_DEV_SETTINGS_FILE;
  }
});

afterAll(async () => {
  await http.close();
  await bridge.close();
  rmSync(settingsDir, { recursive: true, force: true });
});

describe('npm run send', () => {
  it('prints a usage that gives the ranges, and exits 2, for an unknown command', async () => {
    // Act
    const run = await send('what');

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('ttl_seconds 1-60, default 6');
    expect(run.stderr).toContain('ttl_seconds 10-3600, default 60');
    expect(run.stderr).toContain('error_code 901-905');
    expect(run.stderr).toContain('kommo-message <msgid>');
  });

  it('refuses a placeholder pasted literally, naming it, and sends nothing', async () => {
    // Act
    const run = await send('conversation', 'c-1', '<kommo chat id>', 'u-7');

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('<kommo chat id> is a placeholder');
    expect(answered).toEqual([]);
  });

  it('kommo-message posts a signed outgoing-message hook: the bridge then asks the chat service for its status', async () => {
    // Act
    const run = await send('kommo-message', 'msg-9');
    await bridge.advance(3_000);

    // Assess
    expect(run).toMatchObject({ code: 0, stdout: '200 {"ok":true}\n' });
    expect(answered).toEqual([`POST /kommo/${bridge.scopeId} → 200 {"ok":true}`]);
    expect(bridge.sink.statusQueriesFor('msg-9').length).toBeGreaterThanOrEqual(1);
  });
});
