import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionVerifier } from '../client/sessions';
import type { InstallationStatus, InstallationView } from '../functions/core/model';
import type { InstallationDirectory } from '../functions/core/ports';
import type { RefreshRunSummary } from '../functions/core/refresh/refresh-run';
import { describeInstallation } from '../functions/runtime/installation-report';
import { LOCAL_APP_UI_PATH, serveAppUi } from './app-ui';
import type { EventBridgeStub } from './eventbridge-stub';
import type { FakeEcwid } from './fake-ecwid';
import { readBody, sendJson } from './http-util';
import { START_PAGE_CONTENT_SECURITY_POLICY, startPageHtml } from './start-page';

export { describeInstallation } from '../functions/runtime/installation-report';

/** Where the built-in fake Ecwid is served, below the local stack's own origin. */
export const FAKE_ECWID_PATH = '/fake-ecwid';

export interface LocalRouteContext {
  directory: InstallationDirectory;
  publicUrl: string;
  fakeEcwid: FakeEcwid | undefined;
  eventBridge: EventBridgeStub;
  runRefresh: (atEpochMs?: number) => Promise<RefreshRunSummary>;
  /** The scopes the app asks for, space-separated: what a simulated App Market install grants. */
  scopes: string;
  /** Verifies the sessions `/app` issues, as an app's backend would: for the demo app UI. */
  sessionVerifier: SessionVerifier;
}

const STATUSES: readonly InstallationStatus[] = ['active', 'needs_reinstall', 'suspended', 'store_gone', 'needs_attention', 'uninstalled'];

/**
 * The routes only the local stack has: its start page, the installations, the published events, the
 * merchant's actions in the fake Ecwid (uninstall, subscription change), and a way to run the
 * scheduled refresh by hand. False when the route is not one of them.
 *
 * The admin routes (`/__local/*`) answer only the stack's own pages, a browser's address bar and
 * tools without a browser (curl): a request another site's page makes the browser send is refused
 * (403), so no web page can run the refresh, act as a merchant or read the installations. The demo
 * app UI's page is the exception: it is what `/app` sends the merchant to inside the control panel's
 * frame, it reads and changes nothing, and its `frame-ancestors` decides who may show it.
 */
export async function serveLocalRoute(
  routeKey: string,
  request: IncomingMessage,
  response: ServerResponse,
  context: LocalRouteContext,
): Promise<boolean> {
  if (routeKey.includes(' /__local/') && routeKey !== `GET ${LOCAL_APP_UI_PATH}` && isCrossSite(request, context.publicUrl)) {
    sendJson(response, 403, { error: 'cross_site_request', message: 'The local admin routes only answer this stack\'s own pages.' });
    return true;
  }
  if (await serveAppUi(routeKey, request, response, context.sessionVerifier)) return true;
  const url = new URL(request.url ?? '/', 'http://local.invalid');
  const single = /^GET \/__local\/installations\/([^/]+)$/.exec(routeKey);
  if (single !== null) {
    const storeId = Number(single[1]);
    const view = Number.isSafeInteger(storeId) && storeId > 0 ? await context.directory.describeStore(storeId) : undefined;
    if (view === undefined) sendJson(response, 404, { error: 'not_found', message: `no installation for store ${single[1]}` });
    else sendJson(response, 200, describeInstallation(view));
    return true;
  }
  switch (routeKey) {
    case 'GET /__local/installations': {
      const status = url.searchParams.get('status');
      if (status !== null && !(STATUSES as readonly string[]).includes(status)) {
        sendJson(response, 400, { error: 'invalid_status', message: `status must be one of ${STATUSES.join(', ')}` });
        return true;
      }
      const views = await allStores(context.directory, status === null ? undefined : (status as InstallationStatus));
      sendJson(response, 200, views.map(describeInstallation));
      return true;
    }
    case 'GET /__local/events':
      sendJson(response, 200, context.eventBridge.events);
      return true;
    case 'POST /__local/stores/uninstall':
    case 'POST /__local/stores/subscription':
      await merchantAction(routeKey, request, response, context);
      return true;
    case 'POST /__local/refresh': {
      const at = url.searchParams.get('at');
      const atEpochMs = at === null ? undefined : Date.parse(at);
      if (atEpochMs !== undefined && Number.isNaN(atEpochMs)) {
        sendJson(response, 400, { error: 'invalid_at', message: 'at must be an ISO-8601 instant, e.g. 2026-12-01T09:00:00Z' });
        return true;
      }
      sendJson(response, 200, await context.runRefresh(atEpochMs));
      return true;
    }
    case 'POST /__local/rate-limit':
    case 'DELETE /__local/rate-limit':
      switchRateLimit(request, response, context.fakeEcwid);
      return true;
    case 'GET /': {
      const stores = (await allStores(context.directory)).map(describeInstallation);
      const html = startPageHtml({ publicUrl: context.publicUrl, builtInFake: context.fakeEcwid !== undefined, stores, fakePath: FAKE_ECWID_PATH, scopes: context.scopes });
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(html),
        'cache-control': 'no-store',
        'content-security-policy': START_PAGE_CONTENT_SECURITY_POLICY,
      });
      response.end(html);
      return true;
    }
    default:
      return false;
  }
}

