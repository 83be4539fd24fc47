import { createServer } from 'node:net';
import { ConfigError } from '../functions/core/config';
import { writeDevSettings } from './dev-settings';
import { signedKommoHook } from './requests';
import {
  SANDBOX_ACCOUNT_ID,
  SANDBOX_CHAT,
  startLocalRuntime,
  type LocalRuntime,
  SANDBOX_KOMMO_ORIGIN,
  SANDBOX_KOMMO_SUBDOMAIN,
  sandboxWidgetToken,
} from './runtime';

/**
 * `npm start`. Prints what it serves and, in sandbox mode, the dev secrets and requests to paste.
 * Ctrl-C stops everything, DynamoDB Local included.
 */
// Local machines may run Node 20; the deployed Lambdas run the newest Node runtime, so the SDK's notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const print = (line: string) => process.stdout.write(`${line}\n`);
// When the terminal goes away (SIGHUP) its output breaks too: a failed write must not end the process
// before DynamoDB Local is stopped.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
const port = Number(process.env.PORT ?? 3000);

/**
 * Whether something already listens on the port, tried before anything starts: a second `npm start`
 * must not start DynamoDB Local and the sandboxes only to fail on the last step.
 */
async function portIsTaken(candidate: number): Promise<boolean> {
  if (candidate === 0) return false;
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? resolve(true) : reject(error),
    );
    probe.listen(candidate, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

/** The last line of start-up: every request, hook and sandbox event is printed below it, with its time. */
const READY_LINE = `Ready (pid ${process.pid}). Ctrl-C, or kill -TERM ${process.pid}, stops everything, DynamoDB Local included.`;

/** An account of the operator example: not the sandbox account, so disconnecting it leaves the sandbox working. */
const SECOND_ACCOUNT = { amojoId: '7f3c2a10-0000-4000-8000-0000000000a2', kommoAccountId: 30_000_002 };

async function main(): Promise<void> {
  if (await portIsTaken(port)) {
    process.stderr.write(
      `port ${port} is taken: is another \`npm start\` running? Stop it, or set PORT=… (e.g. PORT=${port + 1} npm start)\n`,
    );
    process.exit(1);
  }
  // Handlers first: a signal during start-up still stops what has started (DynamoDB Local's Java included).
  let stopping: Promise<void> | undefined;
  let started: Promise<LocalRuntime> | undefined;
  const shutdown = (signal: string) => {
    stopping ??= (async () => {
      print(`\n${signal}: stopping the bridge, the sandboxes and DynamoDB Local…`);
      const runtime = await started?.catch(() => undefined);
      await runtime?.stop();
      print('stopped.');
      process.exit(0);
    })();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
  started = startLocalRuntime({
    env: process.env,
    port,
    print,
    logLevel: (process.env.LOG_LEVEL as 'info' | undefined) ?? 'info',
  });
  const runtime = await started;
  if (stopping) return;

  print(`Kommo Live Bridge is listening on ${runtime.url} (${runtime.mode} mode)`);
  if (runtime.sandboxPageUrl) print(`Kommo account page with the widget (sandbox): ${runtime.sandboxPageUrl}`);
  if (runtime.mode === 'configured') {
    print(`Kommo API: ${runtime.config.KOMMO_API_URL}   chat service: ${runtime.config.CHAT_SERVICE_URL}`);
    print(READY_LINE);
    return;
  }
  const { config } = runtime;
  const scopeId = runtime.scopeId!;
  writeDevSettings({
    url: runtime.url,
    scopeId,
    accountId: SANDBOX_ACCOUNT_ID,
    channelSecret: config.KOMMO_CHANNEL_SECRET,
    chatServiceSecret: config.CHAT_SERVICE_SECRET,
    ...(config.CHAT_SERVICE_STATUS_URL !== undefined ? { chatServiceStatusUrl: config.CHAT_SERVICE_STATUS_URL } : {}),
  });
  const hookBody = JSON.stringify({
    account_id: SANDBOX_ACCOUNT_ID,
    time: 1639572261,
    message: {
      conversation: { id: 'kommo-c-1', client_id: 'c-1' },
      timestamp: 1639572260,
      // msg-0: the demo lines below start with msg-1, whose status they follow from the first hook on.
      message: { id: 'msg-0', type: 'text', text: 'Hello from Kommo' },
    },
  });
  const hookHeaders = signedKommoHook(config.KOMMO_CHANNEL_SECRET, hookBody);
  // A dev token lives 1 h, the longest the bridge accepts (Kommo's own live about 30 min).
  const widgetTokenTtlSeconds = 60 * 60;
  // One token for every printed request, as Kommo reuses one per page: the bridge accepts it until `exp`.
  const widgetToken = await sandboxWidgetToken(config, { nowMs: Date.now(), ttlSeconds: widgetTokenTtlSeconds });
  const widgetHeaders = async () => `-H 'origin: ${SANDBOX_KOMMO_ORIGIN}' -H 'x-auth-token: ${widgetToken}'`;
  const tampered = hookBody.replace('Hello', 'Hellp');
  print(`
Sandbox mode: Kommo and the chat service are simulated in this process; secrets are fresh dev values.
  KOMMO_CHANNEL_ID     ${config.KOMMO_CHANNEL_ID}
  KOMMO_CHANNEL_SECRET ${config.KOMMO_CHANNEL_SECRET}
  CHAT_SERVICE_SECRET  ${config.CHAT_SERVICE_SECRET}
  scope_id             ${scopeId}
  Kommo sandbox        ${config.KOMMO_API_URL}
  chat-service sink    ${config.CHAT_SERVICE_URL}
  status URL (polled)  ${config.CHAT_SERVICE_STATUS_URL}

Try (in another terminal):
  # a signed Kommo hook → 200
  curl -s -X POST ${runtime.url}/kommo/${scopeId} -H 'content-type: application/json' -H 'x-signature: ${hookHeaders['x-signature']}' -d '${hookBody}'
  # the same hook with one byte changed → 401
  curl -s -X POST ${runtime.url}/kommo/${scopeId} -H 'content-type: application/json' -H 'x-signature: ${hookHeaders['x-signature']}' -d '${tampered}'
  # a chat-service request with a bad signature → 401
  curl -s -X POST ${runtime.url}/chat/${scopeId}/typing -H 'content-type: application/json' -H 'webhook-id: msg_1' -H "webhook-timestamp: $(date +%s)" -H 'webhook-signature: v1,bm90LWEtc2lnbmF0dXJl' -d '{"conversation_id":"c-1","sender_id":"u-7","state":"start"}'
  # signed requests (npm run send signs them with the dev secrets):
  npm run send -- typing c-1 u-7 start 15     # client types: Kommo shows it, refreshed every ${config.TYPING_REFRESH_SECONDS} s
  npm run send -- typing c-1 u-7 stop
  npm run send -- kommo-typing c-1            # a Kommo user types: typing.started, then typing.stopped
  npm run send -- presence u-7 online 30
  npm run send -- get-presence u-7
  npm run send -- kommo-message msg-1         # a Kommo user writes to u-7: the bridge starts asking the chat service for msg-1's status (2 s, 5 s, 15 s, 1 min, …)
  npm run send -- chat-status msg-1 delivered # the chat service now says delivered: the next poll brings it to Kommo
  npm run send -- chat-status msg-1 read      # … then read, and polling stops
  npm run send -- kommo-message msg-2         # another message; this time the chat service pushes its status:
  npm run send -- status msg-2 read
  npm run send -- get-status msg-2
  npm run send -- conversation c-1 kommo-c-1 u-7   # register which Kommo chat conversation c-1 is (done for you at start)

Kommo widget (widget/ holds its source): the sandbox integration's dev settings, and Kommo account
${runtime.kommoAccountId} already connected to ${scopeId} with POST /admin/connect.
  KOMMO_CLIENT_SECRET  ${config.KOMMO_CLIENT_SECRET}
  KOMMO_REDIRECT_URI   ${config.KOMMO_REDIRECT_URI}
  ADMIN_TOKEN          ${config.ADMIN_TOKEN}
Requests as the widget sends them from ${SANDBOX_KOMMO_ORIGIN} (one token of Kommo user 7001, valid ${widgetTokenTtlSeconds / 3600} h
and reusable until then, as Kommo reuses one per page):
  # heartbeat: the user is in Kommo chat kommo-c-1, conversation c-1 (presence.changed online once; offline after 90 s without one)
  curl -s -X POST ${runtime.url}/widget/chats/kommo-c-1/presence -H 'content-type: application/json' ${await widgetHeaders()} -d '{"state":"online"}'
  # the user left the chat (presence.changed offline)
  curl -s -X POST ${runtime.url}/widget/chats/kommo-c-1/presence -H 'content-type: application/json' ${await widgetHeaders()} -d '{"state":"offline"}'
  # the user opened the chat (conversation.read for c-1)
  curl -s -X POST ${runtime.url}/widget/chats/kommo-c-1/read ${await widgetHeaders()}
  # the chat's ids, and is its client u-7 online? (after npm run send -- presence u-7 online 30)
  curl -s ${runtime.url}/widget/chats/kommo-c-1 ${await widgetHeaders()}
  # the browser's CORS preflight
  curl -s -i -X OPTIONS ${runtime.url}/widget/chats/kommo-c-1/presence -H 'origin: ${SANDBOX_KOMMO_ORIGIN}' -H 'access-control-request-method: POST' -H 'access-control-request-headers: x-auth-token,content-type'
  # a retired v1 route: 410 route_retired, naming the v2 route
  curl -s -X POST ${runtime.url}/widget/conversations/c-1/read ${await widgetHeaders()}
  # operator: connect a second Kommo account (amojo id ${SECOND_ACCOUNT.amojoId}, account ${SECOND_ACCOUNT.kommoAccountId}) to the channel → 200
  curl -s -X POST ${runtime.url}/admin/connect -H 'content-type: application/json' -H 'authorization: Bearer ${config.ADMIN_TOKEN}' -d '{"amojo_account_id":"${SECOND_ACCOUNT.amojoId}","kommo_account_id":${SECOND_ACCOUNT.kommoAccountId},"title":"Second account"}'
  # operator: disconnect that second account again (the sandbox account ${runtime.kommoAccountId} stays connected) → 200
  curl -s -X POST ${runtime.url}/admin/disconnect -H 'content-type: application/json' -H 'authorization: Bearer ${config.ADMIN_TOKEN}' -d '{"kommo_account_id":${SECOND_ACCOUNT.kommoAccountId}}'

Installs from Kommo, no ids to look up (KOMMO_CLIENT_ID ${config.KOMMO_CLIENT_ID}; the Kommo sandbox stands in for the account's
own host at ${config.KOMMO_ACCOUNT_URL}). Open in a browser, or curl:
  # an admin of ${SANDBOX_KOMMO_SUBDOMAIN}.kommo.com allowed the integration: Kommo's redirect (a fresh code, single use, 20 min) connects the account
  ${runtime.installUrl!()}
  # the integration was disabled: Kommo's signed disable hook disconnects the account and removes its binding
  ${runtime.uninstallUrl}
  # a second install link (its own code), to connect again after the uninstall
  ${runtime.installUrl!()}

The widget in a browser: a stand-in of the Kommo account's pages (only what Kommo offers widgets) runs
the real widget/script.js against this bridge. Open its lead card (chat ${SANDBOX_CHAT.kommoConversationId} = conversation ${SANDBOX_CHAT.conversationId}, client ${SANDBOX_CHAT.clientId}):
  ${runtime.sandboxPageUrl}
then watch the card's right column, the chat and the "Chat service received" log while you run:
  npm run send -- presence ${SANDBOX_CHAT.clientId} online 30     # the mark turns "Client online" (and back after 30 s)
  npm run send -- presence ${SANDBOX_CHAT.clientId} offline       # "Client last seen …"
  npm run send -- typing ${SANDBOX_CHAT.conversationId} ${SANDBOX_CHAT.clientId} start 15   # the chat shows "The client is typing…"
  # "Simulate a client message" in the card: the widget reads it (conversation.read); leave the card: presence.changed offline

The client's side: a messenger page built on the chat-service client (clients/chat-service), with the card beside it:
  ${runtime.messengerPageUrl}
type there (the card shows "typing…"), tick "online" (the widget's mark flips); a Kommo user's typing and reads show there.
`);
  print(READY_LINE);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof ConfigError ? error.message : `Could not start: ${error instanceof Error ? error.message : String(error)}`}\n`,
  );
  process.exit(1);
});
