import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DuePage, Installation } from '../../core/model';
import type {
  AcquireLeaseRequest,
  CompleteCheckRequest,
  DueInstallationStore,
  FindDueRequest,
  MarkRefreshInFlightRequest,
} from '../../core/ports';
import { leaseInstallationItem } from './lease';
import { dueShardNames, dueShardOf, PURGED_ATTRIBUTES, tombstoneAttributes } from './installation-item';
import { TABLE_SCHEMA } from './schema';
import { itemKeys, versionedUpdate, type DynamoTable, type Item } from './table';

const { partitionKey: PK, dueIndex } = TABLE_SCHEMA;

/**
 * Attributes a check result clears when it has no value for them; the others it leaves unchanged.
 * `ownerEmail`, personal data earlier versions stored, is never set any more: a check removes it.
 */
const CLEARED_WHEN_ABSENT = [
  'ownerEmail',
  'statusReason',
  'nextCheckAtEpochSeconds',
  dueIndex.partitionKey,
  dueIndex.sortKey,
  'failureCount',
  'firstFailureAtEpochSeconds',
  'leaseOwner',
  'leaseExpiresAtEpochSeconds',
  'refreshInFlightSinceEpochSeconds',
];

/**
 * The scheduled job's view of the installations: the sharded due index (keys only: no token is
 * copied into it), and a lease on each installation item.
 */
export class DynamoDbDueInstallationStore implements DueInstallationStore {
  constructor(private readonly table: DynamoTable) {}

  dueShards(): readonly string[] {
    return dueShardNames();
  }

  async findDue(request: FindDueRequest): Promise<DuePage> {
    const page = await this.table.call('Query', () =>
      this.table.documents.send(
        new QueryCommand({
          TableName: this.table.tableName,
          IndexName: dueIndex.name,
          // Only what is due is read: the key condition bounds the sort key, no filter throws items away.
          KeyConditionExpression: '#shard = :shard AND #due <= :now',
          ExpressionAttributeNames: { '#shard': dueIndex.partitionKey, '#due': dueIndex.sortKey },
          ExpressionAttributeValues: { ':shard': request.shard, ':now': request.nowEpochSeconds },
          Limit: request.limit,
          ...(request.cursor === undefined ? {} : { ExclusiveStartKey: decodeCursor(request.cursor) }),
        }),
      ),
    );
    return {
      due: (page.Items ?? []).map((item) => ({
        storeId: itemKeys.storeIdOf(String(item[PK])),
        dueAtEpochSeconds: item[dueIndex.sortKey] as number,
      })),
      ...(page.LastEvaluatedKey === undefined ? {} : { cursor: encodeCursor(page.LastEvaluatedKey) }),
    };
  }

  acquireLease(request: AcquireLeaseRequest): Promise<Installation | undefined> {
    // Still due (a reinstall reschedules it): the job works on the item as it is now, not on what the index showed.
    return leaseInstallationItem(this.table, request, {
      expression: 'attribute_exists(#pk) AND #due <= :now',
      names: { '#pk': PK, '#due': dueIndex.sortKey },
      values: {},
    });
  }

  async markRefreshInFlight(request: MarkRefreshInFlightRequest): Promise<boolean> {
    const marked = await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.installation(request.storeId) },
          // The earliest unresolved refresh is the one that matters: an existing mark is kept.
          UpdateExpression: 'SET refreshInFlightSinceEpochSeconds = if_not_exists(refreshInFlightSinceEpochSeconds, :now)',
          // Only over the leased version, while the lease is held: the version itself does not move.
          ConditionExpression: '#version = :version AND leaseOwner = :owner',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':now': request.nowEpochSeconds, ':version': request.version, ':owner': request.owner },
        }),
      ),
    );
    return marked !== undefined;
  }

  async completeCheck(request: CompleteCheckRequest): Promise<boolean> {
    const { result } = request;
    const set: Record<string, unknown> = {
      status: result.status,
      updatedAtEpochSeconds: request.nowEpochSeconds,
      statusReason: result.statusReason,
      nextCheckAtEpochSeconds: result.nextCheckAtEpochSeconds,
      [dueIndex.partitionKey]: result.nextCheckAtEpochSeconds === undefined ? undefined : dueShardOf(request.storeId),
      [dueIndex.sortKey]: result.nextCheckAtEpochSeconds,
      refreshInFlightSinceEpochSeconds: result.refreshInFlightSinceEpochSeconds,
      failureCount: result.failure?.count,
      firstFailureAtEpochSeconds: result.failure?.firstAtEpochSeconds,
      lastRefreshedAtEpochSeconds: result.lastRefreshedAtEpochSeconds,
      lastVerifiedAtEpochSeconds: result.lastVerifiedAtEpochSeconds,
      accessToken: result.refreshedGrant?.accessToken,
      accessTokenFingerprint: result.refreshedGrant?.accessTokenFingerprint,
      refreshToken: result.refreshedGrant?.refreshToken,
      expiresAtEpochSeconds: result.refreshedGrant?.expiresAtEpochSeconds,
      scope: result.refreshedGrant?.scope,
    };
    // A confirmed uninstall purges in the same write; a dismissed one is forgotten.
    const cleared: string[] = [...CLEARED_WHEN_ABSENT];
    if (result.uninstall !== undefined) {
      Object.assign(set, tombstoneAttributes(result.uninstall));
      for (const attribute of PURGED_ATTRIBUTES) set[attribute] = undefined;
      cleared.push(...PURGED_ATTRIBUTES);
    }
    if (result.dismissUninstallRequest === true) cleared.push('uninstallRequestedAtEpochSeconds');
    // Recomputed by the check: a list replaces the stored one; an empty one clears it.
    if (result.missingScopes !== undefined && result.uninstall === undefined) {
      if (result.missingScopes.length > 0) set.missingScopes = result.missingScopes;
      else cleared.push('missingScopes');
    }
    const expression = versionedUpdate(set, [...new Set(cleared)]);
    const written = await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.installation(request.storeId) },
          UpdateExpression: expression.update,
          // Only over the version this run leased, and only while it still holds the lease: a
          // reinstall in between keeps its newer token, and so does a run that took over an expired lease.
          ConditionExpression: '#version = :expectedVersion AND leaseOwner = :owner',
          ExpressionAttributeNames: expression.names,
          ExpressionAttributeValues: { ...expression.values, ':expectedVersion': request.version, ':owner': request.owner },
        }),
      ),
    );
    return written !== undefined;
  }
}

function encodeCursor(key: Item): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Item {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Item;
}
