import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Installation } from '../functions/core/model';
import type { RefreshRunSummary } from '../functions/core/refresh/refresh-run';
import type { InstallationStore } from '../functions/core/ports';
import { renderPage } from '../functions/runtime/pages';
import { sendHtml, sendJson } from './http-util';

/** Where the built-in fake Ecwid is served, below the local stack's own origin. */
export const FAKE_ECWID_PATH = '/fake-ecwid';

export interface LocalRouteContext {
  store: InstallationStore;
  publicUrl: string;
  fakeEcwid: unknown;
  runRefresh: (atEpochMs?: number) => Promise<RefreshRunSummary>;
}

/**
 * The routes only the local stack has: its start page, the list of installations, and a way to
 * run the scheduled refresh by hand. False when the route is not one of them.
 *
 * The admin routes (`/__local/*`) answer only the stack's own pages, a browser's address bar and
 * tools without a browser (curl): a request another site's page makes the browser send is refused
 * (403), so no web page can run the refresh or read the installations.
 */
export async function serveLocalRoute(
  routeKey: string,
  request: IncomingMessage,
  response: ServerResponse,
  context: LocalRouteContext,
): Promise<boolean> {
  if (routeKey.includes(' /__local/') && isCrossSite(request, context.publicUrl)) {
    sendJson(response, 403, { error: 'cross_site_request', message: 'The local admin routes only answer this stack\'s own pages.' });
    return true;
  }
  switch (routeKey) {
    case 'GET /__local/installations': {
      const installations = await context.store.listInstallations();
      sendJson(response, 200, installations.map(describeInstallation));
      return true;
    }
    case 'POST /__local/refresh': {
      const at = new URL(request.url ?? '/', 'http://local.invalid').searchParams.get('at');
      const atEpochMs = at === null ? undefined : Date.parse(at);
      if (atEpochMs !== undefined && Number.isNaN(atEpochMs)) {
        sendJson(response, 400, { error: 'invalid_at', message: 'at must be an ISO-8601 instant, e.g. 2026-12-01T09:00:00Z' });
        return true;
      }
      sendJson(response, 200, await context.runRefresh(atEpochMs));
      return true;
    }
    case 'GET /':
      sendHtml(response, 200, landingPage(context.publicUrl, context.fakeEcwid !== undefined));
      return true;
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

/** What the local inspection route shows of an installation: its state, never a token. */
export function describeInstallation(installation: Installation) {
  const iso = (epochSeconds: number | undefined) =>
    epochSeconds === undefined ? null : new Date(epochSeconds * 1000).toISOString();
  return {
    storeId: installation.storeId,
    status: installation.status,
    statusReason: installation.statusReason ?? null,
    scope: installation.scope,
    installedAt: iso(installation.installedAtEpochSeconds),
    expiresAt: iso(installation.expiresAtEpochSeconds),
    lastRefreshedAt: iso(installation.lastRefreshedAtEpochSeconds),
    lastVerifiedAt: iso(installation.lastVerifiedAtEpochSeconds),
    nextCheckAt: iso(installation.nextCheckAtEpochSeconds),
    failureCount: installation.failureCount ?? 0,
  };
}

function landingPage(publicUrl: string, builtInFake: boolean): string {
  return renderPage({
    title: 'Ecwid app authorization: local stack',
    paragraphs: [
      builtInFake
        ? 'Connect a store to start an app-initiated install: the built-in fake Ecwid shows its consent page, and an approved install is stored in the local database.'
        : 'Connect a store to start an app-initiated install with the OAuth server you configured.',
      'The list of installations shows what is stored for each store, never its token.',
    ],
    links: [
      { href: `${publicUrl}/authorize`, label: 'Connect a store' },
      ...(builtInFake
        ? [{ href: `${publicUrl}${FAKE_ECWID_PATH}/app-market/install?store_id=1003`, label: 'Simulate an App Market install' }]
        : []),
      { href: `${publicUrl}/__local/installations`, label: 'Stored installations' },
    ],
  });
}
