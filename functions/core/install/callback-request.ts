import { EcwidAppAuthError } from '../errors';

/**
 * What a callback asks for, decided from its query alone.
 *
 * - `consent_denied`: the merchant pressed Deny (`error=access_denied`).
 * - `ecwid_error`: Ecwid reported another `error`.
 * - `app_initiated`: a redirect answering our own `/authorize` (it carries our `state`).
 * - `app_market`: Ecwid sent the merchant straight from the App Market; no `state` was ever issued.
 */
export type CallbackRequest =
  | { lane: 'consent_denied' }
  | { lane: 'ecwid_error'; error: string }
  | { lane: 'app_initiated'; code: string; state: string; storeId?: number }
  | { lane: 'app_market'; code: string; storeId: number };

/** Authorization codes are opaque; this admits every URL-safe token shape and nothing that could carry markup. */
const CODE_PATTERN = /^[A-Za-z0-9._~+/=-]{1,512}$/;
const STORE_ID_PATTERN = /^[1-9][0-9]{0,15}$/;
const ERROR_PATTERN = /^[a-z0-9_]{1,64}$/;

const MEANINGFUL = ['error', 'code', 'state', 'store_id'] as const;

/** Far above anything Ecwid sends (a few hundred characters), far below what would cost anything to parse. */
export const MAX_QUERY_LENGTH = 4096;

/**
 * Parses the raw query string of a callback. Unknown parameters (`iss`, tracking tags) are ignored;
 * a meaningful parameter given twice is refused because no single reading of it is safe.
 *
 * @throws EcwidAppAuthError `INVALID_REQUEST` when the query is not one Ecwid would send.
 */
export function parseCallbackRequest(rawQueryString: string): CallbackRequest {
  if (rawQueryString.length > MAX_QUERY_LENGTH) {
    throw invalid('the query string is longer than any Ecwid redirect', { length: rawQueryString.length });
  }
  // URLSearchParams would drop one leading "?" and read "??code=" as "code=": a URL Ecwid never builds.
  if (rawQueryString.startsWith('?')) throw invalid('the query string starts with "?"', {});
  const params = new URLSearchParams(rawQueryString);
  for (const name of MEANINGFUL) {
    if (params.getAll(name).length > 1) {
      throw invalid(`the ${name} parameter was given more than once`, { parameter: name });
    }
  }

  const error = params.get('error');
  if (error !== null) {
    if (error === 'access_denied') return { lane: 'consent_denied' };
    return { lane: 'ecwid_error', error: ERROR_PATTERN.test(error) ? error : 'unrecognised_error' };
  }

  const code = params.get('code');
  if (code === null || code === '') throw invalid('the callback carries no authorization code', {});
  if (!CODE_PATTERN.test(code)) throw invalid('the authorization code is malformed', { codeLength: code.length });

  const storeId = parseStoreId(params.get('store_id'));
  const state = params.get('state');
  if (state !== null) {
    return storeId === undefined ? { lane: 'app_initiated', code, state } : { lane: 'app_initiated', code, state, storeId };
  }
  if (storeId === undefined) {
    throw invalid('the callback carries neither a state nor a store id', {});
  }
  return { lane: 'app_market', code, storeId };
}

/** Parses a store id: a positive integer that fits in a double without losing precision. */
export function parseStoreId(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!STORE_ID_PATTERN.test(value)) throw invalid('the store id is not a positive integer', {});
  const storeId = Number(value);
  if (!Number.isSafeInteger(storeId)) throw invalid('the store id is out of range', {});
  return storeId;
}

function invalid(message: string, detail: Record<string, string | number>): EcwidAppAuthError {
  return new EcwidAppAuthError('INVALID_REQUEST', message, { detail });
}
