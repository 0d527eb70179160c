import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml } from '../functions/runtime/pages';
import { readBody, sendHtml, sendJson } from './http-util';

/**
 * A stand-in for Ecwid's OAuth server and REST API, with Ecwid's documented semantics:
 * - a consent page with Approve and Deny and a store id;
 * - `POST /api/oauth/token/{storeId}` (and `/api/oauth/token`), form bodies only, all five parameters;
 * - single-use codes that live a few minutes; exchanging a code twice revokes the token of the first exchange;
 * - `store_id` in the redirect; `token_type: "Bearer"`; no expiry unless expiring tokens are switched on;
 * - `GET /api/v3/{storeId}/profile` with a Bearer header: 200, or 403 `INVALID_API_TOKEN`.
 *
 * Faults can be switched on for tests (`tokenEndpointFault`). Everything lives in memory.
 */
export interface FakeEcwidOptions {
  clientId: string;
  clientSecret: string;
  /** The registered redirect URL; Ecwid matches the one in a request by prefix. */
  redirectUrl: string;
  /** Path prefix the fake is mounted under (`/fake-ecwid`), or '' when it has a server of its own. */
  basePath?: string;
  /** Store id proposed on the consent page. */
  defaultStoreId?: number;
  codeLifetimeSeconds?: number;
}

export type TokenEndpointFault =
  | 'timeout'
  | 'server_error'
  | 'html'
  | 'missing_store_id'
  | 'wrong_store_id'
  | 'connection_reset';

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  storeId: number;
  scope: string;
  issuedAtEpochMs: number;
  /** The token the first exchange produced: revoked if the code is exchanged again. */
  exchangedFor?: string;
}

interface IssuedToken {
  storeId: number;
  scope: string;
  revoked: boolean;
}

export interface TokenExchangeRecord {
  code: string;
  pathStoreId: number | undefined;
  outcome: 'issued' | 'rejected' | 'fault';
}

export class FakeEcwid {
  readonly exchanges: TokenExchangeRecord[] = [];
  /** When set, the token endpoint misbehaves this way instead of answering. */
  tokenEndpointFault: TokenEndpointFault | undefined;
  /** Stores whose API answers 403 `INVALID_API_TOKEN` whatever the token (an uninstall on Ecwid's side). */
  readonly uninstalledStores = new Set<number>();

  private readonly codes = new Map<string, IssuedCode>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly basePath: string;
  private readonly heldResponses = new Set<ServerResponse>();

  constructor(private readonly options: FakeEcwidOptions) {
    this.basePath = (options.basePath ?? '').replace(/\/+$/, '');
  }

  /** Handles a request if it is for the fake; returns false when the path is not the fake's. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const url = new URL(request.url ?? '/', 'http://fake.invalid');
    if (!url.pathname.startsWith(`${this.basePath}/`)) return false;
    const path = url.pathname.slice(this.basePath.length);
    const method = request.method ?? 'GET';

    if (path === '/api/oauth/authorize' && method === 'GET') return this.consentPage(url, response);
    if (path === '/api/oauth/authorize/decision' && method === 'POST') return this.decide(request, response);
    if (path === '/app-market/install' && method === 'GET') return this.appMarketInstall(url, response);
    const token = /^\/api\/oauth\/token(?:\/([^/]+))?$/.exec(path);
    if (token !== null) return this.tokenEndpoint(request, response, token[1]);
    const profile = /^\/api\/v3\/([^/]+)\/profile$/.exec(path);
    if (profile !== null && method === 'GET') return this.profile(request, response, profile[1]!);
    sendJson(response, 404, { errorMessage: 'Not found', errorCode: 'NOT_FOUND' });
    return true;
  }

  /** Issues a code as if the merchant approved (for tests that skip the consent page). */
  issueCode(input: { storeId: number; scope?: string; redirectUri?: string }): string {
    const code = randomAlphanumeric(32);
    this.codes.set(code, {
      clientId: this.options.clientId,
      redirectUri: input.redirectUri ?? this.options.redirectUrl,
      storeId: input.storeId,
      scope: input.scope ?? 'read_store_profile',
      issuedAtEpochMs: Date.now(),
    });
    return code;
  }

  /** The App Market's redirect for a fresh install: `{redirectUrl}?code=...&store_id=...`, no state. */
  appMarketRedirect(storeId: number, scope = 'read_store_profile'): string {
    const url = new URL(this.options.redirectUrl);
    url.searchParams.set('code', this.issueCode({ storeId, scope }));
    url.searchParams.set('store_id', String(storeId));
    return url.toString();
  }

  /** Whether a token is one this fake issued and has not revoked. */
  isTokenValid(accessToken: string): boolean {
    const token = this.tokens.get(accessToken);
    return token !== undefined && !token.revoked;
  }

