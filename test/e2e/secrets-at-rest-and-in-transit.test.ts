import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_TABLE_NAME, startLocalStack, type LocalStack } from '../../local/stack';
import { decideOnConsentPage, TestBrowser, type Page } from '../support/browser';
import { localClient } from '../support/dynamodb-servers';
import { capturingLogger } from '../support/fakes';

/**
 * What the most trusted install backends promise, shown: a copy of the table reveals no token, and no
 * log line, page, header or URL this app produces ever carries a token, a code or the client secret,
 * whatever flow runs (install, reload, deny, failures, refresh, verification).
 */
describe('secrets at rest and in transit', () => {
  const CLIENT_SECRET = 'leak-test-client-secret-9f8e7d6c';
  const logs = capturingLogger();
  const answers: Array<{ url: string; page: Page }> = [];
  const codes: string[] = [];
  let stack: LocalStack;
  let nextStoreId = 9100;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      clientId: 'leak-test-app',
      clientSecret: CLIENT_SECRET,
      scopes: ['read_store_profile', 'public_storefront'],
      tokenRequestTimeoutMs: 1_000,
      log: logs.log,
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** A browser whose every answer from this app (not from the fake Ecwid) is kept for inspection. */
  function browser(): TestBrowser {
    return new TestBrowser((url, page) => {
      if (!new URL(url).pathname.startsWith('/fake-ecwid')) answers.push({ url, page });
    });
  }

  /** Every secret value the run has produced so far: tokens the fake issued, public tokens, codes, the client secret. */
  async function allSecrets(): Promise<string[]> {
    const fake = stack.fakeEcwid!;
    // The fake does not list public tokens: open them from what was stored.
    const publicTokens: string[] = [];
    for (const installation of await stack.store.listInstallations()) {
      if (installation.publicToken === undefined) continue;
      publicTokens.push((await stack.vault.sealerOf(installation)).open(installation.publicToken, 'public_token'));
    }
    expect(publicTokens.length).toBeGreaterThan(0);
    expect(publicTokens.every((token) => token.startsWith('public_'))).toBe(true);
    return [...fake.issuedTokens(), ...fake.issuedRefreshTokens(), ...publicTokens, ...codes, CLIENT_SECRET];
  }

  async function install(options: { storeId?: number; reload?: boolean } = {}): Promise<number> {
    const storeId = options.storeId ?? (nextStoreId += 1);
    const merchant = browser();
    const authorize = await merchant.get(`${stack.url}/authorize`);
    const callbackUrl = await decideOnConsentPage(merchant, authorize.location!, 'approve', storeId);
    codes.push(new URL(callbackUrl).searchParams.get('code')!);
    expect((await merchant.get(callbackUrl)).status).toBe(200);
    if (options.reload === true) expect((await merchant.get(callbackUrl)).status).toBe(200);
    return storeId;
  }

  it('stores no token in the clear: a raw scan of the table finds none', async () => {
    const fake = stack.fakeEcwid!;
    fake.tokenLifetimeSeconds = 3600;
    await install();
    await install({ reload: true });
    const expiring = await install();
    await stack.runRefresh(Date.now() + 50 * 60 * 1000);
    fake.tokenLifetimeSeconds = undefined;

    const client = localClient(stack.dynamoDb.endpoint);
    const raw = JSON.stringify((await client.send(new ScanCommand({ TableName: LOCAL_TABLE_NAME }))).Items);
    client.destroy();
    const secrets = await allSecrets();
    expect(fake.refreshesOf(expiring).map((refresh) => refresh.outcome)).toEqual(['issued']);
    expect(secrets.length).toBeGreaterThan(8);
    for (const secret of secrets) expect(raw).not.toContain(secret);
    expect(raw).not.toMatch(/secret_[A-Za-z0-9]{32}|public_[A-Za-z0-9]{32}|refresh_[A-Za-z0-9]{32}/);
    // The owner's email, which Ecwid sends with every token, is personal data the app does not keep.
    expect(raw).not.toMatch(/@example\.com/);
    expect(raw).not.toContain('ownerEmail');
  });

  it('keeps every secret out of logs, pages, headers and URLs across every flow', async () => {
    const fake = stack.fakeEcwid!;
    // Installs, reloads and a double click.
    await install({ reload: true });
    const storeId = await install();
    // Deny.
    const denier = browser();
    const started = await denier.get(`${stack.url}/authorize`);
    expect((await denier.get(await decideOnConsentPage(denier, started.location!, 'deny', 9001))).status).toBe(200);
    // Forged state, cross-browser, App Market lane, and every token-endpoint fault.
    const forged = fake.issueCode({ storeId: 9002 });
    codes.push(forged);
    await browser().get(`${stack.url}/callback?code=${forged}&store_id=9002&state=${'F'.repeat(43)}`);
    const market = fake.appMarketRedirect(9003);
    codes.push(new URL(market).searchParams.get('code')!);
    expect((await browser().get(market)).status).toBe(200);
    for (const fault of ['timeout', 'server_error', 'html', 'connection_reset', 'wrong_store_id'] as const) {
      fake.tokenEndpointFault = fault;
      const redirect = fake.appMarketRedirect((nextStoreId += 1));
      codes.push(new URL(redirect).searchParams.get('code')!);
      expect((await browser().get(redirect)).status).toBeGreaterThanOrEqual(500);
      fake.tokenEndpointFault = undefined;
      fake.releaseHeldRequests();
    }
    // Verification (the health check of a token), a revoked token, and the local inspection routes.
    fake.uninstalledStores.add(storeId);
    const refresh = await fetch(`${stack.url}/__local/refresh?at=${new Date(Date.now() + 27 * 3600 * 1000).toISOString()}`, { method: 'POST' });
    answers.push({ url: refresh.url, page: { status: refresh.status, headers: refresh.headers, body: await refresh.text(), location: undefined } });
    await browser().get(`${stack.url}/__local/installations`);
    await browser().get(`${stack.url}/`);

    const secrets = await allSecrets();
    const seen = [
      ...logs.lines,
      ...answers.map(({ page }) => `${page.status} ${JSON.stringify([...page.headers])} ${page.location ?? ''} ${page.body}`),
    ].join('\n');
    expect(logs.lines.length).toBeGreaterThan(10);
    expect(answers.length).toBeGreaterThan(20);
    for (const secret of secrets) expect(seen).not.toContain(secret);
  });
});
