import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml } from '../functions/runtime/pages';
import { answerWithFault, type TokenEndpointFault } from './fake-ecwid-faults';
import { randomAlphanumeric, type Grant, type GrantBook, type IssuedTokens } from './fake-ecwid-grants';
import { consentPageHtml, fakeEcwidPage } from './fake-ecwid-pages';
import { readBody, sendHtml, sendJson } from './http-util';

/** What the OAuth server of the fake reads from the fake as it answers: its options, and its switches as they are now. */
export interface FakeOAuthState {
  options: {
    clientId: string;
    clientSecret: string;
    redirectUrl: string;
    defaultStoreId?: number;
    codeLifetimeSeconds?: number;
  };
  /** The path the fake is mounted under ('' or `/fake-ecwid`). */
  basePath: string;
  settings(): {
    tokenEndpointFault: TokenEndpointFault | undefined;
    tokenLifetimeSeconds: number | undefined;
    refreshAnswerShape: 'ecwid' | 'rfc6749';
    retryAfterSeconds: number;
  };
  now(): number;
  grants: GrantBook;
  exchanges: TokenExchangeRecord[];
  refreshes: TokenRefreshRecord[];
  hold(response: ServerResponse): void;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  storeId: number;
  scope: string;
  issuedAtEpochMs: number;
  /** The grant the first exchange started: revoked if the code is exchanged again. */
  exchangedFor?: Grant;
}

/**
 * One code exchange request (any grant type but `refresh_token`). Every fault records `fault`, `lost_response`
 * included although the server did process that request (`isTokenValid` / `isRefreshTokenValid` tell what it did).
 */
export interface TokenExchangeRecord {
  code: string;
  pathStoreId: number | undefined;
  outcome: 'issued' | 'rejected' | 'fault';
}

/** One `grant_type=refresh_token` request; outcomes as for `TokenExchangeRecord`. */
export interface TokenRefreshRecord {
  refreshToken: string;
  /** The store of the grant the refresh token belongs to; undefined for a token never issued. */
  storeId: number | undefined;
  pathStoreId: number | undefined;
  outcome: 'issued' | 'rejected' | 'fault';
}

/** A processed token request: what to answer and what to record. */
interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
  outcome: 'issued' | 'rejected';
}

/**
 * The OAuth side of the fake Ecwid: the consent page and its decision, the App Market's direct
 * redirect, and the token endpoint (code exchange and refresh grant) with Ecwid's semantics. See
 * `FakeEcwid` for the whole contract.
 */
export class FakeOAuthServer {
  private readonly codes = new Map<string, IssuedCode>();

  constructor(private readonly fake: FakeOAuthState) {}

  /** Issues a code as if the merchant approved (for tests that skip the consent page). */
  issueCode(input: { storeId: number; scope?: string; redirectUri?: string }): string {
    const code = randomAlphanumeric(32);
    this.codes.set(code, {
      clientId: this.fake.options.clientId,
      redirectUri: input.redirectUri ?? this.fake.options.redirectUrl,
      storeId: input.storeId,
      scope: input.scope ?? 'read_store_profile',
      issuedAtEpochMs: this.fake.now(),
    });
    return code;
  }

  /** The App Market's redirect for a fresh install: `{redirectUrl}?code=...&store_id=...`, no state. */
  appMarketRedirect(storeId: number, scope = 'read_store_profile'): string {
    const url = new URL(this.fake.options.redirectUrl);
    url.searchParams.set('code', this.issueCode({ storeId, scope }));
    url.searchParams.set('store_id', String(storeId));
    return url.toString();
  }

  consentPage(url: URL, response: ServerResponse): true {
    const query = url.searchParams;
    const clientId = query.get('client_id');
    const redirectUri = query.get('redirect_uri');
    const scope = query.get('scope');
    if (query.get('response_type') !== 'code' || clientId === null || redirectUri === null || scope === null) {
      sendHtml(response, 400, fakeEcwidPage('Invalid request', '<p>client_id, redirect_uri, response_type=code and scope are all required.</p>'));
      return true;
    }
    if (clientId !== this.fake.options.clientId) {
      sendHtml(response, 400, fakeEcwidPage('Unknown application', `<p>No application has the client id ${escapeHtml(clientId)}.</p>`));
      return true;
    }
    if (!this.isRegisteredRedirect(redirectUri)) {
      sendHtml(response, 400, fakeEcwidPage('Invalid redirect', '<p>The redirect_uri does not match the registered redirect URL.</p>'));
      return true;
    }
    const consent = consentPageHtml({
      clientId,
      redirectUri,
      scope,
      state: query.get('state'),
      decisionPath: `${this.fake.basePath}/api/oauth/authorize/decision`,
      defaultStoreId: this.fake.options.defaultStoreId ?? 1003,
    });
    sendHtml(response, 200, consent);
    return true;
  }

