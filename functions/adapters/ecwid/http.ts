import { EcwidRequestError, errorName } from '../../core/errors';
import type { TokenHttpResponse } from '../../core/ecwid/token-response';

/** How one request to Ecwid is made. */
export interface EcwidHttpOptions {
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
 * One request to Ecwid within the timeout, body included, never following a redirect (which would
 * carry the form, or the token, somewhere else), and never retried: a code or a rotating refresh
 * token sent twice can cost the merchant their install. Judging the answer is left to the pure
 * validators in `core/ecwid`.
 *
 * @throws EcwidRequestError for every transport failure (a {@link NetworkError}, or an answer too large).
 */
export async function sendToEcwid(url: URL, init: RequestInit, options: EcwidHttpOptions): Promise<TokenHttpResponse> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await (options.fetch ?? globalThis.fetch)(url, { ...init, redirect: 'manual', signal });
  } catch (error) {
    throw networkFailure(error);
  }
  let bodyText: string;
  try {
    bodyText = await readText(response, options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
  } catch (error) {
    if (error instanceof EcwidRequestError) throw error;
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

/** A transport failure: no answer, or no whole answer, came back. */
export class NetworkError extends EcwidRequestError {
  override readonly name = 'NetworkError';
  /** `timeout`, or the system error code (`ECONNRESET`, ...). */
  readonly networkError: string;

  constructor(
    code: 'ECWID_TIMEOUT' | 'ECWID_UNREACHABLE' | 'ECWID_UNAVAILABLE',
    message: string,
    options: { cause: unknown; networkError: string; mayHaveReachedServer: boolean },
  ) {
    super(code, message, { ...options, detail: { networkError: options.networkError } });
    this.networkError = options.networkError;
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
      throw new EcwidRequestError('ECWID_INVALID_RESPONSE', 'the answer is larger than the limit', {
        detail: { ecwidStatus: response.status, limitBytes: maxBytes },
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

function networkFailure(error: unknown): NetworkError {
  const name = errorName(error);
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new NetworkError('ECWID_TIMEOUT', 'Ecwid did not answer in time', { cause: error, networkError: 'timeout', mayHaveReachedServer: true });
  }
  const code = systemErrorCode(error);
  if (code !== undefined && NOT_SENT_ERROR_CODES.has(code)) {
    return new NetworkError('ECWID_UNREACHABLE', 'Ecwid could not be reached', { cause: error, networkError: code, mayHaveReachedServer: false });
  }
  return new NetworkError('ECWID_UNAVAILABLE', 'the connection to Ecwid failed', {
    cause: error,
    networkError: code ?? name,
    mayHaveReachedServer: true,
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
