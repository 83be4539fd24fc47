import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { InstallLimitStore } from '../../ports/install-limit-store';
import { epochSeconds, partitionKey, type TableRef, writeIf } from './table';

/**
 * One counter item per key and window, raised by a conditional update (never read then written), so
 * concurrent installs never pass the limit together. TTL removes a window's items after it ends.
 */
export class DynamoInstallLimitStore implements InstallLimitStore {
  constructor(private readonly table: TableRef) {}

  async take(keys: readonly string[], limit: number, window: { startMs: number; endMs: number }): Promise<boolean> {
    for (const key of keys) {
      const counted = await writeIf(
        this.table,
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: partitionKey('installLimit', key), sk: String(window.startMs) },
          UpdateExpression: 'ADD exchanges :one SET expiresAt = :end',
          ConditionExpression: 'attribute_not_exists(exchanges) OR exchanges < :limit',
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':end': epochSeconds(window.endMs) + 1 },
        }),
      );
      if (!counted) return false;
    }
    return true;
  }
}
