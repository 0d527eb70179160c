import { EcwidRequestError, RateLimitedError } from '../errors';
import type { TokenGrant } from '../model';

/** The parts of an HTTP answer the validation needs; kept apart from the request that produced it. */
export interface TokenHttpResponse {
  status: number;
  contentType: string | undefined;
  bodyText: string;
  /** From a `Retry-After` header given in seconds, when there was one. */
  retryAfterSeconds?: number;
}

/** What the answer must satisfy, which depends on the grant that was asked for. */
export interface TokenExpectation {
  grantType: 'authorization_code' | 'refresh_token';
  /**
   * The store the answer must be for. For a code, the store the redirect named; for a refresh,
   * the installation's store. A refresh answer may omit `store_id` (RFC 6749 §5.1 has no such field).
   */
  storeId?: number;
}

const TOKEN_PATTERN = /^[\x21-\x7e]{1,4096}$/;
const OAUTH_ERROR_PATTERN = /^[a-z0-9_]{1,64}$/;

/**
 * Validates an answer of the token endpoint, strictly.
 *
 * Ecwid documents `access_token`, `token_type` (`bearer`, sent as `Bearer`), `scope`, `store_id`,
 * `email` and `public_token`, and no expiry. `expires_in` and `refresh_token` are taken when present
 * (RFC 6749 §5.1). Error answers are undocumented; the RFC 6749 §5.2 shape is read when present.
 *
 * A refresh answer may also omit `scope` (RFC 6749 §5.1: unchanged scope); it then comes back empty
 * and the caller keeps the scope it had.
 *
 * @throws EcwidRequestError
 *   - `CODE_REJECTED` for a 4xx refusal of an authorization code (`invalid_grant`: expired or used);
 *   - `REFRESH_TOKEN_REJECTED` for `invalid_grant` on a refresh: the grant is gone;
 *   - `CLIENT_REJECTED` for a 401 or `invalid_client` (the app's credentials are wrong);
 *   - a `RateLimitedError` (`ECWID_RATE_LIMITED`) for 429, with `retryAfterSeconds` when the server said;
 *   - `ECWID_UNAVAILABLE` for 5xx, 408 and any other status;
 *   - `ECWID_INVALID_RESPONSE` for a 200 that is not a usable token response.
 */
export function parseTokenResponse(response: TokenHttpResponse, expectation: TokenExpectation): TokenGrant {
  if (response.status !== 200) throw refusal(response, expectation.grantType);
  const refreshing = expectation.grantType === 'refresh_token';
  const expectedStoreId = expectation.storeId;

  if (!isJsonContentType(response.contentType)) {
    throw invalidAnswer('the answer is not JSON', { contentType: describeContentType(response.contentType) });
  }
  let body: unknown;
  try {
    body = JSON.parse(response.bodyText);
  } catch {
    throw invalidAnswer('the answer is not valid JSON', {});
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidAnswer('the answer is not a JSON object', {});
  }
  const fields = body as Record<string, unknown>;

  const accessToken = fields.access_token;
  if (typeof accessToken !== 'string' || !TOKEN_PATTERN.test(accessToken)) {
    throw invalidAnswer('the answer has no usable access_token', {});
  }
  if (typeof fields.token_type !== 'string' || fields.token_type.toLowerCase() !== 'bearer') {
    throw invalidAnswer('the token type is not bearer', {});
  }
  const answeredStoreId = readStoreId(fields.store_id);
  if (fields.store_id !== undefined && answeredStoreId === undefined) throw invalidAnswer('store_id is not numeric', {});
  const storeId = answeredStoreId ?? (refreshing ? expectedStoreId : undefined);
  if (storeId === undefined) throw invalidAnswer('the answer has no numeric store_id', {});
  if (expectedStoreId !== undefined && storeId !== expectedStoreId) {
    throw invalidAnswer('the answer is for another store than the redirect named', {
      expectedStoreId,
      answeredStoreId: storeId,
    });
  }
  const scope = fields.scope ?? (refreshing ? '' : undefined);
  if (typeof scope !== 'string') throw invalidAnswer('the answer has no scope string', {});

  const grant: TokenGrant = { accessToken, scope: normaliseScope(scope), storeId };
  const expiresIn = fields.expires_in;
  if (expiresIn !== undefined && expiresIn !== null) {
    const seconds = typeof expiresIn === 'string' && /^[0-9]{1,10}$/.test(expiresIn) ? Number(expiresIn) : expiresIn;
    if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds <= 0) {
      throw invalidAnswer('expires_in is not a positive number of seconds', {});
    }
    grant.expiresInSeconds = seconds;
  }
  const refreshToken = optionalToken(fields.refresh_token, 'refresh_token');
  if (refreshToken !== undefined) grant.refreshToken = refreshToken;
  const publicToken = optionalToken(fields.public_token, 'public_token');
  if (publicToken !== undefined) grant.publicToken = publicToken;
  return grant;
}

/** The `error` field of an RFC 6749 §5.2 error body, when the body has a well-formed one. */
export function readOAuthError(bodyText: string): string | undefined {
  try {
    const body: unknown = JSON.parse(bodyText);
    if (typeof body === 'object' && body !== null && 'error' in body) {
      const error = (body as { error: unknown }).error;
      if (typeof error === 'string' && OAUTH_ERROR_PATTERN.test(error)) return error;
    }
  } catch {
    // Not JSON: an HTML error page or nothing at all. The status alone then decides.
  }
  return undefined;
}

function refusal(response: TokenHttpResponse, grantType: TokenExpectation['grantType']): EcwidRequestError {
  const oauthError = readOAuthError(response.bodyText);
  const detail = { ecwidStatus: response.status, oauthError };
  const { status } = response;
  if (status === 429) {
    return new RateLimitedError('the token endpoint is rate limiting', { detail, retryAfterSeconds: response.retryAfterSeconds });
  }
  if (status === 401 || oauthError === 'invalid_client' || oauthError === 'unauthorized_client') {
    return new EcwidRequestError('CLIENT_REJECTED', 'the token endpoint refused the app credentials', { detail });
  }
  const clientError = status >= 400 && status < 500 && status !== 408;
  if (clientError && grantType === 'authorization_code') {
    return new EcwidRequestError('CODE_REJECTED', 'the token endpoint refused the authorization code', { detail });
  }
  if (clientError && oauthError === 'invalid_grant') {
    return new EcwidRequestError('REFRESH_TOKEN_REJECTED', 'the token endpoint refused the refresh token', { detail });
  }
  return new EcwidRequestError('ECWID_UNAVAILABLE', `the token endpoint answered ${status}`, { detail });
}

function invalidAnswer(message: string, detail: Record<string, string | number>): EcwidRequestError {
  return new EcwidRequestError('ECWID_INVALID_RESPONSE', message, { detail });
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

function describeContentType(contentType: string | undefined): string {
  return contentType === undefined ? 'none' : contentType.split(';')[0]!.trim().slice(0, 64);
}

function readStoreId(value: unknown): number | undefined {
  const id = typeof value === 'string' && /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : value;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

function optionalToken(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !TOKEN_PATTERN.test(value)) {
    throw invalidAnswer(`${field} is not a usable token`, {});
  }
  return value;
}

/** Scopes are space-separated (RFC 6749 §3.3); collapse stray whitespace so comparisons are exact. */
function normaliseScope(scope: string): string {
  return scope.split(/\s+/).filter(Boolean).join(' ');
}
