import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EcwidAppAuthError } from '../../functions/core/errors';
import { openControlPanelPayload } from '../../functions/core/native-app/control-panel-payload';
import { FakeEcwid } from '../../local/fake-ecwid';
import { encryptControlPanelPayload, type ControlPanelPayloadFields } from '../../local/fake-ecwid-control-panel';

/**
 * The fake Ecwid's control panel: the payload it encrypts opens with the app's own decryption, and
 * its page frames the app's iframe URL with the store's current token, as Ecwid frames native apps.
 */
const CLIENT_ID = 'control-panel-test-app';
const CLIENT_SECRET = 'control-panel-test-secret';
const APP_URL = 'https://app.example.com/app';
const FIELDS: ControlPanelPayloadFields = {
  store_id: 1003,
  lang: 'pt_BR',
  access_token: 'secret_abcdefghijklmnopqrstuvwxyz123456',
  public_token: 'public_abcdefghijklmnopqrstuvwxyz12345',
  view_mode: 'INLINE',
};

describe('encryptControlPanelPayload', () => {
  it('is opened by openControlPanelPayload into the same fields', () => {
    expect(openControlPanelPayload(encryptControlPanelPayload(FIELDS, CLIENT_SECRET), CLIENT_SECRET)).toEqual({
      storeId: 1003,
      lang: 'pt_BR',
      accessToken: FIELDS.access_token,
      publicToken: FIELDS.public_token,
      viewMode: 'INLINE',
    });
    const { public_token: _omitted, ...withoutPublicToken } = FIELDS;
    expect(openControlPanelPayload(encryptControlPanelPayload(withoutPublicToken, CLIENT_SECRET), CLIENT_SECRET)).not.toHaveProperty('publicToken');
  });

  it('puts the IV first, in URL-safe base64 without padding, and draws a fresh IV each time', () => {
    const iv = Buffer.alloc(16, 7);
    const payload = encryptControlPanelPayload(FIELDS, CLIENT_SECRET, iv);
    expect(payload).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(payload, 'base64url').subarray(0, 16)).toEqual(iv);
    expect(encryptControlPanelPayload(FIELDS, CLIENT_SECRET, iv)).toBe(payload);
    expect(encryptControlPanelPayload(FIELDS, CLIENT_SECRET)).not.toBe(encryptControlPanelPayload(FIELDS, CLIENT_SECRET));
  });

  it('is keyed with the first 16 characters of the client secret only', () => {
    const payload = encryptControlPanelPayload(FIELDS, CLIENT_SECRET);
    expect(openControlPanelPayload(payload, `${CLIENT_SECRET.slice(0, 16)}-anything-after`).storeId).toBe(1003);
    expect(() => openControlPanelPayload(payload, 'another-client-secret')).toThrow(EcwidAppAuthError);
  });
});