  async decide(request: IncomingMessage, response: ServerResponse): Promise<true> {
    const form = new URLSearchParams(await readBody(request));
    const redirectUri = form.get('redirect_uri') ?? '';
    if (form.get('client_id') !== this.fake.options.clientId || !this.isRegisteredRedirect(redirectUri)) {
      sendHtml(response, 400, fakeEcwidPage('Invalid request', '<p>Unknown application or redirect.</p>'));
      return true;
    }
    const target = new URL(redirectUri);
    const state = form.get('state');
    if (form.get('decision') === 'approve') {
      const storeId = Number(form.get('store_id'));
      if (!Number.isSafeInteger(storeId) || storeId <= 0) {
        sendHtml(response, 400, fakeEcwidPage('Invalid store id', '<p>The store id must be a positive number.</p>'));
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

  appMarketInstall(url: URL, response: ServerResponse): true {
    const storeId = Number(url.searchParams.get('store_id') ?? this.fake.options.defaultStoreId ?? 1003);
    if (!Number.isSafeInteger(storeId) || storeId <= 0) {
      sendHtml(response, 400, fakeEcwidPage('Invalid store id', '<p>The store id must be a positive number.</p>'));
      return true;
    }
    const scope = url.searchParams.get('scope') ?? 'read_store_profile';
    response.writeHead(302, { location: this.appMarketRedirect(storeId, scope), 'cache-control': 'no-store' }).end();
    return true;
  }

  async tokenEndpoint(request: IncomingMessage, response: ServerResponse, pathStoreIdText: string | undefined): Promise<void> {
    if (request.method !== 'POST') {
      // Since March 2025 a GET with query parameters no longer works.
      sendJson(response, 405, { error: 'invalid_request', error_description: 'Use POST' });
      return;
    }
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const body = await readBody(request);
    if (contentType !== 'application/x-www-form-urlencoded') {
      sendJson(response, 400, { error: 'invalid_request', error_description: 'Form-encoded body required' });
      return;
    }
    const form = new URLSearchParams(body);
    const pathStoreId = pathStoreIdText === undefined ? undefined : Number(pathStoreIdText);
    if (form.get('grant_type') === 'refresh_token') this.refreshGrant(form, pathStoreId, response);
    else this.codeGrant(form, pathStoreId, response);
  }

  private codeGrant(form: URLSearchParams, pathStoreId: number | undefined, response: ServerResponse): void {
    const code = form.get('code') ?? '';
    const record = (outcome: TokenExchangeRecord['outcome']) => this.fake.exchanges.push({ code, pathStoreId, outcome });
    if (this.misbehave(response, pathStoreId)) {
      record('fault');
      return;
    }
    record(this.reply(response, this.exchangeCode(form, code, pathStoreId)));
  }

  private refreshGrant(form: URLSearchParams, pathStoreId: number | undefined, response: ServerResponse): void {
    const refreshToken = form.get('refresh_token') ?? '';
    const storeId = this.fake.grants.storeOfRefreshToken(refreshToken);
    const record = (outcome: TokenRefreshRecord['outcome']) => this.fake.refreshes.push({ refreshToken, storeId, pathStoreId, outcome });
    if (this.misbehave(response, pathStoreId)) {
      record('fault');
      return;
    }
    record(this.reply(response, this.redeemRefreshToken(form, refreshToken, pathStoreId)));
  }

  private exchangeCode(form: URLSearchParams, code: string, pathStoreId: number | undefined): TokenAnswer {
    if (!this.isOwnClient(form)) return rejection(401, 'invalid_client', 'Client authentication failed');
    if (form.get('grant_type') !== 'authorization_code') {
      return rejection(400, 'unsupported_grant_type', 'Use authorization_code or refresh_token');
    }
    const issued = this.codes.get(code);
    if (issued === undefined) return rejection(400, 'invalid_grant', 'Unknown authorization code');
    if (issued.exchangedFor !== undefined) {
      // Ecwid's documented behaviour: a second exchange disables the token of the first one; with expiring
      // tokens that means the whole grant, as RFC 6749 §4.1.2 recommends.
      issued.exchangedFor.revoked = true;
      return rejection(400, 'invalid_grant', 'Authorization code already used');
    }
    if (this.fake.now() - issued.issuedAtEpochMs > (this.fake.options.codeLifetimeSeconds ?? 300) * 1000) {
      return rejection(400, 'invalid_grant', 'Authorization code expired');
    }
    if (form.get('redirect_uri') !== issued.redirectUri) {
      return rejection(400, 'invalid_grant', 'redirect_uri differs from the authorization request');
    }
    if (pathStoreId !== undefined && pathStoreId !== issued.storeId) {
      return rejection(400, 'invalid_grant', 'The code was issued for another store');
    }

    const { grant, tokens } = this.fake.grants.issue(issued.storeId, withProfileScope(issued.scope), this.fake.settings().tokenLifetimeSeconds);
    issued.exchangedFor = grant;
    return {
      status: 200,
      outcome: 'issued',
      body: {
        access_token: tokens.accessToken,
        token_type: 'Bearer',
        scope: grant.scope,
        store_id: grant.storeId,
        email: `owner-${grant.storeId}@example.com`,
        ...(grant.publicToken === undefined ? {} : { public_token: grant.publicToken }),
        ...expiryFields(tokens),
      },
    };
  }

  private redeemRefreshToken(form: URLSearchParams, refreshToken: string, pathStoreId: number | undefined): TokenAnswer {
    if (!this.isOwnClient(form)) return rejection(401, 'invalid_client', 'Client authentication failed');
    if (refreshToken === '') return rejection(400, 'invalid_request', 'refresh_token is required');
    const refreshed = this.fake.grants.refresh(refreshToken, pathStoreId, this.fake.settings().tokenLifetimeSeconds);
    if (!refreshed.issued) return rejection(400, 'invalid_grant', refreshed.description);
    const { grant, tokens } = refreshed;
    const ecwidFields = this.fake.settings().refreshAnswerShape === 'ecwid' ? { scope: grant.scope, store_id: grant.storeId } : {};
    return {
      status: 200,
      outcome: 'issued',
      body: { access_token: tokens.accessToken, token_type: 'Bearer', ...expiryFields(tokens), ...ecwidFields },
    };
  }

  private isOwnClient(form: URLSearchParams): boolean {
    return form.get('client_id') === this.fake.options.clientId && form.get('client_secret') === this.fake.options.clientSecret;
  }

  /** Applies the switched-on fault if it replaces processing; false when there is none (or it is `lost_response`). */
  private misbehave(response: ServerResponse, pathStoreId: number | undefined): boolean {
    return answerWithFault(response, this.fake.settings().tokenEndpointFault, {
      retryAfterSeconds: this.fake.settings().retryAfterSeconds,
      pathStoreId,
      hold: (held) => this.fake.hold(held),
    });
  }

  /** Sends a processed answer, or loses it on the way when `lost_response` is switched on; returns what to record. */
  private reply(response: ServerResponse, answer: TokenAnswer): TokenAnswer['outcome'] | 'fault' {
    if (this.fake.settings().tokenEndpointFault === 'lost_response') {
      response.socket?.destroy();
      return 'fault';
    }
    sendJson(response, answer.status, answer.body);
    return answer.outcome;
  }

  private isRegisteredRedirect(redirectUri: string): boolean {
    return redirectUri.startsWith(this.fake.options.redirectUrl);
  }
}

function rejection(status: number, error: string, description: string): TokenAnswer {
  return { status, outcome: 'rejected', body: { error, error_description: description } };
}

/** `expires_in` and `refresh_token` when the tokens expire; nothing for a non-expiring token. */
function expiryFields(tokens: IssuedTokens): Record<string, unknown> {
  return tokens.refreshToken === undefined ? {} : { expires_in: tokens.expiresInSeconds, refresh_token: tokens.refreshToken };
}

/** Ecwid always grants `read_store_profile`, whatever was asked. */
export function withProfileScope(scope: string): string {
  const scopes = scope.split(/\s+/).filter(Boolean);
  if (!scopes.includes('read_store_profile')) scopes.unshift('read_store_profile');
  return scopes.join(' ');
}
