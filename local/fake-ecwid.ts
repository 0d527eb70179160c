import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ViewMode } from '../functions/core/native-app/control-panel-payload';
import { answerControlPanel, payloadFor, type ControlPanelContext, type ControlPanelOpenRecord } from './fake-ecwid-control-panel';
import type { TokenEndpointFault } from './fake-ecwid-faults';
import { GrantBook, type IssuedTokens } from './fake-ecwid-grants';
import { SlowAnswers } from './fake-ecwid-latency';
import { FakeOAuthServer, withProfileScope, type TokenExchangeRecord, type TokenRefreshRecord } from './fake-ecwid-oauth';
import { WebhookSender, type WebhookDelivery, type WebhookToSend } from './fake-ecwid-webhooks';
import type { ApplicationRequestRecord } from './fake-ecwid-application';
import type { ProductRequestRecord } from './fake-ecwid-catalog';
import { serveRestApi, type ProfileRequestRecord, type RestApiContext, type RestRateLimit, type ScriptedProfileAnswer } from './fake-ecwid-rest-api';
import { sendJson } from './http-util';

export type { TokenEndpointFault } from './fake-ecwid-faults';
export type { TokenExchangeRecord, TokenRefreshRecord } from './fake-ecwid-oauth';
export type { WebhookDelivery, WebhookToSend } from './fake-ecwid-webhooks';
export type { ProfileRequestRecord, RestRateLimit, ScriptedProfileAnswer } from './fake-ecwid-rest-api';
export type { ProductRequestRecord } from './fake-ecwid-catalog';
export type { ControlPanelOpenRecord } from './fake-ecwid-control-panel';
export type { ApplicationRequestRecord } from './fake-ecwid-application';

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
  /** Initial `FakeEcwid.webhookUrl`: the app's registered webhook URL; default none (no webhooks sent). */
  webhookUrl?: string;
  /** The app's registered iframe URL (`{publicUrl}/app`), which the control panel frames; default none. */
  appUrl?: string;
}

/**
 * `ecwid`: a refresh answer carries `store_id` and `scope`, like a code answer.
 * `rfc6749`: only `access_token`, `token_type`, `expires_in` and `refresh_token` (RFC 6749 §5.1 minimum plus
 * the usual expiry and rotation fields).
 */
