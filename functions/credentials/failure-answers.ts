/**
 * How the credentials API answers a failure (its contract, see the README): `{ "error": "<code>" }`
 * with the code in lower case, or the status of an unusable installation; never a message, a stack
 * trace or a token. What a caller needs to act on a failure comes from typed properties of the error
 * (the status of an unusable installation, `Retry-After`).
 */
import {
  InstallationUnusableError,
  RejectionUnconfirmedError,
  TokenRenewalPendingError,
} from '../core/credentials/credentials-errors';
import { RateLimitedError, type EcwidAppAuthError, type ErrorCode } from '../core/errors';
import type { ApiResult } from '../runtime/http';
import { jsonResponse, type FailurePresentation } from '../runtime/json-http';

/**
 * The one mapping from error codes to the credentials API's HTTP statuses. Exhaustive: a new code
 * without a status here does not compile. The `error` field is the code in lower case, except for
 * an unusable installation, whose `error` is its status (see {@link jsonErrorResponse}).
 */
export function jsonErrorStatus(code: ErrorCode): number {
  switch (code) {
    case 'INVALID_REQUEST':
    case 'INVALID_STORE_ID':
    case 'ECWID_AUTHORIZATION_ERROR':
    case 'STATE_UNKNOWN':
    case 'STATE_USED':
    case 'STATE_EXPIRED':
    case 'CODE_REJECTED':
    case 'APP_PAYLOAD_INVALID':
    case 'INVALID_WEBHOOK':
      return 400;
    case 'WEBHOOK_SIGNATURE_INVALID':
    case 'SESSION_INVALID':
      return 401;
    case 'APP_MARKET_INSTALLS_DISABLED':
    case 'STATE_BROWSER_MISMATCH':
    case 'NOT_THROUGH_EDGE':
      return 403;
    case 'NOT_INSTALLED':
      return 404;
    case 'INSTALLATION_UNUSABLE':
    case 'INSTALL_IN_PROGRESS':
    case 'WEBHOOK_IN_PROGRESS':
      return 409;
    case 'TOKEN_UNREADABLE':
    case 'INTERNAL':
      return 500;
    case 'CLIENT_REJECTED':
    case 'REFRESH_TOKEN_REJECTED':
    case 'ECWID_UNAVAILABLE':
    case 'ECWID_UNREACHABLE':
    case 'ECWID_INVALID_RESPONSE':
    case 'INSTALL_OUTCOME_UNKNOWN':
    case 'CREDENTIALS_API_UNAVAILABLE':
    case 'ECWID_TOKEN_REJECTED':
    case 'ECWID_SCOPE_INSUFFICIENT':
    case 'ECWID_REQUEST_REFUSED':
      return 502;
    case 'ECWID_RATE_LIMITED':
    case 'STORAGE_UNAVAILABLE':
    case 'SECRET_UNAVAILABLE':
    case 'ENCRYPTION_UNAVAILABLE':
    case 'NOT_CONFIGURED':
    case 'TOKEN_RENEWAL_PENDING':
    case 'REJECTION_UNCONFIRMED':
    case 'WEBHOOK_DEFERRED':
      return 503;
    case 'ECWID_TIMEOUT':
      return 504;
  }
}

/**
 * The JSON answer for a failure: `{ "error": "<code>" }`, plus `reason` where the failure has one a
 * caller acts on, a `Retry-After` header when it is worth asking again, and, for the service's own
 * failures (5xx), a `reference` to find the request's log line.
 */
export function jsonErrorResponse(failure: EcwidAppAuthError, reference: string): ApiResult {
  const status = jsonErrorStatus(failure.code);
  if (failure instanceof InstallationUnusableError) {
    return jsonResponse(status, { error: failure.status, reason: failure.reason });
  }
  const body: Record<string, string> = { error: failure.code.toLowerCase() };
  const headers: Record<string, string> = {};
  if (failure instanceof RejectionUnconfirmedError) body.reason = failure.reason;
  const retryAfterSeconds =
    failure instanceof TokenRenewalPendingError || failure instanceof RejectionUnconfirmedError
      ? failure.retryAfterSeconds
      : failure instanceof RateLimitedError
        ? failure.retryAfterSeconds
        : undefined;
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  if (status >= 500) body.reference = reference;
  return jsonResponse(status, body, headers);
}

/** The credentials routes' presentation of failures, for `jsonHandler`. */
export const CREDENTIALS_FAILURES: FailurePresentation = { statusOf: jsonErrorStatus, answer: jsonErrorResponse };
