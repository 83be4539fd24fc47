import { LIVE_CONNECTION_MAX_MS, type LiveFrame } from '../functions/core/domain/live-channel';
import type { Clock } from '../functions/core/ports/clock';
import type { LiveConnections } from '../functions/core/ports/live-channel';
import type { LiveEvent, LiveResult } from '../functions/live/handler';
import { liveChannelPath } from '../functions/manifest';
import { newConnectionId, toWebSocketEvent, type LocalHandshake } from './websocket-event';

/** One end of a live connection, as the gateway writes to it: a `ws` socket, or an in-process client. */
export interface LiveSocket {
  /** Sends a text frame; false when the socket is not open any more. */
  send(text: string): boolean;
  /** The gateway ends the connection (API Gateway's 2-hour limit). */
  end(code: number, reason: string): void;
}

interface OpenConnection {
  connectionId: string;
  connectedAtMs: number;
  socket: LiveSocket;
}

/**
 * The local stand-in for API Gateway's WebSocket API: it turns a handshake, each frame and the close
 * into the events API Gateway delivers (`$connect`, `$default`, `$disconnect`) for the live function,
 * and is the `LiveConnections` port through which the bridge pushes frames (its Management API).
 * Sockets reach it from the HTTP server's port (`live-socket-server.ts`) or, in tests, in process.
 */
export class LocalLiveGateway implements LiveConnections {
  private readonly open = new Map<string, OpenConnection>();
  /** `$disconnect`s under way, and who waits for the one of a connection still open. */
  private readonly ending = new Map<string, Promise<unknown>>();
  private readonly awaitingEnd = new Map<string, (() => void)[]>();
  private invoke: ((event: LiveEvent) => Promise<LiveResult>) | undefined;
  private url: string | undefined;

  constructor(private readonly clock: Clock) {}

  /** The live function (per the manifest's WebSocket routes) that the events go to. */
  attach(invoke: (event: LiveEvent) => Promise<LiveResult>): void {
    this.invoke = invoke;
  }

  /** The HTTP server listens at `httpUrl`: the live channel is on the same port. */
  servedAt(httpUrl: string): void {
    this.url = `${httpUrl.replace(/^http/, 'ws')}/${liveChannelPath}`;
  }

  /** Until a server serves it, only in-process clients connect, and any host in the URL is theirs. */
  address(): string {
    return this.url ?? `ws://localhost/${liveChannelPath}`;
  }

  async send(connectionId: string, frame: LiveFrame): Promise<'sent' | 'gone'> {
    const connection = this.open.get(connectionId);
    return connection?.socket.send(JSON.stringify(frame)) ? 'sent' : 'gone';
  }

  /** The bridge closes a connection (API Gateway's `DeleteConnection`): the socket ends, then `$disconnect` runs. */
  async close(connectionId: string): Promise<'closed' | 'gone'> {
    const connection = this.open.get(connectionId);
    if (!connection) return 'gone';
    connection.socket.end(1000, 'Closed by the bridge');
    await this.disconnect(connectionId);
    return 'closed';
  }

  /**
   * A handshake: `$connect` decides. Accepted, the socket (made by `accept` once the handshake is
   * answered) is registered under a new connection id; refused, `$connect`'s answer is the refusal.
   */
  async connect(
    handshake: LocalHandshake,
    accept: (connectionId: string) => Promise<LiveSocket>,
  ): Promise<{ result: LiveResult; connectionId?: string }> {
    const path = handshake.url.split('?', 1)[0];
    if (path !== `/${liveChannelPath}`)
      return { result: { statusCode: 404, body: JSON.stringify({ message: 'Not Found' }) } };
    const connectionId = newConnectionId();
    const connectedAtMs = this.clock.now();
    const result = await this.live(
      toWebSocketEvent('$connect', { connectionId, connectedAtMs, handshake }, connectedAtMs),
    );
    if (result.statusCode !== 200) return { result };
    // As in API Gateway, the connection takes pushes only once the handshake is complete.
    this.open.set(connectionId, { connectionId, connectedAtMs, socket: await accept(connectionId) });
    return { result, connectionId };
  }

