import { NetworkError, sendToEcwid } from '../functions/adapters/ecwid/http';
import { InvalidStoreIdError } from '../functions/core/credentials/credentials-errors';
import { parseStoreId, type StoreCredentials } from '../functions/core/credentials/hand-out';
import { ConfigurationError, EcwidRequestError, RateLimitedError } from '../functions/core/errors';
import { joinUrl } from '../functions/core/urls';
import { normalizeBaseUrl, urlProblem } from '../functions/runtime/setting-rules';
import type { CredentialsSource, RejectionVerdict, ScopeVerdict } from './credentials-source';
import { EcwidApiError, InsufficientScopeError, TokenRejectedError } from './errors';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface EcwidRequestOptions {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
}

export interface EcwidApiOptions {
  /** Where each store's token comes from: a reader (`createCredentialsReader`) or the credentials API client. */
  credentials: CredentialsSource;
  /** Ecwid's REST API origin (`ECWID_API_URL`). Default `https://app.ecwid.com`. */
  apiUrl?: string;
  /** Budget of one request, from connecting to the last byte of the answer. Default 10 s. */
  timeoutMs?: number;
  /** Attempts of an idempotent request (GET, HEAD, PUT, DELETE) that meets a 5xx or a network error. Default 3. */
  maxAttempts?: number;
  /** How often a 429 is waited out and the request sent again before `RateLimitedError`. Default 2. */
  rateLimitRetries?: number;
  /** The longest `Retry-After` waited out; a longer one raises `RateLimitedError` at once. Default 10. */
  maxRetryAfterSeconds?: number;
  /** The first wait after a failure, doubled on each further one (with jitter), in milliseconds. Default 250. */
  backoffBaseMs?: number;
  /** Larger answers are refused. Default 10 MB. */
  maxResponseBytes?: number;
  fetch?: typeof fetch;
  /** How to wait (tests pass their own), and where the jitter comes from (a number in [0, 1)). */
  sleep?: (durationMs: number) => Promise<void>;
  random?: () => number;
}

export interface EcwidApi {
  /**
   * `method https://app.ecwid.com/api/v3/{storeId}/{path}` with the store's token in the
   * `Authorization: Bearer` header, JSON in and out. Resolves to the parsed answer (undefined for an
   * empty one).
   *
   * @param path below `/api/v3/{storeId}/`, like `products` or `orders/42`: no query (use
   *   `options.query`), no `.` or `..` segments.
   * @throws RateLimitedError (429 beyond the bounded waits), TokenRejectedError (403
   *   `INVALID_API_TOKEN`, after reporting it), InsufficientScopeError (403 `INSUFFICIENT_APP_SCOPE`),
   *   EcwidApiError (any other 4xx), EcwidRequestError (`ECWID_UNAVAILABLE` for 5xx,
   *   `ECWID_TIMEOUT`, `ECWID_UNREACHABLE`, `ECWID_INVALID_RESPONSE`), and the credentials' own errors.
   */
  request<T = unknown>(storeId: number, method: HttpMethod, path: string, options?: EcwidRequestOptions): Promise<T>;
}

