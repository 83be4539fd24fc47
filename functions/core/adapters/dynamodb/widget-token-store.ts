import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { WidgetTokenStore } from '../../ports/widget-token-store';
import { epochSeconds, partitionKey, type TableRef, writeIf } from './table';

/** `jti` comes from the token, so it is escaped like any caller-given key part. */
const key = (tokenId: string) => ({ pk: partitionKey('widgetToken', tokenId), sk: 'USED' });

/**
 * One item per used token, written with a conditional put so that of concurrent requests carrying
 * the same token exactly one gets it. It lives exactly as long as the token could still be accepted;
 * after that the token's own `exp` refuses it, and TTL deletes the item.
 */
export class DynamoWidgetTokenStore implements WidgetTokenStore {
  constructor(private readonly table: TableRef) {}

  claim(tokenId: string, usableUntilSeconds: number, nowMs: number): Promise<boolean> {
    return writeIf(
      this.table,
      new PutCommand({
        TableName: this.table.tableName,
        Item: { ...key(tokenId), expiresAt: usableUntilSeconds },
        // An item past its time that TTL has not deleted yet does not count.
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
        ExpressionAttributeValues: { ':now': epochSeconds(nowMs) },
      }),
    );
  }
}
