import { ApiGatewayLiveConnections, managementApiClient } from '../adapters/api-gateway/live-connections';
import type { LiveConnections } from '../ports/live-channel';
import { liveChannelVariables } from '../../manifest';

/**
 * The live channel's connections for a function that pushes frames (its manifest entry has
 * `liveChannel.push`): API Gateway's Management API on the endpoint the stack sets.
 */
export function lambdaLiveConnections(): LiveConnections {
  const endpoint = process.env[liveChannelVariables.push];
  return new ApiGatewayLiveConnections({
    address: process.env[liveChannelVariables.address] || undefined,
    ...(endpoint ? { client: managementApiClient(endpoint) } : {}),
  });
}
