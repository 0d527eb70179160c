import { createHash } from 'node:crypto';
import { APP_UI_SESSION_PATH, LOCAL_APP_UI_PATH } from '../../local/app-ui';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { capturingLogger } from '../support/fakes';

/**
 * The demo app UI over HTTP: `/app` sends the merchant there with a session in the fragment, and
 * its page has the session verified by the stack, as an app's backend would verify it.
 */
describe('the local demo app UI', () => {
  const logs = capturingLogger();
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      clientId: 'app-ui-test-app',
      clientSecret: 'app-ui-test-client-secret',
      scopes: ['read_store_profile', 'read_catalog'],
      log: logs.log,
    });
  });
  afterAll(async () => stack?.close());

  /** An App Market install granting the profile scope only, then `/app` opened as the control panel opens it. */
  async function sessionFor(storeId: number): Promise<{ session: string; location: URL; payload: string }> {
    const install = await fetch(`${stack.url}/fake-ecwid/app-market/install?store_id=${storeId}&scope=read_store_profile`);
    expect(install.status).toBe(200);
    const payload = stack.fakeEcwid!.controlPanelPayload(storeId)!;
    const app = await fetch(`${stack.url}/app?${new URLSearchParams({ payload, app_state: 'orderId: 12', 'cache-killer': 'abc' })}`, { redirect: 'manual' });
    expect(app.status).toBe(303);
    const location = new URL(app.headers.get('location')!);
    return { session: new URLSearchParams(location.hash.slice(1)).get('session')!, location, payload };
  }

  const verify = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.url}${APP_UI_SESSION_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('is where /app sends the merchant, with the session and the app_state in the fragment', async () => {
    const { location } = await sessionFor(8101);
    expect(`${location.origin}${location.pathname}${location.search}`).toBe(`${stack.url}${LOCAL_APP_UI_PATH}`);
    expect(new URLSearchParams(location.hash.slice(1)).get('app_state')).toBe('orderId: 12');
  });

  it('verifies a session /app issued against the stack\'s JWKS, and tells what it says', async () => {
    const { session, payload } = await sessionFor(8102);
    const answer = await verify({ session });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({
      verified: true,
      session: {
        storeId: 8102,
        scope: 'read_store_profile',
        missingScopes: ['read_catalog'],
        lang: 'en',
        viewMode: 'PAGE',
        expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        sessionId: expect.any(String),
      },
    });
    const log = logs.lines.join('\n');
    expect(log).toContain('session issued');
    expect([log.includes(session), log.includes(payload)]).toEqual([false, false]);
  });

  it('refuses an altered session, a missing one and a body that is not JSON, with the reason', async () => {
    const { session } = await sessionFor(8103);
    const [header, claims, signature] = session.split('.');
    const altered = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(claims!, 'base64url').toString()), store_id: 1 })).toString('base64url')}.${signature}`;

    const answers = await Promise.all([verify({ session: altered }), verify({}), verify('not an object'), fetch(`${stack.url}${APP_UI_SESSION_PATH}`, { method: 'POST', body: '{' })]);

    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 400]);
    expect(await Promise.all(answers.map((answer) => answer.json()))).toEqual([
      { verified: false, reason: 'signature' },
      { verified: false, reason: 'malformed' },
      { verified: false, reason: 'malformed' },
      { verified: false, reason: 'malformed' },
    ]);
  });

  it('serves a page whose one script is allowed by its hash, talking to its own origin only, framed by its own origin only', async () => {
    const page = await fetch(`${stack.url}${LOCAL_APP_UI_PATH}`, { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': 'iframe' } });
    const html = await page.text();
    const policy = page.headers.get('content-security-policy')!;
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]!);
    expect(page.status).toBe(200);
    expect(scripts).toHaveLength(1);
    expect(policy).toContain(`script-src 'sha256-${createHash('sha256').update(scripts[0]!).digest('base64')}'`);
    expect(policy.split('; ')).toEqual(expect.arrayContaining(["default-src 'none'", "connect-src 'self'", "frame-ancestors 'self'"]));
    expect(scripts[0]).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it('answers its own page\'s request and refuses one another site makes the browser send', async () => {
    const { session } = await sessionFor(8104);
    expect((await verify({ session }, { 'sec-fetch-site': 'same-origin', origin: stack.url })).status).toBe(200);
    expect((await verify({ session }, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' })).status).toBe(403);
  });
});
