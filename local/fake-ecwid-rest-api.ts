import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerApplication, type ApplicationRequestRecord } from './fake-ecwid-application';
import { answerProducts, type ProductRequestRecord } from './fake-ecwid-catalog';
import type { GrantBook } from './fake-ecwid-grants';
import type { SlowAnswers } from './fake-ecwid-latency';
import { sendJson } from './http-util';

/**
 * The fake Ecwid's REST API (internal to `FakeEcwid`): `GET /api/v3/{storeId}/profile`, with the answers
 * Ecwid documents for it, and the rate limit every REST endpoint can be switched to. Error bodies have
 * Ecwid's REST shape `{"errorMessage", "errorCode"}`.
 */

/**
 * How a store's API answers instead of its profile:
 * `suspended` 402 `STORE_IS_SUSPENDED`, `plan` 402 `NOT_AVAILABLE_ON_CURRENT_PLAN`, `not_found` 404
 * `STORE_NOT_FOUND`, `rate_limited` 429 `RATE_LIMITED` with `Retry-After`, `server_error` 500
 * `INTERNAL_ERROR`, `timeout` no answer until the fake releases held requests.
 */
export type ScriptedProfileAnswer = 'suspended' | 'plan' | 'not_found' | 'rate_limited' | 'server_error' | 'timeout';

/** One request to the profile endpoint, as the fake answered it. */
export interface ProfileRequestRecord {
  /** The store id in the path (NaN when the path did not hold a number). */
  storeId: number;
  /** The HTTP status answered; undefined while (or because) the answer is held. */
  status: number | undefined;
  /** `ok` (200), `invalid_token` (403 `INVALID_API_TOKEN`), or the scripted answer given instead. */
  outcome: 'ok' | 'invalid_token' | ScriptedProfileAnswer;
}

export interface ProfileContext {
  grants: GrantBook;
  scripted: ScriptedProfileAnswer | undefined;
  retryAfterSeconds: number;
  /** Keeps a response unanswered until the fake releases held requests. */
  hold(response: ServerResponse): void;
}

type RestErrorAnswer = Exclude<ScriptedProfileAnswer, 'timeout'>;

const REST_ERRORS: Record<RestErrorAnswer, { status: number; errorCode: string; errorMessage: string }> = {
  suspended: { status: 402, errorCode: 'STORE_IS_SUSPENDED', errorMessage: 'Store is suspended' },
  plan: { status: 402, errorCode: 'NOT_AVAILABLE_ON_CURRENT_PLAN', errorMessage: 'Not available on the current plan' },
  not_found: { status: 404, errorCode: 'STORE_NOT_FOUND', errorMessage: 'Store not found' },
  rate_limited: { status: 429, errorCode: 'RATE_LIMITED', errorMessage: 'Too many requests' },
  server_error: { status: 500, errorCode: 'INTERNAL_ERROR', errorMessage: 'Internal server error' },
};

/**
 * Answers a profile request. A scripted answer wins over the token check; otherwise the token must come
 * as `Authorization: Bearer` (never `?token=`, refused by Ecwid since March 2025), be alive, unexpired,
 * and belong to the store in the path.
 */
export function answerProfile(
  request: IncomingMessage,
  response: ServerResponse,
  storeId: number,
  context: ProfileContext,
): ProfileRequestRecord['outcome'] {
  const scripted = answerScripted(response, context);
  if (scripted !== undefined) return scripted;
  if (storeBearer(request, response, storeId, context.grants) === undefined) return 'invalid_token';
  sendJson(response, 200, { generalInfo: { storeId } });
  return 'ok';
}

/**
 * The store's scripted answer, given instead of processing the request (`timeout`: held, no answer);
 * undefined when none is scripted.
 */
export function answerScripted(response: ServerResponse, context: ProfileContext): ScriptedProfileAnswer | undefined {
  if (context.scripted === 'timeout') {
    context.hold(response);
    return 'timeout';
  }
  if (context.scripted !== undefined) sendRestError(response, context.scripted, context.retryAfterSeconds);
  return context.scripted;
}

/**
 * The caller's token when it is one of the store's: `Authorization: Bearer` (never `?token=`),
 * alive and unexpired. Otherwise 403 `INVALID_API_TOKEN` is answered and the result is undefined.
 */
export function storeBearer(request: IncomingMessage, response: ServerResponse, storeId: number, grants: GrantBook): string | undefined {
  const bearer = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (bearer !== undefined && grants.isAccessTokenValid(bearer, storeId)) return bearer;
  sendJson(response, 403, { errorMessage: 'Invalid token', errorCode: 'INVALID_API_TOKEN' });
  return undefined;
}