  /** Every access token issued so far (tests look for them where they must not be). */
  issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  exchangesOf(code: string): TokenExchangeRecord[] {
    return this.exchanges.filter((exchange) => exchange.code === code);
  }

  /** Answers every held (timed-out) request, so servers can close. */
  releaseHeldRequests(): void {
    for (const response of this.heldResponses) response.destroy();
    this.heldResponses.clear();
  }

  // -------------------------------------------------------------------------------------------

  private consentPage(url: URL, response: ServerResponse): true {
    const query = url.searchParams;
    const clientId = query.get('client_id');
    const redirectUri = query.get('redirect_uri');
    const scope = query.get('scope');
    if (query.get('response_type') !== 'code' || clientId === null || redirectUri === null || scope === null) {
      sendHtml(response, 400, page('Invalid request', '<p>client_id, redirect_uri, response_type=code and scope are all required.</p>'));
      return true;
    }
    if (clientId !== this.options.clientId) {
      sendHtml(response, 400, page('Unknown application', `<p>No application has the client id ${escapeHtml(clientId)}.</p>`));
      return true;
    }
    if (!this.isRegisteredRedirect(redirectUri)) {
      sendHtml(response, 400, page('Invalid redirect', '<p>The redirect_uri does not match the registered redirect URL.</p>'));
      return true;
    }
    const hidden = (name: string, value: string | null) =>
      value === null ? '' : `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
    const scopes = scope.split(/\s+/).filter(Boolean).map((item) => `<li><code>${escapeHtml(item)}</code></li>`);
    sendHtml(
      response,
      200,
      page(
        'Install app',
        `<p>The application <b>${escapeHtml(clientId)}</b> asks for access to your store:</p>
<ul>${scopes.join('')}</ul>
<form method="post" action="${this.basePath}/api/oauth/authorize/decision">
${hidden('client_id', clientId)}${hidden('redirect_uri', redirectUri)}${hidden('scope', scope)}${hidden('state', query.get('state'))}
<p><label>Store id <input name="store_id" id="store_id" value="${this.options.defaultStoreId ?? 1003}" inputmode="numeric"></label></p>
<p><button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button></p>
</form>`,
      ),
    );
    return true;
  }

  private async decide(request: IncomingMessage, response: ServerResponse): Promise<true> {
    const form = new URLSearchParams(await readBody(request));
    const redirectUri = form.get('redirect_uri') ?? '';
    if (form.get('client_id') !== this.options.clientId || !this.isRegisteredRedirect(redirectUri)) {
      sendHtml(response, 400, page('Invalid request', '<p>Unknown application or redirect.</p>'));
      return true;
    }
    const target = new URL(redirectUri);
    const state = form.get('state');
    if (form.get('decision') === 'approve') {
      const storeId = Number(form.get('store_id'));
      if (!Number.isSafeInteger(storeId) || storeId <= 0) {
        sendHtml(response, 400, page('Invalid store id', '<p>The store id must be a positive number.</p>'));
        return true;
      }
      target.searchParams.set('code', this.issueCode({ storeId, scope: form.get('scope') ?? '', redirectUri }));
      target.searchParams.set('store_id', String(storeId));
    } else {
      target.searchParams.set('error', 'access_denied');
    }
    if (state !== null) target.searchParams.set('state', state);
    response.writeHead(302, { location: target.toString(), 'cache-control': 'no-store' }).end();
    return true;
  }

  private appMarketInstall(url: URL, response: ServerResponse): true {
    const storeId = Number(url.searchParams.get('store_id') ?? this.options.defaultStoreId ?? 1003);
    if (!Number.isSafeInteger(storeId) || storeId <= 0) {
      sendHtml(response, 400, page('Invalid store id', '<p>The store id must be a positive number.</p>'));
      return true;
    }
    const scope = url.searchParams.get('scope') ?? 'read_store_profile';
    response.writeHead(302, { location: this.appMarketRedirect(storeId, scope), 'cache-control': 'no-store' }).end();
    return true;
  }

  private async tokenEndpoint(request: IncomingMessage, response: ServerResponse, pathStoreId: string | undefined): Promise<true> {
    if (request.method !== 'POST') {
      // Since March 2025 a GET with query parameters no longer works.
      sendJson(response, 405, { error: 'invalid_request', error_description: 'Use POST' });
      return true;
    }
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const body = await readBody(request);
    if (contentType !== 'application/x-www-form-urlencoded') {
      sendJson(response, 400, { error: 'invalid_request', error_description: 'Form-encoded body required' });
      return true;
    }
    const form = new URLSearchParams(body);
    const code = form.get('code') ?? '';
    const storeIdInPath = pathStoreId === undefined ? undefined : Number(pathStoreId);
    const record = (outcome: TokenExchangeRecord['outcome']) =>
      this.exchanges.push({ code, pathStoreId: storeIdInPath, outcome });

    if (this.tokenEndpointFault !== undefined && (await this.misbehave(response))) {
      record('fault');
      return true;
    }
    const reject = (status: number, error: string, description: string): true => {
      record('rejected');
      sendJson(response, status, { error, error_description: description });
      return true;
    };
    if (form.get('client_id') !== this.options.clientId || form.get('client_secret') !== this.options.clientSecret) {
      return reject(401, 'invalid_client', 'Client authentication failed');
    }
    if (form.get('grant_type') !== 'authorization_code') {
      return reject(400, 'unsupported_grant_type', 'Only authorization_code is supported');
    }
    const issued = this.codes.get(code);
    if (issued === undefined) return reject(400, 'invalid_grant', 'Unknown authorization code');
    if (issued.exchangedFor !== undefined) {
      // Ecwid's documented behaviour: a second exchange disables the token of the first one.
      const first = this.tokens.get(issued.exchangedFor);
      if (first !== undefined) first.revoked = true;
      return reject(400, 'invalid_grant', 'Authorization code already used');
    }
    if (Date.now() - issued.issuedAtEpochMs > (this.options.codeLifetimeSeconds ?? 300) * 1000) {
      return reject(400, 'invalid_grant', 'Authorization code expired');
    }
    if (form.get('redirect_uri') !== issued.redirectUri) {
      return reject(400, 'invalid_grant', 'redirect_uri differs from the authorization request');
    }
    if (storeIdInPath !== undefined && storeIdInPath !== issued.storeId) {
      return reject(400, 'invalid_grant', 'The code was issued for another store');
    }

    const accessToken = `secret_${randomAlphanumeric(32)}`;
    issued.exchangedFor = accessToken;
    this.tokens.set(accessToken, { storeId: issued.storeId, scope: issued.scope, revoked: false });
    const scopes = issued.scope.split(/\s+/).filter(Boolean);
    if (!scopes.includes('read_store_profile')) scopes.unshift('read_store_profile');
    record('issued');
    sendJson(response, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      scope: scopes.join(' '),
      store_id: issued.storeId,
      email: `owner-${issued.storeId}@example.com`,
      ...(scopes.includes('public_storefront') ? { public_token: `public_${randomAlphanumeric(32)}` } : {}),
    });
    return true;
  }

  /** Applies the switched-on fault; false when the fault needs the normal answer to be altered instead. */
  private async misbehave(response: ServerResponse): Promise<boolean> {
    switch (this.tokenEndpointFault) {
      case 'timeout':
        this.heldResponses.add(response);
        return true;
      case 'server_error':
        sendJson(response, 500, { errorMessage: 'Internal error', errorCode: 'INTERNAL_ERROR' });
        return true;
      case 'html':
        sendHtml(response, 200, '<html><body><h1>Service temporarily unavailable</h1></body></html>');
        return true;
      case 'connection_reset':
        response.socket?.destroy();
        return true;
      case 'missing_store_id':
        sendJson(response, 200, { access_token: `secret_${randomAlphanumeric(32)}`, token_type: 'Bearer', scope: 'read_store_profile' });
        return true;
      case 'wrong_store_id':
        sendJson(response, 200, {
          access_token: `secret_${randomAlphanumeric(32)}`,
          token_type: 'Bearer',
          scope: 'read_store_profile',
          store_id: 999_999_999,
        });
        return true;
      default:
        return false;
    }
  }

  private profile(request: IncomingMessage, response: ServerResponse, storeIdText: string): true {
    const storeId = Number(storeIdText);
    const header = request.headers.authorization ?? '';
    const bearer = /^Bearer (\S+)$/i.exec(header)?.[1];
    const token = bearer === undefined ? undefined : this.tokens.get(bearer);
    if (token === undefined || token.revoked || token.storeId !== storeId || this.uninstalledStores.has(storeId)) {
      sendJson(response, 403, { errorMessage: 'Invalid token', errorCode: 'INVALID_API_TOKEN' });
      return true;
    }
    sendJson(response, 200, { generalInfo: { storeId } });
    return true;
  }

  private isRegisteredRedirect(redirectUri: string): boolean {
    return redirectUri.startsWith(this.options.redirectUrl);
  }
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Fake Ecwid</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:10vh auto;padding:0 1rem}button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}</style>
</head><body><p><small>Fake Ecwid (local stack)</small></p><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomAlphanumeric(length: number): string {
  // 248 = 4 * 62: dropping bytes >= 248 keeps every character equally likely.
  let text = '';
  while (text.length < length) {
    for (const byte of randomBytes(length)) {
      if (byte < 248 && text.length < length) text += ALPHANUMERIC[byte % 62];
    }
  }
  return text;
}
