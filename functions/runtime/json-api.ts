/**
 * The JSON counterpart of `http.ts` for the credentials API: one place turns thrown errors into
 * `{ "error": "<code>", ... }` answers with the right status, never a stack trace, a token or an
 * error message; handlers just throw. What the caller needs to act on a failure comes from typed
 * properties of the error (the status of an unusable installation, `Retry-After`).
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  InstallationUnusableError,
  RejectionUnconfirmedError,
  TokenRenewalPendingError,
} from '../core/credentials/credentials-errors';
import { RateLimitedError, type EcwidAppAuthError, type ErrorCode } from '../core/errors';
import type { Logger } from '../core/ports';
import { reportFailure } from './failure-report';
import type { ApiEvent, ApiResult } from './http';
import type { AppLogger } from './logger';

/** Headers on every answer: nothing is cached anywhere, and the body is never sniffed as anything but JSON. */
const JSON_HEADERS: Record<string, string> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
};

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

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
      return 400;
    case 'APP_MARKET_INSTALLS_DISABLED':
    case 'STATE_BROWSER_MISMATCH':
      return 403;
    case 'NOT_INSTALLED':
      return 404;
    case 'INSTALLATION_UNUSABLE':
    case 'INSTALL_IN_PROGRESS':
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

/**
 * Wraps a JSON handler: errors it throws become JSON answers with the right status (the only place
 * that does so), and each request gets a logger carrying its correlation id. `provide` composes the
 * dependencies once per cold start; a broken configuration answers 503 `not_configured`.
 */
export function jsonHandler<D>(
  options: { route: string; log: AppLogger },
  provide: () => D,
  handle: (event: ApiEvent, deps: D, log: Logger, context: Context) => Promise<ApiResult>,
) {
  const logFor = (event: ApiEvent, context: Context) =>
    options.log.child({ route: options.route, routeKey: event.routeKey, correlationId: correlationId(event, context) });

  return middy<ApiEvent, ApiResult>()
    .use({
      onError: (request) => {
        const log = logFor(request.event, request.context);
        const failure = reportFailure(log, request.error, jsonErrorStatus);
        request.response = jsonErrorResponse(failure, correlationId(request.event, request.context));
      },
    })
    .handler(async (event, context) => handle(event, provide(), logFor(event, context), context));
}

function correlationId(event: ApiEvent, context: Context): string {
  return event.requestContext?.requestId ?? context?.awsRequestId ?? 'unknown';
}
