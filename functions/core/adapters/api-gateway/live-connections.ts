import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { ConfigError } from '../../config';
import type { LiveFrame } from '../../domain/live-channel';
import type { LiveConnections } from '../../ports/live-channel';

export interface ApiGatewayLiveConnectionsOptions {
  /** The stage's `wss://` URL, for the function that hands it out (`LIVE_CHANNEL_URL`). */
  address?: string;
  /** A Management API client on the stage's callback URL, for the functions that push (`LIVE_CONNECTIONS_ENDPOINT`). */
  client?: ApiGatewayManagementApiClient;
}

/**
 * The live channel in AWS: frames go out through API Gateway's Management API (`PostToConnection`),
 * which answers 410 `GoneException` for a connection that no longer exists.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 */
export class ApiGatewayLiveConnections implements LiveConnections {
  constructor(private readonly options: ApiGatewayLiveConnectionsOptions) {}

  address(): string | undefined {
    return this.options.address;
  }

  async send(connectionId: string, frame: LiveFrame): Promise<'sent' | 'gone'> {
    try {
      await this.client().send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(frame), 'utf8') }),
      );
      return 'sent';
    } catch (error) {
      if (isGone(error)) return 'gone';
      throw error;
    }
  }

  /** `DeleteConnection`: API Gateway closes the socket and invokes `$disconnect`, as for a close by the client. */
  async close(connectionId: string): Promise<'closed' | 'gone'> {
    try {
      await this.client().send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      return 'closed';
    } catch (error) {
      if (isGone(error)) return 'gone';
      throw error;
    }
  }

  private client(): ApiGatewayManagementApiClient {
    if (!this.options.client)
      throw new ConfigError(
        'Configuration error: LIVE_CONNECTIONS_ENDPOINT is required to push to or close live channel connections, and this function does not have it',
      );
    return this.options.client;
  }
}

const isGone = (error: unknown) =>
  error instanceof GoneException || (error instanceof Error && error.name === 'GoneException');

/**
 * A Management API client for the stage's callback URL. Short timeouts: a push happens inside the
 * request or timer that changed the presence, and a connection that does not take a frame in time
 * is not worth holding that up for.
 */
export function managementApiClient(endpoint: string): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
    maxAttempts: 2,
  });
}
