import { randomBytes } from 'node:crypto';
import { CountingMetrics, RecordingLog } from '../../../functions/core/adapters/telemetry/in-memory';
import { loadConfig, type BridgeConfig } from '../../../functions/core/config';
import { ManualClock, TEST_START } from '../manual-clock';
import { recordingQueues } from './queues';

/** The scope the unit tests speak for: a channel id and an amojo account id. */
export const UNIT_CHANNEL_ID = 'c0ffee00-0000-4000-8000-000000000001';
export const UNIT_ACCOUNT_ID = '52e591f7-c98f-4255-8495-827210138c81';
export const UNIT_SCOPE_ID = `${UNIT_CHANNEL_ID}_${UNIT_ACCOUNT_ID}`;

/** Secrets are random per run, made here and written down nowhere. */
export function unitSecrets() {
  return {
    channelSecret: randomBytes(20).toString('hex'),
    chatServiceSecret: `whsec_${randomBytes(32).toString('base64')}`,
  };
}

/** Settings as `loadConfig` reads them, with no secret required unless the test gives it. */
export function unitConfig(settings: Partial<Record<keyof BridgeConfig, string>> = {}): BridgeConfig {
  return loadConfig(
    { KOMMO_CHANNEL_ID: UNIT_CHANNEL_ID, CHAT_SERVICE_URL: 'https://chat.example.com/kommo-events', ...settings },
    [],
  );
}

/**
 * What every use case may take besides its ports: settings, a manual clock, telemetry kept in memory,
 * mid-range jitter (retries land at half their ceiling) and ids counted from 1, and the four queues as
 * recording queues. Tests add the ports their use case names.
 */
export function baseDeps(settings: Partial<Record<keyof BridgeConfig, string>> = {}) {
  let ids = 0;
  return {
    config: unitConfig(settings),
    clock: new ManualClock(TEST_START),
    log: new RecordingLog({ level: 'silent' }),
    metrics: new CountingMetrics(),
    random: () => 0.5,
    newId: () => `id-${(ids += 1)}`,
    queues: recordingQueues(),
  };
}
