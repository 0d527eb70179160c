import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml } from '../functions/runtime/pages';
import { answerWithFault, type TokenEndpointFault } from './fake-ecwid-faults';
import { GrantBook, randomAlphanumeric, type Grant, type IssuedTokens } from './fake-ecwid-grants';
import { answerProfile, type ProfileRequestRecord, type ScriptedProfileAnswer } from './fake-ecwid-rest-api';
import { consentPageHtml, fakeEcwidPage } from './fake-ecwid-pages';
import { readBody, sendHtml, sendJson } from './http-util';

export type { TokenEndpointFault } from './fake-ecwid-faults';
export type { ProfileRequestRecord, ScriptedProfileAnswer } from './fake-ecwid-rest-api';

/** How a `FakeEcwid` starts. The options from `tokenLifetimeSeconds` on only seed public properties that tests may change at any time. */
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
  /** Initial `FakeEcwid.tokenLifetimeSeconds`; default undefined (non-expiring tokens, as Ecwid today). */
  tokenLifetimeSeconds?: number;
  /** Initial `FakeEcwid.refreshAnswerShape`; default `ecwid`. */
  refreshAnswerShape?: RefreshAnswerShape;
  /** Initial `FakeEcwid.latencyMs`; default 0. */
  latencyMs?: number;
  /** Initial `FakeEcwid.retryAfterSeconds`; default 30. */
  retryAfterSeconds?: number;
  /** Initial `FakeEcwid.now`; default `Date.now`. */
  now?: () => number;
}

/**
 * `ecwid`: a refresh answer carries `store_id` and `scope`, like a code answer.
 * `rfc6749`: only `access_token`, `token_type`, `expires_in` and `refresh_token` (RFC 6749 §5.1 minimum plus
 * the usual expiry and rotation fields).
 */
export type RefreshAnswerShape = 'ecwid' | 'rfc6749';

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
 * A stand-in for Ecwid's OAuth server and REST API, with Ecwid's documented semantics:
 * - a consent page with Approve and Deny and a store id;
 * - `POST /api/oauth/token/{storeId}` (and `/api/oauth/token`), form bodies only, all five parameters;
 * - single-use codes that live a few minutes; exchanging a code twice revokes the token of the first exchange
 *   (and, with expiring tokens, everything refreshed from it);
 * - `store_id` in the redirect; `token_type: "Bearer"`; no expiry unless expiring tokens are switched on;
 * - with expiring tokens, the `refresh_token` grant at the same endpoint, rotating refresh tokens and revoking
 *   the whole grant when a rotated one is reused (RFC 9700 §4.14.2). A refresh does not revoke the access
 *   token it replaces: that one keeps working until its own expiry, as most rotating servers do. Refresh
 *   tokens themselves do not expire; they die by rotation, replay, a second exchange of the code, or uninstall;
 * - `GET /api/v3/{storeId}/profile` with a Bearer header: 200, 403 `INVALID_API_TOKEN`, or a scripted error.
 *
 * Faults (`tokenEndpointFault`, `profileAnswers`) and latency (`latencyMs`) can be switched on for tests.
 * Everything lives in memory.
 */
