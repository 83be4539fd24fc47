import {
  StandardWebhooksChatService,
  StandardWebhooksStatusSource,
  HttpHookForwarder,
} from './adapters/chat-service/chat-service-client';
import { KommoChatApiClient } from './adapters/kommo-chat-api/kommo-chat-api-client';
import { KommoAccountClient } from './adapters/kommo-account/kommo-account-client';
import { ConfigError, type BridgeConfig } from './config';
import type { Clock } from './ports/clock';
import type { KommoAccountApi } from './ports/kommo-account-api';
import type { ChatServiceClient, ChatServiceStatusSource, HookForwarder, KommoChatApi } from './ports/outbound';

/**
 * The clients for the other parties, built from the settings and secrets a function holds. The
 * composition roots (`functions/<name>/index.ts`) import only the builders their handler needs, and
 * the local runtime builds them all (`create-deps.ts`).
 */

/**
 * A client for a party whose secret this function does not hold (in AWS each function reads only
 * the secrets its manifest entry names). Every call fails with a `ConfigError` naming the setting, so
 * a function that starts calling a party it was not meant to fails loudly instead of unsigned.
 */
export function notHeld<Client extends object>(setting: string, purpose: string): Client {
  return new Proxy({} as Client, {
    get: () => async () => {
      throw new ConfigError(
        `Configuration error: ${setting} is required for ${purpose}, and this function does not hold it`,
      );
    },
  });
}

/** Calls to Kommo's Chat API, signed with the channel secret; without it every call fails naming the setting. */
export function kommoChatApi(config: BridgeConfig, clock: Clock): KommoChatApi {
  if (config.KOMMO_CHANNEL_SECRET === undefined || config.KOMMO_CHANNEL_ID === undefined) {
    return notHeld<KommoChatApi>(
      config.KOMMO_CHANNEL_ID === undefined ? 'KOMMO_CHANNEL_ID' : 'KOMMO_CHANNEL_SECRET',
      'calls to Kommo',
    );
  }
  return new KommoChatApiClient({
    baseUrl: config.KOMMO_API_URL,
    channelId: config.KOMMO_CHANNEL_ID,
    channelSecret: config.KOMMO_CHANNEL_SECRET,
    timeoutMs: config.KOMMO_TIMEOUT_MS,
    clock,
  });
}

/** Events to the chat service, signed with the chat-service secret; without it every delivery fails naming the setting. */
export function chatServiceClient(config: BridgeConfig, clock: Clock): ChatServiceClient {
  if (config.CHAT_SERVICE_SECRET === undefined)
    return notHeld<ChatServiceClient>('CHAT_SERVICE_SECRET', 'events to the chat service');
  return new StandardWebhooksChatService({
    url: config.CHAT_SERVICE_URL,
    // During a rotation events carry a signature with each secret, so the chat service accepts them whichever it holds.
    secrets: [
      config.CHAT_SERVICE_SECRET,
      ...(config.CHAT_SERVICE_SECRET_PREVIOUS === undefined ? [] : [config.CHAT_SERVICE_SECRET_PREVIOUS]),
    ],
    timeoutMs: config.CHAT_SERVICE_TIMEOUT_MS,
    clock,
  });
}

/** Kommo hooks other than typing, forwarded to `KOMMO_HOOK_FORWARD_URL` when it is set. */
export function hookForwarder(config: BridgeConfig): HookForwarder {
  return new HttpHookForwarder({ url: config.KOMMO_HOOK_FORWARD_URL, timeoutMs: config.CHAT_SERVICE_TIMEOUT_MS });
}

/** Polling is on when `CHAT_SERVICE_STATUS_URL` is set; its queries are signed with the chat-service secret(s), like the events. */
export function chatServiceStatusSource(config: BridgeConfig, clock: Clock): ChatServiceStatusSource {
  if (config.CHAT_SERVICE_STATUS_URL === undefined) {
    return {
      enabled: false,
      query: async () => {
        throw new ConfigError('Configuration error: CHAT_SERVICE_STATUS_URL is not set, so no status is polled');
      },
    };
  }
  if (config.CHAT_SERVICE_SECRET === undefined) {
    const unheld = notHeld<ChatServiceStatusSource>('CHAT_SERVICE_SECRET', 'status queries to the chat service');
    return { enabled: true, query: (msgid, call) => unheld.query(msgid, call) };
  }
  return new StandardWebhooksStatusSource({
    urlTemplate: config.CHAT_SERVICE_STATUS_URL,
    secrets: [
      config.CHAT_SERVICE_SECRET,
      ...(config.CHAT_SERVICE_SECRET_PREVIOUS === undefined ? [] : [config.CHAT_SERVICE_SECRET_PREVIOUS]),
    ],
    timeoutMs: config.CHAT_SERVICE_TIMEOUT_MS,
    clock,
  });
}

/**
 * The integration's credentials make the client; without all three (or without the secret, which only
 * the install function holds) every call fails with a `ConfigError` naming what is missing.
 */
export function kommoAccountApi(config: BridgeConfig, clock: Clock): KommoAccountApi {
  const { KOMMO_CLIENT_ID, KOMMO_CLIENT_SECRET, KOMMO_REDIRECT_URI } = config;
  if (KOMMO_CLIENT_ID === undefined || KOMMO_CLIENT_SECRET === undefined || KOMMO_REDIRECT_URI === undefined) {
    const missing =
      KOMMO_CLIENT_ID === undefined
        ? 'KOMMO_CLIENT_ID'
        : KOMMO_CLIENT_SECRET === undefined
          ? 'KOMMO_CLIENT_SECRET'
          : 'KOMMO_REDIRECT_URI';
    return notHeld<KommoAccountApi>(missing, 'installs from Kommo');
  }
  return new KommoAccountClient({
    clientId: KOMMO_CLIENT_ID,
    clientSecret: KOMMO_CLIENT_SECRET,
    redirectUri: KOMMO_REDIRECT_URI,
    accountUrlTemplate: config.KOMMO_ACCOUNT_URL,
    timeoutMs: config.KOMMO_TIMEOUT_MS,
    clock,
  });
}
