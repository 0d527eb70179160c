import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, ConsoleMessage, Frame, Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { capturingLogger } from '../support/fakes';
import { describeWithChromium, launchChromium } from './chromium';

/**
 * The app opened the way Ecwid's control panel opens it, in Debian's Chromium: the fake control
 * panel frames `/app` with an encrypted payload, `/app` sends a session to the app's UI (the local
 * demo, or the built-in page), and the pages' `frame-ancestors` keep any other origin from showing them.
 */

const TEST_TIMEOUT_MS = 30_000;
const SETUP_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 10_000;

const SCOPES = ['read_store_profile', 'read_catalog'];
const isCspViolation = (message: ConsoleMessage) => /content security policy/i.test(message.text());

describeWithChromium(process.env.CI === 'true')('the app inside the control panel, in Chromium', () => {
  const logs = capturingLogger();
  let stack: LocalStack;
  /** The same stack without APP_UI_URL: `/app` shows its built-in page. */
  let builtInStack: LocalStack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** A page of another origin (another port) that frames whatever `foreignFrameUrl` says. */
  let foreign: Server;
  let foreignUrl: string;
  let foreignFrameUrl = 'about:blank';

  beforeAll(async () => {
    browser = await launchChromium();
    const options = { port: 0, clientId: 'control-panel-app', clientSecret: 'control-panel-client-secret', scopes: SCOPES, log: logs.log };
    stack = await startLocalStack(options);
    builtInStack = await startLocalStack({ ...options, appUiUrl: false });
    foreign = createServer((_request, response) => {
      const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another site</title></head><body><iframe title="Framed" src="${foreignFrameUrl}"></iframe></body></html>`;
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    });
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    foreignUrl = `http://localhost:${(foreign.address() as AddressInfo).port}/`;
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await builtInStack?.close();
    foreign?.closeAllConnections();
    await new Promise((resolve) => foreign?.close(resolve));
  });

  beforeEach(async () => {
    context = await browser.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    page = await context.newPage();
  });

  afterEach(async () => context.close());

  /** An App Market install that grants the profile scope only: the app's other scope is missing. */
  async function installFromAppMarket(into: LocalStack, storeId: number): Promise<void> {
    await page.goto(`${into.url}/fake-ecwid/app-market/install?store_id=${storeId}&scope=read_store_profile`);
    expect(await page.locator('h1').textContent()).toBe('Your store is connected');
  }

  /** The one frame of the page, once its document has loaded (Chromium's error page for a blocked frame). */
  async function onlyFrame(): Promise<Frame> {
    const frames = page.frames().filter((frame) => frame !== page.mainFrame());
    expect(frames).toHaveLength(1);
    await frames[0]!.waitForLoadState();
    return frames[0]!;
  }

  /** The demo app UI inside the control panel, once it has verified (or refused) the session. */
  async function settledAppUi(): Promise<{ frame: Frame; state: string | null; text: (id: string) => Promise<string | null> }> {
    const app = page.frameLocator('iframe[title="App"]');
    await app.locator('html:not([data-state="pending"])').waitFor();
    const frame = await onlyFrame();
    return { frame, state: await frame.locator('html').getAttribute('data-state'), text: (id) => frame.locator(`#${id}`).textContent() };
  }

  const kmsCalls = (of: LocalStack) => ({ ...of.kms.calls });

  /** Loads the page of another origin framing `url`; answers the CSP violation Chromium reported and the frame's address. */
  async function frameFromAnotherOrigin(url: string): Promise<{ violation: string; frameUrl: string }> {
    foreignFrameUrl = url;
    const [violation] = await Promise.all([page.waitForEvent('console', { predicate: isCspViolation }), page.goto(foreignUrl)]);
    return { violation: violation.text(), frameUrl: (await onlyFrame()).url() };
  }

  it(
    'opens the app from the start page: the control panel frames /app, whose session the demo UI verifies and shows',
    async () => {
      await installFromAppMarket(stack, 6101);
      const violations: string[] = [];
      page.on('console', (message) => {
        if (isCspViolation(message)) violations.push(message.text());
      });
      await page.goto(`${stack.url}/`);
      const before = kmsCalls(stack);

      await Promise.all([
        page.waitForURL((url) => url.pathname === '/fake-ecwid/control-panel'),
        page.getByRole('row', { name: /^6101 / }).getByRole('link', { name: 'Open the app' }).click(),
      ]);
      const { frame, state, text } = await settledAppUi();

      expect(await page.title()).toBe('Store 6101 · Ecwid Control Panel (fake)');
      expect({ state, status: await text('status') }).toEqual({ state: 'verified', status: 'Verified session' });
      expect([await text('store-id'), await text('scope'), await text('missing-scopes'), await text('view-mode')]).toEqual([
        '6101',
        'read_store_profile',
        'read_catalog',
        'PAGE',
      ]);
      // The session left the frame's address as soon as the page read it.
      expect(frame.url()).toBe(`${stack.url}/__local/app-ui`);
      const after = kmsCalls(stack);
      expect({ Sign: after.Sign - before.Sign, Decrypt: after.Decrypt - before.Decrypt, GenerateDataKey: after.GenerateDataKey - before.GenerateDataKey }).toEqual({
        Sign: 1,
        Decrypt: 0,
        GenerateDataKey: 0,
      });
      expect(violations).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'shows the app_state as text, never as markup',
    async () => {
      await installFromAppMarket(stack, 6102);
      const appState = '<img src=x id=injected>';

      await page.goto(`${stack.url}/fake-ecwid/control-panel?store_id=6102&${new URLSearchParams({ app_state: appState })}`);
      const { frame, state, text } = await settledAppUi();

      expect(state).toBe('verified');
      expect(await text('app-state')).toBe(appState);
      expect(await frame.locator('#injected').count()).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'shows the refusal of a session that does not verify, and of none at all',
    async () => {
      await page.goto(`${stack.url}/__local/app-ui#session=eyJhbGciOiJFUzI1NiJ9.e30.c2ln`);
      await page.locator('html[data-state="refused"]').waitFor();
      expect(await page.locator('#status').textContent()).toMatch(/^Session refused: /);
      expect(await page.locator('#store-id').textContent()).toBe('');

      await page.goto(`${stack.url}/__local/app-ui`);
      await page.locator('html[data-state="refused"]').waitFor();
      expect(await page.locator('#status').textContent()).toContain('No session in the address');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'shows a store without the app that it is not installed there, framing nothing',
    async () => {
      const answer = await page.goto(`${stack.url}/fake-ecwid/control-panel?store_id=6199`);
      expect(answer?.status()).toBe(404);
      expect(await page.locator('h1').textContent()).toBe('The app is not installed in store 6199');
      expect(page.frames()).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'keeps a page of another origin from showing the app: the demo UI it is sent to may be framed by its own origin only',
    async () => {
      await installFromAppMarket(stack, 6103);
      const payload = stack.fakeEcwid!.controlPanelPayload(6103)!;

      const { violation, frameUrl } = await frameFromAnotherOrigin(`${stack.url}/app?${new URLSearchParams({ payload })}`);

      expect(violation).toContain("frame-ancestors 'self'");
      expect(frameUrl).toBe('chrome-error://chromewebdata/');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'with appUiUrl false, shows /app\'s built-in page inside the control panel, and no other origin may frame it',
    async () => {
      await installFromAppMarket(builtInStack, 6201);

      await page.goto(`${builtInStack.url}/fake-ecwid/control-panel?store_id=6201`);
      const app = page.frameLocator('iframe[title="App"]');
      await app.locator('h1').waitFor();

      expect(await app.locator('h1').textContent()).toBe('Store 6201');
      expect(await app.locator('main').textContent()).toContain('Missing permissions: read_catalog.');
      expect(new URL((await onlyFrame()).url()).pathname).toBe('/app');

      const payload = builtInStack.fakeEcwid!.controlPanelPayload(6201)!;
      const { violation, frameUrl } = await frameFromAnotherOrigin(`${builtInStack.url}/app?${new URLSearchParams({ payload })}`);
      expect(violation).toContain(`frame-ancestors ${builtInStack.url}`);
      expect(frameUrl).toBe('chrome-error://chromewebdata/');
    },
    TEST_TIMEOUT_MS,
  );
});
