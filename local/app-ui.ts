/**
 * The local demo of an app's UI: where `/app` sends the merchant with `#session=...`. Its one
 * script hands the session to this stack's server, which verifies it as an app's backend would (the
 * client library's `createSessionVerifier`, the keys fetched from `/.well-known/jwks.json`), and
 * shows what the session says, or why it was refused.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SessionInvalidError, type SessionVerifier } from '../client/sessions';
import { readBody, sendJson } from './http-util';

/** The demo page: what `/app` redirects to by default (`APP_UI_URL`). */
export const LOCAL_APP_UI_PATH = '/__local/app-ui';
/** Where the page posts the session to have it verified. */
export const APP_UI_SESSION_PATH = `${LOCAL_APP_UI_PATH}/session`;

/** What a verified session says, as the demo page shows it. */
export interface ShownSession {
  storeId: number;
  scope: string;
  missingScopes: string[];
  lang: string;
  viewMode: string;
  /** ISO-8601. */
  expiresAt: string;
  sessionId: string;
}

const STYLE =
  'body{font-family:system-ui,sans-serif;margin:0;padding:1.25rem 1.5rem;color:#1f2933}h1{font-size:1.3rem;margin:0 0 1rem}' +
  'dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0 0 1rem}dt{color:#6b7785}dd{margin:0}' +
  '#status{font-weight:600}[data-state=refused] #status{color:#b3261e}[data-state=verified] #status{color:#1b7f3b}' +
  'small{color:#6b7785}';

/**
 * Reads the fragment, takes the session out of the address (history, bookmarks, copied links), asks
 * the server to verify it, and shows the answer with `textContent` only: nothing it reads is HTML.
 */
const SCRIPT = `(function () {
  'use strict';
  var fragment = new URLSearchParams(location.hash.slice(1));
  var session = fragment.get('session');
  var appState = fragment.get('app_state');
  history.replaceState(null, '', location.pathname + location.search);
  function show(id, text) { document.getElementById(id).textContent = text; }
  function settle(state, text) { document.documentElement.setAttribute('data-state', state); show('status', text); }
  show('app-state', appState === null ? '(none)' : appState);
  if (session === null) { settle('refused', 'No session in the address: open the app from the control panel.'); return; }
  fetch(${JSON.stringify(APP_UI_SESSION_PATH)}, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ session: session }),
    credentials: 'same-origin',
    cache: 'no-store'
  }).then(function (response) { return response.json(); }).then(function (answer) {
    if (answer.verified !== true) { settle('refused', 'Session refused: ' + String(answer.reason)); return; }
    var claims = answer.session;
    show('store-id', String(claims.storeId));
    show('scope', claims.scope === '' ? '(none)' : claims.scope);
    show('missing-scopes', claims.missingScopes.length === 0 ? 'none' : claims.missingScopes.join(', '));
    show('lang', claims.lang);
    show('view-mode', claims.viewMode);
    show('expires-at', claims.expiresAt);
    settle('verified', 'Verified session');
  }).catch(function () { settle('refused', 'The session could not be checked: is the local stack running?'); });
})();`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Its one script and one stylesheet by their hashes, requests to its own origin only, framed by its own origin only. */
export const APP_UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join('; ');

const FIELDS: Array<[id: string, label: string]> = [
  ['store-id', 'Store id'],
  ['scope', 'Granted scopes'],
  ['missing-scopes', 'Missing scopes'],
  ['lang', 'Language'],
  ['view-mode', 'View mode'],
  ['expires-at', 'Session expires at'],
];

const PAGE = `<!doctype html><html lang="en" data-state="pending"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer">
<title>Demo app UI · local stack</title><style>${STYLE}</style></head><body>
<h1>Demo app UI</h1>
<p id="status">Checking the session…</p>
<dl>${FIELDS.map(([id, label]) => `<dt>${label}</dt><dd id="${id}"></dd>`).join('')}
<dt>App state (untrusted: anyone can put anything there)</dt><dd id="app-state"></dd></dl>
<p><small>This page stands in for the app's own UI (APP_UI_URL). It verified the session with the client library against this stack's
/.well-known/jwks.json; an app would now act for the store it names.</small></p>
<script>${SCRIPT}</script></body></html>`;

/** Verifies a session as the app's backend would; what the page is told. */
export async function verifyForAppUi(verifier: SessionVerifier, token: unknown): Promise<{ verified: true; session: ShownSession } | { verified: false; reason: string }> {
  if (typeof token !== 'string') return { verified: false, reason: 'malformed' };
  try {
    const session = await verifier.verifySession(token);
    return {
      verified: true,
      session: {
        storeId: session.storeId,
        scope: session.scope,
        missingScopes: session.missingScopes,
        lang: session.lang,
        viewMode: session.viewMode,
        expiresAt: session.expiresAt.toISOString(),
        sessionId: session.sessionId,
      },
    };
  } catch (error) {
    if (error instanceof SessionInvalidError) return { verified: false, reason: error.reason };
    throw error;
  }
}

/**
 * `GET /__local/app-ui`: the page; `POST /__local/app-ui/session` with JSON `{"session": "..."}`:
 * `200 {"verified": true, "session": {...}}` or `400 {"verified": false, "reason": ...}`. False when
 * the route is neither. The session is never logged.
 */
export async function serveAppUi(routeKey: string, request: IncomingMessage, response: ServerResponse, verifier: SessionVerifier): Promise<boolean> {
  if (routeKey === `GET ${LOCAL_APP_UI_PATH}`) {
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(PAGE),
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'content-security-policy': APP_UI_CONTENT_SECURITY_POLICY,
    });
    response.end(PAGE);
    return true;
  }
  if (routeKey !== `POST ${APP_UI_SESSION_PATH}`) return false;
  let token: unknown;
  try {
    token = (JSON.parse(await readBody(request, 16 * 1024)) as { session?: unknown }).session;
  } catch {
    token = undefined;
  }
  const answer = await verifyForAppUi(verifier, token);
  sendJson(response, answer.verified ? 200 : 400, answer);
  return true;
}