export class FakeEcwid {
  /** Code exchange requests, in arrival order. */
  readonly exchanges: TokenExchangeRecord[] = [];
  /** Refresh requests, in arrival order. */
  readonly refreshes: TokenRefreshRecord[] = [];
  /** Profile requests, in arrival order (requests dropped while waiting out `latencyMs` are not counted). */
  readonly profileRequests: ProfileRequestRecord[] = [];
  /** When set, the token endpoint misbehaves this way instead of answering. */
  tokenEndpointFault: TokenEndpointFault | undefined;
  /**
   * Stores whose tokens are revoked (an uninstall on Ecwid's side): their API answers 403
   * `INVALID_API_TOKEN` whatever the token, and their refresh tokens get `invalid_grant`.
   */
  readonly uninstalledStores = new Set<number>();
  /** Per store, an error its profile endpoint answers instead of checking the token (see `ScriptedProfileAnswer`). */
  readonly profileAnswers = new Map<number, ScriptedProfileAnswer>();
  /**
   * Undefined: tokens never expire and no refresh token is issued (Ecwid today). A number: every token
   * issued from now on (by a code exchange or a refresh) comes with `expires_in` of this many seconds and a
   * `refresh_token`, and stops working at the profile endpoint once that time has passed on `now`.
   * Switching it off later does not stop a grant that has a refresh token: its refreshes keep the lifetime
   * the grant started with.
   */
  tokenLifetimeSeconds: number | undefined;
  /** The fields of a successful refresh answer. */
  refreshAnswerShape: RefreshAnswerShape;
  /**
   * Delay before a token or profile request is processed, in milliseconds (a timer, not a busy wait). A
   * request whose client leaves, or that `releaseHeldRequests()` ends, while waiting is dropped: not
   * processed, not recorded.
   */
  latencyMs: number;
  /** `Retry-After` of every 429 answer (token endpoint fault `rate_limited`, profile answer `rate_limited`), in seconds. */
  retryAfterSeconds: number;
  /** The clock for code and token lifetimes, in epoch milliseconds. */
  now: () => number;

  private readonly codes = new Map<string, IssuedCode>();
  private readonly grants: GrantBook;
  private readonly basePath: string;
  private readonly heldResponses = new Set<ServerResponse>();
  /** Requests waiting out `latencyMs`; calling one drops its request. */
  private readonly waiting = new Set<() => void>();

