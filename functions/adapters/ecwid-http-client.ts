import { errorName, TokenExchangeError } from '../core/errors';
import type {
  CodeExchangeRequest,
  TokenEndpoint,
  TokenGrant,
  TokenRefresher,
  TokenRefreshRequest,
  TokenVerification,
  TokenVerifier,
} from '../core/ports';
import { parseTokenResponse, type TokenHttpResponse } from '../core/token-response';
import { interpretProfileResponse } from '../core/token-verification';
import { joinUrl } from '../core/urls';

export interface EcwidHttpClientOptions {
  /** Ecwid's OAuth origin (`https://my.ecwid.com`), or any server with the same paths. */
  oauthBaseUrl: string;
  /** Ecwid's REST API origin (`https://app.ecwid.com`). */
  apiBaseUrl: string;
  /** Budget for one request, from connecting to the last byte of the answer. */
  timeoutMs: number;
  /** Larger answers are refused: a token response is a few hundred bytes. */
  maxResponseBytes?: number;
  fetch?: typeof fetch;
}

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

/** Failures that happen before a single byte of the request is sent. */
const NOT_SENT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Ecwid's HTTP endpoints over `fetch`. The HTTP exchange lives here; judging the answer is left to
 * the pure validators in `core/`. No request is ever retried here: a code or a rotating refresh
 * token sent twice can cost the merchant their install.
 */
export class EcwidHttpClient implements TokenEndpoint, TokenRefresher, TokenVerifier {
  private readonly fetch: typeof fetch;
  private readonly maxResponseBytes: number;

  constructor(private readonly options: EcwidHttpClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /**
   * `POST /api/oauth/token/{storeId}` (or `/api/oauth/token` without a store id), form-encoded with
   * all five parameters, as Ecwid requires since September 2025.
   *
   * @see https://api-docs.ecwid.com/docs/get-access-token
   */
  async exchangeCode(request: CodeExchangeRequest): Promise<TokenGrant> {
    const path = request.storeId === undefined ? '/api/oauth/token' : `/api/oauth/token/${request.storeId}`;
    const response = await this.postForm(path, {
      client_id: request.clientId,
      client_secret: request.clientSecret,
      code: request.code,
      redirect_uri: request.redirectUri,
      grant_type: 'authorization_code',
    });
    return parseTokenResponse(response, {
      grantType: 'authorization_code',
      ...(request.storeId === undefined ? {} : { storeId: request.storeId }),
    });
  }

  /**
   * `POST /api/oauth/token/{storeId}` with `grant_type=refresh_token` (RFC 6749 §6), form-encoded.
   */
  async refreshToken(request: TokenRefreshRequest): Promise<TokenGrant> {
    const response = await this.postForm(`/api/oauth/token/${request.storeId}`, {
      client_id: request.clientId,
      client_secret: request.clientSecret,
      refresh_token: request.refreshToken,
      grant_type: 'refresh_token',
    });
    return parseTokenResponse(response, { grantType: 'refresh_token', storeId: request.storeId });
  }

  /**
   * `GET /api/v3/{storeId}/profile` with the token in the `Authorization` header (Ecwid stopped
   * accepting `?token=` in March 2025), trimmed to the one field it needs.
   *
   * @see https://api-docs.ecwid.com/reference/get-store-profile
   */
  async verifyToken(request: { storeId: number; accessToken: string }): Promise<TokenVerification> {
    const url = joinUrl(this.options.apiBaseUrl, `/api/v3/${request.storeId}/profile`);
    url.searchParams.set('responseFields', 'generalInfo(storeId)');
    try {
      const response = await this.send(url, {
        method: 'GET',
        headers: { authorization: `Bearer ${request.accessToken}`, accept: 'application/json' },
      });
      return interpretProfileResponse(response, request.storeId);
    } catch (error) {
      const failure = error instanceof TokenExchangeError ? error : networkFailure(error);
      return { outcome: 'failed', reason: String(failure.detail.networkError ?? failure.code).toLowerCase() };
    }
  }

  private postForm(path: string, form: Record<string, string>): Promise<TokenHttpResponse> {
    return this.send(joinUrl(this.options.oauthBaseUrl, path), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
    });
  }

  /**
   * One request within the timeout, body included, never following a redirect (which would carry
   * the form, or the token, somewhere else).
   * @throws TokenExchangeError for every transport failure.
   */
  private async send(url: URL, init: RequestInit): Promise<TokenHttpResponse> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let response: Response;
    try {
      response = await this.fetch(url, { ...init, redirect: 'manual', signal });
    } catch (error) {
      throw networkFailure(error);
    }
    let bodyText: string;
    try {
      bodyText = await readText(response, this.maxResponseBytes);
    } catch (error) {
      if (error instanceof TokenExchangeError) throw error;
      throw networkFailure(error);
    }
    const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? undefined,
      bodyText,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    };
  }
}

async function readText(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new TokenExchangeError('ECWID_INVALID_RESPONSE', 'the answer is larger than any token response', {
        detail: { status: response.status, limitBytes: maxBytes },
      });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `Retry-After` in seconds, from either of its forms (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowEpochMs = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowEpochMs) / 1000));
}

function networkFailure(error: unknown): TokenExchangeError {
  const name = errorName(error);
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new TokenExchangeError('ECWID_TIMEOUT', 'Ecwid did not answer in time', {
      cause: error,
      detail: { networkError: 'timeout' },
    });
  }
  const code = systemErrorCode(error);
  if (code !== undefined && NOT_SENT_ERROR_CODES.has(code)) {
    return new TokenExchangeError('ECWID_UNREACHABLE', 'Ecwid could not be reached', {
      cause: error,
      detail: { networkError: code },
      mayHaveReachedServer: false,
    });
  }
  return new TokenExchangeError('ECWID_UNAVAILABLE', 'the connection to Ecwid failed', {
    cause: error,
    detail: { networkError: code ?? name },
  });
}

/** The system error code (`ECONNREFUSED`, ...) that undici hides in the cause chain of `fetch failed`. */
function systemErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; typeof current === 'object' && current !== null && depth < 5; depth += 1) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    current = cause;
  }
  return undefined;
}
