import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { ClientPresenceFrame, LiveFrame } from '../functions/core/domain/live-channel';
import { signedChatRequest } from '../local/requests';
import { type LocalRuntime, SANDBOX_KOMMO_ORIGIN, sandboxWidgetToken } from '../local/runtime';
import { postChat, type BenchTarget } from './bridge-client';
import { percentile, type BenchResults } from './figures';

const SAMPLES = 200;
/** The contract's bound: a transition reaches the watching widget within 1 s. */
const CONTRACT_BOUND_MS = 1_000;
/** A frame that has not arrived by then counts as lost. */
const ARRIVAL_TIMEOUT_MS = 5_000;

/**
 * "Client presence change → widget frame": a widget connected to the live channel (ticket from
 * `POST /widget/live`, a real WebSocket on the HTTP port) watches one chat; the chat service turns
 * the chat's client online and offline in turn, and each sample is the time from sending the signed
 * `POST /chat/{scope}/presence` to the `client.presence` frame arriving on the socket
 * (`performance.now()`, same process). Sequential, so each sample is one transition.
 */
export async function measureLivePresence(
  results: BenchResults,
  target: BenchTarget,
  runtime: LocalRuntime,
  options: { runId: string; log: (line: string) => void },
): Promise<void> {
  const kommoConversationId = randomUUID();
  const conversationId = `live-${options.runId}`;
  const clientId = `live-client-${options.runId}`;

  // The chat service registers the chat, so the widget can name it by Kommo's id.
  const registration = JSON.stringify({ kommo_conversation_id: kommoConversationId, client_id: clientId });
  const registered = await fetch(`${target.url}/chat/${target.scopeId}/conversations/${conversationId}`, {
    method: 'PUT',
    headers: signedChatRequest(target.chatServiceSecret, registration),
    body: registration,
  });
  if (registered.status !== 200)
    throw new Error(`registering the chat: ${registered.status} ${await registered.text()}`);

  const socket = await connectWidget(target, runtime);
  const frames = framesOf(socket);
  try {
    socket.send(JSON.stringify({ action: 'watch', kommo_conversation_id: kommoConversationId }));
    const first = await frames.next(ARRIVAL_TIMEOUT_MS);
    if (first?.frame.type !== 'client.presence')
      throw new Error(`the watch was answered with ${JSON.stringify(first?.frame)}`);

    const samples: number[] = [];
    let lost = 0;
    for (let sample = 0; sample < SAMPLES; sample += 1) {
      const online = sample % 2 === 0;
      const sent = await postChat(target, '/presence', {
        client_id: clientId,
        state: online ? 'online' : 'offline',
        ttl_seconds: 3600,
      });
      if (sent.status !== 202) throw new Error(`client presence: ${sent.status}`);
      const arrival = await frames.next(ARRIVAL_TIMEOUT_MS);
      const frame = arrival?.frame as ClientPresenceFrame | undefined;
      if (!arrival || frame?.type !== 'client.presence' || frame.online !== online) {
        lost += 1;
        continue;
      }
      samples.push(arrival.at - sent.sentAt);
    }

    for (const p of [50, 95, 99]) {
      results.add({
        name: `live.client_presence_to_frame.p${p}`,
        section: 'live channel',
        label: `client presence change → widget frame p${p}`,
        value: percentile(samples, p),
        unit: 'ms',
        meaning: `p${p} of ${samples.length} transitions, from sending a signed POST /chat/{scope}/presence that turns the watched chat's client online or offline to the client.presence frame arriving on the widget's WebSocket; local runtime on loopback.`,
      });
    }
    results.expect(
      'live channel: every client presence transition reached the watching widget',
      lost === 0,
      `${lost} of ${SAMPLES} lost`,
    );
    const slowest = Math.max(...samples);
    results.expect(
      `live channel: every frame within the contract's ${CONTRACT_BOUND_MS} ms`,
      slowest <= CONTRACT_BOUND_MS,
      `slowest ${slowest.toFixed(1)} ms`,
    );
    results.details.liveChannel = { samples: samples.length, lost, max: slowest };
    options.log(
      `  client presence change → widget frame: p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms, max ${slowest.toFixed(1)} ms`,
    );
  } finally {
    socket.close();
  }
}

/** The widget's way in: a one-time token for `POST /widget/live`, then the URL it answered. */
async function connectWidget(target: BenchTarget, runtime: LocalRuntime): Promise<WebSocket> {
  const { config } = runtime;
  const origin = SANDBOX_KOMMO_ORIGIN;
  const token = await sandboxWidgetToken(config, { nowMs: Date.now() });
  const answer = await fetch(`${target.url}/widget/live`, {
    method: 'POST',
    headers: { origin, 'x-auth-token': token },
  });
  if (answer.status !== 200) throw new Error(`POST /widget/live: ${answer.status} ${await answer.text()}`);
  const { url } = (await answer.json()) as { url: string };
  const socket = new WebSocket(url, { origin });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`the live channel refused the handshake: ${response.statusCode}`)),
    );
  });
  return socket;
}

/** Frames stamped with `performance.now()` as they arrive; `next` resolves with the next one, or undefined after `timeoutMs`. */
function framesOf(socket: WebSocket) {
  const arrived: { frame: LiveFrame; at: number }[] = [];
  let waiting: ((arrival: { frame: LiveFrame; at: number }) => void) | undefined;
  socket.on('message', (data) => {
    const arrival = { frame: JSON.parse(String(data)) as LiveFrame, at: performance.now() };
    if (waiting) {
      const wake = waiting;
      waiting = undefined;
      wake(arrival);
    } else arrived.push(arrival);
  });
  return {
    next: (timeoutMs: number) =>
      arrived.length > 0
        ? Promise.resolve(arrived.shift())
        : new Promise<{ frame: LiveFrame; at: number } | undefined>((resolve) => {
            const timer = setTimeout(() => {
              waiting = undefined;
              resolve(undefined);
            }, timeoutMs);
            waiting = (arrival) => {
              clearTimeout(timer);
              resolve(arrival);
            };
          }),
  };
}
