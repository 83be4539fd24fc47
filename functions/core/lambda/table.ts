import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient, type TableRef } from '../adapters/dynamodb/table';

let table: TableRef | undefined;

/**
 * The bridge's table in Lambda (`TABLE_NAME`), with one DynamoDB client per container, created on
 * first use. Only the composition roots of functions whose manifest entry has table access import
 * this module, so a function without it carries no DynamoDB client (test/bundle checks the bundles).
 */
export function lambdaTable(): TableRef {
  table ??= { doc: documentClient(new DynamoDBClient({})), tableName: process.env.TABLE_NAME ?? '' };
  return table;
}
