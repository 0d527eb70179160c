import { createDecipheriv } from 'node:crypto';
import { EcwidAppAuthError } from '../errors';

/** How the app is shown in Ecwid's control panel. */
export type ViewMode = 'POPUP' | 'PAGE' | 'INLINE';

/** What Ecwid tells the app's iframe, once decrypted and validated. */
export interface ControlPanelPayload {
  storeId: number;
  /** The merchant's control panel language (`en`, `pt_BR`, ...). */
  lang: string;
  /** A working token of the store, as Ecwid gives it to the iframe: never logged, never stored unless it passes the profile check. */
  accessToken: string;
  publicToken?: string;
  viewMode: ViewMode;
}

/** Far above any payload Ecwid sends (a few hundred characters), far below what would cost anything to decrypt. */
export const MAX_PAYLOAD_LENGTH = 4096;

const KEY_CHARACTERS = 16;
const IV_BYTES = 16;
const URL_SAFE_BASE64 = /^[A-Za-z0-9_-]+={0,2}$/;
const TOKEN_PATTERN = /^[\x21-\x7e]{1,4096}$/;
const LANG_PATTERN = /^[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})?$/;
const VIEW_MODES: readonly ViewMode[] = ['POPUP', 'PAGE', 'INLINE'];

/**
 * Decrypts and validates the `payload` Ecwid puts in the app's iframe URL: URL-safe base64 (padding
 * optional) of a 16-byte IV followed by AES-128-CBC ciphertext (PKCS#7) of a JSON object, keyed with
 * the first 16 characters of the client secret. Decrypting it proves the request came through
 * Ecwid's control panel for that store.
 *
 * Every way a payload can be wrong (encoding, length, padding, JSON, fields) is the same refusal,
 * with no detail: a caller probing the decryption learns nothing (no padding oracle).
 *
 * @see https://api-docs.ecwid.com/docs/native-apps (payload decryption)
 * @throws EcwidAppAuthError `APP_PAYLOAD_INVALID`.
 */
export function openControlPanelPayload(payload: string, clientSecret: string): ControlPanelPayload {
  const fields = decrypt(payload, clientSecret);
  const storeId = fields.store_id;
  const accessToken = fields.access_token;
  const lang = fields.lang;
  const viewMode = fields.view_mode;
  const publicToken = fields.public_token;
  if (typeof storeId !== 'number' || !Number.isSafeInteger(storeId) || storeId <= 0) throw invalid();
  if (typeof accessToken !== 'string' || !TOKEN_PATTERN.test(accessToken)) throw invalid();
  if (typeof lang !== 'string' || !LANG_PATTERN.test(lang)) throw invalid();
  if (typeof viewMode !== 'string' || !(VIEW_MODES as readonly string[]).includes(viewMode)) throw invalid();
  if (publicToken !== undefined && publicToken !== null && publicToken !== '' && (typeof publicToken !== 'string' || !TOKEN_PATTERN.test(publicToken))) {
    throw invalid();
  }
  return {
    storeId,
    lang,
    accessToken,
    ...(typeof publicToken === 'string' && publicToken !== '' ? { publicToken } : {}),
    viewMode: viewMode as ViewMode,
  };
}

function decrypt(payload: string, clientSecret: string): Record<string, unknown> {
  if (payload.length === 0 || payload.length > MAX_PAYLOAD_LENGTH || !URL_SAFE_BASE64.test(payload)) throw invalid();
  if (clientSecret.length < KEY_CHARACTERS) throw invalid();
  const bytes = Buffer.from(payload.replace(/=+$/, ''), 'base64url');
  // An IV and at least one block, whole blocks only.
  if (bytes.byteLength < 2 * IV_BYTES || bytes.byteLength % IV_BYTES !== 0) throw invalid();
  let text: string;
  try {
    const decipher = createDecipheriv('aes-128-cbc', Buffer.from(clientSecret.slice(0, KEY_CHARACTERS), 'utf8'), bytes.subarray(0, IV_BYTES));
    text = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw invalid();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  return parsed as Record<string, unknown>;
}

function invalid(): EcwidAppAuthError {
  return new EcwidAppAuthError('APP_PAYLOAD_INVALID', 'the control panel payload does not decrypt or validate');
}
