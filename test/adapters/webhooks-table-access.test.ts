import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDbInstallationStore } from '../../functions/adapters/dynamodb/installation-store';
import { DynamoDbLifecycleStore } from '../../functions/adapters/dynamodb/lifecycle-store';
import { localTableDefinition } from '../../functions/adapters/dynamodb/schema';
import { DynamoTable } from '../../functions/adapters/dynamodb/table';
import { DynamoDbWebhookEventStore } from '../../functions/adapters/dynamodb/webhook-event-store';
import { handleWebhook, type WebhookDependencies } from '../../functions/core/lifecycle/handle-webhook';
import { webhookSignature } from '../../functions/core/lifecycle/signature';
import { StorageError } from '../../functions/core/errors';
import { ScriptedApplication, ScriptedProfile, WEBHOOK_SETTINGS } from '../core/webhook-harness';
import { functionId, statementsOf, synth } from '../infra/template';
import { startDynaliteServer, localClient, type DynamoDbServer } from '../support/dynamodb-servers';
import { FixedClientSecret, ManualClock, RecordingCounter, RecordingPublisher, silentLogger } from '../support/fakes';
import { MemoryTokenVault } from '../support/memory-token-vault';

/**
 * What the webhooks function does to the table, seen on the wire (operation and kind of item, by the
 * partition key's prefix) while it handles every kind of webhook and fault, against what its role is
 * granted in the synthesized stack: the grant is the least the code needs, and the code never needs more.
 */
