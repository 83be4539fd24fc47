import { AmojoClient } from '../functions/core/adapters/kommo-amojo/amojo-client';
import { configSchema, ConfigError } from '../functions/core/config';
import { systemClock } from '../functions/core/ports/clock';
import { OutboundCallError } from '../functions/core/ports/outbound';

/**
 * `npm run kommo -- connect <amojo_account_id> [title]` / `disconnect <amojo_account_id>`: the operator
 * step Kommo requires after every (re)installation of the integration in an account. Reads
 * KOMMO_CHANNEL_ID, KOMMO_CHANNEL_SECRET and KOMMO_API_URL from the environment.
 */
const settingsSchema = configSchema.pick({ KOMMO_CHANNEL_ID: true, KOMMO_CHANNEL_SECRET: true, KOMMO_API_URL: true, KOMMO_TIMEOUT_MS: true });

async function main([command, accountId, ...titleWords]: string[]): Promise<void> {
  if ((command !== 'connect' && command !== 'disconnect') || !accountId) {
    process.stderr.write('usage: npm run kommo -- connect <amojo_account_id> [title]\n       npm run kommo -- disconnect <amojo_account_id>\n');
    process.exitCode = 2;
    return;
  }
  const parsed = settingsSchema.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Configuration error: ${String(issue?.path[0])}: ${issue?.message}`);
  }
  const settings = parsed.data;
  const kommo = new AmojoClient({
    baseUrl: settings.KOMMO_API_URL,
    channelId: settings.KOMMO_CHANNEL_ID,
    channelSecret: settings.KOMMO_CHANNEL_SECRET,
    timeoutMs: settings.KOMMO_TIMEOUT_MS,
    clock: systemClock,
  });
  if (command === 'connect') {
    const { scopeId } = await kommo.connect(accountId, titleWords.join(' ') || 'Kommo Live Bridge');
    process.stdout.write(`connected: scope_id ${scopeId}\n`);
  } else {
    await kommo.disconnect(accountId);
    process.stdout.write(`disconnected account ${accountId}\n`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof ConfigError || error instanceof OutboundCallError ? error.message : `failed: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
});
