import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { signWebhook } from '../../local/fake-ecwid-webhooks';
import type { FakeEcwid } from '../../local/fake-ecwid';
import { LOCAL_SECRET_NAME, LOCAL_TABLE_NAME, startLocalStack, type LocalStack } from '../../local/stack';
import { TestBrowser } from '../support/browser';
import { localClient } from '../support/dynamodb-servers';
import { capturingLogger } from '../support/fakes';
import { storedTokens } from '../support/stored-tokens';

/**
 * The lifecycle over real HTTP: the fake Ecwid uninstalls, changes subscriptions and delivers signed
 * webhooks (sometimes twice) to `POST /webhooks` of the local stack, whose functions write to dynalite
 * and publish to the local EventBridge.
 */
describe('lifecycle webhooks over HTTP', () => {
  const CLIENT_SECRET = 'lifecycle-client-secret-1a2b3c';
  const logs = capturingLogger();
  let stack: LocalStack;
  let fake: FakeEcwid;
  let nextStoreId = 8000;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      clientId: 'lifecycle-app',
      clientSecret: CLIENT_SECRET,
      scopes: ['read_store_profile', 'public_storefront'],
      tokenRequestTimeoutMs: 1_000,
      secretCacheTtlSeconds: 1,
      log: logs.log,
    });
    fake = stack.fakeEcwid!;
    fake.webhooks.retryDelaysMs = [];
  });

  afterAll(async () => {
    await stack?.close();
  });

  afterEach(() => {
    fake.profileAnswers.clear();
    fake.webhookUrl = stack.webhookUrl;
  });

  async function installStore(storeId = (nextStoreId += 1)): Promise<number> {
    const page = await new TestBrowser().get(fake.appMarketRedirect(storeId, 'read_store_profile public_storefront'));
    expect(page.status).toBe(200);
    return storeId;
  }

  const listed = async (storeId: number) => (await (await fetch(`${stack.url}/__local/installations/${storeId}`)).json()) as Record<string, unknown>;
  const events = async () => (await (await fetch(`${stack.url}/__local/events`)).json()) as Array<{ detailType: string; detail: Record<string, unknown>; source: string }>;
  const eventsOf = async (storeId: number) => (await events()).filter((event) => event.detail.storeId === storeId).map((event) => event.detailType);
  const rawItem = async (key: string) => {
    const client = localClient(stack.dynamoDb.endpoint);
    try {
      return (await client.send(new GetItemCommand({ TableName: LOCAL_TABLE_NAME, Key: { pk: { S: key } }, ConsistentRead: true }))).Item;
    } finally {
      client.destroy();
    }
  };
  const eventItems = async () => {
    const client = localClient(stack.dynamoDb.endpoint);
    try {
      const page = await client.send(new ScanCommand({ TableName: LOCAL_TABLE_NAME, FilterExpression: 'begins_with(pk, :p)', ExpressionAttributeValues: { ':p': { S: 'EVENT#' } } }));
      return page.Items ?? [];
    } finally {
      client.destroy();
    }
  };
  /** Posts a body as Ecwid would, signed (or not) as given. */
  const post = (body: string, signature?: string) =>
    fetch(stack.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-ecwid-webhook-signature': signature }) }, body });
  const signedBody = (fields: Record<string, unknown>, secret = CLIENT_SECRET) => {
    const body = { eventId: crypto.randomUUID(), eventCreated: Math.floor(Date.now() / 1000), entityId: 'lifecycle-app', ...fields };
    return { body, text: JSON.stringify(body), signature: signWebhook(secret, body.eventCreated as number, body.eventId as string) };
  };

  it('purges an uninstalled store: no token and no data key left in the raw item, a tombstone with a TTL, one event', async () => {
    const storeId = await installStore();
    expect(await eventsOf(storeId)).toEqual(['Store Installed']);
    const deliveries = await fake.uninstallApp(storeId, { duplicates: 1 });
    expect(deliveries.map((delivery) => delivery.status)).toEqual([200, 200]);
    const item = (await rawItem(`STORE#${storeId}`))!;
    for (const attribute of ['accessToken', 'publicToken', 'refreshToken', 'tokenKey', 'ownerEmail', 'dueShard', 'dueAtEpochSeconds']) {
      expect(item).not.toHaveProperty(attribute);
    }
    expect(item.status).toEqual({ S: 'uninstalled' });
    const ttl = Number(item.ttlEpochSeconds!.N);
    expect(ttl - Date.now() / 1000).toBeGreaterThan(29.9 * 86_400);
    expect(ttl - Date.now() / 1000).toBeLessThan(30.1 * 86_400);
    expect(await listed(storeId)).toMatchObject({ status: 'uninstalled', statusReason: 'INVALID_API_TOKEN', uninstalledAt: expect.any(String) });
    const published = (await events()).filter((event) => event.detail.storeId === storeId);
    expect(published.map((event) => event.detailType)).toEqual(['Store Installed', 'Store Uninstalled']);
    expect(published.every((event) => event.source === 'ecwid-app-auth')).toBe(true);
    expect(JSON.stringify(published)).not.toMatch(/secret_|public_/);
  });

  it('ignores a signed uninstall replayed with another store id: that store keeps its working token', async () => {
    const victim = await installStore();
    const before = (await stack.store.getInstallation(victim))!;
    const token = (await storedTokens(stack.vault, before)).accessToken;
    const { text, signature } = signedBody({ storeId: victim, eventType: 'application.uninstalled' });
    const response = await post(text, signature);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ result: 'ignored', reason: 'unconfirmed' });
    const after = (await stack.store.getInstallation(victim))!;
    expect(after).toEqual(before);
    expect(fake.isTokenValid(token)).toBe(true);
    expect(await eventsOf(victim)).toEqual(['Store Installed']);
  });

  it('changes nothing when an uninstall arrives after the reinstall that followed it', async () => {
    const storeId = await installStore();
    fake.webhookUrl = 'http://127.0.0.1:9/unreachable';
    const lost = await fake.uninstallApp(storeId);
    expect(lost[0]!.status).toBeUndefined();
    fake.webhookUrl = stack.webhookUrl;
    await installStore(storeId);
    const reinstalled = (await stack.store.getInstallation(storeId))!;
    const { text, signature } = signedBody({ storeId, eventType: 'application.uninstalled', eventId: lost[0]!.eventId, eventCreated: reinstalled.installedAtEpochSeconds - 5 });
    const response = await post(text, signature);
    expect(await response.json()).toEqual({ result: 'ignored', reason: 'superseded_by_reinstall' });
    expect(await listed(storeId)).toMatchObject({ status: 'active' });
    expect(fake.isTokenValid((await storedTokens(stack.vault, reinstalled)).accessToken)).toBe(true);
    expect(await eventsOf(storeId)).toEqual(['Store Installed', 'Store Reinstalled']);
  });

  it('installs again after an uninstall: the tombstone is replaced by a live installation without a TTL', async () => {
    const storeId = await installStore();
    await fake.uninstallApp(storeId);
    await installStore(storeId);
    const item = (await rawItem(`STORE#${storeId}`))!;
    expect(item.status).toEqual({ S: 'active' });
    expect(item).not.toHaveProperty('ttlEpochSeconds');
    expect(item).not.toHaveProperty('uninstalledAtEpochSeconds');
    expect(await eventsOf(storeId)).toEqual(['Store Installed', 'Store Uninstalled', 'Store Reinstalled']);
  });

  it('hands an inconclusive check to the scheduled job, which finishes the uninstall', async () => {
    const storeId = await installStore();
    fake.profileAnswers.set(storeId, 'server_error');
    await fake.uninstallApp(storeId);
    expect(await listed(storeId)).toMatchObject({ status: 'active', uninstallRequestedAt: expect.any(String), nextCheckAt: expect.any(String) });
    fake.profileAnswers.delete(storeId);
    const summary = (await (await fetch(`${stack.url}/__local/refresh`, { method: 'POST' })).json()) as { outcomes: Record<string, number> };
    expect(summary.outcomes.uninstalled).toBeGreaterThanOrEqual(1);
    expect(await listed(storeId)).toMatchObject({ status: 'uninstalled', uninstallRequestedAt: null });
    expect(await rawItem(`STORE#${storeId}`)).not.toHaveProperty('accessToken');
    expect(await eventsOf(storeId)).toEqual(['Store Installed', 'Store Uninstalled']);
  });

  it('records a subscription change once, whatever order or how often it arrives, and announces it', async () => {
    const storeId = await installStore();
    await fake.changeSubscription(storeId, 'TRIAL', { duplicates: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await fake.changeSubscription(storeId, 'ACTIVE');
    const older = signedBody({ storeId, eventType: 'application.subscription_status_changed', eventCreated: Math.floor(Date.now() / 1000) - 60, data: { newSubscriptionStatus: 'SUSPENDED' } });
    expect(await (await post(older.text, older.signature)).json()).toEqual({ result: 'ignored', reason: 'older_than_recorded' });
    expect(await listed(storeId)).toMatchObject({ status: 'active', subscriptionStatus: 'ACTIVE', subscriptionChangedAt: expect.any(String) });
    const changes = (await events()).filter((event) => event.detail.storeId === storeId && event.detailType === 'Subscription Changed');
    expect(changes.map((event) => [event.detail.subscriptionStatus, event.detail.previousSubscriptionStatus ?? null])).toEqual([
      ['TRIAL', null],
      ['ACTIVE', 'TRIAL'],
    ]);
  });

  it("takes no store's subscription from a replayed signature: another store records Ecwid's status, and the genuine delivery is still processed", async () => {
    const genuineStore = await installStore();
    const victim = await installStore();
    fake.webhookUrl = 'http://127.0.0.1:9/unreachable';
    // The genuine webhook fails to arrive (an outage); the attacker has it, signature included.
    const [lost] = await fake.changeSubscription(genuineStore, 'ACTIVE');
    fake.webhookUrl = stack.webhookUrl;
    const genuine = signedBody({ storeId: genuineStore, eventType: 'application.subscriptionStatusChanged', eventId: lost!.eventId, eventCreated: Math.floor(Date.now() / 1000), data: { newSubscriptionStatus: 'ACTIVE' } });
    const forged = JSON.stringify({ ...genuine.body, storeId: victim, data: { newSubscriptionStatus: 'SUSPENDED' } });
    expect(await (await post(forged, genuine.signature)).json()).toEqual({ result: 'processed', detail: 'subscription_recorded' });
    // The victim's recorded status is what Ecwid says of it (never changed: ACTIVE), not the forged SUSPENDED.
    expect(await listed(victim)).toMatchObject({ subscriptionStatus: 'ACTIVE' });
    expect(await (await post(genuine.text, genuine.signature)).json()).toEqual({ result: 'processed', detail: 'subscription_recorded' });
    expect(await listed(genuineStore)).toMatchObject({ subscriptionStatus: 'ACTIVE' });
    expect((await events()).filter((event) => event.detail.subscriptionStatus === 'SUSPENDED')).toEqual([]);
    expect(fake.applicationRequests.filter((request) => request.storeId === victim || request.storeId === genuineStore)).toHaveLength(2);
  });

  it("answers 503 when Ecwid's API cannot tell the subscription now, and records it at the redelivery; nothing for a store it has no installation of", async () => {
    const storeId = await installStore();
    fake.profileAnswers.set(storeId, 'server_error');
    const deliveries = await fake.changeSubscription(storeId, 'TRIAL');
    expect(deliveries.map((delivery) => delivery.status)).toEqual([503]);
    expect(await listed(storeId)).toMatchObject({ subscriptionStatus: null });
    fake.profileAnswers.delete(storeId);
    const { text, signature } = signedBody({ storeId, eventType: 'application.subscriptionStatusChanged', eventId: deliveries[0]!.eventId, data: { newSubscriptionStatus: 'TRIAL' } });
    // Ecwid delivers it again, as the 503 asks.
    const redelivery = await post(text, signature);
    expect(await redelivery.json()).toMatchObject({ result: 'processed' });
    expect(await listed(storeId)).toMatchObject({ subscriptionStatus: 'TRIAL' });
    const stranger = signedBody({ storeId: 9_999_991, eventType: 'application.subscriptionStatusChanged', data: { newSubscriptionStatus: 'ACTIVE' } });
    expect(await (await post(stranger.text, stranger.signature)).json()).toEqual({ result: 'ignored', reason: 'no_installation' });
    expect((await fetch(`${stack.url}/__local/installations/9999991`)).status).toBe(404);
  });

  it('answers 401 for a missing or wrong signature and 400 for a malformed body, recording nothing', async () => {
    const storeId = await installStore();
    const before = (await eventItems()).length;
    const { text, signature } = signedBody({ storeId, eventType: 'application.uninstalled' });
    expect((await post(text)).status).toBe(401);
    expect((await post(text, signWebhook('not-the-secret', 1, 'x'))).status).toBe(401);
    const malformed = await post('{"eventId": 1', signature);
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: 'INVALID_WEBHOOK' });
    expect((await post(JSON.stringify({ junk: 'x'.repeat(70 * 1024) }), signature)).status).toBe(400);
    expect((await eventItems()).length).toBe(before);
    expect(await listed(storeId)).toMatchObject({ status: 'active' });
  });

  it('refuses a signed request whose data nests deeper than 32 levels with 400 on every delivery (never a 5xx), recording and publishing nothing', async () => {
    const storeId = await installStore();
    const before = (await eventItems()).length;
    const { body, signature } = signedBody({ storeId, eventType: 'customer.personalDataRemovalRequest', entityId: 5 });
    // About 30 KB: under the size limit, far deeper than any JSON writer goes.
    const text = `${JSON.stringify(body).slice(0, -1)},"data":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`;
    const answers = [await post(text, signature), await post(text, signature)];
    expect(answers.map((answer) => answer.status)).toEqual([400, 400]);
    expect(await answers[0]!.json()).toMatchObject({ error: 'INVALID_WEBHOOK' });
    expect((await eventItems()).length).toBe(before);
    expect(await eventsOf(storeId)).toEqual(['Store Installed']);
  });

  it('publishes a request whose data nests as deep as allowed through the real publisher and logger', async () => {
    const storeId = await installStore();
    const { body, signature } = signedBody({ storeId, eventType: 'customer.personalDataExportRequest', entityId: 6 });
    const text = `${JSON.stringify(body).slice(0, -1)},"data":${'{"a":'.repeat(31)}1${'}'.repeat(31)}}`;
    const answer = await post(text, signature);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ result: 'processed', detail: 'published' });
    expect(await eventsOf(storeId)).toEqual(['Store Installed', 'Personal Data Request']);
  });

  it('acknowledges stale and future events with 200 and ignores them', async () => {
    const now = Math.floor(Date.now() / 1000);
    const stale = signedBody({ storeId: 1, eventType: 'application.uninstalled', eventCreated: now - 27 * 3600 });
    const future = signedBody({ storeId: 1, eventType: 'application.uninstalled', eventCreated: now + 600 });
    expect(await (await post(stale.text, stale.signature)).json()).toEqual({ result: 'ignored', reason: 'stale' });
    expect(await (await post(future.text, future.signature)).json()).toEqual({ result: 'ignored', reason: 'future' });
  });

  it('accepts webhooks signed with the previous client secret while a rotated one rolls out', async () => {
    const storeId = await installStore();
    const rotated = 'lifecycle-client-secret-rotated-4d5e6f';
    stack.secretsManager.putSecret(LOCAL_SECRET_NAME, rotated);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const byOld = signedBody({ storeId, eventType: 'application.installed' }, CLIENT_SECRET);
    const byNew = signedBody({ storeId, eventType: 'application.installed' }, rotated);
    const byNeither = signedBody({ storeId, eventType: 'application.installed' }, 'some-other-secret');
    expect((await post(byOld.text, byOld.signature)).status).toBe(200);
    expect((await post(byNew.text, byNew.signature)).status).toBe(200);
    expect((await post(byNeither.text, byNeither.signature)).status).toBe(401);
    stack.secretsManager.putSecret(LOCAL_SECRET_NAME, CLIENT_SECRET);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
  });

  it('publishes a personal data request for the app, and acknowledges it', async () => {
    const storeId = await installStore();
    const deliveries = await fake.sendWebhook({ storeId, eventType: 'customer.personal_data_removal_request', entityId: 42 });
    expect(deliveries[0]!.status).toBe(200);
    const [request] = (await events()).filter((event) => event.detail.storeId === storeId && event.detailType === 'Personal Data Request');
    expect(request!.detail).toMatchObject({ request: 'removal', subject: 'customer', entityId: '42', status: 'active' });
  });

  it('does not acknowledge a personal data request it could not publish: 503, and the next delivery publishes it', async () => {
    const storeId = await installStore();
    const { body, text, signature } = signedBody({ storeId, eventType: 'customer.personalDataRemovalRequest', entityId: 9, data: { customerId: 9 } });
    // EventBridge throttles the entry on each of the publisher's three tries.
    stack.eventBridge.refuseNext = 3;
    const first = await post(text, signature);
    expect(first.status).toBe(503);
    expect(await first.json()).toMatchObject({ error: 'WEBHOOK_DEFERRED' });
    const redelivery = await post(text, signature);
    expect(await redelivery.json()).toEqual({ result: 'processed', detail: 'published' });
    expect((await events()).filter((event) => event.detail.webhookEventId === body.eventId).map((event) => event.detailType)).toEqual(['Personal Data Request']);
    expect(await (await post(text, signature)).json()).toEqual({ result: 'duplicate' });
  });

  it('announces a token revoked and one recovered, from the scheduled job', async () => {
    const revoked = await installStore();
    const suspended = await installStore();
    fake.uninstalledStores.add(revoked);
    fake.profileAnswers.set(suspended, 'suspended');
    const at = (offsetHours: number) => new Date(Date.now() + offsetHours * 3600_000).toISOString();
    fake.now = () => Date.now() + 27 * 3600_000;
    await fetch(`${stack.url}/__local/refresh?at=${at(27)}`, { method: 'POST' });
    fake.profileAnswers.delete(suspended);
    fake.now = () => Date.now() + 60 * 3600_000;
    await fetch(`${stack.url}/__local/refresh?at=${at(60)}`, { method: 'POST' });
    fake.now = () => Date.now();
    fake.uninstalledStores.delete(revoked);
    expect(await eventsOf(revoked)).toEqual(['Store Installed', 'Token Revoked']);
    expect(await eventsOf(suspended)).toEqual(['Store Installed', 'Token Recovered']);
  });

  it('lets a person uninstall and change a subscription from the start page, whose forms post to the local stack', async () => {
    const storeId = await installStore();
    const start = await fetch(`${stack.url}/`);
    expect(start.headers.get('content-security-policy')).toContain("form-action 'self'");
    const html = await start.text();
    expect(html).toContain('action="/__local/stores/uninstall"');
    expect(html).toContain('Change subscription');
    const browser = new TestBrowser();
    const changed = await browser.postForm(`${stack.url}/__local/stores/subscription`, { store_id: String(storeId), status: 'ACTIVE' });
    expect(changed.status).toBe(303);
    const uninstalled = await browser.postForm(`${stack.url}/__local/stores/uninstall`, { store_id: String(storeId) });
    expect(uninstalled.status).toBe(303);
    // Ecwid ends the app's subscription with the uninstall: the tombstone keeps none.
    expect(await listed(storeId)).toMatchObject({ status: 'uninstalled', subscriptionStatus: null, subscriptionChangedAt: expect.any(String) });
    const onlyUninstalled = (await (await fetch(`${stack.url}/__local/installations?status=uninstalled`)).json()) as Array<{ status: string }>;
    expect(onlyUninstalled.length).toBeGreaterThan(0);
    expect(onlyUninstalled.every((store) => store.status === 'uninstalled')).toBe(true);
  });

  it('never logs a token, the client secret or a signature', async () => {
    const storeId = await installStore();
    await fake.changeSubscription(storeId, 'TRIAL');
    await fake.uninstallApp(storeId, { duplicates: 1 });
    const text = logs.lines.join('\n');
    expect(text).not.toContain(CLIENT_SECRET);
    for (const token of fake.issuedTokens()) expect(text).not.toContain(token);
    expect(fake.webhooks.deliveries.length).toBeGreaterThanOrEqual(3);
    for (const delivery of fake.webhooks.deliveries) expect(text).not.toContain(delivery.signature);
  });
});
