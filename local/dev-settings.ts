import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Sandbox mode writes its fresh dev settings here (git-ignored) so that `npm run send` can sign
 * requests for the running bridge. They are throwaway values for the local sandbox only.
 */
export const DEV_SETTINGS_FILE = new URL('../.local-data/sandbox.json', import.meta.url);

/** `LOCAL_DEV_SETTINGS_FILE` moves the file: a second sandbox (a test's) then leaves the developer's own untouched. */
function settingsFile(): URL | string {
  return process.env.LOCAL_DEV_SETTINGS_FILE || DEV_SETTINGS_FILE;
}

export interface DevSettings {
  url: string;
  scopeId: string;
  accountId: string;
  channelSecret: string;
  chatServiceSecret: string;
  /** The sink's status URL (the bridge's CHAT_SERVICE_STATUS_URL), where `chat-status` sets a message's status. */
  chatServiceStatusUrl?: string;
}

export function writeDevSettings(settings: DevSettings): void {
  const file = settingsFile();
  mkdirSync(dirname(file instanceof URL ? fileURLToPath(file) : file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
}

export function readDevSettings(): DevSettings {
  try {
    return JSON.parse(readFileSync(settingsFile(), 'utf8')) as DevSettings;
  } catch {
    throw new Error('No running sandbox found: start the bridge with `npm start` (sandbox mode) first.');
  }
}
