import { unsignedFieldsDigest } from '../../functions/core/lifecycle/webhook-digest';
import type { WebhookEvent } from '../../functions/core/model';

const event: WebhookEvent = {
  eventId: 'e-1',
  eventCreated: 1_790_000_000,
  storeId: 1003,
  eventType: 'application.subscriptionStatusChanged',
  entityId: 'app',
  data: { newSubscriptionStatus: 'ACTIVE', nested: { b: 2, a: [1, { y: 1, x: 2 }] } },
};

describe('unsignedFieldsDigest', () => {
  it('is SHA-256 in hex, the same whatever order the keys came in, at any depth', () => {
    const digest = unsignedFieldsDigest(event);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(unsignedFieldsDigest({ ...event, data: { nested: { a: [1, { x: 2, y: 1 }], b: 2 }, newSubscriptionStatus: 'ACTIVE' } })).toBe(digest);
  });

  it('ignores what the signature covers, and tells apart every unsigned field', () => {
    const digest = unsignedFieldsDigest(event);
    expect(unsignedFieldsDigest({ ...event, eventId: 'other', eventCreated: 1 })).toBe(digest);
    for (const changed of [
      { storeId: 1004 },
      { eventType: 'application.uninstalled' },
      { entityId: 'other' },
      { data: { newSubscriptionStatus: 'SUSPENDED', nested: event.data!.nested } },
      { data: undefined },
    ]) {
      expect(unsignedFieldsDigest({ ...event, ...changed })).not.toBe(digest);
    }
    // Array order is the data's own: it counts.
    expect(unsignedFieldsDigest({ ...event, data: { ...event.data, nested: { b: 2, a: [{ y: 1, x: 2 }, 1] } } })).not.toBe(digest);
  });
});
