import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalBridge } from './local-bridge';

/** API Gateway refuses payloads over 10 MB before any Lambda runs; so does this server. */
const API_GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface RunningHttpServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the bridge over HTTP on loopback, as API Gateway would in front of the Lambdas. */
export async function serveBridge(bridge: LocalBridge, options: { port: number; host?: string }): Promise<RunningHttpServer> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > API_GATEWAY_MAX_PAYLOAD_BYTES) {
        refused = true;
        response.writeHead(413, { 'content-type': 'application/json' }).end('{"message":"Request Entity Too Large"}');
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (refused) return;
      bridge
        .invoke({
          method: request.method ?? 'GET',
          url: request.url ?? '/',
          headers: request.headers,
          body: Buffer.concat(chunks),
          sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        })
        .then((result) => {
          response.writeHead(result.statusCode, Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)])));
          response.end(result.body);
        })
        .catch(() => {
          // API Gateway's answer when the integration itself fails.
          response.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"Internal Server Error"}');
        });
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
