import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCodeClaimStore } from '../../functions/adapters/dynamodb/code-claim-store';
import { localTableDefinition, TABLE_SCHEMA } from '../../functions/adapters/dynamodb/schema';
import { DynamoTable } from '../../functions/adapters/dynamodb/table';
import { startDynaliteServer, type DynamoDbServer } from '../support/dynamodb-servers';

/**
 * The TTL of code claims as it sits in the table (what DynamoDB deletes by), which the store
 * contract cannot see: the claims read back carry no expiry.
 */
describe('DynamoDB code claims: their TTL attribute', () => {
  let server: DynamoDbServer;
  let table: DynamoTable;
  let claims: DynamoDbCodeClaimStore;
  const NOW = 1_800_000_000;
  const SHORT_SECONDS = 3_600;
  const LONG_SECONDS = 30 * 86_400;

  beforeAll(async () => {
    server = await startDynaliteServer();
    await server.client.send(new CreateTableCommand(localTableDefinition('claims')));
    table = new DynamoTable(server.client, 'claims');
    claims = new DynamoDbCodeClaimStore(table);
  });
  afterAll(async () => server.close());

  const ttlOf = async (codeHash: string) =>
    (await table.documents.send(new GetCommand({ TableName: 'claims', Key: { pk: `CODE#${codeHash}` }, ConsistentRead: true }))).Item?.[
      TABLE_SCHEMA.timeToLiveAttribute
    ];

  async function claimWithShortLifetime(codeHash: string): Promise<void> {
    await claims.claimCode({ codeHash, attemptId: 'attempt-1', storeId: 5, claimedAtEpochSeconds: NOW, expiresAtEpochSeconds: NOW + SHORT_SECONDS });
    expect(await ttlOf(codeHash)).toBe(NOW + SHORT_SECONDS);
  }

  it('extends the TTL of a claim to the long lifetime when its outcome is installed', async () => {
    await claimWithShortLifetime('installed-code');
    await claims.recordCodeOutcome({
      codeHash: 'installed-code',
      attemptId: 'attempt-1',
      outcome: { status: 'installed', storeId: 5 },
      expiresAtEpochSeconds: NOW + LONG_SECONDS,
    });
    expect(await ttlOf('installed-code')).toBe(NOW + LONG_SECONDS);
  });

  it('sets the TTL a failed outcome gives, long for a code that produced a token', async () => {
    await claimWithShortLifetime('spent-code');
    await claims.recordCodeOutcome({
      codeHash: 'spent-code',
      attemptId: 'attempt-1',
      outcome: { status: 'failed', errorCode: 'STORAGE_UNAVAILABLE' },
      expiresAtEpochSeconds: NOW + LONG_SECONDS,
    });
    expect(await ttlOf('spent-code')).toBe(NOW + LONG_SECONDS);
  });

  it("leaves the TTL alone when the outcome is another attempt's to record", async () => {
    await claimWithShortLifetime('held-code');
    await claims.recordCodeOutcome({
      codeHash: 'held-code',
      attemptId: 'someone-else',
      outcome: { status: 'installed', storeId: 5 },
      expiresAtEpochSeconds: NOW + LONG_SECONDS,
    });
    expect(await ttlOf('held-code')).toBe(NOW + SHORT_SECONDS);
  });
});
