/**
 * What a webhook body says, read strictly: Ecwid's JSON with `eventId`, `eventCreated`, `storeId`,
 * `eventType`, and optional `entityId` and `data`. Pure: no I/O, no clock.
 *
 * @see https://api-docs.ecwid.com/docs/webhooks
 */
import { EcwidAppAuthError } from '../errors';
import type { AppEventType, PrivacyEventType, WebhookEvent } from '../model';

/** Ecwid's webhooks are a few hundred bytes; anything this large is not one of them. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;

/**
 * Ecwid's webhooks nest two or three levels deep; JSON nested deeper than this is refused before it
 * is parsed: a body of 64 KB can nest thousands of levels, which `JSON.stringify` (the logger, the
 * event publisher) cannot write back, and every delivery of it would fail.
 */
export const MAX_WEBHOOK_JSON_DEPTH = 32;

/** What the signature covers, as it was sent: the text of `eventCreated` and of `eventId`. */
export interface SignedFields {
  eventCreated: number;
  eventId: string;
}

const EVENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const EPOCH_SECONDS_PATTERN = /^[1-9][0-9]{0,11}$/;
const STORE_ID_PATTERN = /^[1-9][0-9]{0,15}$/;
/**
 * Past the signature, a field's type is checked, not its spelling: a signed webhook answered 400
 * is delivered again for a day and can get the URL blocked. An unknown type is acknowledged.
 */
const MAX_TEXT_FIELD_LENGTH = 256;

const APP_EVENTS: readonly AppEventType[] = ['application.installed', 'application.uninstalled', 'application.subscriptionStatusChanged'];
const PRIVACY_EVENTS: readonly PrivacyEventType[] = [
  'customer.personalDataRemovalRequest',
  'customer.personalDataExportRequest',
  'profile.personalDataRemovalRequest',
  'profile.personalDataExportRequest',
];

/**
 * The body as JSON and its two signed fields, before the signature is checked: nothing else is
 * trusted, or even looked at, until then.
 *
 * @throws EcwidAppAuthError `INVALID_WEBHOOK` when the body is too large, nested deeper than
 *   {@link MAX_WEBHOOK_JSON_DEPTH}, not a JSON object, or lacks a well-formed `eventId` or `eventCreated`.
 */
export function readSignedFields(bodyText: string): { body: Record<string, unknown>; signed: SignedFields } {
  if (Buffer.byteLength(bodyText, 'utf8') > MAX_WEBHOOK_BODY_BYTES) {
    throw invalid('the body is larger than any webhook', { limitBytes: MAX_WEBHOOK_BODY_BYTES });
  }
  if (nestsDeeperThan(bodyText, MAX_WEBHOOK_JSON_DEPTH)) {
    throw invalid('the body nests deeper than any webhook', { limitDepth: MAX_WEBHOOK_JSON_DEPTH });
  }
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    throw invalid('the body is not JSON', {});
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body is not a JSON object', {});
  const fields = body as Record<string, unknown>;
  return { body: fields, signed: { eventCreated: epochSeconds(fields.eventCreated), eventId: eventId(fields.eventId) } };
}

/**
 * The whole event, once its signature is known good: `storeId` a positive integer (number or
 * digits), `eventType` normalized to camelCase, `entityId` a string or a number, `data` an object.
 *
 * @throws EcwidAppAuthError `INVALID_WEBHOOK` naming the field that is missing or mistyped.
 */
