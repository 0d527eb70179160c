/**
 * The fake Ecwid's control panel (internal to `FakeEcwid`): the page where Ecwid shows a merchant the
 * app, framing the app's registered iframe URL with `payload`, `app_state` and `cache-killer` as
 * Ecwid does, and the payload's encryption (the inverse of `openControlPanelPayload`).
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ViewMode } from '../functions/core/native-app/control-panel-payload';
import { escapeHtml } from '../functions/runtime/pages';
import { randomAlphanumeric, type GrantBook } from './fake-ecwid-grants';

/** The JSON Ecwid encrypts into the iframe's `payload`, in Ecwid's field names. */
export interface ControlPanelPayloadFields {
  store_id: number;
  lang: string;
  access_token: string;
  public_token?: string;
  view_mode: ViewMode;
}

/** One request for the control panel page, as the fake answered it. */
export interface ControlPanelOpenRecord {
  /** NaN when `store_id` was not a number. */
  storeId: number;
  /**
   * `framed`: the app was framed with a payload; `not_installed`: no grant of the store was ever
   * issued; `no_working_token`: its grants are revoked, uninstalled or expired; `invalid`: a bad query;
   * `no_app_url`: the fake has no iframe URL to frame.
   */
  outcome: 'framed' | 'not_installed' | 'no_working_token' | 'invalid' | 'no_app_url';
}

const KEY_CHARACTERS = 16;
const IV_BYTES = 16;
const VIEW_MODES: readonly ViewMode[] = ['POPUP', 'PAGE', 'INLINE'];
const LANG_PATTERN = /^[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})?$/;
/** Ecwid's deep-link state is a few words; the app refuses far longer ones. */
const MAX_APP_STATE_LENGTH = 1024;

/**
 * Encrypts the fields as Ecwid does: AES-128-CBC (PKCS#7) keyed with the first 16 characters of the
 * client secret, a random 16-byte IV (or `iv`) in front, URL-safe base64 without padding.
 *
 * @see https://api-docs.ecwid.com/docs/native-apps (payload decryption)
 * @throws Error when the secret is shorter than 16 characters or `iv` is not 16 bytes.
 */
export function encryptControlPanelPayload(fields: ControlPanelPayloadFields, clientSecret: string, iv: Uint8Array = randomBytes(IV_BYTES)): string {
  return encryptControlPanelPlaintext(Buffer.from(JSON.stringify(fields), 'utf8'), clientSecret, iv);
}

/** Any plaintext sealed the way Ecwid seals a payload (tests send what Ecwid never would). */
export function encryptControlPanelPlaintext(plaintext: Uint8Array, clientSecret: string, iv: Uint8Array = randomBytes(IV_BYTES)): string {
  if (clientSecret.length < KEY_CHARACTERS) throw new Error(`the client secret must have at least ${KEY_CHARACTERS} characters`);
  if (iv.byteLength !== IV_BYTES) throw new Error(`the IV must be ${IV_BYTES} bytes`);
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(clientSecret.slice(0, KEY_CHARACTERS), 'utf8'), iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, ciphertext]).toString('base64url');
}

/** What the control panel page reads from the fake as it answers. */
export interface ControlPanelContext {
  /** The app's registered iframe URL; undefined when none is registered. */
  appUrl: string | undefined;
  clientSecret: string;
  grants: GrantBook;
  opens: ControlPanelOpenRecord[];
}

/** The payload Ecwid would put in the iframe URL for the store now: its current working token; undefined without one. */
export function payloadFor(
  context: Pick<ControlPanelContext, 'clientSecret' | 'grants'>,
  storeId: number,
  options: { lang?: string; viewMode?: ViewMode } = {},
): string | undefined {
  const tokens = context.grants.currentTokens(storeId);
  if (tokens === undefined) return undefined;
  const fields: ControlPanelPayloadFields = {
    store_id: storeId,
    lang: options.lang ?? 'en',
    access_token: tokens.accessToken,
    ...(tokens.publicToken === undefined ? {} : { public_token: tokens.publicToken }),
    view_mode: options.viewMode ?? 'PAGE',
  };
  return encryptControlPanelPayload(fields, context.clientSecret);
}

