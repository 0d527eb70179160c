import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { createSessionVerifier, SessionInvalidError } from '../../client/sessions';
import { FakeEcwid } from '../../local/fake-ecwid';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { decideOnConsentPage, TestBrowser } from '../support/browser';
import { sealPayload } from '../support/control-panel-payload';
import { capturingLogger } from '../support/fakes';
import { storedTokens } from '../support/stored-tokens';

/**
 * The merchant inside Ecwid, over real HTTP: `/app` of the local stack with the KMS stub signing,
 * dynalite storing, the fake Ecwid checking tokens; sessions verified by the package's client against
 * the stack's own JWKS; receipts from the callback; scope drift after a change of configuration.
 */
describe('the iframe session over HTTP', () => {
  const CLIENT_SECRET = 'app-session-client-secret-9z8y7x';
  const SCOPES = ['read_store_profile', 'read_catalog'];
  const logs = capturingLogger();
  let stack: LocalStack;
  let fake: FakeEcwid;
  let nextStoreId = 9000;

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, clientId: 'session-app', clientSecret: CLIENT_SECRET, scopes: SCOPES, appUiUrl: 'https://ui.example.com/app', log: logs.log });
    fake = stack.fakeEcwid!;
  });
  afterAll(async () => {
    await stack?.close();
  });

  const verifier = () => createSessionVerifier({ issuer: stack.url, audience: 'session-app' });
  const payloadFor = (storeId: number, accessToken: string, extra: Record<string, unknown> = {}) =>
    sealPayload({ store_id: storeId, lang: 'en', access_token: accessToken, view_mode: 'PAGE', ...extra }, { secret: CLIENT_SECRET });
  const openApp = (query: string) => new TestBrowser().get(`${stack.url}/app?${query}`);
  const sessionOf = (location: string) => new URLSearchParams(new URL(location).hash.slice(1)).get('session')!;
  const listed = async (storeId: number) => (await (await fetch(`${stack.url}/__local/installations/${storeId}`)).json()) as Record<string, unknown>;

  async function installThroughAppMarket(scope = SCOPES.join(' ')): Promise<number> {
    const storeId = (nextStoreId += 1);
    expect((await new TestBrowser().get(fake.appMarketRedirect(storeId, scope))).status).toBe(200);
    return storeId;
  }

  it('hands the app UI a session for an installed store, verified against the JWKS, with one KMS Sign', async () => {
    const storeId = await installThroughAppMarket('read_store_profile');
    const { accessToken } = await storedTokens(stack.vault, (await stack.store.getInstallation(storeId))!);
    const signsBefore = stack.kms.calls.Sign;
    const page = await openApp(`payload=${payloadFor(storeId, accessToken, { lang: 'de' })}&app_state=${encodeURIComponent('orderId: 12')}&cache-killer=1`);
    expect(page.status).toBe(303);
    expect(stack.kms.calls.Sign - signsBefore).toBe(1);
    expect(new URL(page.location!).origin).toBe('https://ui.example.com');
    expect(new URLSearchParams(new URL(page.location!).hash.slice(1)).get('app_state')).toBe('orderId: 12');
    await expect(verifier().verifySession(sessionOf(page.location!))).resolves.toMatchObject({
      storeId,
      scope: 'read_store_profile',
      missingScopes: ['read_catalog'],
      lang: 'de',
      viewMode: 'PAGE',
    });
    // Another app's audience, or the session taken for a receipt: refused.
    await expect(createSessionVerifier({ issuer: stack.url, audience: 'another-app' }).verifySession(sessionOf(page.location!))).rejects.toBeInstanceOf(SessionInvalidError);
    await expect(verifier().verifyInstallReceipt(sessionOf(page.location!))).rejects.toMatchObject({ reason: 'claim_typ' });
    // The JWKS is public and cacheable.
    const jwks = await fetch(`${stack.url}/.well-known/jwks.json`);
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=300');
    expect(((await jwks.json()) as { keys: unknown[] }).keys).toHaveLength(1);
    // Neither the payload's token nor the session is ever logged.
    expect(logs.lines.join('\n')).not.toContain(accessToken);
    expect(logs.lines.join('\n')).not.toContain(sessionOf(page.location!));
  });

  it('repairs a store this backend has no installation of, from the payload token Ecwid accepts (lane control_panel)', async () => {
    const storeId = (nextStoreId += 1);
    // The app is installed at Ecwid, but its install never reached this backend.
    const { accessToken } = fake.grantTokens(storeId, 'read_store_profile read_catalog');
    const page = await openApp(`payload=${payloadFor(storeId, accessToken)}`);
    expect(page.status).toBe(303);
    expect(await listed(storeId)).toMatchObject({ status: 'active', grantLane: 'control_panel', missingScopes: ['read_catalog'], scope: 'read_store_profile' });
    const stored = await storedTokens(stack.vault, (await stack.store.getInstallation(storeId))!);
    expect(stored.accessToken).toBe(accessToken);
    const events = (await (await fetch(`${stack.url}/__local/events`)).json()) as Array<{ detailType: string; detail: { storeId: number; reason: string } }>;
    expect(events.filter((event) => event.detail.storeId === storeId).map((event) => [event.detailType, event.detail.reason])).toEqual([
      ['Store Installed', 'control_panel'],
      ['Scopes Missing', 'control_panel'],
    ]);
  });

  it('asks for a reinstall, in a page the control panel may frame, when the store is gone from Ecwid too', async () => {
    const storeId = await installThroughAppMarket();
    const { accessToken } = await storedTokens(stack.vault, (await stack.store.getInstallation(storeId))!);
    await fake.uninstallApp(storeId);
    await stack.runRefresh(Date.now() + 2 * 86_400_000);
    const page = await openApp(`payload=${payloadFor(storeId, accessToken)}`);
    expect(page.status).toBe(409);
    expect(page.body).toContain('Please reinstall the app');
    expect(page.headers.get('content-security-policy')).toContain(`frame-ancestors ${new URL(stack.url).origin}`);
    expect(page.headers.get('x-frame-options')).toBeNull();
  });

  it('refuses every malformed payload the same way, framed, and keeps the other pages unframeable', async () => {
    const storeId = await installThroughAppMarket();
    const { accessToken } = await storedTokens(stack.vault, (await stack.store.getInstallation(storeId))!);
    const good = payloadFor(storeId, accessToken);
    const padded = `${good}${'='.repeat((4 - (good.length % 4)) % 4)}`;
    expect((await openApp(`payload=${padded}`)).status).toBe(303);
    const bodies = new Set<string>();
    for (const payload of [
      `${good.slice(0, 30)}${good[30] === 'A' ? 'B' : 'A'}${good.slice(31)}`,
      sealPayload({ store_id: storeId, lang: 'en', access_token: accessToken, view_mode: 'PAGE' }, { secret: 'another-apps-secret-value' }),
      good.slice(0, 40),
      sealPayload({ store_id: storeId, lang: 'en', view_mode: 'PAGE' }, { secret: CLIENT_SECRET }),
      sealPayload({ store_id: storeId, lang: 'en', access_token: accessToken, view_mode: 'SIDEWAYS' }, { secret: CLIENT_SECRET }),
      'A'.repeat(4100),
    ]) {
      const page = await openApp(`payload=${payload}`);
      expect(page.status).toBe(400);
      expect(page.headers.get('content-security-policy')).toContain(`frame-ancestors ${new URL(stack.url).origin}`);
      bodies.add(page.body);
    }
    // One page for every failure: nothing tells a padding error from a JSON one.
    expect(bodies.size).toBe(1);
    const other = await new TestBrowser().get(`${stack.url}/callback?state=nope`);
    expect(other.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(other.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('install receipts and scope drift over HTTP', () => {
  const CLIENT_SECRET = 'receipts-client-secret-5f6g7h8j';
  let stack: LocalStack | undefined;
  let dataDirectory: string;

  beforeAll(() => {
    dataDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'ecwid-receipts-'));
  });
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });
  afterAll(() => fs.rmSync(dataDirectory, { recursive: true, force: true }));

  const start = async (scopes: string[]) =>
    (stack = await startLocalStack({ port: 0, clientId: 'receipts-app', clientSecret: CLIENT_SECRET, scopes, successUrl: 'https://app.example.com/welcome', dataDirectory }));

  it('gives a browser-bound receipt to the app-initiated lane, and one that is not to the App Market lane', async () => {
    const local = await start(['read_store_profile']);
    const verifier = createSessionVerifier({ issuer: local.url, audience: 'receipts-app' });
    const browser = new TestBrowser();
    const started = await browser.get(`${local.url}/authorize`);
    const callbackUrl = await decideOnConsentPage(browser, started.location!, 'approve', 5001);
    const done = await browser.get(callbackUrl);
    expect(done.status).toBe(303);
    const welcome = new URL(done.location!);
    expect(welcome.searchParams.get('store_id')).toBe('5001');
    await expect(verifier.verifyInstallReceipt(welcome.searchParams.get('receipt')!)).resolves.toMatchObject({ storeId: 5001, lane: 'app_initiated', browserBound: true });

    const market = await new TestBrowser().get(local.fakeEcwid!.appMarketRedirect(5002));
    const marketWelcome = new URL(market.location!);
    await expect(verifier.verifyInstallReceipt(marketWelcome.searchParams.get('receipt')!)).resolves.toMatchObject({ storeId: 5002, lane: 'app_market', browserBound: false });
  });

  it('records the scopes a store lacks after the configuration asks for more, and a re-consent clears them', async () => {
    // One Ecwid for both runs of the stack (a restart with new settings), on the same port and database.
    const port = await freePort();
    const fake = new FakeEcwid({ clientId: 'receipts-app', clientSecret: CLIENT_SECRET, redirectUrl: `http://localhost:${port}/callback` });
    const fakeServer = createServer((request, response) => {
      void fake.handle(request, response).then((handled) => {
        if (!handled) response.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => fakeServer.listen(0, '127.0.0.1', resolve));
    const fakeUrl = `http://127.0.0.1:${(fakeServer.address() as AddressInfo).port}`;
    const startWith = async (scopes: string[]): Promise<LocalStack> =>
      (stack = await startLocalStack({ port, clientId: 'receipts-app', clientSecret: CLIENT_SECRET, scopes, dataDirectory, ecwidOAuthUrl: fakeUrl, ecwidApiUrl: fakeUrl }));
    try {
      let local: LocalStack = await startWith(['read_store_profile']);
      expect((await new TestBrowser().get(fake.appMarketRedirect(5003, 'read_store_profile'))).status).toBe(200);
      expect((await local.store.getInstallation(5003))!.missingScopes).toBeUndefined();
      await local.close();

      // The app now asks for read_orders too: the scheduled job finds the gap at its next check of the store.
      local = await startWith(['read_store_profile', 'read_orders']);
      await local.runRefresh(Date.now() + 2 * 86_400_000);
      expect((await local.store.getInstallation(5003))!).toMatchObject({ status: 'active', missingScopes: ['read_orders'] });
      const events = (await (await fetch(`${local.url}/__local/events`)).json()) as Array<{ detailType: string; detail: Record<string, unknown> }>;
      expect(events.filter((event) => event.detail.storeId === 5003)).toEqual([
        expect.objectContaining({ detailType: 'Scopes Missing', detail: expect.objectContaining({ missingScopes: ['read_orders'], reason: 'scope_check' }) }),
      ]);

      // The merchant consents again through /authorize: the new grant has the scope, the gap is gone.
      const browser = new TestBrowser();
      const started = await browser.get(`${local.url}/authorize`);
      expect(new URL(started.location!).searchParams.get('scope')).toBe('read_store_profile read_orders');
      const done = await browser.get(await decideOnConsentPage(browser, started.location!, 'approve', 5003));
      expect(done.status).toBe(200);
      const reconsented = (await local.store.getInstallation(5003))!;
      expect(reconsented.scope).toContain('read_orders');
      expect(reconsented.missingScopes).toBeUndefined();
    } finally {
      await stack?.close();
      stack = undefined;
      await new Promise((resolve) => fakeServer.close(resolve));
    }
  });
});

/** A port nothing listens on now, for a stack that must come back on the same one. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
