/**
 * `POST /webhooks`, Ecwid's lifecycle webhooks: authenticated, deduplicated by `eventId` and body, judged
 * fresh, then acted on within Ecwid's 10 s. The order of these steps is the security of
 * the route (nothing is read or written before the signature holds; nothing destroyed unconfirmed).
 */
import { EcwidAppAuthError, errorCodeOf, errorName } from '../errors';
import type { ClaimedWebhookEvent, WebhookOutcome } from '../model';
import type {
  AppSubscriptionReader,
  ClientSecretVersions,
  Clock,
  InstallationStore,
  LifecycleEventPublisher,
  LifecycleStore,
  Logger,
  TokenVault,
  TokenVerifier,
  WebhookCounter,
  WebhookEventStore,
} from '../ports';
import { verifyWebhookSignature } from './signature';
import { WebhookAction } from './webhook-action';
import { isAppEvent, isPrivacyEvent, readSignedFields, readSubscriptionChange, readWebhookEvent } from './webhook-body';
import { MAX_BODIES_PER_EVENT_ID, unsignedFieldsDigest } from './webhook-digest';

export interface WebhookSettings {
  /** Ecwid retries a delivery for about 24 hours: anything older is a replay (26 h leaves room for clocks). */
  maxEventAgeSeconds: number;
  /** Clocks differ a little; an event further ahead than this is not Ecwid's. */
  maxFutureSkewSeconds: number;
  /** How long an `eventId` is remembered: at least 72 hours, far past Ecwid's retries. */
  eventRetentionSeconds: number;
  /** How long an uninstalled store's tombstone is kept. */
  uninstallRetentionSeconds: number;
  /** The most one request to Ecwid's REST API (the uninstall's token check, the subscription's read) may take. */
  verifyTimeoutMs: number;
  /** Time kept back, after the last request to Ecwid, for the writes and the answer. */
  reserveMs: number;
}

export interface WebhookDependencies {
  secrets: ClientSecretVersions;
  webhookEvents: WebhookEventStore;
  installations: Pick<InstallationStore, 'getInstallation'>;
  lifecycle: LifecycleStore;
  vault: TokenVault;
  verifier: TokenVerifier;
  appSubscription: AppSubscriptionReader;
  publisher: LifecycleEventPublisher;
  counter: WebhookCounter;
  clock: Clock;
  log: Logger;
}

export interface WebhookRequest {
  bodyText: string;
  /** `X-Ecwid-Webhook-Signature`, as sent. */
  signature: string | undefined;
  /** The request's own id: the owner of the event's claim. */
  requestId: string;
  /** When the answer must be on its way: everything is budgeted against it. */
  deadlineEpochMs: number;
}

/**
 * Handles one delivery of a webhook.
 *
 * @returns what was done; every outcome is a 200 for Ecwid.
 * @throws EcwidAppAuthError `INVALID_WEBHOOK` (400) or `WEBHOOK_SIGNATURE_INVALID` (401), with nothing
 *   recorded; `WEBHOOK_IN_PROGRESS` (409) when another delivery of the event is being handled;
 *   `WEBHOOK_DEFERRED` or a dependency's error (5xx) when the work could not be done, in which case
 *   the event's claim is released and Ecwid's next delivery does it.
 * @see https://api-docs.ecwid.com/docs/webhooks
 */
