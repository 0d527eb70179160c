import type { Browser, BrowserContext, ConsoleMessage, Page, Response } from 'playwright-core';
import { fingerprint } from '../../functions/core/secure-values';
import { BROWSER_BINDING_COOKIE } from '../../functions/runtime/browser-binding';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { capturingLogger } from '../support/fakes';
import { storedTokens } from '../support/stored-tokens';
import { describeWithChromium, launchChromium } from './chromium';

/**
 * The install flow in a real browser: Debian's Chromium, driven with playwright-core, through the
 * local stack (the real handlers, dynalite, the fake Ecwid). What HTTP-level tests cannot show: what
 * a browser does with the `__Host-` binding cookie, its history (back, forward, reload), its tabs,
 * and the pages' Content-Security-Policy.
 */

const TEST_TIMEOUT_MS = 30_000;
const SETUP_TIMEOUT_MS = 60_000;
/** Below the test timeout, so a stuck step fails with Playwright's message rather than Jest's. */
const STEP_TIMEOUT_MS = 10_000;

const SUCCESS = 'Your store is connected';
const CANCELLED = 'Installation cancelled';
const CONSENT = 'Install app';
const OTHER_BROWSER = 'Please finish in the browser you started in';
const STATE_ALREADY_USED = 'This installation link was already used';

const isCallback = (url: URL) => url.pathname === '/callback';
const isConsentPage = (url: URL) => url.pathname === '/fake-ecwid/api/oauth/authorize';
const isConsentDecision = (url: URL) => url.pathname === '/fake-ecwid/api/oauth/authorize/decision';
const isCspViolation = (message: ConsoleMessage) => /content security policy/i.test(message.text());