export function readWebhookEvent(body: Record<string, unknown>, signed: SignedFields): WebhookEvent {
  const storeId = positiveInteger(body.storeId, STORE_ID_PATTERN, 'storeId');
  if (typeof body.eventType !== 'string' || body.eventType === '' || body.eventType.length > MAX_TEXT_FIELD_LENGTH) {
    throw invalid('eventType is missing or not a string', { field: 'eventType' });
  }
  const event: WebhookEvent = { ...signed, storeId, eventType: normalizeEventType(body.eventType) };
  const { entityId, data } = body;
  if (entityId !== undefined && entityId !== null) {
    const text = typeof entityId === 'number' && Number.isSafeInteger(entityId) ? String(entityId) : entityId;
    if (typeof text !== 'string' || text.length > MAX_TEXT_FIELD_LENGTH) throw invalid('entityId is not a string or a number', { field: 'entityId' });
    event.entityId = text;
  }
  if (data !== undefined && data !== null) {
    if (typeof data !== 'object' || Array.isArray(data)) throw invalid('data is not an object', { field: 'data' });
    event.data = data as Record<string, unknown>;
  }
  return event;
}

/**
 * One spelling for every event type: Ecwid's documentation writes camelCase
 * (`application.subscriptionStatusChanged`), its Kotlin client snake_case
 * (`application.subscription_status_changed`).
 */
export function normalizeEventType(eventType: string): string {
  const [entity, ...rest] = eventType.split('.');
  return [entity, ...rest.map((part) => part.replace(/_+([A-Za-z0-9])/g, (_match, next: string) => next.toUpperCase()))].join('.');
}

export function isAppEvent(eventType: string): eventType is AppEventType {
  return (APP_EVENTS as readonly string[]).includes(eventType);
}

export function isPrivacyEvent(eventType: string): eventType is PrivacyEventType {
  return (PRIVACY_EVENTS as readonly string[]).includes(eventType);
}

/** A subscription status as Ecwid names them (`TRIAL`, `ACTIVE`, `SUSPENDED`, ...). */
const SUBSCRIPTION_STATUS_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * The statuses of `application.subscriptionStatusChanged`: `data.newSubscriptionStatus` (required)
 * and `data.oldSubscriptionStatus` (when sent).
 *
 * @throws EcwidAppAuthError `INVALID_WEBHOOK` when the new status is missing or malformed.
 */
export function readSubscriptionChange(event: WebhookEvent): { newStatus: string; oldStatus?: string } {
  const newStatus = event.data?.newSubscriptionStatus;
  if (typeof newStatus !== 'string' || !SUBSCRIPTION_STATUS_PATTERN.test(newStatus)) {
    throw invalid('data.newSubscriptionStatus is missing or malformed', { field: 'data.newSubscriptionStatus' });
  }
  const oldStatus = event.data?.oldSubscriptionStatus;
  return typeof oldStatus === 'string' && SUBSCRIPTION_STATUS_PATTERN.test(oldStatus) ? { newStatus, oldStatus } : { newStatus };
}

/**
 * Whether JSON text opens more than `limit` objects or arrays inside one another: one pass over the
 * text, brackets inside strings ignored, no parsing (text that is not JSON is left to the parser).
 */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c /* backslash: skips the escaped character */) index += 1;
      else if (char === 0x22 /* " */) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x7b /* { */ || char === 0x5b /* [ */) {
      depth += 1;
      if (depth > limit) return true;
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) depth -= 1;
  }
  return false;
}

function eventId(value: unknown): string {
  // Ecwid's documentation says a number; what it sends is a UUID string. Both are accepted, as text.
  const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof text !== 'string' || !EVENT_ID_PATTERN.test(text)) throw invalid('eventId is missing or malformed', { field: 'eventId' });
  return text;
}

function epochSeconds(value: unknown): number {
  return positiveInteger(value, EPOCH_SECONDS_PATTERN, 'eventCreated');
}

function positiveInteger(value: unknown, pattern: RegExp, field: string): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !pattern.test(text) || !Number.isSafeInteger(Number(text))) {
    throw invalid(`${field} is missing or not a positive integer`, { field });
  }
  return Number(text);
}

function invalid(message: string, detail: Record<string, string | number>): EcwidAppAuthError {
  return new EcwidAppAuthError('INVALID_WEBHOOK', message, { detail });
}
