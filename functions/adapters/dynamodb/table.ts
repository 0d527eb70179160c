import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { errorName, StorageError } from '../../core/errors';
import { TABLE_SCHEMA } from './schema';

/** An item as the document client reads and writes it. */
export type Item = Record<string, unknown>;

const { keyPrefixes } = TABLE_SCHEMA;

/** The partition key of every kind of item: a prefix naming the kind, then the item's own key. */
export const itemKeys = {
  state: (stateHash: string) => `${keyPrefixes.state}${stateHash}`,
  codeClaim: (codeHash: string) => `${keyPrefixes.codeClaim}${codeHash}`,
  installation: (storeId: number) => `${keyPrefixes.installation}${storeId}`,
  webhookEvent: (eventId: string) => `${keyPrefixes.webhookEvent}${eventId}`,
  /** The store id of an installation's key. */
  storeIdOf: (installationKey: string) => Number(installationKey.slice(keyPrefixes.installation.length)),
} as const;

/**
 * The one table, as each store adapter sees it: a document client, strongly consistent reads, and
 * one translation of the SDK's errors. Every failure but a failed condition becomes a
 * `StorageError` naming the operation; callers never see an AWS type.
 */
export class DynamoTable {
  readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    readonly tableName: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** A strongly consistent read of one item by its partition key. */
  async getItem(partitionKey: string): Promise<Item | undefined> {
    const result = await this.call('GetItem', () =>
      this.documents.send(new GetCommand({ TableName: this.tableName, Key: { [TABLE_SCHEMA.partitionKey]: partitionKey }, ConsistentRead: true })),
    );
    return result.Item;
  }

  /** Runs a conditional write: its answer when it was applied, undefined when its condition did not hold. */
  async conditionally<T>(operation: string, send: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(operation, send);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** Sends one request; every failure but a failed condition becomes a `StorageError`. */
  async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw error;
      throw new StorageError(`DynamoDB ${operation} failed`, { cause: error, operation, detail: { awsError: errorName(error) } });
    }
  }
}

/**
 * `SET` of every defined value, `REMOVE` of the listed attributes that have none, and the version
 * moved on by one, with placeholder names for everything (attribute names may be reserved words).
 */
export function versionedUpdate(set: Record<string, unknown>, removeWhenAbsent: readonly string[]) {
  const names: Record<string, string> = { '#version': 'version' };
  const values: Item = { ':zero': 0, ':one': 1 };
  const assignments: string[] = ['#version = if_not_exists(#version, :zero) + :one'];
  const removals: string[] = [];
  Object.entries(set).forEach(([attribute, value], index) => {
    if (value === undefined) return;
    names[`#s${index}`] = attribute;
    values[`:s${index}`] = value;
    assignments.push(`#s${index} = :s${index}`);
  });
  removeWhenAbsent.forEach((attribute, index) => {
    if (set[attribute] !== undefined) return;
    names[`#r${index}`] = attribute;
    removals.push(`#r${index}`);
  });
  return {
    update: `SET ${assignments.join(', ')}` + (removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''),
    names,
    values,
  };
}