export async function handleWebhook(deps: WebhookDependencies, settings: WebhookSettings, request: WebhookRequest): Promise<WebhookOutcome> {
  // 1. Authenticate. Before this nothing is trusted, stored or looked up.
  const { body, signed } = readSignedFields(request.bodyText);
  if (verifyWebhookSignature(request.signature, signed, await deps.secrets.clientSecrets()) === 'previous') {
    // Genuine within the grace after a rotation, but worth knowing: after it, such a signature is refused.
    deps.log.warn('webhook signed with the previous client secret', { eventId: signed.eventId, eventCreated: signed.eventCreated });
    deps.counter.count('signed_with_previous_secret');
  }
  const event = readWebhookEvent(body, signed);

  // 2. Fresh: a signature captured long ago must not be usable now.
  const nowEpochSeconds = Math.floor(deps.clock.nowEpochMs() / 1000);
  const ageSeconds = nowEpochSeconds - event.eventCreated;
  if (ageSeconds > settings.maxEventAgeSeconds || -ageSeconds > settings.maxFutureSkewSeconds) {
    const reason = ageSeconds > 0 ? 'stale' : 'future';
    deps.log.warn('webhook ignored', { reason, ageSeconds, eventId: event.eventId, storeId: event.storeId });
    return { result: 'ignored', reason };
  }
  if (!isAppEvent(event.eventType) && !isPrivacyEvent(event.eventType)) {
    deps.log.info('webhook ignored', { reason: 'unknown_event_type', eventId: event.eventId, eventType: safeForLog(event.eventType) });
    return { result: 'ignored', reason: 'unknown_event_type' };
  }
  // A subscription event without its new status is malformed: refused before anything is recorded.
  const subscription = event.eventType === 'application.subscriptionStatusChanged' ? readSubscriptionChange(event) : undefined;

  // 3. Once: a claim on the eventId and the body (only eventId is signed: another body under it is an
  // event of its own, never a duplicate), released if the work fails so Ecwid's next delivery does it.
  const claimed: ClaimedWebhookEvent = { ...event, digest: unsignedFieldsDigest(event) };
  const key = { eventId: claimed.eventId, digest: claimed.digest };
  const claim = await deps.webhookEvents.claimWebhookEvent({
    ...key,
    maxBodies: MAX_BODIES_PER_EVENT_ID,
    owner: request.requestId,
    eventType: event.eventType,
    storeId: event.storeId,
    nowEpochMs: deps.clock.nowEpochMs(),
    // Past this the delivery holding it has been answered or has died: another may take over.
    leaseUntilEpochMs: request.deadlineEpochMs + settings.reserveMs,
    keepUntilEpochSeconds: nowEpochSeconds + settings.eventRetentionSeconds,
  });
  if (!claim.claimed) {
    switch (claim.state) {
      case 'done':
        deps.log.info('webhook already handled', { eventId: event.eventId, storeId: event.storeId });
        return { result: 'duplicate' };
      case 'too_many_variants':
        deps.log.warn('webhook ignored: too many bodies under one eventId (a replayed signature)', {
          eventId: event.eventId,
          storeId: event.storeId,
          eventType: event.eventType,
          maxBodies: MAX_BODIES_PER_EVENT_ID,
        });
        deps.counter.count('event_variant');
        return { result: 'ignored', reason: 'too_many_variants' };
      case 'in_progress':
        throw new EcwidAppAuthError('WEBHOOK_IN_PROGRESS', 'another delivery of this webhook is being handled', { detail: { eventId: event.eventId } });
    }
  }
  if (claim.variant) {
    // Handled as its own event (each is checked where it matters), but someone may be replaying a signature.
    deps.log.warn('webhook with the eventId of another but other unsigned fields; handled as its own event', {
      eventId: event.eventId,
      storeId: event.storeId,
      eventType: event.eventType,
      digest: claimed.digest,
    });
    deps.counter.count('event_variant');
  }

  let outcome: WebhookOutcome;
  try {
    outcome = await new WebhookAction(deps, settings, request, claimed).run(subscription);
  } catch (error) {
    try {
      await deps.webhookEvents.releaseWebhookEvent(key, request.requestId);
    } catch (releaseError) {
      // The claim's lease runs out and Ecwid's next delivery takes it over.
      deps.log.warn('could not release a webhook claim', { eventId: event.eventId, errorName: errorName(releaseError) });
    }
    throw error;
  }
  try {
    await deps.webhookEvents.completeWebhookEvent(key, request.requestId, describe(outcome));
  } catch (error) {
    // The work is done and idempotent: a later delivery finds the lease run out and does nothing new.
    deps.log.warn('could not mark a webhook as handled', { eventId: event.eventId, errorCode: errorCodeOf(error) });
  }
  deps.log.info('webhook handled', { eventId: event.eventId, storeId: event.storeId, eventType: event.eventType, ...outcome });
  return outcome;
}

function describe(outcome: WebhookOutcome): string {
  switch (outcome.result) {
    case 'processed':
      return outcome.detail;
    case 'ignored':
      return `ignored:${outcome.reason}`;
    case 'duplicate':
      return 'duplicate';
  }
}

/** Event types are unsigned input: only a plain dotted name reaches a log line. */
function safeForLog(eventType: string): string {
  return /^[A-Za-z0-9_.]{1,128}$/.test(eventType) ? eventType : '[unrecognised]';
}
