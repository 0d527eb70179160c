import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbCodeClaimStore } from '../../functions/adapters/dynamodb/code-claim-store';
import { DynamoDbCredentialsStore } from '../../functions/adapters/dynamodb/credentials-store';
import { DynamoDbDueInstallationStore } from '../../functions/adapters/dynamodb/due-installation-store';
import { DynamoDbInstallationDirectory } from '../../functions/adapters/dynamodb/installation-directory';
import { DynamoDbInstallationStore } from '../../functions/adapters/dynamodb/installation-store';
import { DynamoDbLifecycleStore } from '../../functions/adapters/dynamodb/lifecycle-store';
import { DynamoDbWebhookEventStore } from '../../functions/adapters/dynamodb/webhook-event-store';
import { DynamoDbStateStore } from '../../functions/adapters/dynamodb/state-store';
import { DynamoTable } from '../../functions/adapters/dynamodb/table';
import { systemClock } from '../../functions/runtime/system';
import type {
  Clock,
  CodeClaimStore,
  CredentialsStore,
  DueInstallationStore,
  InstallationDirectory,
  InstallationStore,
  LifecycleStore,
  StateStore,
  WebhookEventStore,
} from '../../functions/core/ports';

/** Every store port, as one object: what the store contract suite and the in-memory store offer. */
export type AllStores = StateStore &
  CodeClaimStore &
  InstallationStore &
  DueInstallationStore &
  WebhookEventStore &
  LifecycleStore &
  InstallationDirectory &
  CredentialsStore;

/**
 * The DynamoDB adapters over one table, behind one object, for tests that use them together. `clock`
 * is what the adapters that read the time themselves (the directory, for TTLs) read.
 */
export function dynamoDbStores(client: DynamoDBClient, tableName: string, clock: Pick<Clock, 'nowEpochMs'> = systemClock): AllStores {
  const table = new DynamoTable(client, tableName);
  const states = new DynamoDbStateStore(table);
  const claims = new DynamoDbCodeClaimStore(table);
  const installations = new DynamoDbInstallationStore(table);
  const due = new DynamoDbDueInstallationStore(table);
  const webhookEvents = new DynamoDbWebhookEventStore(table);
  const lifecycle = new DynamoDbLifecycleStore(table);
  const directory = new DynamoDbInstallationDirectory(table, clock);
  const credentials = new DynamoDbCredentialsStore(table);
  return {
    saveState: (record) => states.saveState(record),
    consumeState: (request) => states.consumeState(request),
    claimCode: (claim) => claims.claimCode(claim),
    getCodeClaim: (codeHash) => claims.getCodeClaim(codeHash),
    recordCodeOutcome: (request) => claims.recordCodeOutcome(request),
    releaseCodeClaim: (codeHash, attemptId) => claims.releaseCodeClaim(codeHash, attemptId),
    saveInstallation: (installation, options) => installations.saveInstallation(installation, options),
    getInstallation: (storeId) => installations.getInstallation(storeId),
    listInstallations: () => installations.listInstallations(),
    dueShards: () => due.dueShards(),
    findDue: (request) => due.findDue(request),
    acquireLease: (request) => due.acquireLease(request),
    markRefreshInFlight: (request) => due.markRefreshInFlight(request),
    completeCheck: (request) => due.completeCheck(request),
    claimWebhookEvent: (request) => webhookEvents.claimWebhookEvent(request),
    completeWebhookEvent: (key, owner, outcome) => webhookEvents.completeWebhookEvent(key, owner, outcome),
    releaseWebhookEvent: (key, owner) => webhookEvents.releaseWebhookEvent(key, owner),
    purgeInstallation: (request) => lifecycle.purgeInstallation(request),
    requestUninstallCheck: (request) => lifecycle.requestUninstallCheck(request),
    recordSubscription: (change) => lifecycle.recordSubscription(change),
    findTombstone: (storeId, nowEpochSeconds) => lifecycle.findTombstone(storeId, nowEpochSeconds),
    listStores: (request) => directory.listStores(request),
    describeStore: (storeId) => directory.describeStore(storeId),
    leaseInstallation: (request) => credentials.leaseInstallation(request),
    releaseLease: (request) => credentials.releaseLease(request),
    recordRevocation: (request) => credentials.recordRevocation(request),
    recordMissingScopes: (request) => credentials.recordMissingScopes(request),
  };
}