/**
 * Whether a browser sent this request on another site's behalf. `Sec-Fetch-Site` says so directly
 * in current browsers (`none` for the address bar, `same-origin` for the stack's own pages); `Origin`,
 * when present, must be the stack's own. A request with neither comes from no browser page.
 */
export function isCrossSite(request: IncomingMessage, publicUrl: string): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  const own = new URL(publicUrl).origin;
  const loopbackAliases = [own, own.replace('://localhost', '://127.0.0.1'), own.replace('://127.0.0.1', '://localhost')];
  return !loopbackAliases.includes(origin);
}

/** Every installation, page by page: the local table is small. */
async function allStores(directory: InstallationDirectory, status?: InstallationStatus): Promise<InstallationView[]> {
  const stores: InstallationView[] = [];
  let cursor: string | undefined;
  do {
    const page = await directory.listStores({ limit: 500, ...(cursor === undefined ? {} : { cursor }), ...(status === undefined ? {} : { status }) });
    stores.push(...page.stores);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return stores.sort((a, b) => a.storeId - b.storeId);
}

/**
 * What a merchant does in Ecwid's control panel, through the fake: uninstall the app (its tokens are
 * revoked, then the webhook is delivered), or change the app's subscription. A form (`store_id`,
 * `status`) answers 303 back to the start page; JSON answers with the deliveries made.
 */
async function merchantAction(routeKey: string, request: IncomingMessage, response: ServerResponse, context: LocalRouteContext): Promise<void> {
  const fake = context.fakeEcwid;
  if (fake === undefined) {
    sendJson(response, 409, { error: 'no_fake_ecwid', message: 'the local stack talks to another Ecwid; act there' });
    return;
  }
  const isJson = (request.headers['content-type'] ?? '').includes('application/json');
  const text = await readBody(request, 16 * 1024);
  let fields: Record<string, unknown>;
  try {
    fields = isJson ? (JSON.parse(text) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(text));
  } catch {
    sendJson(response, 400, { error: 'invalid_body', message: 'send a form or a JSON object' });
    return;
  }
  const storeId = Number(fields.store_id ?? fields.storeId);
  const status = String(fields.status ?? '');
  if (!Number.isSafeInteger(storeId) || storeId <= 0) {
    sendJson(response, 400, { error: 'invalid_store_id', message: 'store_id must be a positive integer' });
    return;
  }
  if (routeKey.endsWith('/subscription') && !/^[A-Z][A-Z_]{0,31}$/.test(status)) {
    sendJson(response, 400, { error: 'invalid_status', message: 'status must be a subscription status such as ACTIVE' });
    return;
  }
  const deliveries = routeKey.endsWith('/uninstall') ? await fake.uninstallApp(storeId) : await fake.changeSubscription(storeId, status);
  if (isJson) {
    sendJson(response, 200, { deliveries });
    return;
  }
  response.writeHead(303, { location: '/', 'cache-control': 'no-store' }).end();
}

/**
 * `POST /__local/rate-limit?retry_after=5[&store_id=1003][&times=2]` makes the fake Ecwid's REST API
 * answer 429 with that `Retry-After` (for one store, or all; `times` requests, or until cleared);
 * `DELETE /__local/rate-limit[?store_id=1003]` clears it.
 */
function switchRateLimit(request: IncomingMessage, response: ServerResponse, fakeEcwid: FakeEcwid | undefined): void {
  if (fakeEcwid === undefined) {
    sendJson(response, 409, { error: 'no_fake_ecwid', message: 'the stack talks to another Ecwid; it has no rate limit to switch' });
    return;
  }
  const query = new URL(request.url ?? '/', 'http://local.invalid').searchParams;
  const storeIdText = query.get('store_id');
  const storeId = storeIdText === null ? '*' : /^[1-9]\d{0,15}$/.test(storeIdText) ? Number(storeIdText) : undefined;
  if (storeId === undefined) {
    sendJson(response, 400, { error: 'invalid_store_id', message: 'store_id must be a positive integer' });
    return;
  }
  if (request.method === 'DELETE') {
    if (storeId === '*') fakeEcwid.restRateLimits.clear();
    else fakeEcwid.restRateLimits.delete(storeId);
    sendJson(response, 200, { rateLimited: [...fakeEcwid.restRateLimits.keys()] });
    return;
  }
  const retryAfterSeconds = Number(query.get('retry_after') ?? '5');
  const times = query.get('times');
  if (!Number.isSafeInteger(retryAfterSeconds) || retryAfterSeconds < 0 || (times !== null && !/^[1-9]\d{0,5}$/.test(times))) {
    sendJson(response, 400, { error: 'invalid_rate_limit', message: 'retry_after must be whole seconds, times a positive integer' });
    return;
  }
  fakeEcwid.restRateLimits.set(storeId, { retryAfterSeconds, ...(times === null ? {} : { remaining: Number(times) }) });
  sendJson(response, 200, { rateLimited: [...fakeEcwid.restRateLimits.keys()], retryAfterSeconds, times: times === null ? null : Number(times) });
}
