import type { TokenVerification } from '../model';

/** The parts of the REST API's answer that decide what it says about a token. */
export interface ApiHttpResponse {
  status: number;
  bodyText: string;
  retryAfterSeconds?: number;
}

const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * What an answer of `GET /api/v3/{storeId}/profile` says of the token it carried.
 *
 * Ecwid's REST errors are `{"errorMessage": ..., "errorCode": ...}`:
 * 403 `INVALID_API_TOKEN` (revoked: uninstalled or reinstalled elsewhere), 402
 * `STORE_IS_SUSPENDED` / `NOT_AVAILABLE_ON_CURRENT_PLAN`, 404 `STORE_NOT_FOUND`, 429 `RATE_LIMITED`
 * with `Retry-After`, 500 `INTERNAL_ERROR`. Other 403s (`INSUFFICIENT_APP_SCOPE`: the profile needs
 * no scope, so something else is wrong), answers without Ecwid's error code, a 200 that is not the
 * store's profile, and every other status are passing failures, retried with backoff.
 *
 * @see https://api-docs.ecwid.com/reference/errors
 */
export function interpretProfileResponse(response: ApiHttpResponse, storeId: number): TokenVerification {
  const errorCode = readErrorCode(response.bodyText);
  // Only Ecwid's own verdicts (its error codes) end a store's checks: a bare 401, 403 or 404 may
  // come from anything on the way (a proxy, a wrong API URL) and is retried like any failure.
  switch (response.status) {
    case 200:
      return answeredStoreId(response.bodyText) === storeId
        ? { outcome: 'valid' }
        : { outcome: 'failed', reason: 'unexpected_profile_answer' };
    case 401:
    case 403:
      return errorCode === 'INVALID_API_TOKEN'
        ? { outcome: 'revoked', errorCode }
        : { outcome: 'failed', reason: errorCode ?? `http_${response.status}` };
    case 402:
      return { outcome: 'suspended', errorCode: errorCode ?? 'HTTP_402' };
    case 404:
      return errorCode === 'STORE_NOT_FOUND'
        ? { outcome: 'store_gone', errorCode }
        : { outcome: 'failed', reason: errorCode ?? 'http_404' };
    case 429:
      return response.retryAfterSeconds === undefined
        ? { outcome: 'rate_limited' }
        : { outcome: 'rate_limited', retryAfterSeconds: response.retryAfterSeconds };
    default:
      return { outcome: 'failed', reason: errorCode ?? `http_${response.status}` };
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

/** The store a profile answer is for: the request asks for exactly `generalInfo.storeId`. */
function answeredStoreId(bodyText: string): number | undefined {
  try {
    const body = JSON.parse(bodyText) as { generalInfo?: { storeId?: unknown } };
    const answered = Number(body.generalInfo?.storeId);
    return Number.isSafeInteger(answered) ? answered : undefined;
  } catch {
    return undefined;
  }
}