/**
 * `GET {fake}/control-panel?store_id=N[&app_state=...][&lang=en][&view_mode=PAGE]`: the app inside
 * the control panel of a store it is installed in, or a page saying it is not installed there (404
 * never installed, 409 no working token any more). The page runs no script and may frame the app's
 * origin only; it is never cached (the frame's address carries a working token, by Ecwid's design).
 */
export function answerControlPanel(query: URLSearchParams, response: ServerResponse, context: ControlPanelContext): true {
  const storeIdText = query.get('store_id') ?? '';
  const storeId = /^[1-9]\d{0,15}$/.test(storeIdText) ? Number(storeIdText) : Number.NaN;
  const record = (outcome: ControlPanelOpenRecord['outcome']) => context.opens.push({ storeId, outcome });
  const lang = query.get('lang') ?? 'en';
  const viewMode = (query.get('view_mode') ?? 'PAGE') as ViewMode;
  const appState = query.get('app_state');
  if (!Number.isSafeInteger(storeId) || !LANG_PATTERN.test(lang) || !VIEW_MODES.includes(viewMode) || (appState?.length ?? 0) > MAX_APP_STATE_LENGTH) {
    record('invalid');
    return sendPage(response, 400, 'Invalid request', [
      `store_id must be a store id; lang a language such as en or pt_BR; view_mode one of ${VIEW_MODES.join(', ')}; app_state at most ${MAX_APP_STATE_LENGTH} characters.`,
    ]);
  }
  if (context.appUrl === undefined) {
    record('no_app_url');
    return sendPage(response, 409, 'No iframe URL registered', ['This fake Ecwid was started without the app\'s iframe URL (appUrl), so it has nothing to frame.']);
  }
  const payload = payloadFor(context, storeId, { lang, viewMode });
  if (payload === undefined) {
    const everInstalled = context.grants.hasEverGranted(storeId);
    record(everInstalled ? 'no_working_token' : 'not_installed');
    return sendPage(response, everInstalled ? 409 : 404, `The app is not installed in store ${storeId}`, [
      everInstalled
        ? `The app was uninstalled from store ${storeId}, or its access was revoked or has expired. Install it again to open it here.`
        : `Store ${storeId} never installed the app. Install it first (App Market install or Connect a store), then open it here.`,
    ]);
  }
  const frame = new URL(context.appUrl);
  frame.searchParams.set('payload', payload);
  if (appState !== null && appState !== '') frame.searchParams.set('app_state', appState);
  frame.searchParams.set('cache-killer', randomAlphanumeric(16));
  record('framed');
  const html = controlPanelHtml(storeId, frame.toString());
  response.writeHead(200, { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(html), 'content-security-policy': policy(frame.origin) });
  response.end(html);
  return true;
}

const STYLE =
  'body{margin:0;font-family:system-ui,sans-serif;background:#f5f6f8;color:#1f2933}' +
  'header{padding:.75rem 1.25rem;background:#1f2933;color:#fff}header small{opacity:.7;margin-left:.75rem}' +
  'main{padding:1rem 1.25rem}iframe{width:100%;height:75vh;border:1px solid #d5d9de;border-radius:8px;background:#fff}' +
  'p{max-width:40rem;line-height:1.5}';
const STYLE_SOURCE = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** No script at all, the one stylesheet by its hash, frames of the app's origin only, never framed itself. */
function policy(frameOrigin: string | undefined): string {
  return [
    "default-src 'none'",
    `style-src ${STYLE_SOURCE}`,
    ...(frameOrigin === undefined ? [] : [`frame-src ${frameOrigin}`]),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function controlPanelHtml(storeId: number, frameUrl: string): string {
  return page(
    `Store ${storeId}`,
    `<main><iframe title="App" src="${escapeHtml(frameUrl)}"></iframe></main>`,
  );
}

function sendPage(response: ServerResponse, status: number, title: string, paragraphs: string[]): true {
  const html = page(title, `<main><h1>${escapeHtml(title)}</h1>${paragraphs.map((text) => `<p>${escapeHtml(text)}</p>`).join('')}</main>`);
  response.writeHead(status, { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(html), 'content-security-policy': policy(undefined) });
  response.end(html);
  return true;
}

/** A control panel page; `body` is HTML the caller has escaped. */
function page(heading: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(heading)} · Ecwid Control Panel (fake)</title>
<style>${STYLE}</style></head><body><header>Ecwid Control Panel<small>Fake Ecwid (local stack) · ${escapeHtml(heading)}</small></header>
${body}</body></html>`;
}
