import fc from 'fast-check';
import { webhookSignature } from '../../functions/core/lifecycle/signature';
import { composeWebhooks, readWebhooksConfig, type WebhooksDependencies } from '../../functions/webhooks/dependencies';
import { createWebhooksHandler } from '../../functions/webhooks/handler';
import { webhookHarness } from '../core/webhook-harness';
import { capturingLogger } from '../support/fakes';
import { lambdaContext, postEvent, TEST_ENVIRONMENT, type Result } from '../support/handler-harness';

const EVENT_TYPES = [
  'application.installed',
  'application.uninstalled',
  'application.subscriptionStatusChanged',
  'application.subscription_status_changed',
  'customer.personalDataRemovalRequest',
  'profile.personal_data_export_request',
  'order.created',
];

/** A JSON value of any shape, as a hostile or broken sender might put in any field. */
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** Bodies near Ecwid's: each field present or not, of the right type or of any. */
const nearlyEcwid = (nowEpochSeconds: number) =>
  fc.record(
    {
      eventId: fc.oneof(fc.uuid(), fc.nat(), fc.string(), anyJson),
      eventCreated: fc.oneof(fc.integer({ min: nowEpochSeconds - 30 * 3600, max: nowEpochSeconds + 3600 }), fc.string(), anyJson),
      storeId: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer(), fc.string(), anyJson),
      entityId: fc.oneof(fc.string(), fc.integer(), anyJson),
      eventType: fc.oneof(fc.constantFrom(...EVENT_TYPES), fc.string(), anyJson),
      data: fc.oneof(
        fc.record({ newSubscriptionStatus: fc.oneof(fc.constantFrom('ACTIVE', 'TRIAL'), fc.string(), anyJson), oldSubscriptionStatus: anyJson }, { requiredKeys: [] }),
        anyJson,
      ),
    },
    { requiredKeys: [] },
  );

/**
 * `data` nested as deep as a 64 KB body allows (objects and arrays, thousands of levels): what
 * `JSON.stringify` cannot write back, in the logger or the event publisher.
 */
const deeplyNestedData = fc
  .tuple(fc.integer({ min: 1, max: 6_000 }), fc.constantFrom('{"a":', '['), fc.constantFrom('1', '"x"', '{}', '[]'))
  .map(([depth, opening, innermost]) => `${opening.repeat(depth)}${innermost}${(opening === '[' ? ']' : '}').repeat(depth)}`);

/** A body near Ecwid's, as text, whose `data` is that nesting. */
const nestedBody = (nowEpochSeconds: number) =>
  fc
    .record({
      eventId: fc.uuid(),
      eventCreated: fc.integer({ min: nowEpochSeconds - 3600, max: nowEpochSeconds }),
      storeId: fc.integer({ min: 1, max: 6 }),
      entityId: fc.integer({ min: 1, max: 100 }),
      eventType: fc.constantFrom(...EVENT_TYPES),
    })
    .chain((fields) => deeplyNestedData.map((data) => ({ fields: fields as Record<string, unknown>, text: `${JSON.stringify(fields).slice(0, -1)},"data":${data}}` })));

/**
 * Whatever arrives at `POST /webhooks` (valid, signed-but-broken, unsigned, not JSON at all, nested
 * deeper than any JSON writer goes), the answer is a 200, 400 or 401 with a JSON body, never a 5xx,
 * never a stack trace.
 */
describe('POST /webhooks, whatever the body (property)', () => {
  it('never answers 5xx, and always answers JSON without a stack trace', async () => {
    const harness = webhookHarness();
    harness.clock.advanceSeconds((Date.now() - harness.clock.nowEpochMs()) / 1000);
    for (let storeId = 1; storeId <= 6; storeId += 1) {
      const { accessToken } = await harness.install(storeId);
      if (storeId % 2 === 0) harness.profile.validTokens.delete(accessToken);
    }
    const deps: WebhooksDependencies = { ...composeWebhooks(readWebhooksConfig(TEST_ENVIRONMENT)), ...harness.deps };
    const handler = createWebhooksHandler(() => deps, capturingLogger().log);
    const nowEpochSeconds = harness.now();

    const body = fc.oneof(
      nearlyEcwid(nowEpochSeconds).map((fields) => ({ fields, text: JSON.stringify(fields) })),
      nestedBody(nowEpochSeconds),
      fc.oneof(fc.string(), fc.string({ unit: 'binary' }), anyJson.map((value) => JSON.stringify(value))).map((text) => ({ fields: undefined, text })),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('valid', 'garbage', 'missing'), fc.boolean(), async ({ fields, text }, signing, base64) => {
        let signature: string | undefined;
        if (signing === 'valid' && fields !== undefined) {
          signature = webhookSignature(harness.secrets.value, { eventCreated: fields.eventCreated as number, eventId: String(fields.eventId) });
        } else if (signing !== 'missing') {
          signature = 'bm90IGEgc2lnbmF0dXJl';
        }
        const event = postEvent('/webhooks', base64 ? Buffer.from(text).toString('base64') : text, signature === undefined ? {} : { 'x-ecwid-webhook-signature': signature });
        const result = (await handler({ ...event, isBase64Encoded: base64 }, lambdaContext)) as Result;
        expect([200, 400, 401]).toContain(result.statusCode);
        const answer = JSON.parse(result.body) as Record<string, unknown>;
        expect(result.statusCode === 200 ? typeof answer.result : typeof answer.error).toBe('string');
        expect(result.body).not.toMatch(/\bat .*\.ts:\d+|Error:/);
      }),
      { numRuns: 400 },
    );
  });
});
