import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Installation } from '../../core/model';
import type { AcquireLeaseRequest } from '../../core/ports';
import { toInstallation } from './installation-item';
import { TABLE_SCHEMA } from './schema';
import { itemKeys, type DynamoTable, type Item } from './table';

/** What else must hold for a lease to be taken, besides no live lease: an expression and its names and values. */
export interface LeaseCondition {
  expression: string;
  names: Record<string, string>;
  values: Item;
}

/**
 * Takes the lease on an installation item (`leaseOwner`, `leaseExpiresAtEpochSeconds`: the one lease
 * the scheduled job and the credentials API share) when `condition` holds and no live lease exists,
 * whoever took it: one holder at a time. Returns the item as it is now, which the holder works on,
 * or undefined when the condition or a live lease refused it.
 */
export async function leaseInstallationItem(table: DynamoTable, request: AcquireLeaseRequest, condition: LeaseCondition): Promise<Installation | undefined> {
  const leased = await table.conditionally('UpdateItem', () =>
    table.documents.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { [TABLE_SCHEMA.partitionKey]: itemKeys.installation(request.storeId) },
        UpdateExpression: 'SET leaseOwner = :owner, leaseExpiresAtEpochSeconds = :until',
        ConditionExpression: `${condition.expression} AND (attribute_not_exists(leaseExpiresAtEpochSeconds) OR leaseExpiresAtEpochSeconds <= :now)`,
        ExpressionAttributeNames: condition.names,
        ExpressionAttributeValues: {
          ...condition.values,
          ':owner': request.owner,
          ':until': request.leaseExpiresAtEpochSeconds,
          ':now': request.nowEpochSeconds,
        },
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  return leased === undefined ? undefined : toInstallation(leased.Attributes as Item);
}
