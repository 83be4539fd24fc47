import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the forward target received, byte for byte. */
export interface ReceivedForward {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A stand-in for `KOMMO_HOOK_FORWARD_URL`: records every request with its raw bytes and answers
 * 200, or the statuses queued with `answerNext`.
 */
export class ForwardTarget {
  readonly received: ReceivedForward[] = [];
  private readonly scripted: number[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({
          method: request.method ?? '',
          path: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks),
        });
        const status = this.scripted.shift() ?? 200;
        response
          .writeHead(status, { 'content-type': 'application/json' })
          .end(status < 300 ? '{"ok":true}' : '{"error":"scripted"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  }

  /** The next requests are answered with these statuses, in order. */
  answerNext(...statuses: number[]): void {
    this.scripted.push(...statuses);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
