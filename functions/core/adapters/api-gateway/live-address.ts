import { ConfigError } from '../../config';
import type { LiveConnections } from '../../ports/live-channel';

/**
 * The live channel for a function that only hands out its address (the widget's `POST /widget/live`):
 * no Management API client, and a push fails naming what is missing instead of going nowhere.
 */
export class LiveChannelAddress implements LiveConnections {
  constructor(private readonly url: string | undefined) {}

  address(): string | undefined {
    return this.url;
  }

  async send(): Promise<'sent' | 'gone'> {
    throw new ConfigError(
      'Configuration error: this function only hands out the live channel address; pushes go through the functions that hold LIVE_CONNECTIONS_ENDPOINT',
    );
  }

  async close(): Promise<'closed' | 'gone'> {
    throw new ConfigError(
      'Configuration error: this function only hands out the live channel address; connections are closed by the functions that hold LIVE_CONNECTIONS_ENDPOINT',
    );
  }
}
