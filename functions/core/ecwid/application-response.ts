import type { AppSubscriptionAnswer } from '../model';
import type { ApiHttpResponse } from './profile-response';

/** A subscription status as Ecwid names them (`TRIAL`, `ACTIVE`, `SUSPENDED`, ...). */
const SUBSCRIPTION_STATUS_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * What an answer of `GET /api/v3/{storeId}/application` says of the app's subscription in the store:
 * `subscription.status` (or `subscriptionStatus`, documented as the same) of a 200.
 *
 * A 429, a 5xx, or any other answer that may change on a later try is `unavailable`; an answer that
 * will not (the token refused, the store suspended or gone, a 200 without a readable status) is
 * `refused`: there is nothing of Ecwid's to record.
 *
 * @see https://docs.ecwid.com/api-reference/rest-api/application/get-app-subscription-status
 */
export function interpretApplicationResponse(response: ApiHttpResponse): AppSubscriptionAnswer {
  if (response.status === 200) {
    const status = readSubscriptionStatus(response.bodyText);
    return status === undefined ? { outcome: 'refused', reason: 'no_subscription_status' } : { outcome: 'found', subscriptionStatus: status };
  }
  if (response.status === 429) {
    return response.retryAfterSeconds === undefined
      ? { outcome: 'unavailable', reason: 'rate_limited' }
      : { outcome: 'unavailable', reason: 'rate_limited', retryAfterSeconds: response.retryAfterSeconds };
  }
  const errorCode = readErrorCode(response.bodyText);
  // Ecwid's own verdicts about the token or the store stand; anything else may pass.
  if (errorCode !== undefined && [401, 402, 403, 404].includes(response.status)) return { outcome: 'refused', reason: errorCode };
  return { outcome: 'unavailable', reason: errorCode ?? `http_${response.status}` };
}

function readSubscriptionStatus(bodyText: string): string | undefined {
  try {
    const body = JSON.parse(bodyText) as { subscription?: { status?: unknown }; subscriptionStatus?: unknown };
    const status = body.subscription?.status ?? body.subscriptionStatus;
    return typeof status === 'string' && SUBSCRIPTION_STATUS_PATTERN.test(status) ? status : undefined;
  } catch {
    return undefined;
  }
}

function readErrorCode(bodyText: string): string | undefined {
  try {
    const body = JSON.parse(bodyText) as { errorCode?: unknown };
    return typeof body.errorCode === 'string' && ERROR_CODE_PATTERN.test(body.errorCode) ? body.errorCode : undefined;
  } catch {
    return undefined;
  }
}
