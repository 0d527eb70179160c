import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { StorageError } from '../../core/errors';
import type { StateConsumption, StateRecord } from '../../core/model';
import type { ConsumeStateRequest, StateStore } from '../../core/ports';
import { TABLE_SCHEMA } from './schema';
import { itemKeys, type DynamoTable } from './table';

/**
 * A state is kept this long past its expiry (then DynamoDB TTL deletes it), so a late callback
 * hears "expired" rather than "unknown".
 */
const STATE_RETENTION_AFTER_EXPIRY_SECONDS = 24 * 60 * 60;

const { partitionKey: PK, timeToLiveAttribute: TTL } = TABLE_SCHEMA;

/** States (`STATE#{hash}` items): saved by the authorize function, spent once by the callback. */
export class DynamoDbStateStore implements StateStore {
  constructor(private readonly table: DynamoTable) {}

  async saveState(record: StateRecord): Promise<void> {
    const saved = await this.table.conditionally('PutItem', () =>
      this.table.documents.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            [PK]: itemKeys.state(record.stateHash),
            kind: 'state',
            browserBindingHash: record.browserBindingHash,
            createdAtEpochSeconds: record.createdAtEpochSeconds,
            expiresAtEpochSeconds: record.expiresAtEpochSeconds,
            [TTL]: record.expiresAtEpochSeconds + STATE_RETENTION_AFTER_EXPIRY_SECONDS,
          },
          // 256-bit states do not collide; the condition makes sure a bug could never overwrite one.
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK },
        }),
      ),
    );
    if (saved === undefined) throw new StorageError('a state with this hash already exists', { operation: 'PutItem' });
  }

  async consumeState(request: ConsumeStateRequest): Promise<StateConsumption> {
    const key = itemKeys.state(request.stateHash);
    const spent = await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: key },
          UpdateExpression: 'SET consumedAtEpochSeconds = :now, consumedByCodeHash = :codeHash',
          // All checks in one condition, so two concurrent callbacks cannot both spend the state.
          ConditionExpression:
            'attribute_exists(#pk) AND attribute_not_exists(consumedAtEpochSeconds) ' +
            'AND expiresAtEpochSeconds > :now AND browserBindingHash = :binding',
          ExpressionAttributeNames: { '#pk': PK },
          ExpressionAttributeValues: {
            ':now': request.nowEpochSeconds,
            ':codeHash': request.codeHash,
            // A value no binding hash can equal, when the browser sent no cookie.
            ':binding': request.browserBindingHash ?? '-',
          },
        }),
      ),
    );
    if (spent !== undefined) return 'consumed';

    // The condition failed: read the item once to say why (rare path, so no extra cost on success).
    const item = await this.table.getItem(key);
    // Past its TTL the item is as good as deleted, whether or not DynamoDB has got round to it.
    if (item === undefined || (item[TTL] as number) <= request.nowEpochSeconds) return 'unknown';
    const expired = (item.expiresAtEpochSeconds as number) <= request.nowEpochSeconds;
    const sameBrowser = item.browserBindingHash === request.browserBindingHash;
    // A reload of the very callback that spent the state, from the same browser, in time.
    if (item.consumedByCodeHash === request.codeHash && sameBrowser && !expired) return 'consumed';
    if (item.consumedAtEpochSeconds !== undefined) return 'used';
    if (expired) return 'expired';
    if (!sameBrowser) return 'browser_mismatch';
    return 'used';
  }
}
