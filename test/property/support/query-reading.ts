/**
 * The test's own reading of a callback query, written from the standards rather than from the
 * parser under test, so the properties can catch the parser disagreeing with them.
 *
 * - Decoding follows the WHATWG `application/x-www-form-urlencoded` parser
 *   (https://url.spec.whatwg.org/#urlencoded-parsing): split on `&`, skip empty sequences, split on
 *   the first `=`, `+` is a space, percent-decode byte-wise (a `%` not followed by two hex digits
 *   stays literal), then UTF-8 decode with replacement and without stripping a BOM. Note that this
 *   parser, unlike the `URLSearchParams` constructor, does not drop a leading `?`.
 * - What counts as a valid callback follows /work/shared/ecwid-protocol.md: one code, no error,
 *   no meaningful parameter twice; a store id is a positive decimal integer a double holds exactly;
 *   and the whole query is at most `MAX_QUERY_LENGTH` characters (the app's one policy constant);
 * - a raw query starting with "?" is refused: it can only come from a URL with "??".
 */
import { MAX_QUERY_LENGTH } from '../../../functions/core/install/callback-request';

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

export function decodeFormQuery(rawQuery: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const sequence of rawQuery.split('&')) {
    if (sequence === '') continue;
    const separator = sequence.indexOf('=');
    const name = separator === -1 ? sequence : sequence.slice(0, separator);
    const value = separator === -1 ? '' : sequence.slice(separator + 1);
    pairs.push([decodeComponent(name), decodeComponent(value)]);
  }
  return pairs;
}

function decodeComponent(text: string): string {
  // Buffer's UTF-8 encoder turns a lone surrogate into U+FFFD, as the USVString conversion does.
  const bytes = Buffer.from(text.replace(/\+/g, ' '), 'utf8');
  const decoded: number[] = [];
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index]!;
    if (byte === 0x25 && index + 2 < bytes.length && isHexDigit(bytes[index + 1]!) && isHexDigit(bytes[index + 2]!)) {
      decoded.push(Number.parseInt(String.fromCharCode(bytes[index + 1]!, bytes[index + 2]!), 16));
      index += 2;
    } else {
      decoded.push(byte);
    }
  }
  return utf8.decode(Uint8Array.from(decoded));
}

function isHexDigit(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

/** Percent-encodes everything but RFC 3986 unreserved characters (lone surrogates as U+FFFD). */
export function encodeComponent(text: string): string {
  let encoded = '';
  for (const character of text) {
    encoded += /^[A-Za-z0-9._~-]$/.test(character) ? character : percentEncodeAll(character);
  }
  return encoded;
}

/** Percent-encodes every byte of the UTF-8 form, unreserved characters included. */
export function percentEncodeAll(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

/** The `queryStringParameters` API Gateway derives from a query: repeated names joined with commas. */
export function apiGatewayQueryParameters(rawQuery: string): Record<string, string> | undefined {
  if (rawQuery === '') return undefined;
  const joined = new Map<string, string>();
  for (const [name, value] of decodeFormQuery(rawQuery)) {
    joined.set(name, joined.has(name) ? `${joined.get(name)},${value}` : value);
  }
  return Object.fromEntries(joined);
}

/** The authorization code shape the app accepts (opaque, URL-safe, bounded). */
export const WELL_FORMED_CODE = /^[A-Za-z0-9._~+/=-]{1,512}$/;

const LARGEST_SAFE_INTEGER = BigInt(Number.MAX_SAFE_INTEGER);

/** A store id: decimal digits only, no sign, no leading zero, from 1 to 2^53 - 1. */
export function readStoreId(value: string): number | undefined {
  if (value.length === 0 || value.length > 20) return undefined;
  for (const character of value) {
    if (character < '0' || character > '9') return undefined;
  }
  if (value.startsWith('0')) return undefined;
  const storeId = BigInt(value);
  return storeId >= 1n && storeId <= LARGEST_SAFE_INTEGER ? Number(storeId) : undefined;
}

export type CallbackReading =
  | { kind: 'invalid'; reason: string }
  | { kind: 'consent_denied' }
  | { kind: 'ecwid_error'; error: string }
  | { kind: 'code'; code: string; state: string | undefined; storeId: number | undefined };

const MEANINGFUL_NAMES = ['error', 'code', 'state', 'store_id'];

/** Ecwid's redirects are a few hundred characters; the app refuses anything beyond this outright. */
export { MAX_QUERY_LENGTH };

/** What the callback query asks for, by the rules above. */
export function readCallbackQuery(rawQuery: string): CallbackReading {
  if (rawQuery.length > MAX_QUERY_LENGTH) return { kind: 'invalid', reason: 'query too long' };
  // API Gateway's raw query never starts with "?": one that does came from a URL with "??", which Ecwid never builds.
  if (rawQuery.startsWith('?')) return { kind: 'invalid', reason: 'leading ?' };
  const pairs = decodeFormQuery(rawQuery);
  const valuesOf = (name: string) => pairs.filter(([key]) => key === name).map(([, value]) => value);
  for (const name of MEANINGFUL_NAMES) {
    if (valuesOf(name).length > 1) return { kind: 'invalid', reason: `${name} repeated` };
  }
  const [error] = valuesOf('error');
  if (error !== undefined) return error === 'access_denied' ? { kind: 'consent_denied' } : { kind: 'ecwid_error', error };

  const [code] = valuesOf('code');
  if (code === undefined || !WELL_FORMED_CODE.test(code)) return { kind: 'invalid', reason: 'no well-formed code' };
  const [rawStoreId] = valuesOf('store_id');
  const storeId = rawStoreId === undefined ? undefined : readStoreId(rawStoreId);
  if (rawStoreId !== undefined && storeId === undefined) return { kind: 'invalid', reason: 'store id not a safe positive integer' };
  const [state] = valuesOf('state');
  if (state === undefined && storeId === undefined) return { kind: 'invalid', reason: 'neither state nor store id' };
  return { kind: 'code', code, state, storeId };
}