describe('the fake control panel page', () => {
  let server: Server;
  let baseUrl: string;
  let fake: FakeEcwid;
  let nowEpochMs: number;

  beforeAll(async () => {
    server = createServer((request, response) => {
      fake.handle(request, response).then(
        (handled) => {
          if (!handled) response.writeHead(404).end();
        },
        () => response.destroy(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    nowEpochMs = Date.UTC(2026, 0, 15, 9, 0, 0);
    fake = new FakeEcwid({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUrl: 'https://app.example.com/callback', appUrl: APP_URL, now: () => nowEpochMs });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function openControlPanel(query: string): Promise<{ status: number; headers: Headers; html: string; frame: URL | undefined }> {
    const response = await fetch(`${baseUrl}/control-panel?${query}`);
    const html = await response.text();
    const src = /<iframe[^>]* src="([^"]*)"/.exec(html)?.[1];
    // The page escapes the address as HTML; `&` is the only character it changes in a URL.
    return { status: response.status, headers: response.headers, html, frame: src === undefined ? undefined : new URL(src.replaceAll('&#38;', '&')) };
  }

  it('frames the app with a payload that decrypts to the store\'s working token, the app_state and a cache-killer', async () => {
    const { accessToken } = fake.grantTokens(1003, 'read_store_profile public_storefront');

    const { status, html, frame } = await openControlPanel('store_id=1003&app_state=orderId%3A%2012&lang=de');

    expect(status).toBe(200);
    expect(html).toContain('<title>Store 1003 · Ecwid Control Panel (fake)</title>');
    expect(`${frame!.origin}${frame!.pathname}`).toBe(APP_URL);
    expect([...frame!.searchParams.keys()]).toEqual(['payload', 'app_state', 'cache-killer']);
    expect(frame!.searchParams.get('app_state')).toBe('orderId: 12');
    expect(frame!.searchParams.get('cache-killer')).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(openControlPanelPayload(frame!.searchParams.get('payload')!, CLIENT_SECRET)).toEqual({
      storeId: 1003,
      lang: 'de',
      accessToken,
      publicToken: expect.stringMatching(/^public_/),
      viewMode: 'PAGE',
    });
    expect(fake.isTokenValid(accessToken)).toBe(true);
    expect(fake.controlPanelOpens).toEqual([{ storeId: 1003, outcome: 'framed' }]);
  });

  it('runs no script, frames the app\'s origin only, and is neither framed nor cached', async () => {
    fake.grantTokens(1004);
    const { headers } = await openControlPanel('store_id=1004');
    const policy = headers.get('content-security-policy')!.split('; ');
    expect(policy).toEqual(expect.arrayContaining(["default-src 'none'", 'frame-src https://app.example.com', "frame-ancestors 'none'", "form-action 'none'"]));
    expect(policy.some((directive) => directive.startsWith('script-src'))).toBe(false);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('hands the newest working token after a refresh, and a fresh payload at each opening', async () => {
    fake.tokenLifetimeSeconds = 3600;
    const installed = fake.grantTokens(1005);
    const refreshed = await fetch(`${baseUrl}/api/oauth/token/1005`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'refresh_token', refresh_token: installed.refreshToken! }),
    });
    const newToken = ((await refreshed.json()) as { access_token: string }).access_token;

    const first = await openControlPanel('store_id=1005');
    const second = await openControlPanel('store_id=1005');

    expect(openControlPanelPayload(first.frame!.searchParams.get('payload')!, CLIENT_SECRET).accessToken).toBe(newToken);
    expect(first.frame!.searchParams.get('payload')).not.toBe(second.frame!.searchParams.get('payload'));
    expect(first.frame!.searchParams.get('cache-killer')).not.toBe(second.frame!.searchParams.get('cache-killer'));

    // Once every token of the store has expired, Ecwid has nothing working to hand the app.
    nowEpochMs += 3600 * 1000;
    expect((await openControlPanel('store_id=1005')).status).toBe(409);
  });

  it('says the app is not installed in a store that never installed it (404) or uninstalled it (409), framing nothing', async () => {
    fake.grantTokens(1007);
    fake.uninstalledStores.add(1007);

    const never = await openControlPanel('store_id=1006');
    const uninstalled = await openControlPanel('store_id=1007');

    expect(never.status).toBe(404);
    expect(never.html).toContain('The app is not installed in store 1006');
    expect(uninstalled.status).toBe(409);
    expect(uninstalled.html).toContain('The app is not installed in store 1007');
    expect([never.frame, uninstalled.frame]).toEqual([undefined, undefined]);
    expect(uninstalled.headers.get('content-security-policy')).not.toContain('frame-src');
    expect(fake.controlPanelOpens).toEqual([
      { storeId: 1006, outcome: 'not_installed' },
      { storeId: 1007, outcome: 'no_working_token' },
    ]);
  });

  it('refuses a query it cannot read, and frames nothing without a registered iframe URL', async () => {
    fake.grantTokens(1008);
    for (const query of ['store_id=abc', 'store_id=1008&view_mode=FULLSCREEN', 'store_id=1008&lang=%3Cscript%3E', `store_id=1008&app_state=${'x'.repeat(1025)}`]) {
      expect({ query, status: (await openControlPanel(query)).status }).toEqual({ query, status: 400 });
    }
    const withoutAppUrl = new FakeEcwid({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUrl: 'https://app.example.com/callback' });
    withoutAppUrl.grantTokens(1008);
    fake = withoutAppUrl;
    const { status, frame } = await openControlPanel('store_id=1008');
    expect({ status, frame }).toEqual({ status: 409, frame: undefined });
    expect(withoutAppUrl.controlPanelPayload(1008)).toEqual(expect.any(String));
  });
});
