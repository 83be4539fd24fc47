import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpRoutes } from '../functions/manifest';
import type { LocalBridge } from './local-bridge';
import { serveLiveChannel } from './live-socket-server';

/** API Gateway refuses payloads over 10 MB before any Lambda runs; so does this server. */
const API_GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface RunningHttpServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Pages this local server answers itself, before the bridge: the sandbox's Kommo account stand-in.
 * Only the local server has them (no Lambda serves them), and they may not shadow any API route.
 */
export interface LocalPages {
  /** Path prefixes the pages live under, e.g. `/sandbox/kommo/`; none may begin a route of the manifest. */
  prefixes: readonly string[];
  /** The answer, or undefined to let the bridge answer. */
  handle(request: {
    method: string;
    url: string;
    body: Buffer;
  }): Promise<{ status: number; headers: Record<string, string>; body: string | Buffer } | undefined>;
}

/** Refuses local pages whose prefix could catch a request meant for an API route (or the other way round). */
function checkLocalPages(pages: LocalPages): void {
  for (const prefix of pages.prefixes) {
    const shadowed = httpRoutes.find((route) => {
      const literal = route.path.split('{', 1)[0]!;
      return `${route.path}/`.startsWith(prefix) || prefix.startsWith(literal);
    });
    if (!/^\/[^{}]+\/$/.test(prefix) || shadowed) {
      throw new Error(
        `local pages under ${prefix} would shadow the API${shadowed ? ` (${shadowed.method} ${shadowed.path})` : ''}: give them a prefix of their own`,
      );
    }
  }
}

/**
 * One line per request the bridge answered, so that a request with no visible effect (a typing stop,
 * an ignored hook, a refusal) still shows up, with the answer's body saying why.
 */
export function describeAnswer(method: string, url: string, status: number, body: string | undefined): string {
  const path = url.split('?', 1)[0]!;
  const text = (body ?? '').replace(/\s+/g, ' ').trim();
  const shown = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  return `${method} ${path} → ${status}${shown ? ` ${shown}` : ''}`;
}

/** Serves the bridge over HTTP on loopback, as API Gateway would in front of the Lambdas, and its live channel (WebSocket) on the same port. */
export async function serveBridge(
  bridge: LocalBridge,
  options: { port: number; host?: string; localPages?: LocalPages; onAnswer?: (line: string) => void },
): Promise<RunningHttpServer> {
  const { localPages } = options;
  if (localPages) checkLocalPages(localPages);
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
      const url = request.url ?? '/';
      const body = Buffer.concat(chunks);
      const toBridge = () =>
        bridge
          .invoke({
            method: request.method ?? 'GET',
            url,
            headers: request.headers,
            body,
            sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
          })
          .then((result) => {
            response.writeHead(
              result.statusCode,
              Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)])),
            );
            response.end(result.body);
            options.onAnswer?.(describeAnswer(request.method ?? 'GET', url, result.statusCode, result.body));
          });
      const path = url.split('?', 1)[0]!;
      const page = localPages?.prefixes.some((prefix) => path.startsWith(prefix) || path === prefix.slice(0, -1))
        ? localPages.handle({ method: request.method ?? 'GET', url, body })
        : undefined;
      (page
        ? page.then((answer) =>
            answer ? void response.writeHead(answer.status, answer.headers).end(answer.body) : toBridge(),
          )
        : toBridge()
      ).catch(() => {
        // API Gateway's answer when the integration itself fails.
        response.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"Internal Server Error"}');
      });
    });
  });
  server.keepAliveTimeout = 5_000;
  const live = serveLiveChannel(server, bridge.live);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.address}:${address.port}`;
  bridge.live.servedAt(url);
  return {
    url,
    close: async () => {
      await live.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