describe('the webhooks function and its table grant', () => {
  let dynamo: DynamoDbServer;
  let proxy: Server;
  const seen = new Set<string>();

  beforeAll(async () => {
    dynamo = await startDynaliteServer();
    await dynamo.client.send(new CreateTableCommand(localTableDefinition('webhooks-access')));
    proxy = await recordingProxy(dynamo.endpoint, (operation, partitionKey) => seen.add(`${operation} ${partitionKey.replace(/#.*$/, '#')}`));
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await dynamo.close();
  });

  it('reads and updates installation items and puts and updates webhook-event items, never more than its role allows', async () => {
    const clock = new ManualClock();
    const vault = new MemoryTokenVault();
    const secrets = new FixedClientSecret('access-test-secret');
    const profile = new ScriptedProfile();
    const table = new DynamoTable(localClient(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`), 'webhooks-access');
    const setup = new DynamoDbInstallationStore(new DynamoTable(dynamo.client, 'webhooks-access'));
    const lifecycle = new DynamoDbLifecycleStore(table);
    const deps: WebhookDependencies = {
      secrets,
      webhookEvents: new DynamoDbWebhookEventStore(table),
      installations: new DynamoDbInstallationStore(table),
      lifecycle,
      vault,
      verifier: profile,
      appSubscription: new ScriptedApplication(profile),
      publisher: new RecordingPublisher(),
      counter: new RecordingCounter(),
      clock,
      log: silentLogger,
    };
    const now = () => Math.floor(clock.nowEpochMs() / 1000);
    const install = async (storeId: number) => {
      const sealer = await vault.sealerFor(storeId);
      const accessToken = `secret_${storeId}_${randomUUID().replace(/-/g, '')}`;
      profile.validTokens.add(accessToken);
      await setup.saveInstallation({
        storeId,
        tokenKey: sealer.tokenKey,
        accessToken: sealer.seal(accessToken, 'access_token'),
        scope: 'read_store_profile',
        installedAtEpochSeconds: now() - 60,
        grantCodeHash: randomUUID(),
        grantObtainedAtEpochMs: clock.nowEpochMs() - 60_000,
        nextCheckAtEpochSeconds: now() + 86_400,
      });
      return accessToken;
    };
    const deliver = (fields: Record<string, unknown>, settings = WEBHOOK_SETTINGS) => {
      const body = { eventId: randomUUID(), eventCreated: now(), entityId: 'app', ...fields };
      const signature = webhookSignature(secrets.value, { eventCreated: body.eventCreated as number, eventId: body.eventId as string });
      const send = (text = JSON.stringify(body)) =>
        handleWebhook(deps, settings, { bodyText: text, signature, requestId: randomUUID(), deadlineEpochMs: clock.nowEpochMs() + 8_000 });
      return { body, send };
    };

    const kept = await install(1);
    const purged = await install(2);
    await install(3);
    // A subscription change, a duplicate of it, and one for a store without an installation.
    const subscription = deliver({ storeId: 1, eventType: 'application.subscriptionStatusChanged', data: { newSubscriptionStatus: 'ACTIVE' } });
    await subscription.send();
    await subscription.send();
    await deliver({ storeId: 99, eventType: 'application.subscriptionStatusChanged', data: { newSubscriptionStatus: 'ACTIVE' } }).send();
    // A privacy request, and another body replayed under its eventId.
    const privacy = deliver({ storeId: 1, eventType: 'customer.personalDataRemovalRequest', entityId: 5 });
    await privacy.send();
    await privacy.send(JSON.stringify({ ...privacy.body, storeId: 3 }));
    // An uninstall confirmed (purged), whose purge is reported lost and redelivered (the tombstone).
    profile.validTokens.delete(purged);
    const uninstall = deliver({ storeId: 2, eventType: 'application.uninstalled' });
    const purge = lifecycle.purgeInstallation.bind(lifecycle);
    lifecycle.purgeInstallation = async (request) => {
      await purge(request);
      throw new StorageError('DynamoDB UpdateItem failed', { operation: 'UpdateItem' });
    };
    await expect(uninstall.send()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    lifecycle.purgeInstallation = purge;
    await expect(uninstall.send()).resolves.toEqual({ result: 'processed', detail: 'purged' });
    // An uninstall Ecwid cannot confirm now: the scheduled job is asked to check.
    profile.answers.set(3, { outcome: 'failed', reason: 'http_500' });
    await expect(deliver({ storeId: 3, eventType: 'application.uninstalled' }).send()).resolves.toMatchObject({ detail: 'uninstall_check_requested' });
    // An unconfirmed uninstall (the token works), and an event whose claim is past its TTL when delivered again.
    const shortLived = deliver({ storeId: 1, eventType: 'application.installed' }, { ...WEBHOOK_SETTINGS, eventRetentionSeconds: 60 });
    await shortLived.send();
    clock.advanceSeconds(61);
    await expect(shortLived.send()).resolves.toMatchObject({ result: 'processed' });
    expect(profile.validTokens.has(kept)).toBe(true);

    const granted = grantedTableAccess();
    expect([...seen].filter((access) => !granted.has(access))).toEqual([]);
    // What the grant allows is what the code does (no more, nothing left unused).
    expect([...seen].sort()).toEqual([...granted].sort());
  });
});

/** `Operation PREFIX#` pairs the webhooks function's role allows on the table, from the synthesized stack. */
function grantedTableAccess(): Set<string> {
  const { stack, template } = synth({ ecwidClientId: 'app-1' });
  const granted = new Set<string>();
  for (const statement of statementsOf(template, functionId(stack, 'webhooks')) as Array<Record<string, any>>) {
    const patterns = statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[] | undefined;
    if (patterns === undefined) continue;
    for (const action of [statement.Action].flat() as string[]) {
      for (const pattern of patterns) granted.add(`${action.replace('dynamodb:', '')} ${pattern.replace(/\*$/, '')}`);
    }
  }
  return granted;
}

/** A proxy in front of DynamoDB that tells, for every request, its operation and the partition key it names. */
async function recordingProxy(target: string, record: (operation: string, partitionKey: string) => void): Promise<Server> {
  const upstream = new URL(target);
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(incoming.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
      const parsed = JSON.parse(body.toString('utf8') || '{}') as { Key?: { pk?: { S?: string } }; Item?: { pk?: { S?: string } } };
      record(operation, parsed.Key?.pk?.S ?? parsed.Item?.pk?.S ?? '(no key)');
      const forwarded = httpRequest(
        { hostname: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: { ...incoming.headers, host: upstream.host } },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forwarded.on('error', () => outgoing.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
