export {
  BridgeRequestError,
  BridgeUnreachableError,
  ChatServiceClient,
  type Answer,
  type ChatServiceClientOptions,
  type RetryOptions,
} from './client.js';
export { SignatureError, TIMESTAMP_TOLERANCE_SECONDS } from './signing.js';
export type * from './types.js';
