import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Installation, InstallationStatus } from '../../core/model';
import type {
  AcquireLeaseRequest,
  CompleteCheckRequest,
  CredentialsStore,
  MarkRefreshInFlightRequest,
  RecordRevocationRequest,
  ReleaseLeaseRequest,
} from '../../core/ports';
import { DynamoDbDueInstallationStore } from './due-installation-store';
import { leaseInstallationItem } from './lease';
import { DynamoDbInstallationStore } from './installation-store';
import { TABLE_SCHEMA } from './schema';
import { itemKeys, versionedUpdate, type DynamoTable } from './table';

const { partitionKey: PK, dueIndex } = TABLE_SCHEMA;

/** What a confirmed revocation removes: the schedule, the failure streak, any lease. */
const CLEARED_BY_REVOCATION = [
  'nextCheckAtEpochSeconds',
  dueIndex.partitionKey,
  dueIndex.sortKey,
  'failureCount',
  'firstFailureAtEpochSeconds',
  'leaseOwner',
  'leaseExpiresAtEpochSeconds',
];

/**
 * The credentials function's view of installation items. Reads and the result write are the other
 * adapters' own (one implementation each); the lease is the same attributes the scheduled job's
 * lease writes (`leaseOwner`, `leaseExpiresAtEpochSeconds`), without the job's "still due" condition.
 */
export class DynamoDbCredentialsStore implements CredentialsStore {
  private readonly installations: DynamoDbInstallationStore;
  private readonly due: DynamoDbDueInstallationStore;

  constructor(private readonly table: DynamoTable) {
    this.installations = new DynamoDbInstallationStore(table);
    this.due = new DynamoDbDueInstallationStore(table);
  }

  getInstallation(storeId: number): Promise<Installation | undefined> {
    return this.installations.getInstallation(storeId);
  }

  markRefreshInFlight(request: MarkRefreshInFlightRequest): Promise<boolean> {
    return this.due.markRefreshInFlight(request);
  }

  completeCheck(request: CompleteCheckRequest): Promise<boolean> {
    return this.due.completeCheck(request);
  }

  leaseInstallation(request: AcquireLeaseRequest): Promise<Installation | undefined> {
    // Unlike the job's lease, not "still due": a reader renews a token whatever the schedule says.
    // Only an item that holds a grant: a tombstone (or a subscription recorded before any install)
    // has nothing to renew.
    return leaseInstallationItem(this.table, request, {
      expression: 'attribute_exists(accessToken) AND #status <> :uninstalled',
      names: { '#status': 'status' },
      values: { ':uninstalled': 'uninstalled' satisfies InstallationStatus },
    });
  }

  async releaseLease(request: ReleaseLeaseRequest): Promise<boolean> {
    const released = await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.installation(request.storeId) },
          UpdateExpression: 'REMOVE leaseOwner, leaseExpiresAtEpochSeconds',
          // Only one's own lease: a lease that expired and was taken over belongs to its new holder.
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': request.owner },
        }),
      ),
    );
    return released !== undefined;
  }

  async recordRevocation(request: RecordRevocationRequest): Promise<boolean> {
    const expression = versionedUpdate(
      {
        status: 'needs_reinstall' satisfies InstallationStatus,
        statusReason: request.statusReason,
        updatedAtEpochSeconds: request.nowEpochSeconds,
      },
      CLEARED_BY_REVOCATION,
    );
    const written = await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.installation(request.storeId) },
          UpdateExpression: expression.update,
          // Only over the version whose token was found revoked: a reinstall since keeps its new token.
          ConditionExpression: '#version = :expectedVersion',
          ExpressionAttributeNames: expression.names,
          ExpressionAttributeValues: { ...expression.values, ':expectedVersion': request.version },
        }),
      ),
    );
    return written !== undefined;
  }

  async recordMissingScopes(request: { storeId: number; version: number; missingScopes: string[] }): Promise<boolean> {
    const clear = request.missingScopes.length === 0;
    const written = await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.installation(request.storeId) },
          UpdateExpression: clear ? 'REMOVE missingScopes' : 'SET missingScopes = :missing',
          // Only over the grant whose scope was compared: a reinstall since recomputed its own.
          ConditionExpression: '#version = :expectedVersion AND attribute_exists(accessToken)',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expectedVersion': request.version, ...(clear ? {} : { ':missing': request.missingScopes }) },
        }),
      ),
    );
    return written !== undefined;
  }
}
