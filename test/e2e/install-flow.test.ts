import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { fingerprint } from '../../functions/core/secure-values';
import type { TokenEndpointFault } from '../../local/fake-ecwid';
import { LOCAL_TABLE_NAME, startLocalStack, type LocalStack } from '../../local/stack';
import { decideOnConsentPage, TestBrowser } from '../support/browser';
import { localClient } from '../support/dynamodb-servers';
import { capturingLogger, ShiftedClock } from '../support/fakes';
import { storedTokens } from '../support/stored-tokens';

/**
 * The install flow over real HTTP: the local stack (dynalite, the Secrets Manager stub, the fake
 * Ecwid, the real handlers behind the API Gateway adapter) driven as a browser drives it.
 */
describe('install flow over HTTP', () => {
  let stack: LocalStack;
  const clock = new ShiftedClock();
  const logs = capturingLogger();

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      publicUrl: undefined,
      clientId: 'e2e-app',
      clientSecret: 'e2e-client-secret-value',
      scopes: ['read_store_profile', 'read_catalog'],
      tokenRequestTimeoutMs: 1_000,
      clock,
      log: logs.log,
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  afterEach(() => {
    clock.offsetMs = 0;
    stack.fakeEcwid!.tokenEndpointFault = undefined;
    stack.fakeEcwid!.releaseHeldRequests();
  });

  const fake = () => stack.fakeEcwid!;
  const installations = async () => (await fetch(`${stack.url}/__local/installations`)).json() as Promise<Array<Record<string, unknown>>>;
  const installationOf = async (storeId: number) => (await installations()).find((item) => item.storeId === storeId);
  const codeOf = (callbackUrl: string) => new URL(callbackUrl).searchParams.get('code')!;

  /** `/authorize` then Ecwid's consent page: the URL Ecwid sends the browser back to. */
  async function approvedCallback(browser: TestBrowser, storeId: number): Promise<string> {
    const authorize = await browser.get(`${stack.url}/authorize`);
    expect(authorize.status).toBe(302);
    return decideOnConsentPage(browser, authorize.location!, 'approve', storeId);
  }

  it('installs a store end to end and stores its token (shown without the token)', async () => {
    const browser = new TestBrowser();
    const callbackUrl = await approvedCallback(browser, 2001);
    expect(new URL(callbackUrl).searchParams.get('store_id')).toBe('2001');

    const page = await browser.get(callbackUrl);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Your store is connected');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');

    expect(fake().exchangesOf(codeOf(callbackUrl))).toEqual([{ code: codeOf(callbackUrl), pathStoreId: 2001, outcome: 'issued' }]);
    const stored = await stack.store.getInstallation(2001);
    const { accessToken } = await storedTokens(stack.vault, stored!);
    expect(fake().isTokenValid(accessToken)).toBe(true);
    expect(await installationOf(2001)).toEqual({
      storeId: 2001,
      status: 'active',
      statusReason: null,
      scope: 'read_store_profile read_catalog',
      missingScopes: [],
      grantLane: 'app_initiated',
      installedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      expiresAt: null,
      lastRefreshedAt: null,
      lastVerifiedAt: null,
      nextCheckAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      failureCount: 0,
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      subscriptionStatus: null,
      subscriptionChangedAt: null,
      uninstallRequestedAt: null,
      uninstalledAt: null,
      deleteAfter: null,
    });
    const listing = await (await fetch(`${stack.url}/__local/installations`)).text();
    expect(listing).not.toContain(accessToken);
    expect(listing).not.toContain('secret_');
  });

  it('shows a reloaded callback the same success, exchanging the code once and keeping the token valid', async () => {
    const browser = new TestBrowser();
    const callbackUrl = await approvedCallback(browser, 2002);
    const first = await browser.get(callbackUrl);
    const reload = await browser.get(callbackUrl);
    expect([first.status, reload.status]).toEqual([200, 200]);
    expect(reload.body).toContain('Your store is connected');
    expect(fake().exchangesOf(codeOf(callbackUrl))).toHaveLength(1);
    const stored = await stack.store.getInstallation(2002);
    expect(fake().isTokenValid((await storedTokens(stack.vault, stored!)).accessToken)).toBe(true);
  });

  it('sends no code twice when the callback is reloaded from another browser after its state expired', async () => {
    const browser = new TestBrowser();
    const callbackUrl = await approvedCallback(browser, 2104);
    const first = await browser.get(callbackUrl);
    expect(first.status).toBe(200);
    expect(first.body).toContain('Your store is connected');
    clock.offsetMs = 15 * 60 * 1000;
    const elsewhere = await new TestBrowser().get(callbackUrl);
    // The first outcome's page: the install succeeded, whoever reloads it.
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.body).toContain('Your store is connected');
    expect(elsewhere.body).not.toMatch(/Error:|at .+\.(ts|js):\d+/);
    expect(fake().exchangesOf(codeOf(callbackUrl))).toHaveLength(1);
    const stored = await stack.store.getInstallation(2104);
    expect(fake().isTokenValid((await storedTokens(stack.vault, stored!)).accessToken)).toBe(true);
  });

  it('sends no code twice once its claim is gone from the table (TTL), as long as its grant is stored', async () => {
    const browser = new TestBrowser();
    const callbackUrl = await approvedCallback(browser, 2105);
    expect((await browser.get(callbackUrl)).status).toBe(200);
    const client = localClient(stack.dynamoDb.endpoint);
    await client.send(
      new DeleteItemCommand({ TableName: LOCAL_TABLE_NAME, Key: { pk: { S: `CODE#${fingerprint(codeOf(callbackUrl))}` } } }),
    );
    client.destroy();
    const reload = await browser.get(callbackUrl);
    expect(reload.status).toBe(200);
    expect(fake().exchangesOf(codeOf(callbackUrl))).toHaveLength(1);
    const stored = await stack.store.getInstallation(2105);
    expect(fake().isTokenValid((await storedTokens(stack.vault, stored!)).accessToken)).toBe(true);
  });

  it('survives a double click: two concurrent callbacks, one exchange, two success pages', async () => {
    const browser = new TestBrowser();
    const callbackUrl = await approvedCallback(browser, 2003);
    const pages = await Promise.all([browser.get(callbackUrl), browser.get(callbackUrl)]);
    expect(pages.map((page) => page.status)).toEqual([200, 200]);
    expect(fake().exchangesOf(codeOf(callbackUrl))).toHaveLength(1);
  });

  it('shows a cancellation page when the merchant denies, storing nothing', async () => {
    const browser = new TestBrowser();
    const authorize = await browser.get(`${stack.url}/authorize`);
    const callbackUrl = await decideOnConsentPage(browser, authorize.location!, 'deny', 2004);
    expect(new URL(callbackUrl).searchParams.get('error')).toBe('access_denied');
    const page = await browser.get(callbackUrl);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Installation cancelled');
    expect(await installationOf(2004)).toBeUndefined();
  });

  it('refuses a forged state without asking Ecwid', async () => {
    const browser = new TestBrowser();
    await browser.get(`${stack.url}/authorize`);
    const code = fake().issueCode({ storeId: 2005 });
    const page = await browser.get(`${stack.url}/callback?code=${code}&store_id=2005&state=${'F'.repeat(43)}`);
    expect(page.status).toBe(400);
    expect(page.body).toContain('not valid');
    expect(fake().exchangesOf(code)).toHaveLength(0);
    expect(await installationOf(2005)).toBeUndefined();
  });

  it('refuses an expired state without asking Ecwid', async () => {
    const browser = new TestBrowser();
    const callbackUrl = await approvedCallback(browser, 2006);
    clock.offsetMs = 11 * 60 * 1000;
    const page = await browser.get(callbackUrl);
    expect(page.status).toBe(400);
    expect(page.body).toContain('expired');
    expect(fake().exchangesOf(codeOf(callbackUrl))).toHaveLength(0);
  });

  it('refuses a state replayed with another code', async () => {
    const browser = new TestBrowser();
    const callbackUrl = await approvedCallback(browser, 2007);
    expect((await browser.get(callbackUrl)).status).toBe(200);
    const replay = new URL(callbackUrl);
    const otherCode = fake().issueCode({ storeId: 2007 });
    replay.searchParams.set('code', otherCode);
    const page = await browser.get(replay.toString());
    expect(page.status).toBe(400);
    expect(page.body).toContain('already used');
    expect(fake().exchangesOf(otherCode)).toHaveLength(0);
  });

  it('refuses a callback opened in another browser, and lets the right browser finish', async () => {
    const merchant = new TestBrowser();
    const callbackUrl = await approvedCallback(merchant, 2008);
    const stranger = new TestBrowser();
    await stranger.get(`${stack.url}/authorize`);
    const refused = await stranger.get(callbackUrl);
    expect(refused.status).toBe(403);
    expect(fake().exchangesOf(codeOf(callbackUrl))).toHaveLength(0);
    expect((await new TestBrowser().get(callbackUrl)).status).toBe(403);
    expect((await merchant.get(callbackUrl)).status).toBe(200);
  });

  it('installs from the App Market lane: a code and a store id, no state, no cookie', async () => {
    const browser = new TestBrowser();
    const market = await browser.get(`${stack.url}/fake-ecwid/app-market/install?store_id=2009`);
    expect(market.status).toBe(302);
    expect(new URL(market.location!).searchParams.has('state')).toBe(false);
    const page = await browser.get(market.location!);
    expect(page.status).toBe(200);
    expect(await installationOf(2009)).toMatchObject({ status: 'active' });
  });

  it('replaces the token when a store installs again', async () => {
    const first = await new TestBrowser().get(fake().appMarketRedirect(2010));
    expect(first.status).toBe(200);
    const before = await stack.store.getInstallation(2010);
    expect((await new TestBrowser().get(fake().appMarketRedirect(2010))).status).toBe(200);
    const after = await stack.store.getInstallation(2010);
    expect((await storedTokens(stack.vault, after!)).accessToken).not.toBe((await storedTokens(stack.vault, before!)).accessToken);
    expect(after!.version).toBe(before!.version + 1);
  });

  describe('when the token endpoint misbehaves', () => {
    it.each<[TokenEndpointFault, number, string]>([
      ['timeout', 504, 'took too long'],
      ['server_error', 502, 'did not complete'],
      ['html', 502, 'did not complete'],
      ['connection_reset', 502, 'did not complete'],
      ['reset_after_read', 502, 'did not complete'],
      ['no_access_token', 502, 'did not complete'],
      ['missing_store_id', 502, 'did not complete'],
      ['wrong_store_id', 502, 'did not complete'],
    ])('answers %s with %i, stores nothing, and does not resend the code on reload', async (fault, status, text) => {
      const storeId = 3000 + Math.floor(Math.random() * 1000);
      const browser = new TestBrowser();
      const callbackUrl = await approvedCallback(browser, storeId);
      fake().tokenEndpointFault = fault;
      const page = await browser.get(callbackUrl);
      expect(page.status).toBe(status);
      expect(page.body).toContain(text);
      expect(page.body).toContain('Start the installation again');
      expect(await installationOf(storeId)).toBeUndefined();

      fake().tokenEndpointFault = undefined;
      const reload = await browser.get(callbackUrl);
      expect(reload.status).toBe(status);
      expect(fake().exchangesOf(codeOf(callbackUrl))).toHaveLength(1);
    });

    it('shows the link-expired page when Ecwid refuses the code', async () => {
      const browser = new TestBrowser();
      const callbackUrl = await approvedCallback(browser, 4001);
      // Spend the code directly at the fake, as if another party had exchanged it.
      const spent = await fetch(`${stack.config.ecwidOAuthUrl}/api/oauth/token/4001`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: 'e2e-app',
          client_secret: 'e2e-client-secret-value',
          code: codeOf(callbackUrl),
          redirect_uri: stack.config.redirectUri,
          grant_type: 'authorization_code',
        }),
      });
      expect(spent.status).toBe(200);
      const page = await browser.get(callbackUrl);
      expect(page.status).toBe(400);
      expect(page.body).toContain('expired');
    });
  });

  describe('after every flow above', () => {
    it('never shows a token, a code or the client secret in a log line', () => {
      const logged = logs.lines.join('\n');
      expect(logs.lines.length).toBeGreaterThan(10);
      for (const token of fake().issuedTokens()) expect(logged).not.toContain(token);
      expect(logged).not.toContain('e2e-client-secret-value');
      expect(logged).not.toMatch(/code=[A-Za-z0-9]{32}/);
    });
  });
});

describe('install flow with App Market installs turned off', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      clientId: 'e2e-app',
      clientSecret: 'e2e-client-secret-value',
      scopes: ['read_store_profile'],
      appMarketInstalls: false,
      log: capturingLogger().log,
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('refuses a callback without state and sends no token request', async () => {
    const redirect = stack.fakeEcwid!.appMarketRedirect(5001);
    const page = await new TestBrowser().get(redirect);
    expect(page.status).toBe(403);
    expect(page.body).toContain('Start the installation again');
    expect(stack.fakeEcwid!.exchanges).toHaveLength(0);
  });
});
