import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { InstallationStatus } from '../../core/model';
import type {
  LifecycleStore,
  PurgeRequest,
  SubscriptionChange,
  SubscriptionRecording,
  UninstallCheckRequest,
} from '../../core/ports';
import { dueShardOf, holdsGrant, PURGED_ATTRIBUTES, tombstoneAttributes } from './installation-item';
import { TABLE_SCHEMA } from './schema';
import { itemKeys, versionedUpdate, type DynamoTable, type Item } from './table';

const { partitionKey: PK, dueIndex } = TABLE_SCHEMA;

/** The writes webhooks make to installation items (`STORE#{storeId}`), each one conditional. */
export class DynamoDbLifecycleStore implements LifecycleStore {
  constructor(private readonly table: DynamoTable) {}

  async purgeInstallation(request: PurgeRequest): Promise<boolean> {
    const set: Record<string, unknown> = {
      ...tombstoneAttributes(request.tombstone),
      statusReason: request.reason,
      updatedAtEpochSeconds: request.nowEpochSeconds,
    };
    const expression = versionedUpdate(set, PURGED_ATTRIBUTES);
    const purged = await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.installation(request.storeId) },
          // Tokens and data key go in the same write that makes the tombstone: never one without the
          // other. Only over the version the uninstall was confirmed on: a reinstall since then wins.
          UpdateExpression: expression.update,
          ConditionExpression: '#version = :expectedVersion AND attribute_exists(accessToken)',
          ExpressionAttributeNames: expression.names,
          ExpressionAttributeValues: { ...expression.values, ':expectedVersion': request.version },
        }),
      ),
    );
    return purged !== undefined;
  }

  async requestUninstallCheck(request: UninstallCheckRequest): Promise<boolean> {
    const requested = await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.installation(request.storeId) },
          // Due now, in the index the job reads. The version stays: this is not a change of the grant.
          // The expired lease goes: a check that took it and is still finishing has a copy without the
          // request, and its result (written only while it holds the lease) must not erase it.
          UpdateExpression:
            'SET uninstallRequestedAtEpochSeconds = :at, nextCheckAtEpochSeconds = :now, #shard = :shard, #due = :now ' +
            'REMOVE leaseOwner, leaseExpiresAtEpochSeconds',
          // Not while a check holds the lease: its result would not know of the request. Ecwid's next
          // delivery comes after the lease has run out.
          ConditionExpression:
            '#version = :expectedVersion AND attribute_exists(accessToken) AND ' +
            '(attribute_not_exists(leaseExpiresAtEpochSeconds) OR leaseExpiresAtEpochSeconds <= :now)',
          ExpressionAttributeNames: { '#version': 'version', '#shard': dueIndex.partitionKey, '#due': dueIndex.sortKey },
          ExpressionAttributeValues: {
            ':at': request.requestedAtEpochSeconds,
            ':now': request.nowEpochSeconds,
            ':shard': dueShardOf(request.storeId),
            ':expectedVersion': request.version,
          },
        }),
      ),
    );
    return requested !== undefined;
  }

  async recordSubscription(change: SubscriptionChange): Promise<SubscriptionRecording> {
    const updated = await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.installation(change.storeId) },
          // Neither the version nor the status moves: a check or an install in flight is not disturbed.
          UpdateExpression: 'SET subscriptionStatus = :status, subscriptionChangedAtEpochSeconds = :at',
          // Only on an installation holding a grant (a tombstone has none, and its subscription ended
          // with the uninstall). Webhooks arrive in any order: only a change at least as recent as the
          // recorded one is written (at the same instant, a different status: the later delivery wins).
          ConditionExpression:
            'attribute_exists(accessToken) AND (attribute_not_exists(subscriptionChangedAtEpochSeconds) OR ' +
            'subscriptionChangedAtEpochSeconds < :at OR (subscriptionChangedAtEpochSeconds = :at AND subscriptionStatus <> :status))',
          ExpressionAttributeValues: { ':status': change.subscriptionStatus, ':at': change.changedAtEpochSeconds },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    if (updated !== undefined) return recorded(updated.Attributes as Item);
    const existing = await this.table.getItem(itemKeys.installation(change.storeId));
    if (existing === undefined || !holdsGrant(existing)) return { recorded: false, reason: 'no_installation' };
    // Exactly this change is recorded already: a retry whose first answer was lost, or Ecwid
    // announcing it twice. Idempotent: recorded.
    const same = existing.subscriptionChangedAtEpochSeconds === change.changedAtEpochSeconds && existing.subscriptionStatus === change.subscriptionStatus;
    return same ? { recorded: true, installationStatus: existing.status as InstallationStatus } : { recorded: false, reason: 'older_than_recorded' };
  }

  async findTombstone(storeId: number, nowEpochSeconds: number): Promise<{ uninstalledAtEpochSeconds: number; statusReason?: string } | undefined> {
    const item = await this.table.getItem(itemKeys.installation(storeId));
    const ttl = item?.[TABLE_SCHEMA.timeToLiveAttribute];
    // Past its TTL the tombstone is gone, whether or not DynamoDB has deleted it yet.
    if (item?.status !== 'uninstalled' || typeof item.uninstalledAtEpochSeconds !== 'number' || (typeof ttl === 'number' && ttl <= nowEpochSeconds)) {
      return undefined;
    }
    return typeof item.statusReason === 'string'
      ? { uninstalledAtEpochSeconds: item.uninstalledAtEpochSeconds, statusReason: item.statusReason }
      : { uninstalledAtEpochSeconds: item.uninstalledAtEpochSeconds };
  }
}

function recorded(old: Item): SubscriptionRecording {
  const installationStatus = old.status as InstallationStatus;
  return typeof old.subscriptionStatus === 'string'
    ? { recorded: true, previousStatus: old.subscriptionStatus, installationStatus }
    : { recorded: true, installationStatus };
}