  constructor(private readonly options: FakeEcwidOptions) {
    this.basePath = (options.basePath ?? '').replace(/\/+$/, '');
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds;
    this.refreshAnswerShape = options.refreshAnswerShape ?? 'ecwid';
    this.latencyMs = options.latencyMs ?? 0;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 30;
    this.now = options.now ?? Date.now;
    this.grants = new GrantBook(
      () => this.now(),
      (storeId) => this.uninstalledStores.has(storeId),
    );
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
    if (token !== null) return this.afterLatency(response, () => this.tokenEndpoint(request, response, token[1]));
    const profile = /^\/api\/v3\/([^/]+)\/profile$/.exec(path);
    if (profile !== null && method === 'GET') return this.afterLatency(response, () => this.profile(request, response, profile[1]!));
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
      issuedAtEpochMs: this.now(),
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

  /**
   * Tokens for a store as if a code had just been exchanged, without the HTTP round trip: for
   * seeding many installations at once (the refresh benchmark).
   */
  grantTokens(storeId: number, scope = 'read_store_profile'): IssuedTokens {
    return this.grants.issue(storeId, withProfileScope(scope), this.tokenLifetimeSeconds).tokens;
  }

  /** Whether an access token works: issued here, not revoked, its store not uninstalled, not expired on `now`. */
  isTokenValid(accessToken: string): boolean {
    return this.grants.isAccessTokenValid(accessToken);
  }

  /** Whether a refresh request with this token would succeed: it is its grant's current one and the grant is alive. */
  isRefreshTokenValid(refreshToken: string): boolean {
    return this.grants.isRefreshTokenValid(refreshToken);
  }

  /** Every access token issued so far, by code exchanges and refreshes (tests look for them where they must not be). */
  issuedTokens(): string[] {
    return this.grants.issuedAccessTokens();
  }

  /** Every refresh token issued so far, current or rotated away. */
  issuedRefreshTokens(): string[] {
    return this.grants.issuedRefreshTokens();
  }

  exchangesOf(code: string): TokenExchangeRecord[] {
    return this.exchanges.filter((exchange) => exchange.code === code);
  }

  /** The refresh requests that presented a refresh token of this store's grants. */
  refreshesOf(storeId: number): TokenRefreshRecord[] {
    return this.refreshes.filter((refresh) => refresh.storeId === storeId);
  }

  /** The profile requests for this store (the store id in the path). */
  profileRequestsOf(storeId: number): ProfileRequestRecord[] {
    return this.profileRequests.filter((request) => request.storeId === storeId);
  }

  /** Requests now waiting out `latencyMs`: tests wait on it to know a request is in flight. */
  get requestsWaiting(): number {
    return this.waiting.size;
  }

  /**
   * Ends every held request (fault `timeout`, profile answer `timeout`) and every request still waiting out
   * `latencyMs`, by destroying its connection, so servers can close.
   */
  releaseHeldRequests(): void {
    for (const drop of [...this.waiting]) drop();
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
      sendHtml(response, 400, fakeEcwidPage('Invalid request', '<p>client_id, redirect_uri, response_type=code and scope are all required.</p>'));
      return true;
    }
    if (clientId !== this.options.clientId) {
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
      decisionPath: `${this.basePath}/api/oauth/authorize/decision`,
      defaultStoreId: this.options.defaultStoreId ?? 1003,
    });
    sendHtml(response, 200, consent);
    return true;
  }

  private async decide(request: IncomingMessage, response: ServerResponse): Promise<true> {
    const form = new URLSearchParams(await readBody(request));
    const redirectUri = form.get('redirect_uri') ?? '';
    if (form.get('client_id') !== this.options.clientId || !this.isRegisteredRedirect(redirectUri)) {
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

  private appMarketInstall(url: URL, response: ServerResponse): true {
    const storeId = Number(url.searchParams.get('store_id') ?? this.options.defaultStoreId ?? 1003);
    if (!Number.isSafeInteger(storeId) || storeId <= 0) {
      sendHtml(response, 400, fakeEcwidPage('Invalid store id', '<p>The store id must be a positive number.</p>'));
      return true;
    }
    const scope = url.searchParams.get('scope') ?? 'read_store_profile';
    response.writeHead(302, { location: this.appMarketRedirect(storeId, scope), 'cache-control': 'no-store' }).end();
    return true;
  }

  private async tokenEndpoint(request: IncomingMessage, response: ServerResponse, pathStoreIdText: string | undefined): Promise<void> {
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
    const record = (outcome: TokenExchangeRecord['outcome']) => this.exchanges.push({ code, pathStoreId, outcome });
    if (this.misbehave(response)) {
      record('fault');
      return;
    }
    record(this.reply(response, this.exchangeCode(form, code, pathStoreId)));
  }

  private refreshGrant(form: URLSearchParams, pathStoreId: number | undefined, response: ServerResponse): void {
    const refreshToken = form.get('refresh_token') ?? '';
    const storeId = this.grants.storeOfRefreshToken(refreshToken);
    const record = (outcome: TokenRefreshRecord['outcome']) => this.refreshes.push({ refreshToken, storeId, pathStoreId, outcome });
    if (this.misbehave(response)) {
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
    if (this.now() - issued.issuedAtEpochMs > (this.options.codeLifetimeSeconds ?? 300) * 1000) {
      return rejection(400, 'invalid_grant', 'Authorization code expired');
    }
    if (form.get('redirect_uri') !== issued.redirectUri) {
      return rejection(400, 'invalid_grant', 'redirect_uri differs from the authorization request');
    }
    if (pathStoreId !== undefined && pathStoreId !== issued.storeId) {
      return rejection(400, 'invalid_grant', 'The code was issued for another store');
    }

    const { grant, tokens } = this.grants.issue(issued.storeId, withProfileScope(issued.scope), this.tokenLifetimeSeconds);
    issued.exchangedFor = grant;
    const publicToken = grant.scope.split(' ').includes('public_storefront') ? { public_token: `public_${randomAlphanumeric(32)}` } : {};
    return {
      status: 200,
      outcome: 'issued',
      body: {
        access_token: tokens.accessToken,
        token_type: 'Bearer',
        scope: grant.scope,
        store_id: grant.storeId,
        email: `owner-${grant.storeId}@example.com`,
        ...publicToken,
        ...expiryFields(tokens),
      },
    };
  }

  private redeemRefreshToken(form: URLSearchParams, refreshToken: string, pathStoreId: number | undefined): TokenAnswer {
    if (!this.isOwnClient(form)) return rejection(401, 'invalid_client', 'Client authentication failed');
    if (refreshToken === '') return rejection(400, 'invalid_request', 'refresh_token is required');
    const refreshed = this.grants.refresh(refreshToken, pathStoreId, this.tokenLifetimeSeconds);
    if (!refreshed.issued) return rejection(400, 'invalid_grant', refreshed.description);
    const { grant, tokens } = refreshed;
    const ecwidFields = this.refreshAnswerShape === 'ecwid' ? { scope: grant.scope, store_id: grant.storeId } : {};
    return {
      status: 200,
      outcome: 'issued',
      body: { access_token: tokens.accessToken, token_type: 'Bearer', ...expiryFields(tokens), ...ecwidFields },
    };
  }

  private isOwnClient(form: URLSearchParams): boolean {
    return form.get('client_id') === this.options.clientId && form.get('client_secret') === this.options.clientSecret;
  }

  /** Applies the switched-on fault if it replaces processing; false when there is none (or it is `lost_response`). */
  private misbehave(response: ServerResponse): boolean {
    return answerWithFault(response, this.tokenEndpointFault, {
      retryAfterSeconds: this.retryAfterSeconds,
      hold: (held) => this.hold(held),
    });
  }

  /** Sends a processed answer, or loses it on the way when `lost_response` is switched on; returns what to record. */
  private reply(response: ServerResponse, answer: TokenAnswer): TokenAnswer['outcome'] | 'fault' {
    if (this.tokenEndpointFault === 'lost_response') {
      response.socket?.destroy();
      return 'fault';
    }
    sendJson(response, answer.status, answer.body);
    return answer.outcome;
  }

  private profile(request: IncomingMessage, response: ServerResponse, storeIdText: string): void {
    const storeId = Number(storeIdText);
    const outcome = answerProfile(request, response, storeId, {
      grants: this.grants,
      scripted: this.profileAnswers.get(storeId),
      retryAfterSeconds: this.retryAfterSeconds,
      hold: (held) => this.hold(held),
    });
    this.profileRequests.push({ storeId, status: response.headersSent ? response.statusCode : undefined, outcome });
  }

  /** Runs `answer` once `latencyMs` has passed, unless the request was dropped meanwhile. */
  private async afterLatency(response: ServerResponse, answer: () => Promise<void> | void): Promise<true> {
    if (await this.waitOutLatency(response)) await answer();
    return true;
  }

  /** True after `latencyMs`; false, at once, when the client leaves or `releaseHeldRequests()` drops the request. */
  private waitOutLatency(response: ServerResponse): Promise<boolean> {
    if (this.latencyMs <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (proceed: boolean) => {
        clearTimeout(timer);
        response.off('close', abandon);
        this.waiting.delete(drop);
        resolve(proceed);
      };
      const abandon = () => finish(false);
      const drop = () => {
        finish(false);
        response.destroy();
      };
      const timer = setTimeout(() => finish(true), this.latencyMs);
      response.once('close', abandon);
      this.waiting.add(drop);
    });
  }

  /** Leaves a response unanswered until `releaseHeldRequests()` (or until its client gives up). */
  private hold(response: ServerResponse): void {
    this.heldResponses.add(response);
    response.once('close', () => this.heldResponses.delete(response));
  }

  private isRegisteredRedirect(redirectUri: string): boolean {
    return redirectUri.startsWith(this.options.redirectUrl);
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
function withProfileScope(scope: string): string {
  const scopes = scope.split(/\s+/).filter(Boolean);
  if (!scopes.includes('read_store_profile')) scopes.unshift('read_store_profile');
  return scopes.join(' ');
}
