/**
 * `application.subscriptionStatusChanged`: the body is not signed (a captured signature can carry any
 * store id and any status), so its word is not taken. Ecwid is asked, with the store's own token, what
 * the app's subscription in the store is (`GET /api/v3/{storeId}/application`), and that is recorded
 * and announced. A store without an installation holding a token cannot be asked: nothing is recorded.
 *
 * @see https://docs.ecwid.com/api-reference/rest-api/application/get-app-subscription-status
 */
import { EcwidAppAuthError } from '../errors';
import type { ClaimedWebhookEvent, WebhookOutcome } from '../model';
import { announce, subscriptionAnnouncement } from './announcements';
import type { WebhookDependencies, WebhookRequest, WebhookSettings } from './handle-webhook';
import { ecwidRequestTimeoutMs, MIN_ECWID_REQUEST_MS, openAccessToken } from './store-token';

/**
 * Records the subscription status Ecwid gives for the event's store, at the event's `eventCreated`
 * (an older event than the one recorded changes nothing), and announces it.
 *
 * @param claimed what the body says: compared with Ecwid's answer (a difference is logged), never recorded.
 * @throws EcwidAppAuthError `WEBHOOK_DEFERRED` when Ecwid cannot be asked now (a timeout, a 5xx, a 429,
 *   KMS away, no time left): the claim is released and Ecwid delivers the webhook again.
 */
export async function recordSubscriptionFromEcwid(
  deps: WebhookDependencies,
  settings: WebhookSettings,
  request: WebhookRequest,
  event: ClaimedWebhookEvent,
  claimed: { newStatus: string },
): Promise<WebhookOutcome> {
  const { storeId, eventId } = event;
  const installation = await deps.installations.getInstallation(storeId);
  if (installation === undefined) {
    deps.log.info('subscription webhook ignored: no installation whose token could ask Ecwid', { storeId, eventId });
    return { result: 'ignored', reason: 'no_installation' };
  }
  const timeoutMs = ecwidRequestTimeoutMs(deps.clock, { deadlineEpochMs: request.deadlineEpochMs, reserveMs: settings.reserveMs, limitMs: settings.verifyTimeoutMs });
  if (timeoutMs < MIN_ECWID_REQUEST_MS) throw deferred(storeId, 'no_time_left');
  const opened = await openAccessToken(deps.vault, installation);
  if ('failure' in opened) {
    if (opened.failure === 'unavailable') throw deferred(storeId, 'encryption_unavailable');
    deps.log.warn('subscription webhook ignored: the stored token does not open', { storeId, eventId });
    return { result: 'ignored', reason: 'unconfirmed' };
  }
  const answer = await deps.appSubscription.readAppSubscription({ storeId, accessToken: opened.accessToken, timeoutMs });
  if (answer.outcome === 'unavailable') throw deferred(storeId, answer.reason);
  if (answer.outcome === 'refused') {
    deps.log.warn('subscription webhook ignored: Ecwid gave no subscription status for the store', { storeId, eventId, ecwidReason: answer.reason });
    return { result: 'ignored', reason: 'unconfirmed' };
  }
  const subscriptionStatus = answer.subscriptionStatus;
  if (subscriptionStatus !== claimed.newStatus) {
    // A forged body, or a change Ecwid made since this one: either way, Ecwid's status is the one recorded.
    deps.log.warn("the webhook's subscription status is not Ecwid's; Ecwid's is recorded", {
      storeId,
      eventId,
      webhookStatus: claimed.newStatus,
      ecwidStatus: subscriptionStatus,
    });
  }
  const recorded = await deps.lifecycle.recordSubscription({
    storeId,
    subscriptionStatus,
    changedAtEpochSeconds: event.eventCreated,
    nowEpochSeconds: Math.floor(deps.clock.nowEpochMs() / 1000),
  });
  if (!recorded.recorded) return { result: 'ignored', reason: recorded.reason };
  await announce(deps.publisher, deps.log, [
    subscriptionAnnouncement(event, { newStatus: subscriptionStatus, previousStatus: recorded.previousStatus }, recorded.installationStatus),
  ]);
  return { result: 'processed', detail: 'subscription_recorded' };
}

function deferred(storeId: number, reason: string): EcwidAppAuthError {
  return new EcwidAppAuthError('WEBHOOK_DEFERRED', 'Ecwid could not confirm the subscription now; it delivers the webhook again', {
    detail: { storeId, reason },
  });
}