export type RefreshAnswerShape = 'ecwid' | 'rfc6749';

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
 * - `GET /api/v3/{storeId}/profile` with a Bearer header: 200, 403 `INVALID_API_TOKEN`, or a scripted error;
 * - `GET /api/v3/{storeId}/application` likewise: the app's subscription in the store (`changeSubscription`);
 * - `GET /api/v3/{storeId}/products` with a Bearer header: the store's made-up products, 403
 *   `INVALID_API_TOKEN`, or 403 `INSUFFICIENT_APP_SCOPE` when the grant lacks `read_catalog`;
 * - `GET /api/v3/{storeId}/application` with a Bearer header: the app's status in the store, its
 *   `subscription.status` the last one `changeSubscription` set (`ACTIVE` before any change);
 * - the REST endpoints answer 429 with `Retry-After` while a switch in `restRateLimits` covers the store;
 * - `GET /control-panel?store_id=N`: the app inside the store's control panel, framed with an encrypted
 *   `payload` carrying the store's current token, as Ecwid frames native apps.
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
  /** Product search requests, in arrival order. */
  readonly productRequests: ProductRequestRecord[] = [];
  /** Requests for the app's status in a store (`/application`), in arrival order. */
  readonly applicationRequests: ApplicationRequestRecord[] = [];
  /**
   * Per store id, or `'*'` for every store: the REST API (profile, application, products) answers 429 with
   * `Retry-After` instead of processing the request, while the switch is set (a store's own wins).
   */
  readonly restRateLimits = new Map<number | '*', RestRateLimit>();
  /** When set, the token endpoint misbehaves this way instead of answering. */
  tokenEndpointFault: TokenEndpointFault | undefined;
  /**
   * Stores whose tokens are revoked (an uninstall on Ecwid's side): their API answers 403
   * `INVALID_API_TOKEN` whatever the token, and their refresh tokens get `invalid_grant`.
   */
  readonly uninstalledStores = new Set<number>();
  /** Per store, an error its REST API (profile, application) answers instead of checking the token (see `ScriptedProfileAnswer`). */
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
  /** The app's webhook URL, where `uninstallApp`, `changeSubscription` and `sendWebhook` deliver. */
  webhookUrl: string | undefined;
  /** Every webhook delivery attempt, and the switches of delivery (retry delays, duplicate chance). */
  readonly webhooks: WebhookSender;
  /** The app's subscription status in each store, as the fake last announced it (and `/application` answers). */
  readonly subscriptions = new Map<number, string>();
  /** Requests for the control panel page, in arrival order. */
  readonly controlPanelOpens: ControlPanelOpenRecord[] = [];

  private readonly grants: GrantBook;
  private readonly clientId: string;
  private readonly oauth: FakeOAuthServer;
  private readonly basePath: string;
  private readonly slow = new SlowAnswers(() => this.latencyMs);
  private readonly controlPanel: ControlPanelContext;
  private readonly restApi: RestApiContext;

  constructor(options: FakeEcwidOptions) {
    this.basePath = (options.basePath ?? '').replace(/\/+$/, '');
    this.clientId = options.clientId;
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds;
    this.refreshAnswerShape = options.refreshAnswerShape ?? 'ecwid';
    this.latencyMs = options.latencyMs ?? 0;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 30;
    this.now = options.now ?? Date.now;
    this.webhookUrl = options.webhookUrl;
    this.webhooks = new WebhookSender(
      () => options.clientSecret,
      () => this.now(),
    );
    this.grants = new GrantBook(
      () => this.now(),
      (storeId) => this.uninstalledStores.has(storeId),
    );
    this.controlPanel = { appUrl: options.appUrl, clientSecret: options.clientSecret, grants: this.grants, opens: this.controlPanelOpens };
    const { grants, slow, restRateLimits, profileAnswers, profileRequests, productRequests } = this;
    this.restApi = {
      grants,
      slow,
      restRateLimits,
      profileAnswers,
      profileRequests,
      productRequests,
      applicationRequests: this.applicationRequests,
      subscriptions: this.subscriptions,
      nowEpochMs: () => this.now(),
      retryAfterSeconds: () => this.retryAfterSeconds,
    };
    this.oauth = new FakeOAuthServer({
      options,
      basePath: this.basePath,
      settings: () => ({
        tokenEndpointFault: this.tokenEndpointFault,
        tokenLifetimeSeconds: this.tokenLifetimeSeconds,
        refreshAnswerShape: this.refreshAnswerShape,
        retryAfterSeconds: this.retryAfterSeconds,
      }),
      now: () => this.now(),
      grants: this.grants,
      exchanges: this.exchanges,
      refreshes: this.refreshes,
      hold: (response) => this.slow.hold(response),
    });
  }

  /** Handles a request if it is for the fake; returns false when the path is not the fake's. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const url = new URL(request.url ?? '/', 'http://fake.invalid');
    if (!url.pathname.startsWith(`${this.basePath}/`)) return false;
    const path = url.pathname.slice(this.basePath.length);
    const method = request.method ?? 'GET';

    if (path === '/api/oauth/authorize' && method === 'GET') return this.oauth.consentPage(url, response);
    if (path === '/api/oauth/authorize/decision' && method === 'POST') return this.oauth.decide(request, response);
    if (path === '/app-market/install' && method === 'GET') return this.oauth.appMarketInstall(url, response);
    if (path === '/control-panel' && method === 'GET') return answerControlPanel(url.searchParams, response, this.controlPanel);
    const token = /^\/api\/oauth\/token(?:\/([^/]+))?$/.exec(path);
    if (token !== null) return this.slow.afterLatency(response, () => this.oauth.tokenEndpoint(request, response, token[1]));
    const rest = serveRestApi(request, response, url, path, this.restApi);
    if (rest !== undefined) return rest;
    sendJson(response, 404, { errorMessage: 'Not found', errorCode: 'NOT_FOUND' });
    return true;
  }

  /** Issues a code as if the merchant approved (for tests that skip the consent page). */
  issueCode(input: { storeId: number; scope?: string; redirectUri?: string }): string {
    return this.oauth.issueCode(input);
  }

  /** The App Market's redirect for a fresh install: `{redirectUrl}?code=...&store_id=...`, no state. */
  appMarketRedirect(storeId: number, scope = 'read_store_profile'): string {
    return this.oauth.appMarketRedirect(storeId, scope);
  }

  /**
   * Tokens for a store as if a code had just been exchanged, without the HTTP round trip: for
   * seeding many installations at once (the refresh benchmark).
   */
  grantTokens(storeId: number, scope = 'read_store_profile'): IssuedTokens {
    return this.grants.issue(storeId, withProfileScope(scope), this.tokenLifetimeSeconds).tokens;
  }

  /**
   * The `payload` Ecwid would put in the app's iframe URL for the store now (its current working token,
   * encrypted with the client secret); undefined when no token of the store works.
   */
  controlPanelPayload(storeId: number, options: { lang?: string; viewMode?: ViewMode } = {}): string | undefined {
    return payloadFor(this.controlPanel, storeId, options);
  }

  /**
   * The merchant uninstalls the app, as Ecwid does it: every token of the store is revoked at once (a
   * later install gets a new, working one), then `application.uninstalled` is delivered, signed.
   */
  async uninstallApp(storeId: number, options: { duplicates?: number } = {}): Promise<WebhookDelivery[]> {
    this.grants.revokeStore(storeId);
    this.subscriptions.delete(storeId);
    return this.sendWebhook({ storeId, eventType: 'application.uninstalled', entityId: this.clientId }, options);
  }

  /** The app's subscription in the store changes: `application.subscriptionStatusChanged`, signed. */
  async changeSubscription(storeId: number, newStatus: string, options: { duplicates?: number } = {}): Promise<WebhookDelivery[]> {
    const oldStatus = this.subscriptions.get(storeId);
    this.subscriptions.set(storeId, newStatus);
    return this.sendWebhook(
      {
        storeId,
        eventType: 'application.subscriptionStatusChanged',
        entityId: this.clientId,
        data: { newSubscriptionStatus: newStatus, ...(oldStatus === undefined ? {} : { oldSubscriptionStatus: oldStatus }) },
      },
      options,
    );
  }

  /** Delivers any webhook, signed with the client secret (or with `signature`), to `webhookUrl`. */
  async sendWebhook(webhook: WebhookToSend, options: { duplicates?: number; signature?: string } = {}): Promise<WebhookDelivery[]> {
    if (this.webhookUrl === undefined) throw new Error('the fake Ecwid has no webhook URL to deliver to');
    return this.webhooks.send(this.webhookUrl, webhook, options);
  }

  /** Whether the app is installed in a store, as Ecwid sees it: a grant of the store is alive. */
  isInstalled(storeId: number): boolean {
    return this.grants.hasLiveGrant(storeId);
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

  /** The product search requests for this store. */
  productRequestsOf(storeId: number): ProductRequestRecord[] {
    return this.productRequests.filter((request) => request.storeId === storeId);
  }

  /** Requests now waiting out `latencyMs`: tests wait on it to know a request is in flight. */
  get requestsWaiting(): number {
    return this.slow.waitingCount;
  }

  /**
   * Ends every held request (fault `timeout`, profile answer `timeout`) and every request still waiting out
   * `latencyMs`, by destroying its connection, so servers can close.
   */
  releaseHeldRequests(): void {
    this.slow.releaseAll();
  }
}
