import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Installation } from '../functions/core/model';
import type { RefreshRunSummary } from '../functions/core/refresh/refresh-run';
import type { InstallationStore } from '../functions/core/ports';
import { renderPage } from '../functions/runtime/pages';
import type { FakeEcwid } from './fake-ecwid';
import { sendHtml, sendJson } from './http-util';

/** Where the built-in fake Ecwid is served, below the local stack's own origin. */
export const FAKE_ECWID_PATH = '/fake-ecwid';

export interface LocalRouteContext {
  store: InstallationStore;
  publicUrl: string;
  fakeEcwid: FakeEcwid | undefined;
  runRefresh: (atEpochMs?: number) => Promise<RefreshRunSummary>;
  /** The scopes the app asks for, space-separated: what a simulated App Market install grants. */
  scopes: string;
}

/**
 * The routes only the local stack has: its start page, the list of installations, and a way to
 * run the scheduled refresh by hand. False when the route is not one of them.
 */
export async function serveLocalRoute(
  routeKey: string,
  request: IncomingMessage,
  response: ServerResponse,
  context: LocalRouteContext,
): Promise<boolean> {
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
    case 'POST /__local/rate-limit':
    case 'DELETE /__local/rate-limit':
      switchRateLimit(request, response, context.fakeEcwid);
      return true;
    case 'GET /':
      sendHtml(response, 200, landingPage(context.publicUrl, context.fakeEcwid !== undefined, context.scopes));
      return true;
    default:
      return false;
  }
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

function landingPage(publicUrl: string, builtInFake: boolean, scopes: string): string {
  return renderPage({
    title: 'Ecwid app authorization: local stack',
    paragraphs: [
      builtInFake
        ? 'Connect a store to start an app-initiated install: the built-in fake Ecwid shows its consent page, and an approved install is stored in the local database.'
        : 'Connect a store to start an app-initiated install with the OAuth server you configured.',
      'The list of installations shows what is stored for each store, never its token.',
      `A store's credentials are at ${publicUrl}/stores/{storeId}/credentials (and a refused token is reported with POST to .../credentials/rejected). ` +
        'Here they answer without IAM authorization, to anyone who can reach this loopback address; deployed, callers must sign with SigV4 and be granted access.',
    ],
    links: [
      { href: `${publicUrl}/authorize`, label: 'Connect a store' },
      ...(builtInFake
        ? [
            {
              href: `${publicUrl}${FAKE_ECWID_PATH}/app-market/install?${new URLSearchParams({ store_id: '1003', scope: scopes })}`,
              label: 'Simulate an App Market install',
            },
          ]
        : []),
      { href: `${publicUrl}/__local/installations`, label: 'Stored installations' },
      { href: `${publicUrl}/stores/1003/credentials`, label: 'Credentials of store 1003 (no IAM locally)' },
    ],
  });
}
