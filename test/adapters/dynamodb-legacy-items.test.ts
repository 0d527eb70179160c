import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbDueInstallationStore } from '../../functions/adapters/dynamodb/due-installation-store';
import { DynamoDbInstallationStore } from '../../functions/adapters/dynamodb/installation-store';
import { DynamoDbLifecycleStore } from '../../functions/adapters/dynamodb/lifecycle-store';
import { localTableDefinition } from '../../functions/adapters/dynamodb/schema';
import { DynamoTable } from '../../functions/adapters/dynamodb/table';
import { DynamoDbWebhookEventStore } from '../../functions/adapters/dynamodb/webhook-event-store';
import type { SealedToken } from '../../functions/core/model';
import { startDynaliteServer, type DynamoDbServer } from '../support/dynamodb-servers';

/** Items written by earlier versions, as they sit in a deployed table, and what today's writes make of them. */
describe('DynamoDB items written by earlier versions', () => {
  let server: DynamoDbServer;
  let table: DynamoTable;
  const NOW = 1_800_000_000;

  beforeAll(async () => {
    server = await startDynaliteServer();
    await server.client.send(new CreateTableCommand(localTableDefinition('legacy')));
    table = new DynamoTable(server.client, 'legacy');
  });
  afterAll(async () => server.close());

  const legacyItem = (storeId: number) => ({
    pk: `STORE#${storeId}`,
    kind: 'installation',
    storeId,
    tokenKey: 'wrapped',
    accessToken: 'v1.sealed',
    tokenType: 'Bearer',
    scope: 'read_store_profile',
    ownerEmail: `owner-${storeId}@example.com`,
    installedAtEpochSeconds: NOW - 86_400,
    updatedAtEpochSeconds: NOW - 86_400,
    status: 'active',
    version: 3,
    grantObtainedAtEpochMs: (NOW - 86_400) * 1000,
    nextCheckAtEpochSeconds: NOW - 10,
    dueShard: `shard-${storeId % 16}`,
    dueAtEpochSeconds: NOW - 10,
  });
  const raw = async (storeId: number) =>
    (await table.documents.send(new GetCommand({ TableName: 'legacy', Key: { pk: `STORE#${storeId}` }, ConsistentRead: true }))).Item!;
  const putRaw = (item: Record<string, unknown>) => table.documents.send(new PutCommand({ TableName: 'legacy', Item: item }));

  it('drops the owner email an earlier version stored, at the next scheduled check', async () => {
    await putRaw(legacyItem(1));
    const due = new DynamoDbDueInstallationStore(table);
    const leased = await due.acquireLease({ storeId: 1, owner: 'run', nowEpochSeconds: NOW, leaseExpiresAtEpochSeconds: NOW + 60 });
    expect(leased).toBeDefined();
    expect(leased).not.toHaveProperty('ownerEmail');
    await expect(
      due.completeCheck({ storeId: 1, owner: 'run', version: 3, nowEpochSeconds: NOW, result: { status: 'active', nextCheckAtEpochSeconds: NOW + 86_400 } }),
    ).resolves.toBe(true);
    expect(await raw(1)).not.toHaveProperty('ownerEmail');
  });

  it('drops the owner email an earlier version stored, at a reinstall', async () => {
    await putRaw(legacyItem(2));
    await new DynamoDbInstallationStore(table).saveInstallation({
      storeId: 2,
      tokenKey: 'wrapped-2',
      accessToken: 'v1.new' as SealedToken,
      scope: 'read_store_profile',
      installedAtEpochSeconds: NOW,
      grantCodeHash: 'code',
      grantObtainedAtEpochMs: NOW * 1000,
      nextCheckAtEpochSeconds: NOW + 86_400,
    });
    expect(await raw(2)).not.toHaveProperty('ownerEmail');
  });

  it('keeps a subscription an earlier version recorded before the install out of every installation read, and writes no new status on it', async () => {
    await putRaw({ pk: 'STORE#3', kind: 'installation', storeId: 3, subscriptionStatus: 'TRIAL', subscriptionChangedAtEpochSeconds: NOW - 60, updatedAtEpochSeconds: NOW - 60, ttlEpochSeconds: NOW + 86_400 });
    await expect(new DynamoDbInstallationStore(table).getInstallation(3)).resolves.toBeUndefined();
    await expect(
      new DynamoDbLifecycleStore(table).recordSubscription({ storeId: 3, subscriptionStatus: 'ACTIVE', changedAtEpochSeconds: NOW, nowEpochSeconds: NOW }),
    ).resolves.toEqual({ recorded: false, reason: 'no_installation' });
    expect(await raw(3)).toMatchObject({ subscriptionStatus: 'TRIAL' });
  });

  describe('webhook claims of the earlier format (one per eventId, at the top of the item)', () => {
    const events = () => new DynamoDbWebhookEventStore(table);
    const legacyClaim = (eventId: string, status: 'done' | 'processing', ttl = NOW + 3600) =>
      putRaw({
        pk: `EVENT#${eventId}`,
        kind: 'webhook_event',
        status,
        owner: 'old-delivery',
        eventType: 'application.uninstalled',
        storeId: 1,
        claimedAtEpochMs: (NOW - 60) * 1000,
        ...(status === 'processing' ? { leaseUntilEpochMs: (NOW + 10) * 1000 } : { outcome: 'purged' }),
        ttlEpochSeconds: ttl,
      });
    const claim = (eventId: string, digest: string) =>
      events().claimWebhookEvent({
        eventId,
        digest,
        maxBodies: 4,
        owner: 'new-delivery',
        eventType: 'application.uninstalled',
        storeId: 1,
        nowEpochMs: NOW * 1000,
        leaseUntilEpochMs: (NOW + 10) * 1000,
        keepUntilEpochSeconds: NOW + 72 * 3600,
      });

    it('reads a claim an earlier version completed as done for every body, and writes nothing over it', async () => {
      await legacyClaim('legacy-done', 'done');
      await expect(claim('legacy-done', 'a'.repeat(64))).resolves.toEqual({ claimed: false, state: 'done' });
      await expect(claim('legacy-done', 'b'.repeat(64))).resolves.toEqual({ claimed: false, state: 'done' });
      expect(await rawEvent('legacy-done')).toMatchObject({ status: 'done', outcome: 'purged' });
      expect(await rawEvent('legacy-done')).not.toHaveProperty('digests');
    });

    it('reads one still being handled as in progress, and one past its TTL as gone', async () => {
      await legacyClaim('legacy-processing', 'processing');
      await expect(claim('legacy-processing', 'a'.repeat(64))).resolves.toEqual({ claimed: false, state: 'in_progress' });
      await legacyClaim('legacy-expired', 'done', NOW - 1);
      await expect(claim('legacy-expired', 'a'.repeat(64))).resolves.toEqual({ claimed: true, variant: false });
      expect(await rawEvent('legacy-expired')).not.toHaveProperty('status');
    });

    const rawEvent = async (eventId: string) =>
      (await table.documents.send(new GetCommand({ TableName: 'legacy', Key: { pk: `EVENT#${eventId}` }, ConsistentRead: true }))).Item!;
  });
});
