import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerScripted, storeBearer, type ProfileContext, type ScriptedProfileAnswer } from './fake-ecwid-rest-api';
import { sendJson } from './http-util';

/**
 * The fake Ecwid's `GET /api/v3/{storeId}/application` (internal to `FakeEcwid`): the app's status in
 * the store, with its subscription, as the merchant's last change in the fake set it (`ACTIVE` until
 * then, as Ecwid answers for a free app).
 *
 * @see https://docs.ecwid.com/api-reference/rest-api/application/get-app-subscription-status
 */

/** One request to the application endpoint, as the fake answered it. */
export interface ApplicationRequestRecord {
  /** The store id in the path (NaN when the path did not hold a number). */
  storeId: number;
  /** The HTTP status answered; undefined while (or because) the answer is held. */
  status: number | undefined;
  /** `ok` (200), `invalid_token` (403 `INVALID_API_TOKEN`), or the scripted answer given instead. */
  outcome: 'ok' | 'invalid_token' | ScriptedProfileAnswer;
}

/** The app's subscription in a store when the merchant never changed it: a free app's. */
const DEFAULT_SUBSCRIPTION_STATUS = 'ACTIVE';

/**
 * Answers a request for the app's status. The store's scripted answer (its REST API's, shared with the
 * profile endpoint) wins; otherwise the token must come as `Authorization: Bearer`, be alive and belong
 * to the store in the path.
 */
export function answerApplication(
  request: IncomingMessage,
  response: ServerResponse,
  storeId: number,
  context: ProfileContext & { subscriptionStatus: string | undefined; nowEpochMs: number },
): ApplicationRequestRecord['outcome'] {
  const scripted = answerScripted(response, context);
  if (scripted !== undefined) return scripted;
  if (storeBearer(request, response, storeId, context.grants) === undefined) return 'invalid_token';
  const status = context.subscriptionStatus ?? DEFAULT_SUBSCRIPTION_STATUS;
  const day = 86_400_000;
  sendJson(response, 200, {
    subscriptionStatus: status,
    subscription: { status, startDate: ecwidDate(context.nowEpochMs - 30 * day), expirationDate: ecwidDate(context.nowEpochMs + 30 * day) },
  });
  return 'ok';
}

/** A date as Ecwid's REST API writes one: `2026-11-26 12:00:00 +0000`. */
function ecwidDate(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ')} +0000`;
}
