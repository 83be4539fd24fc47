import { KommoChatApiClient } from '../functions/core/adapters/kommo-chat-api/kommo-chat-api-client';
import { configSchema, ConfigError } from '../functions/core/config';
import { systemClock } from '../functions/core/ports/clock';
import { OutboundCallError } from '../functions/core/ports/outbound';
import { connectKommoChannel } from '../functions/core/use-cases/account-connection';
import * as z from '../functions/core/zod';

/**
 * `npm run kommo -- connect <amojo_account_id> [title]` / `disconnect <amojo_account_id>`: the operator
 * step Kommo requires after every (re)installation of the integration in an account. Reads
 * KOMMO_CHANNEL_ID, KOMMO_CHANNEL_SECRET and KOMMO_API_URL from the environment.
 *
 * Kommo's part alone, through the same step `/admin/connect` takes: it runs where the bridge's table
 * is out of reach, so it neither claims nor binds accounts. An account bound with `/admin/connect` is
 * disconnected with `/admin/disconnect`, which removes its binding too.
 */
const settingsSchema = z.pick(configSchema, {
  KOMMO_CHANNEL_ID: true,
  KOMMO_CHANNEL_SECRET: true,
  KOMMO_API_URL: true,
  KOMMO_TIMEOUT_MS: true,
});

async function main([command, accountId, ...titleWords]: string[]): Promise<void> {
  if ((command !== 'connect' && command !== 'disconnect') || !accountId) {
    process.stderr.write(
      'usage: npm run kommo -- connect <amojo_account_id> [title]\n       npm run kommo -- disconnect <amojo_account_id>\n',
    );
    process.exitCode = 2;
    return;
  }
  const parsed = settingsSchema.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Configuration error: ${String(issue?.path[0])}: ${issue?.message}`);
  }
  const settings = parsed.data;
  if (settings.KOMMO_CHANNEL_ID === undefined)
    throw new ConfigError('Configuration error: KOMMO_CHANNEL_ID is required');
  if (settings.KOMMO_CHANNEL_SECRET === undefined)
    throw new ConfigError('Configuration error: KOMMO_CHANNEL_SECRET is required');
  const kommoChatApi = new KommoChatApiClient({
    baseUrl: settings.KOMMO_API_URL,
    channelId: settings.KOMMO_CHANNEL_ID,
    channelSecret: settings.KOMMO_CHANNEL_SECRET,
    timeoutMs: settings.KOMMO_TIMEOUT_MS,
    clock: systemClock,
  });
  if (command === 'connect') {
    const { scopeId } = await connectKommoChannel(
      { config: settings, kommoChatApi },
      accountId,
      titleWords.join(' ') || 'Kommo Live Bridge',
    );
    process.stdout.write(`connected: scope_id ${scopeId}\n`);
  } else {
    await kommoChatApi.disconnect(accountId);
    process.stdout.write(`disconnected account ${accountId}\n`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message =
    error instanceof ConfigError || error instanceof OutboundCallError
      ? error.message
      : `failed: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
});
