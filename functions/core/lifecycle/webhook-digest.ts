/**
 * What makes two webhooks with one `eventId` the same event. Only `eventId` and `eventCreated` are
 * signed: a captured signature can carry another `storeId`, `eventType`, `entityId` or `data`. The
 * digest of those unsigned fields tells a redelivery (same digest: a duplicate) from a variant (another
 * digest: an event of its own, never allowed to make the genuine delivery look like a duplicate).
 * Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import type { WebhookEvent } from '../model';

/**
 * Distinct bodies one `eventId` may have claims for. Ecwid sends one; a second is a replayed signature
 * (or Ecwid changing a retry). Enough that forged bodies cannot crowd out the genuine one easily, few
 * enough that one captured signature cannot buy many requests to Ecwid or many published events.
 */
export const MAX_BODIES_PER_EVENT_ID = 4;

/**
 * SHA-256 (hex) of the unsigned fields of an event, as canonical JSON (object keys sorted, at every
 * depth): `storeId`, the normalized `eventType`, `entityId` and `data`, an absent one as null.
 */
export function unsignedFieldsDigest(event: WebhookEvent): string {
  const fields = { storeId: event.storeId, eventType: event.eventType, entityId: event.entityId ?? null, data: event.data ?? null };
  return createHash('sha256').update(canonicalJson(fields), 'utf8').digest('hex');
}

/** JSON with every object's keys in one order: equal values, equal text. Nesting is bounded by the body's reader. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