describeWithChromium(process.env.CI === 'true')('the install flow in Chromium', () => {
  const logs = capturingLogger();
  let stack: LocalStack;
  let browser: Browser;
  let contexts: BrowserContext[] = [];
  let context: BrowserContext;
  let page: Page;
  /** Where this test's server log and the fake's issued tokens begin. */
  let mark = { logLines: 0, issuedTokens: 0 };

  beforeAll(async () => {
    browser = await launchChromium();
    stack = await startLocalStack({
      port: 0,
      clientId: 'browser-app',
      clientSecret: 'browser-client-secret',
      scopes: ['read_store_profile', 'read_catalog'],
      log: logs.log,
    });
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  beforeEach(async () => {
    context = await freshContext();
    page = await context.newPage();
    mark = { logLines: logs.lines.length, issuedTokens: fake().issuedTokens().length };
  });

  afterEach(async () => {
    await Promise.all(contexts.map((each) => each.close()));
    contexts = [];
  });

  const fake = () => stack.fakeEcwid!;

  /** A new browser profile: its own cookies, cache and history. */
  async function freshContext(): Promise<BrowserContext> {
    const created = await browser.newContext();
    created.setDefaultTimeout(STEP_TIMEOUT_MS);
    created.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    contexts.push(created);
    return created;
  }

  /** The local start page, then "Connect a store": ends on the fake Ecwid's consent page. */
  async function startInstall(tab: Page): Promise<void> {
    await tab.goto(`${stack.url}/`);
    await Promise.all([tab.waitForURL(isConsentPage), tab.getByRole('link', { name: 'Connect a store' }).click()]);
    await expectPage(tab, { heading: CONSENT });
  }

  /** Answers the consent page as a merchant does; returns the response of the callback page, once it has loaded. */
  async function decide(tab: Page, decision: 'approve' | 'deny', storeId: number): Promise<Response> {
    await tab.fill('#store_id', String(storeId));
    const [callback] = await Promise.all([
      tab.waitForResponse((response) => isCallback(new URL(response.url())) && response.request().isNavigationRequest()),
      tab.waitForURL(isCallback),
      tab.click(`#${decision}`),
    ]);
    return callback;
  }

  /** Approves, but keeps the browser from following Ecwid's redirect back; returns the callback URL. */
  async function approveWithoutFollowing(tab: Page, storeId: number): Promise<string> {
    await tab.fill('#store_id', String(storeId));
    // Route handlers never see the hops of a redirect, so the decision itself is intercepted: the fake
    // answers it (issuing a code) and the browser gets a 204, which leaves it on the consent page.
    let callbackUrl: string | undefined;
    await tab.route(isConsentDecision, async (route) => {
      callbackUrl = (await route.fetch({ maxRedirects: 0 })).headers().location;
      await route.fulfill({ status: 204 });
    });
    await Promise.all([tab.waitForResponse((response) => isConsentDecision(new URL(response.url()))), tab.click('#approve')]);
    await tab.unrouteAll({ behavior: 'wait' });
    if (callbackUrl === undefined) throw new Error('the fake Ecwid answered the decision without a redirect');
    return callbackUrl;
  }

  /**
   * Fails with what the browser shows instead (heading, status, path) and this test's server log. A
   * page restored from the back-forward cache has no response: pass `status` only with a response.
   */
  async function expectPage(tab: Page, expected: { heading: string; status?: number }, response?: Response | null): Promise<void> {
    const heading = (await tab.locator('h1').allTextContents()).join(' / ');
    const status = response?.status();
    if (heading === expected.heading && (expected.status === undefined || status === expected.status)) return;
    const log = logs.lines.slice(mark.logLines).slice(-15).join('\n  ');
    throw new Error(
      `expected the page "${expected.heading}"${expected.status === undefined ? '' : ` (${expected.status})`}, ` +
        `but the browser shows "${heading}" (${status ?? 'no response'}) at ${new URL(tab.url()).pathname}\n` +
        `server log of this test:\n  ${log || '(empty)'}`,
    );
  }

  function codeOf(tab: Page): string {
    const code = new URL(tab.url()).searchParams.get('code');
    if (code === null) throw new Error(`no code in the address of the page at ${new URL(tab.url()).pathname}`);
    return code;
  }

  /** The fake saw exactly one exchange of the code, and the store holds what it produced: a token that works. */
  async function expectInstalledBy(code: string, storeId: number): Promise<void> {
    expect(fake().exchangesOf(code)).toEqual([{ code, pathStoreId: storeId, outcome: 'issued' }]);
    const installation = await stack.store.getInstallation(storeId);
    expect(installation).toMatchObject({ storeId, status: 'active', grantCodeHash: fingerprint(code) });
    const { accessToken } = await storedTokens(stack.vault, installation!);
    expect({ storeId, storedTokenValid: fake().isTokenValid(accessToken) }).toEqual({ storeId, storedTokenValid: true });
  }

  /**
   * Every access token the fake issued during this test still works. Exchanging a code a second time
   * revokes the token of its first exchange, so this is where a double exchange would show.
   */
  function expectIssuedTokensStillValid(expectedCount: number): void {
    const issued = fake().issuedTokens().slice(mark.issuedTokens);
    expect(issued.map((token) => fake().isTokenValid(token))).toEqual(Array(expectedCount).fill(true));
  }

  async function bindingCookies(of: BrowserContext) {
    return (await of.cookies()).filter((cookie) => cookie.name === BROWSER_BINDING_COOKIE);
  }

  /** Collects the Content-Security-Policy violations Chromium reports on this page's console. */
  function watchCspViolations(tab: Page): string[] {
    const violations: string[] = [];
    tab.on('console', (message) => {
      if (isCspViolation(message)) violations.push(`${new URL(message.location().url).pathname}: ${message.text()}`);
    });
    return violations;
  }

  it(
    'installs a store: start page, consent page, Approve, success page; one exchange; a strict, uncached page',
    async () => {
      const cspViolations = watchCspViolations(page);
      await startInstall(page);
      // Chromium keeps a Secure `__Host-` cookie from http://localhost: it counts as a secure context.
      expect(await bindingCookies(context)).toEqual([
        expect.objectContaining({ domain: 'localhost', path: '/', secure: true, httpOnly: true, sameSite: 'Lax' }),
      ]);

      const callback = await decide(page, 'approve', 5101);

      await expectPage(page, { status: 200, heading: SUCCESS }, callback);
      expect(await page.locator('main').textContent()).toContain('store 5101');
      const headers = await callback.allHeaders();
      expect(headers['cache-control']).toBe('no-store');
      expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(cspViolations).toEqual([]);
      await expectInstalledBy(codeOf(page), 5101);
      expectIssuedTokensStillValid(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'reports a CSP violation on the console when a page breaks its policy (control for the check above)',
    async () => {
      const cancelled = await page.goto(`${stack.url}/callback?error=access_denied`);
      await expectPage(page, { status: 200, heading: CANCELLED }, cancelled);
      const policy = (await cancelled!.allHeaders())['content-security-policy'];
      const brokenPage = (await cancelled!.text()).replace('</main>', '<style>h1{color:red}</style></main>');
      await page.route(`${stack.url}/csp-control`, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', headers: { 'content-security-policy': policy! }, body: brokenPage }),
      );

      const [violation] = await Promise.all([
        page.waitForEvent('console', { predicate: isCspViolation }),
        page.goto(`${stack.url}/csp-control`),
      ]);

      expect(violation.text()).toContain('style-src');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'shows the cancellation page after Deny, stores nothing, and its link leads back to the consent page',
    async () => {
      await startInstall(page);
      const deniedState = new URL(page.url()).searchParams.get('state');

      const callback = await decide(page, 'deny', 5201);

      await expectPage(page, { status: 200, heading: CANCELLED }, callback);
      await Promise.all([
        page.waitForURL(isConsentPage),
        page.getByRole('link', { name: 'Start the installation again' }).click(),
      ]);
      await expectPage(page, { heading: CONSENT });
      expect(new URL(page.url()).searchParams.get('state')).not.toBe(deniedState);
      expect(await stack.store.getInstallation(5201)).toBeUndefined();
      expectIssuedTokensStillValid(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'shows the success page again when the callback page is reloaded, without a second exchange',
    async () => {
      await startInstall(page);
      await decide(page, 'approve', 5301);
      const code = codeOf(page);
      const installed = await stack.store.getInstallation(5301);

      const reloaded = await page.reload();

      await expectPage(page, { status: 200, heading: SUCCESS }, reloaded);
      await expectInstalledBy(code, 5301);
      expect((await stack.store.getInstallation(5301))?.version).toBe(installed?.version);
      expectIssuedTokensStillValid(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'never exchanges a code twice when the merchant goes back to the consent page after installing',
    async () => {
      await startInstall(page);
      await decide(page, 'approve', 5401);
      const firstCode = codeOf(page);
      const installed = await stack.store.getInstallation(5401);

      // Back lands on the consent page: the POST of the decision was redirected, so it has no history
      // entry. Whether the browser shows it from a cache or asks again is its business.
      await page.goBack();
      expect(isConsentPage(new URL(page.url()))).toBe(true);
      await expectPage(page, { heading: CONSENT });

      // Forward returns to the callback address with the first code: the outcome is shown again.
      await page.goForward();
      expect(codeOf(page)).toBe(firstCode);
      await expectPage(page, { heading: SUCCESS });

      // Back and Approve again: the fake issues a new code for the same, already spent state; the app
      // refuses it without asking Ecwid.
      await page.goBack();
      const resubmitted = await decide(page, 'approve', 5401);
      await expectPage(page, { status: 400, heading: STATE_ALREADY_USED }, resubmitted);
      expect(fake().exchangesOf(codeOf(page))).toEqual([]);

      await expectInstalledBy(firstCode, 5401);
      expect((await stack.store.getInstallation(5401))?.version).toBe(installed?.version);
      expectIssuedTokensStillValid(1);

      // Starting over from the start page installs again, with a new code exchanged once.
      await startInstall(page);
      const again = await decide(page, 'approve', 5401);
      await expectPage(page, { status: 200, heading: SUCCESS }, again);
      await expectInstalledBy(codeOf(page), 5401);
      expect(fake().exchangesOf(firstCode)).toHaveLength(1);
      expectIssuedTokensStillValid(2);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'completes two installs started in two tabs of one browser, approved in the opposite order',
    async () => {
      const tabA = page;
      const tabB = await context.newPage();
      await startInstall(tabA);
      const [binding] = await bindingCookies(context);
      await startInstall(tabB);
      // The second start reuses the browser's binding cookie instead of replacing it: both states stay bound to it.
      expect(await bindingCookies(context)).toEqual([expect.objectContaining({ value: binding!.value })]);

      const callbackB = await decide(tabB, 'approve', 5502);
      await expectPage(tabB, { status: 200, heading: SUCCESS }, callbackB);
      const callbackA = await decide(tabA, 'approve', 5501);
      await expectPage(tabA, { status: 200, heading: SUCCESS }, callbackA);

      await expectInstalledBy(codeOf(tabA), 5501);
      await expectInstalledBy(codeOf(tabB), 5502);
      expectIssuedTokensStillValid(2);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses the callback when the browser lost its cookie before approving, without exchanging the code',
    async () => {
      await startInstall(page);
      await context.clearCookies();

      const callback = await decide(page, 'approve', 5601);

      await expectPage(page, { status: 403, heading: OTHER_BROWSER }, callback);
      expect(fake().exchangesOf(codeOf(page))).toEqual([]);
      expect(await stack.store.getInstallation(5601)).toBeUndefined();

      // The page's way out works: a new start sets a new cookie.
      await Promise.all([
        page.waitForURL(isConsentPage),
        page.getByRole('link', { name: 'Start the installation again' }).click(),
      ]);
      const retried = await decide(page, 'approve', 5601);
      await expectPage(page, { status: 200, heading: SUCCESS }, retried);
      await expectInstalledBy(codeOf(page), 5601);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses the callback opened in another browser profile, and the browser that started can still finish',
    async () => {
      await startInstall(page);
      const callbackUrl = await approveWithoutFollowing(page, 5602);
      const code = new URL(callbackUrl).searchParams.get('code')!;
      const stranger = await (await freshContext()).newPage();

      const refused = await stranger.goto(callbackUrl);

      await expectPage(stranger, { status: 403, heading: OTHER_BROWSER }, refused);
      expect(fake().exchangesOf(code)).toEqual([]);
      expect(await stack.store.getInstallation(5602)).toBeUndefined();

      const finished = await page.goto(callbackUrl);
      await expectPage(page, { status: 200, heading: SUCCESS }, finished);
      await expectInstalledBy(code, 5602);
      expectIssuedTokensStillValid(1);
    },
    TEST_TIMEOUT_MS,
  );
});
