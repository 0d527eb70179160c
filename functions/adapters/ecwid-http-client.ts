import { errorName, TokenExchangeError } from '../core/errors';
import type { CodeExchangeRequest, TokenEndpoint, TokenGrant } from '../core/ports';
import { parseTokenResponse, type TokenHttpResponse } from '../core/token-response';
import { joinUrl } from '../core/urls';

export interface EcwidHttpClientOptions {
  /** Ecwid's OAuth origin (`https://my.ecwid.com`), or any server with the same paths. */
  oauthBaseUrl: string;
  /** Budget for one request, from connecting to the last byte of the answer. */
  timeoutMs: number;
  /** Larger answers are refused: a token response is a few hundred bytes. */
  maxResponseBytes?: number;
  fetch?: typeof fetch;
}

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

/** Failures that happen before a single byte of the request is sent. */
const NOT_SENT_ERROR_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Ecwid's HTTP endpoints over `fetch`. The HTTP exchange lives here; judging the answer is left to
 * the pure validators in `core/`.
 */
export class EcwidHttpClient implements TokenEndpoint {
  private readonly fetch: typeof fetch;
  private readonly maxResponseBytes: number;

  constructor(private readonly options: EcwidHttpClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /**
   * `POST /api/oauth/token/{storeId}` (or `/api/oauth/token` without a store id), form-encoded with
   * all five parameters, as Ecwid requires since September 2025. The request is sent once: it is
   * never retried, because a code exchanged twice revokes the first token.
   *
   * @see https://api-docs.ecwid.com/docs/get-access-token
   */
  async exchangeCode(request: CodeExchangeRequest): Promise<TokenGrant> {
    const path = request.storeId === undefined ? '/api/oauth/token' : `/api/oauth/token/${request.storeId}`;
    const response = await this.postForm(
      joinUrl(this.options.oauthBaseUrl, path),
      new URLSearchParams({
        client_id: request.clientId,
        client_secret: request.clientSecret,
        code: request.code,
        redirect_uri: request.redirectUri,
        grant_type: 'authorization_code',
      }),
    );
    return parseTokenResponse(response, {
      grantType: 'authorization_code',
      ...(request.storeId === undefined ? {} : { storeId: request.storeId }),
    });
  }

  private async postForm(url: URL, form: URLSearchParams): Promise<TokenHttpResponse> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let response: Response;
    try {
      response = await this.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        // A redirect would carry the form (and the secret) to another place: refuse it.
        redirect: 'manual',
        signal,
      });
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
    return { status: response.status, contentType: response.headers.get('content-type') ?? undefined, bodyText };
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

function networkFailure(error: unknown): TokenExchangeError {
  const name = errorName(error);
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new TokenExchangeError('ECWID_TIMEOUT', 'the token endpoint did not answer in time', {
      cause: error,
      detail: { networkError: name },
    });
  }
  const code = systemErrorCode(error);
  if (code !== undefined && NOT_SENT_ERROR_CODES.has(code)) {
    return new TokenExchangeError('ECWID_UNREACHABLE', 'the token endpoint could not be reached', {
      cause: error,
      detail: { networkError: code },
      mayHaveReachedServer: false,
    });
  }
  return new TokenExchangeError('ECWID_UNAVAILABLE', 'the connection to the token endpoint failed', {
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
