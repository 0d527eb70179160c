import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeEcwid } from '../../local/fake-ecwid';

/** The fake Ecwid's webhooks, received by a plain HTTP server: signed as Ecwid signs, retried, sometimes twice. */
describe('FakeEcwid webhooks', () => {
  const CLIENT_SECRET = 'webhook-test-secret';
  let server: Server;
  let received: Array<{ headers: Record<string, unknown>; body: Record<string, unknown> }>;
  /** What the receiver answers, one status per request; 200 when the script is empty. */
  let statuses: number[];
  let fake: FakeEcwid;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
        response.writeHead(statuses.shift() ?? 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  beforeEach(() => {
    received = [];
    statuses = [];
    fake = new FakeEcwid({
      clientId: 'webhook-app',
      clientSecret: CLIENT_SECRET,
      redirectUrl: 'https://app.example.com/callback',
      webhookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`,
    });
    fake.webhooks.retryDelaysMs = [10, 10];
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("signs each webhook as Ecwid does: base64 HMAC-SHA256 of eventCreated.eventId with the client secret", async () => {
    await fake.changeSubscription(5, 'ACTIVE');
    const [{ headers, body }] = received as [(typeof received)[number]];
    expect(body).toMatchObject({ storeId: 5, eventType: 'application.subscriptionStatusChanged', entityId: 'webhook-app', data: { newSubscriptionStatus: 'ACTIVE' } });
    expect(typeof body.eventId).toBe('string');
    const expected = createHmac('sha256', CLIENT_SECRET).update(`${body.eventCreated}.${body.eventId}`).digest('base64');
    expect(headers['x-ecwid-webhook-signature']).toBe(expected);
  });

  it('retries a webhook that was not delivered, and counts 200, 201, 202, 204 and 209 as delivered', async () => {
    statuses = [500, 209];
    const deliveries = await fake.sendWebhook({ storeId: 1, eventType: 'application.installed' });
    expect(deliveries.map((delivery) => [delivery.status, delivery.attempt])).toEqual([
      [500, 1],
      [209, 2],
    ]);
    expect(new Set(received.map(({ body }) => body.eventId)).size).toBe(1);
  });

  it('delivers a webhook twice when told to, or by chance', async () => {
    await fake.sendWebhook({ storeId: 1, eventType: 'application.installed' }, { duplicates: 1 });
    fake.webhooks.duplicateProbability = 1;
    await fake.sendWebhook({ storeId: 2, eventType: 'application.installed' });
    expect(received.map(({ body }) => body.storeId)).toEqual([1, 1, 2, 2]);
    expect(fake.webhooks.deliveries.map((delivery) => delivery.duplicate)).toEqual([false, true, false, true]);
  });

  it('revokes every token of a store on uninstall, and a later install gets one that works', async () => {
    const before = fake.grantTokens(7).accessToken;
    expect(fake.isInstalled(7)).toBe(true);
    await fake.uninstallApp(7);
    expect(received[0]!.body).toMatchObject({ storeId: 7, eventType: 'application.uninstalled' });
    expect(fake.isTokenValid(before)).toBe(false);
    expect(fake.isInstalled(7)).toBe(false);
    const after = fake.grantTokens(7).accessToken;
    expect(fake.isTokenValid(after)).toBe(true);
  });
});
