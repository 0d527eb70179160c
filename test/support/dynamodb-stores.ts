import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbCodeClaimStore } from '../../functions/adapters/dynamodb/code-claim-store';
import { DynamoDbCredentialsStore } from '../../functions/adapters/dynamodb/credentials-store';
import { DynamoDbDueInstallationStore } from '../../functions/adapters/dynamodb/due-installation-store';
import { DynamoDbInstallationStore } from '../../functions/adapters/dynamodb/installation-store';
import { DynamoDbStateStore } from '../../functions/adapters/dynamodb/state-store';
import { DynamoTable } from '../../functions/adapters/dynamodb/table';
import type { CodeClaimStore, CredentialsStore, DueInstallationStore, InstallationStore, StateStore } from '../../functions/core/ports';

/** Every store port, as one object: what the store contract suite and the in-memory store offer. */
export type AllStores = StateStore & CodeClaimStore & InstallationStore & DueInstallationStore & CredentialsStore;

/** The DynamoDB adapters over one table, behind one object, for tests that use them together. */
export function dynamoDbStores(client: DynamoDBClient, tableName: string): AllStores {
  const table = new DynamoTable(client, tableName);
  const states = new DynamoDbStateStore(table);
  const claims = new DynamoDbCodeClaimStore(table);
  const installations = new DynamoDbInstallationStore(table);
  const due = new DynamoDbDueInstallationStore(table);
  const credentials = new DynamoDbCredentialsStore(table);
  return {
    saveState: (record) => states.saveState(record),
    consumeState: (request) => states.consumeState(request),
    claimCode: (claim) => claims.claimCode(claim),
    getCodeClaim: (codeHash) => claims.getCodeClaim(codeHash),
    recordCodeOutcome: (codeHash, outcome) => claims.recordCodeOutcome(codeHash, outcome),
    releaseCodeClaim: (codeHash) => claims.releaseCodeClaim(codeHash),
    saveInstallation: (installation) => installations.saveInstallation(installation),
    getInstallation: (storeId) => installations.getInstallation(storeId),
    listInstallations: () => installations.listInstallations(),
    dueShards: () => due.dueShards(),
    findDue: (request) => due.findDue(request),
    acquireLease: (request) => due.acquireLease(request),
    completeCheck: (request) => due.completeCheck(request),
    leaseInstallation: (request) => credentials.leaseInstallation(request),
    releaseLease: (request) => credentials.releaseLease(request),
    recordRevocation: (request) => credentials.recordRevocation(request),
  };
}
