import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LiveResult } from '../functions/live/handler';
import type { LiveSocket, LocalLiveGateway } from './live-gateway';

/** API Gateway refuses WebSocket messages over 128 KB (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
const API_GATEWAY_MAX_MESSAGE_BYTES = 128 * 1024;

/**
 * The live channel on the HTTP server's own port: WebSocket handshakes (the server's `upgrade`
 * event) go to the gateway, which lets `$connect` accept or refuse them; frames and closes of
 * accepted sockets become `$default` and `$disconnect`.
 */
export function serveLiveChannel(server: Server, gateway: LocalLiveGateway): { close(): Promise<void> } {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: API_GATEWAY_MAX_MESSAGE_BYTES });
  const disconnects = new Set<Promise<void>>();

  const upgraded = (request: IncomingMessage, socket: Duplex, head: Buffer, connectionId: string) =>
    new Promise<LiveSocket>((resolve) => {
      sockets.handleUpgrade(request, socket, head, (ws: WebSocket) => {
        ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
          const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
          // API Gateway logs a failed invocation; the client sees only the frames the bridge pushed.
          gateway.frame(connectionId, bytes, isBinary).catch(() => undefined);
        });
        ws.on('close', () => {
          const disconnect = gateway.disconnect(connectionId).catch(() => undefined);
          disconnects.add(disconnect);
          void disconnect.finally(() => disconnects.delete(disconnect));
        });
        ws.on('error', () => ws.terminate());
        resolve({
          send: (text) => {
            if (ws.readyState !== ws.OPEN) return false;
            ws.send(text);
            return true;
          },
          end: (code, reason) => ws.close(code, reason),
        });
      });
    });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    gateway
      .connect(
        { url: request.url ?? '/', headers: request.headers, sourceIp: request.socket.remoteAddress ?? '127.0.0.1' },
        (connectionId) => upgraded(request, socket, head, connectionId),
      )
      .then(({ result }) => {
        if (result.statusCode !== 200) refuse(socket, result);
      })
      .catch(() => refuse(socket, { statusCode: 500, body: '{"message":"Internal Server Error"}' }));
  });

  return {
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      await new Promise<void>((resolve) => setImmediate(resolve));
      await Promise.all([...disconnects]);
      sockets.close();
    },
  };
}

/** The handshake refused with `$connect`'s status and body, as API Gateway answers it. */
function refuse(socket: Duplex, result: LiveResult): void {
  if (socket.destroyed) return;
  const body = result.body ?? '';
  socket.end(
    `HTTP/1.1 ${result.statusCode} ${STATUS_CODES[result.statusCode] ?? ''}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