/** Ecwid's REST error for a scripted answer; `rate_limited` also gets `Retry-After` in seconds. */
export function sendRestError(response: ServerResponse, answer: RestErrorAnswer, retryAfterSeconds: number): void {
  const { status, errorCode, errorMessage } = REST_ERRORS[answer];
  const headers: Record<string, string> = answer === 'rate_limited' ? { 'retry-after': String(retryAfterSeconds) } : {};
  sendJson(response, status, { errorMessage, errorCode }, headers);
}

/** A switch that makes the REST API answer 429 `RATE_LIMITED` instead of processing requests. */
export interface RestRateLimit {
  /** The `Retry-After` of each 429, in seconds. */
  retryAfterSeconds: number;
  /** How many requests still get a 429; undefined: every one, until the switch is removed. */
  remaining?: number;
}

/**
 * Answers 429 with `Retry-After` when a switch covers the store (its own, else `'*'` for every
 * store), counting it down; false, answering nothing, otherwise.
 */
export function answerRateLimited(response: ServerResponse, limits: Map<number | '*', RestRateLimit>, storeId: number): boolean {
  const key = limits.has(storeId) ? storeId : '*';
  const limit = limits.get(key);
  if (limit === undefined) return false;
  if (limit.remaining !== undefined) {
    limit.remaining -= 1;
    if (limit.remaining <= 0) limits.delete(key);
  }
  sendRestError(response, 'rate_limited', limit.retryAfterSeconds);
  return true;
}

/** What the REST API reads from the fake, and where it records the requests it answered. */
export interface RestApiContext {
  grants: GrantBook;
  slow: SlowAnswers;
  restRateLimits: Map<number | '*', RestRateLimit>;
  profileAnswers: Map<number, ScriptedProfileAnswer>;
  retryAfterSeconds: () => number;
  profileRequests: ProfileRequestRecord[];
  productRequests: ProductRequestRecord[];
  applicationRequests: ApplicationRequestRecord[];
  /** The app's subscription status per store, as the fake's merchant actions set it. */
  subscriptions: Map<number, string>;
  nowEpochMs: () => number;
}

/**
 * `GET /api/v3/{storeId}/profile`, `/application` and `/products` (`path` below the fake's mount
 * point), after the fake's latency, rate-limited while a switch covers the store; undefined when the
 * request is for none of them.
 */
export function serveRestApi(request: IncomingMessage, response: ServerResponse, url: URL, path: string, api: RestApiContext): Promise<true> | undefined {
  if (request.method !== 'GET') return undefined;
  const profile = /^\/api\/v3\/([^/]+)\/profile$/.exec(path);
  if (profile !== null) {
    const storeId = Number(profile[1]);
    return api.slow.afterLatency(response, () => {
      if (answerRateLimited(response, api.restRateLimits, storeId)) {
        api.profileRequests.push({ storeId, status: 429, outcome: 'rate_limited' });
        return;
      }
      const outcome = answerProfile(request, response, storeId, {
        grants: api.grants,
        scripted: api.profileAnswers.get(storeId),
        retryAfterSeconds: api.retryAfterSeconds(),
        hold: (held) => api.slow.hold(held),
      });
      api.profileRequests.push({ storeId, status: response.headersSent ? response.statusCode : undefined, outcome });
    });
  }
  const application = /^\/api\/v3\/([^/]+)\/application$/.exec(path);
  if (application !== null) {
    const storeId = Number(application[1]);
    return api.slow.afterLatency(response, () => {
      if (answerRateLimited(response, api.restRateLimits, storeId)) {
        api.applicationRequests.push({ storeId, status: 429, outcome: 'rate_limited' });
        return;
      }
      const outcome = answerApplication(request, response, storeId, {
        grants: api.grants,
        scripted: api.profileAnswers.get(storeId),
        retryAfterSeconds: api.retryAfterSeconds(),
        hold: (held) => api.slow.hold(held),
        subscriptionStatus: api.subscriptions.get(storeId),
        nowEpochMs: api.nowEpochMs(),
      });
      api.applicationRequests.push({ storeId, status: response.headersSent ? response.statusCode : undefined, outcome });
    });
  }
  const products = /^\/api\/v3\/([^/]+)\/products$/.exec(path);
  if (products !== null) {
    const storeId = Number(products[1]);
    return api.slow.afterLatency(response, () => {
      const outcome = answerRateLimited(response, api.restRateLimits, storeId)
        ? 'rate_limited'
        : answerProducts(request, response, storeId, url.searchParams, api.grants);
      api.productRequests.push({ storeId, status: response.statusCode, outcome });
    });
  }
  return undefined;
}