/** Methods whose repetition does no harm: only these are sent again after a 5xx or a broken connection. */
const IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const PATH_PATTERN = /^[A-Za-z0-9._~!$&'()*+,;=:@%-]+(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/;
const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * A client for Ecwid's REST API that takes each store's token from a credentials source.
 *
 * - A 429 is waited out for its `Retry-After` (at most `maxRetryAfterSeconds`, `rateLimitRetries`
 *   times), then raised as a `RateLimitedError` carrying `retryAfterSeconds`.
 * - 5xx answers and network errors are retried with exponential backoff and jitter, for idempotent
 *   methods only: a POST that may have reached Ecwid is never sent twice.
 * - 403 `INVALID_API_TOKEN` is reported to the backend, which checks it with Ecwid; when the backend
 *   finds a newer token stored (a reinstall), the request is sent once more with it; otherwise a
 *   `TokenRejectedError` carries the verdict.
 * - Redirects are never followed: the token must not travel to another host.
 *
 * @see https://api-docs.ecwid.com/reference/errors
 * @throws ConfigurationError at once for an `apiUrl` that is not https (or loopback http).
 */
export function createEcwidApi(options: EcwidApiOptions): EcwidApi {
  const apiUrl = options.apiUrl ?? 'https://app.ecwid.com';
  const problem = urlProblem(apiUrl, { kind: 'base', allowLoopbackHttp: true });
  if (problem !== undefined) throw new ConfigurationError(`apiUrl ${problem}`);
  const base = normalizeBaseUrl(apiUrl);
  const settings = {
    timeoutMs: options.timeoutMs ?? 10_000,
    maxAttempts: Math.max(1, options.maxAttempts ?? 3),
    rateLimitRetries: Math.max(0, options.rateLimitRetries ?? 2),
    maxRetryAfterSeconds: options.maxRetryAfterSeconds ?? 10,
    backoffBaseMs: options.backoffBaseMs ?? 250,
    maxResponseBytes: options.maxResponseBytes ?? 10 * 1024 * 1024,
  };
  const sleep = options.sleep ?? ((durationMs: number) => new Promise<void>((resolve) => setTimeout(resolve, durationMs)));
  const random = options.random ?? Math.random;
  const backoffMs = (failures: number) => Math.round(Math.min(5_000, settings.backoffBaseMs * 2 ** (failures - 1)) * (0.5 + random() / 2));

  return {
    async request<T>(storeId: number, method: HttpMethod, path: string, requestOptions: EcwidRequestOptions = {}): Promise<T> {
      const url = requestUrl(base, storeId, path, requestOptions.query);
      const body = requestOptions.body === undefined ? undefined : JSON.stringify(requestOptions.body);
      let credentials: StoreCredentials = await options.credentials.getCredentials(storeId);
      let failures = 0;
      let rateLimits = 0;
      let retriedWithNewToken = false;
      for (;;) {
        let response;
        try {
          response = await sendToEcwid(
            url,
            {
              method,
              headers: {
                authorization: `Bearer ${credentials.accessToken}`,
                accept: 'application/json',
                ...(body === undefined ? {} : { 'content-type': 'application/json' }),
              },
              ...(body === undefined ? {} : { body }),
            },
            { timeoutMs: settings.timeoutMs, maxResponseBytes: settings.maxResponseBytes, ...(options.fetch === undefined ? {} : { fetch: options.fetch }) },
          );
        } catch (error) {
          failures += 1;
          if (error instanceof NetworkError && IDEMPOTENT.has(method) && failures < settings.maxAttempts) {
            await sleep(backoffMs(failures));
            continue;
          }
          throw error;
        }

        const { status } = response;
        if (status >= 200 && status < 300) return parseAnswer<T>(response.bodyText, response.contentType);
        const ecwidError = readEcwidError(response.bodyText);
        if (status === 429) {
          const waitSeconds = response.retryAfterSeconds ?? 1;
          if (rateLimits < settings.rateLimitRetries && waitSeconds <= settings.maxRetryAfterSeconds) {
            rateLimits += 1;
            await sleep(waitSeconds * 1000);
            continue;
          }
          throw new RateLimitedError('Ecwid rate-limited the request', { retryAfterSeconds: response.retryAfterSeconds, detail: { storeId } });
        }
        if ((status === 401 || status === 403) && ecwidError.code === 'INVALID_API_TOKEN') {
          const { verdict, cause } = await report(options.credentials, storeId);
          if (verdict?.status === 'active' && !retriedWithNewToken) {
            const fresh = await options.credentials.getCredentials(storeId);
            if (fresh.accessToken !== credentials.accessToken) {
              // The backend holds a newer token than the one refused (a reinstall): one more try with it.
              credentials = fresh;
              retriedWithNewToken = true;
              continue;
            }
          }
          throw new TokenRejectedError(storeId, verdict, cause);
        }
        if (status === 403 && ecwidError.code === 'INSUFFICIENT_APP_SCOPE') {
          // Reported, so the store's missing scopes are recomputed now (a scope the app just started to need).
          const scopes = await reportScope(options.credentials, storeId);
          throw new InsufficientScopeError(storeId, credentials.scope, ecwidError.message, scopes.verdict, scopes.cause);
        }
        if (status >= 500) {
          failures += 1;
          if (IDEMPOTENT.has(method) && failures < settings.maxAttempts) {
            await sleep(backoffMs(failures));
            continue;
          }
          throw new EcwidRequestError('ECWID_UNAVAILABLE', `Ecwid answered ${status}`, { detail: { status, ecwidErrorCode: ecwidError.code } });
        }
        throw new EcwidApiError(status, ecwidError.code, ecwidError.message);
      }
    },
  };
}

/** Reports a missing scope; a report that fails leaves the verdict unknown rather than hiding Ecwid's refusal. */
async function reportScope(credentials: CredentialsSource, storeId: number): Promise<{ verdict?: ScopeVerdict; cause?: unknown }> {
  try {
    return { verdict: await credentials.reportInsufficientScope(storeId) };
  } catch (cause) {
    return { cause };
  }
}

/** Reports a refused token; a report that fails leaves the verdict unknown rather than hiding Ecwid's refusal. */
async function report(credentials: CredentialsSource, storeId: number): Promise<{ verdict?: RejectionVerdict; cause?: unknown }> {
  try {
    return { verdict: await credentials.reportRejected(storeId) };
  } catch (cause) {
    return { cause };
  }
}

function requestUrl(base: string, storeId: number, path: string, query: EcwidRequestOptions['query']): URL {
  if (parseStoreId(String(storeId)) !== storeId) throw new InvalidStoreIdError();
  const relative = path.replace(/^\/+/, '');
  const segments = relative.split('/');
  if (!PATH_PATTERN.test(relative) || segments.some((segment) => segment === '.' || segment === '..' || /%2e/i.test(segment) || /%2f/i.test(segment))) {
    throw new ConfigurationError('path must be a path below /api/v3/{storeId}/, without a query or dot segments');
  }
  const url = joinUrl(base, `/api/v3/${storeId}/${relative}`);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  return url;
}

function parseAnswer<T>(bodyText: string, contentType: string | undefined): T {
  if (bodyText.trim() === '') return undefined as T;
  if (contentType !== undefined && !/^application\/(?:[a-z0-9.+-]+\+)?json\b/i.test(contentType.trim())) {
    throw new EcwidRequestError('ECWID_INVALID_RESPONSE', 'Ecwid answered with something other than JSON', {
      detail: { contentType: contentType.split(';')[0]!.trim().slice(0, 64) },
    });
  }
  try {
    return JSON.parse(bodyText) as T;
  } catch {
    throw new EcwidRequestError('ECWID_INVALID_RESPONSE', 'Ecwid answered with invalid JSON');
  }
}

/** Ecwid's REST error body: `{"errorMessage": "...", "errorCode": "..."}`. */
function readEcwidError(bodyText: string): { code: string | undefined; message: string | undefined } {
  try {
    const body = JSON.parse(bodyText) as { errorCode?: unknown; errorMessage?: unknown };
    return {
      code: typeof body.errorCode === 'string' && ERROR_CODE_PATTERN.test(body.errorCode) ? body.errorCode : undefined,
      message: typeof body.errorMessage === 'string' ? body.errorMessage.slice(0, 500) : undefined,
    };
  } catch {
    return { code: undefined, message: undefined };
  }
}
