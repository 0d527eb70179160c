import type { Context } from 'aws-lambda';
import { StorageError } from '../../functions/core/errors';
import { composeWebhooks, readWebhooksConfig, type WebhooksDependencies } from '../../functions/webhooks/dependencies';
import { createWebhooksHandler } from '../../functions/webhooks/handler';
import { webhookHarness } from '../core/webhook-harness';
import { capturingLogger } from '../support/fakes';
import { lambdaContext, postEvent, TEST_ENVIRONMENT, type Result } from '../support/handler-harness';

/** The handler over the core's in-memory fakes, with a real clock (its deadline is a real timer). */
function webhooksHandler(overrides: Partial<WebhooksDependencies> = {}) {
  const harness = webhookHarness();
  const logs = capturingLogger();
  const deps: WebhooksDependencies = {
    ...composeWebhooks(readWebhooksConfig(TEST_ENVIRONMENT)),
    ...harness.deps,
    clock: { nowEpochMs: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
    ...overrides,
  };
  harness.clock.advanceSeconds((Date.now() - harness.clock.nowEpochMs()) / 1000);
  const handler = createWebhooksHandler(() => deps, logs.log);
  const post = async (body: string | undefined, signature?: string, context: Context = lambdaContext) =>
    (await handler(postEvent('/webhooks', body, signature === undefined ? {} : { 'x-ecwid-webhook-signature': signature }), context)) as Result;
  return { ...harness, deps, logs, post };
}

describe('POST /webhooks', () => {
  it('answers 200 with what it did, as JSON, uncached', async () => {
    const { webhook, post } = webhooksHandler();
    const { bodyText, signature } = webhook({ storeId: 1, eventType: 'application.installed' });
    const result = await post(bodyText, signature);
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ result: 'processed', detail: 'recorded' });
    expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  });

  it('answers a duplicate, a stale event and an unknown type with 200 too: Ecwid must not deliver them again', async () => {
    const { webhook, post, now } = webhooksHandler();
    const first = webhook({ storeId: 1, eventType: 'application.installed' });
    await post(first.bodyText, first.signature);
    expect(JSON.parse((await post(first.bodyText, first.signature)).body)).toEqual({ result: 'duplicate' });
    const stale = webhook({ storeId: 1, eventType: 'application.installed', eventCreated: now() - 27 * 3600 });
    expect((await post(stale.bodyText, stale.signature)).statusCode).toBe(200);
    const unknown = webhook({ storeId: 1, eventType: 'unfinished_order.created' });
    expect((await post(unknown.bodyText, unknown.signature)).statusCode).toBe(200);
  });

  it('answers 401 for a missing or wrong signature and 400 for a malformed body, with a JSON error code and one log line', async () => {
    const { webhook, post, logs } = webhooksHandler();
    const { bodyText, signature } = webhook({ storeId: 1, eventType: 'application.installed' });
    const missing = await post(bodyText);
    expect(missing.statusCode).toBe(401);
    expect(JSON.parse(missing.body)).toEqual({ error: 'WEBHOOK_SIGNATURE_INVALID', message: expect.any(String) });
    expect((await post(bodyText, signature.split('').reverse().join(''))).statusCode).toBe(401);
    const malformed = await post('{not json', signature);
    expect(malformed.statusCode).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ error: 'INVALID_WEBHOOK' });
    expect((await post(undefined, signature)).statusCode).toBe(400);
    expect(logs.entries().filter((entry) => entry.level === 'WARN')).toHaveLength(4);
    // 4xx are the sender's: they are not counted as failures of the route.
    expect(logs.entries().filter((entry) => entry.WebhookFailures !== undefined)).toHaveLength(0);
    expect(logs.lines.join('\n')).not.toContain(signature);
  });

  it('counts a webhook signed with the previous client secret in its metric, on the request’s own log line', async () => {
    const { webhook, post, logs, secrets } = webhooksHandler();
    secrets.previous = 'the-previous-client-secret';
    const { bodyText, signature } = webhook({ storeId: 1, eventType: 'application.installed' }, 'the-previous-client-secret');
    expect((await post(bodyText, signature)).statusCode).toBe(200);
    const counted = logs.entries().filter((entry) => entry.WebhooksSignedWithPreviousSecret === 1);
    expect(counted).toEqual([expect.objectContaining({ correlationId: 'request-id-1', _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Namespace: 'EcwidAppAuth' })] }) })]);
    expect(logs.entries().some((entry) => entry.level === 'WARN' && entry.message === 'webhook signed with the previous client secret')).toBe(true);
  });

  it('counts a body replayed under another webhook’s eventId in the metric the stack alarms on', async () => {
    const { webhook, post, logs } = webhooksHandler();
    const genuine = webhook({ storeId: 1, eventType: 'application.installed' });
    await post(JSON.stringify({ ...genuine.body, storeId: 2 }), genuine.signature);
    expect((await post(genuine.bodyText, genuine.signature)).statusCode).toBe(200);
    expect(logs.entries().filter((entry) => entry.WebhookVariants === 1)).toEqual([expect.objectContaining({ counted: 'event_variant' })]);
  });

  it('reads a base64-encoded body, as API Gateway passes some', async () => {
    const { webhook, deps, logs } = webhooksHandler();
    const { bodyText, signature } = webhook({ storeId: 1, eventType: 'application.installed' });
    const handler = createWebhooksHandler(() => deps, logs.log);
    const event = { ...postEvent('/webhooks', Buffer.from(bodyText).toString('base64'), { 'x-ecwid-webhook-signature': signature }), isBase64Encoded: true };
    expect(((await handler(event, lambdaContext)) as Result).statusCode).toBe(200);
  });

  it('answers 5xx with a reference when storage fails, so Ecwid delivers again, and logs it as an error', async () => {
    const { webhook, post, logs, store } = webhooksHandler();
    store.claimWebhookEvent = async () => {
      throw new StorageError('DynamoDB PutItem failed', { operation: 'PutItem' });
    };
    const { bodyText, signature } = webhook({ storeId: 1, eventType: 'application.installed' });
    const result = await post(bodyText, signature);
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toEqual({ error: 'STORAGE_UNAVAILABLE', message: expect.any(String), reference: 'request-id-1' });
    expect(logs.entries().some((entry) => entry.level === 'ERROR' && entry.errorCode === 'STORAGE_UNAVAILABLE')).toBe(true);
    expect(logs.entries().filter((entry) => entry.WebhookFailures === 1)).toHaveLength(1);
  });

  it('answers within its budget whatever a dependency does: a hung check becomes a 503 Ecwid retries', async () => {
    const { webhook, post, install, store } = webhooksHandler({ answerBudgetMs: 300 });
    await install(2);
    store.getInstallation = () => new Promise(() => undefined);
    const { bodyText, signature } = webhook({ storeId: 2, eventType: 'application.uninstalled' });
    const startedAt = Date.now();
    const result = await post(bodyText, signature);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toMatchObject({ error: 'WEBHOOK_DEFERRED' });
  });

  it('stops before the Lambda deadline when less time remains than its budget', async () => {
    const { webhook, post, install, store } = webhooksHandler();
    await install(3);
    store.getInstallation = () => new Promise(() => undefined);
    const { bodyText, signature } = webhook({ storeId: 3, eventType: 'application.uninstalled' });
    const startedAt = Date.now();
    const result = await post(bodyText, signature, { ...lambdaContext, getRemainingTimeInMillis: () => 900 } as Context);
    expect(Date.now() - startedAt).toBeLessThan(900);
    expect(result.statusCode).toBe(503);
  });

  it('answers 503 NOT_CONFIGURED, as JSON, when its configuration is broken', async () => {
    const logs = capturingLogger();
    const handler = createWebhooksHandler(() => composeWebhooks(readWebhooksConfig({})), logs.log);
    const result = (await handler(postEvent('/webhooks', '{}'), lambdaContext)) as Result;
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toMatchObject({ error: 'NOT_CONFIGURED' });
  });
});
