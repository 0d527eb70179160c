import type { TokenVerification } from './ports';

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
 * with `Retry-After`, 500 `INTERNAL_ERROR`. A 401 from a standards OAuth resource server also means
 * the token is not accepted. Other 403s (`INSUFFICIENT_APP_SCOPE`: the profile needs no scope, so
 * something else is wrong; or a bare 403 from a proxy) and every other status are passing failures,
 * retried with backoff.
 *
 * @see https://api-docs.ecwid.com/reference/errors
 */
export function interpretProfileResponse(response: ApiHttpResponse, storeId: number): TokenVerification {
  const errorCode = readErrorCode(response.bodyText);
  switch (response.status) {
    case 200:
      return answersForStore(response.bodyText, storeId)
        ? { outcome: 'valid' }
        : { outcome: 'failed', reason: 'profile_of_another_store' };
    case 401:
      return { outcome: 'revoked', errorCode: errorCode ?? 'HTTP_401' };
    case 403:
      // Only Ecwid's own verdict revokes: a bare 403 may come from anything on the way.
      return errorCode === 'INVALID_API_TOKEN'
        ? { outcome: 'revoked', errorCode }
        : { outcome: 'failed', reason: errorCode ?? 'http_403' };
    case 402:
      return { outcome: 'suspended', errorCode: errorCode ?? 'HTTP_402' };
    case 404:
      return { outcome: 'store_gone', errorCode: errorCode ?? 'STORE_NOT_FOUND' };
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

/** A 200 must not be another store's profile; a body without the field is taken at its status. */
function answersForStore(bodyText: string, storeId: number): boolean {
  try {
    const body = JSON.parse(bodyText) as { generalInfo?: { storeId?: unknown } };
    const answered = body.generalInfo?.storeId;
    return answered === undefined || Number(answered) === storeId;
  } catch {
    return true;
  }
}
