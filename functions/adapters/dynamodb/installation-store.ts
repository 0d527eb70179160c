import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Installation, InstallationStatus, NewInstallation } from '../../core/model';
import type { InstallationStore, SaveOptions } from '../../core/ports';
import { dueShardOf, holdsGrant, toInstallation } from './installation-item';
import { TABLE_SCHEMA } from './schema';
import { itemKeys, versionedUpdate, type DynamoTable, type Item } from './table';

const { partitionKey: PK, dueIndex } = TABLE_SCHEMA;

/**
 * Attributes of the previous grant and its checks: a reinstall removes those the new grant does not
 * set. `ownerEmail` is no longer stored (personal data the app does not need); earlier items lose it
 * at their next write.
 */
const CLEARED_BY_REINSTALL = [
  'publicToken',
  'ownerEmail',
  'refreshToken',
  'expiresAtEpochSeconds',
  'statusReason',
  'lastRefreshedAtEpochSeconds',
  'lastVerifiedAtEpochSeconds',
  'failureCount',
  'firstFailureAtEpochSeconds',
  'leaseOwner',
  'leaseExpiresAtEpochSeconds',
  'refreshInFlightSinceEpochSeconds',
  // A reinstall over a tombstone (or over a pending uninstall) makes a live installation again:
  // DynamoDB must not delete it, and no uninstall is pending for the new grant.
  'uninstalledAtEpochSeconds',
  'uninstallRequestedAtEpochSeconds',
  TABLE_SCHEMA.timeToLiveAttribute,
  // What the new grant says of itself, when it says nothing.
  'grantCodeHash',
  'missingScopes',
  'accessTokenFingerprint',
] as const;

/** Installations (`STORE#{storeId}` items): written whole by an install, read by id. */
export class DynamoDbInstallationStore implements InstallationStore {
  constructor(private readonly table: DynamoTable) {}

  async saveInstallation(installation: NewInstallation, options: SaveOptions = {}): Promise<Installation | undefined> {
    const set: Record<string, unknown> = {
      kind: 'installation',
      storeId: installation.storeId,
      tokenKey: installation.tokenKey,
      accessToken: installation.accessToken,
      accessTokenFingerprint: installation.accessTokenFingerprint,
      tokenType: 'Bearer',
      scope: installation.scope,
      publicToken: installation.publicToken,
      refreshToken: installation.refreshToken,
      expiresAtEpochSeconds: installation.expiresAtEpochSeconds,
      installedAtEpochSeconds: installation.installedAtEpochSeconds,
      updatedAtEpochSeconds: installation.installedAtEpochSeconds,
      status: 'active' satisfies InstallationStatus,
      grantCodeHash: installation.grantCodeHash,
      grantLane: installation.grantLane,
      grantObtainedAtEpochMs: installation.grantObtainedAtEpochMs,
      missingScopes: installation.missingScopes === undefined || installation.missingScopes.length === 0 ? undefined : installation.missingScopes,
      nextCheckAtEpochSeconds: installation.nextCheckAtEpochSeconds,
      [dueIndex.partitionKey]: dueShardOf(installation.storeId),
      [dueIndex.sortKey]: installation.nextCheckAtEpochSeconds,
    };
    const expression = versionedUpdate(set, CLEARED_BY_REINSTALL);

    const saved = await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.installation(installation.storeId) },
          // One atomic write: the new grant replaces the old one whole (and any lease), and the
          // version moves on so a refresh that read the old grant cannot overwrite this one.
          UpdateExpression: expression.update,
          ...replacementCondition(expression, installation, options.replacing),
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return saved === undefined ? undefined : toInstallation(saved.Attributes as Item);
  }

  async getInstallation(storeId: number): Promise<Installation | undefined> {
    const item = await this.table.getItem(itemKeys.installation(storeId));
    // A tombstone, or a subscription recorded before the install, is not an installation.
    return item === undefined || !holdsGrant(item) ? undefined : toInstallation(item);
  }

  async listInstallations(): Promise<Installation[]> {
    const installations: Installation[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.table.call('Scan', () =>
        this.table.documents.send(
          new ScanCommand({
            TableName: this.table.tableName,
            FilterExpression: 'kind = :installation',
            ExpressionAttributeValues: { ':installation': 'installation' },
            ExclusiveStartKey: startKey,
            ConsistentRead: true,
          }),
        ),
      );
      for (const item of page.Items ?? []) if (holdsGrant(item)) installations.push(toInstallation(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return installations.sort((a, b) => a.storeId - b.storeId);
  }
}

/**
 * Which stored grant a save may replace. By default, any obtained no later than the new one: two
 * installs of one store crossing, the grant Ecwid issued last wins, whichever lands last (on a tie,
 * the later write). A repair replaces only what it looked at: no grant at all (nothing stored, a
 * tombstone, a subscription recorded before any install), or the grant at that version.
 */
function replacementCondition(
  expression: ReturnType<typeof versionedUpdate>,
  installation: NewInstallation,
  replacing: SaveOptions['replacing'],
) {
  if (replacing === 'no_grant') {
    return {
      ConditionExpression: 'attribute_not_exists(accessToken) OR #status = :uninstalled',
      ExpressionAttributeNames: { ...expression.names, '#status': 'status' },
      ExpressionAttributeValues: { ...expression.values, ':uninstalled': 'uninstalled' satisfies InstallationStatus },
    };
  }
  if (replacing !== undefined) {
    return {
      ConditionExpression: '#version = :expectedVersion',
      ExpressionAttributeNames: expression.names,
      ExpressionAttributeValues: { ...expression.values, ':expectedVersion': replacing.version },
    };
  }
  return {
    ConditionExpression: 'attribute_not_exists(#obtained) OR #obtained <= :obtained',
    ExpressionAttributeNames: { ...expression.names, '#obtained': 'grantObtainedAtEpochMs' },
    ExpressionAttributeValues: { ...expression.values, ':obtained': installation.grantObtainedAtEpochMs },
  };
}