  /** A frame from the client. API Gateway closes a connection at 2 hours; so does the gateway, at its next frame. */
  async frame(connectionId: string, data: Buffer, binary: boolean): Promise<void> {
    const connection = this.open.get(connectionId);
    if (!connection) return;
    const now = this.clock.now();
    if (now - connection.connectedAtMs >= LIVE_CONNECTION_MAX_MS) {
      connection.socket.end(1001, 'Going away');
      await this.disconnect(connectionId);
      return;
    }
    await this.live(toWebSocketEvent('$default', connection, now, { data, binary }));
  }

  /** The client closed (or the socket broke): `$disconnect`, once. */
  async disconnect(connectionId: string): Promise<void> {
    const connection = this.open.get(connectionId);
    if (!connection) return;
    this.open.delete(connectionId);
    const ending = this.live(toWebSocketEvent('$disconnect', connection, this.clock.now())).finally(() => {
      this.ending.delete(connectionId);
      for (const wake of this.awaitingEnd.get(connectionId) ?? []) wake();
      this.awaitingEnd.delete(connectionId);
    });
    this.ending.set(connectionId, ending);
    await ending;
  }

  /** Resolves once the connection's `$disconnect` has run (at once for a connection that is not open). */
  async disconnected(connectionId: string): Promise<void> {
    if (this.open.has(connectionId)) {
      await new Promise<void>((resolve) =>
        this.awaitingEnd.set(connectionId, [...(this.awaitingEnd.get(connectionId) ?? []), resolve]),
      );
      return;
    }
    await this.ending.get(connectionId)?.catch(() => undefined);
  }

  /** Connections open now. */
  get connectionIds(): string[] {
    return [...this.open.keys()];
  }

  /** An in-process client connecting to `url` (what `POST /widget/live` answered): the same events, no socket. */
  async connectInProcess(url: string, headers: Record<string, string> = {}): Promise<InProcessLiveClient> {
    const { pathname, search } = new URL(url);
    const client = new InProcessLiveClient(this);
    const { result, connectionId } = await this.connect({ url: `${pathname}${search}`, headers }, async () => client);
    client.opened(result, connectionId);
    return client;
  }

  private live(event: LiveEvent): Promise<LiveResult> {
    if (!this.invoke) throw new Error('the live gateway has no live function attached');
    return this.invoke(event);
  }
}

/** A client of the live channel inside the test process: it records the frames it receives. */
export class InProcessLiveClient implements LiveSocket {
  readonly frames: LiveFrame[] = [];
  /** The `$connect` answer: 200 when connected, else the refusal. */
  status = 0;
  refusal: unknown;
  connectionId: string | undefined;
  private reachable = true;

  constructor(private readonly gateway: LocalLiveGateway) {}

  opened(result: LiveResult, connectionId: string | undefined): void {
    this.status = result.statusCode;
    this.refusal = result.statusCode === 200 || !result.body ? undefined : JSON.parse(result.body);
    this.connectionId = connectionId;
  }

  /** A frame to the bridge: a JSON value, or raw text as sent. */
  async sendFrame(frame: unknown): Promise<void> {
    if (!this.connectionId) throw new Error('not connected');
    await this.gateway.frame(
      this.connectionId,
      Buffer.from(typeof frame === 'string' ? frame : JSON.stringify(frame)),
      false,
    );
  }

  /** Closes the connection, as a browser closing the tab does: the bridge gets `$disconnect`. */
  async close(): Promise<void> {
    this.reachable = false;
    if (this.connectionId) await this.gateway.disconnect(this.connectionId);
  }

  /** The connection is gone without its close reaching the bridge: no `$disconnect`, and pushes to it answer gone (API Gateway's 410). */
  vanish(): void {
    this.reachable = false;
  }

  send(text: string): boolean {
    if (!this.reachable) return false;
    this.frames.push(JSON.parse(text) as LiveFrame);
    return true;
  }

  end(): void {
    this.reachable = false;
  }
}
