import { createAuthorizeHandler } from '../../functions/authorize/handler';
import { createCallbackHandler } from '../../functions/callback/handler';
import { EcwidRequestError, type EcwidRequestErrorCode } from '../../functions/core/errors';
import { presentError } from '../../functions/runtime/error-pages';
import { grantFor } from '../support/fakes';
import { getEvent, handlerHarness, lambdaContext, type Result } from '../support/handler-harness';

async function harnessWithInstallStarted(environment: Record<string, string> = {}) {
  const harness = handlerHarness(environment);
  const authorize = createAuthorizeHandler(() => harness.authorizeDeps, harness.logs.log);
  const callback = createCallbackHandler(() => harness.callbackDeps, harness.logs.log);
  const started = (await authorize(getEvent('/authorize'), lambdaContext)) as Result;
  const state = new URL(started.headers.location!).searchParams.get('state')!;
  const cookie = started.cookies![0]!.split(';')[0]!;
  const call = async (query: string, options: { withCookie?: boolean } = {}) =>
    (await callback(getEvent('/callback', query, options.withCookie === false ? undefined : [cookie]), lambdaContext)) as Result;
  return { ...harness, state, cookie, call };
}

describe('GET /callback', () => {
  it('shows the built-in success page, uncached and without a referrer', async () => {
    const { call, state, tokenEndpoint } = await harnessWithInstallStarted();
    tokenEndpoint.answer(grantFor(1003));
    const result = await call(`code=abc&store_id=1003&state=${state}`);
    expect(result.statusCode).toBe(200);
    expect(result.body).toContain('Your store is connected');
    expect(result.body).toContain('store 1003');
    expect(result.headers).toMatchObject({
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    });
    expect(result.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(result.headers['content-security-policy']).not.toContain('script-src');
  });

  it('redirects with 303 to the configured success URL, adding the store id and a receipt bound to this browser', async () => {
    const { call, state, signer, clock } = await harnessWithInstallStarted({ SUCCESS_URL: 'https://app.example.com/welcome?from=ecwid' });
    const result = await call(`code=abc&store_id=1003&state=${state}`);
    expect(result.statusCode).toBe(303);
    const location = new URL(result.headers.location!);
    expect(`${location.origin}${location.pathname}`).toBe('https://app.example.com/welcome');
    expect([...location.searchParams.keys()]).toEqual(['from', 'store_id', 'receipt']);
    expect(location.searchParams.get('store_id')).toBe('1003');
    expect(result.headers['referrer-policy']).toBe('no-referrer');
    const { payload, protectedHeader } = await signer.verify(location.searchParams.get('receipt')!, {
      issuer: 'https://auth.example.com',
      audience: 'app-client-id',
      typ: 'install-receipt',
      at: new Date(clock.nowEpochMs()),
    });
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'install-receipt', kid: signer.keyId });
    expect(payload).toEqual({
      iss: 'https://auth.example.com',
      aud: 'app-client-id',
      sub: '1003',
      store_id: 1003,
      lane: 'app_initiated',
      browser_bound: true,
      iat: expect.any(Number),
      exp: (payload.iat as number) + 300,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    });
    expect(signer.signed).toHaveLength(1);
  });

  it('shows the same success to a reload by the same browser, with a receipt of its own, without a second exchange', async () => {
    const { call, state, tokenEndpoint, signer, clock } = await harnessWithInstallStarted({ SUCCESS_URL: 'https://app.example.com/welcome' });
    const first = new URL((await call(`code=abc&store_id=1003&state=${state}`)).headers.location!);
    const second = new URL((await call(`code=abc&store_id=1003&state=${state}`)).headers.location!);
    expect(second.searchParams.get('store_id')).toBe(first.searchParams.get('store_id'));
    const options = { issuer: 'https://auth.example.com', audience: 'app-client-id', typ: 'install-receipt', at: new Date(clock.nowEpochMs()) };
    const [one, two] = await Promise.all([signer.verify(first.searchParams.get('receipt')!, options), signer.verify(second.searchParams.get('receipt')!, options)]);
    expect(two.payload).toMatchObject({ store_id: 1003, browser_bound: true });
    expect(two.payload.jti).not.toBe(one.payload.jti);
    expect(tokenEndpoint.requests).toHaveLength(1);
  });

  it('gives a receipt that is not browser-bound to another browser reloading the callback URL, and to the App Market lane', async () => {
    const { call, state, signer, tokenEndpoint, clock } = await harnessWithInstallStarted({ SUCCESS_URL: 'https://app.example.com/welcome' });
    await call(`code=abc&store_id=1003&state=${state}`);
    // The victim's browser: the callback URL an attacker sent, without the attacker's cookie.
    const elsewhere = new URL((await call(`code=abc&store_id=1003&state=${state}`, { withCookie: false })).headers.location!);
    const options = { issuer: 'https://auth.example.com', audience: 'app-client-id', typ: 'install-receipt', at: new Date(clock.nowEpochMs()) };
    await expect(signer.verify(elsewhere.searchParams.get('receipt')!, options)).resolves.toMatchObject({
      payload: { store_id: 1003, lane: 'app_initiated', browser_bound: false },
    });
    tokenEndpoint.answer(grantFor(1004));
    const market = new URL((await call('code=market-code&store_id=1004')).headers.location!);
    await expect(signer.verify(market.searchParams.get('receipt')!, options)).resolves.toMatchObject({
      payload: { store_id: 1004, lane: 'app_market', browser_bound: false },
    });
  });

  it('shows a friendly cancellation page with a way to start again when consent is denied', async () => {
    const { call, state, tokenEndpoint } = await harnessWithInstallStarted();
    const result = await call(`error=access_denied&state=${state}`);
    expect(result.statusCode).toBe(200);
    expect(result.body).toContain('Installation cancelled');
    expect(result.body).toContain('href="https://auth.example.com/authorize"');
    expect(tokenEndpoint.requests).toHaveLength(0);
  });

  it.each<[string, (state: string) => string, number, string]>([
    ['a forged state', () => `code=abc&store_id=1&state=${'Z'.repeat(43)}`, 400, 'not valid'],
    ['a malformed query', () => 'store_id=abc', 400, 'incomplete'],
    ['an Ecwid error', () => 'error=invalid_scope', 400, 'could not start'],
  ])('answers %s with a readable %i page and a link to start again', async (_description, query, status, text) => {
    const { call, state } = await harnessWithInstallStarted();
    const result = await call(query(state));
    expect(result.statusCode).toBe(status);
    expect(result.body).toContain(text);
    expect(result.body).toContain('Start the installation again');
    expect(result.headers['cache-control']).toBe('no-store');
  });

  it('refuses a state without its cookie with 403', async () => {
    const { call, state, tokenEndpoint } = await harnessWithInstallStarted();
    const result = await call(`code=abc&store_id=1&state=${state}`, { withCookie: false });
    expect(result.statusCode).toBe(403);
    expect(result.body).toContain('same browser');
    expect(tokenEndpoint.requests).toHaveLength(0);
  });

  it.each<[EcwidRequestErrorCode, number]>([
    ['CODE_REJECTED', 400],
    ['ECWID_UNAVAILABLE', 502],
    ['ECWID_INVALID_RESPONSE', 502],
    ['ECWID_TIMEOUT', 504],
    ['CLIENT_REJECTED', 502],
  ])('turns a %s exchange into a %i page and one log line, never the code or the secret', async (code, status) => {
    const { call, state, tokenEndpoint, logs } = await harnessWithInstallStarted();
    tokenEndpoint.answer(new EcwidRequestError(code, 'exchange failed', { detail: { ecwidStatus: 500 } }));
    const result = await call(`code=the-secret-code&store_id=1003&state=${state}`);
    expect(result.statusCode).toBe(status);
    expect(presentError(code).status).toBe(status);
    const failures = logs.entries().filter((entry) => entry.errorCode === code);
    expect(failures).toHaveLength(1);
    const everything = `${logs.lines.join('\n')}${result.body}${JSON.stringify(result.headers)}`;
    expect(everything).not.toContain('the-secret-code');
    expect(everything).not.toContain('client-secret-value');
  });

  it('turns an unforeseen exception into a 500 page with a reference, logging the stack but not showing it', async () => {
    const { call, state, tokenEndpoint, logs } = await harnessWithInstallStarted();
    tokenEndpoint.answer(async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'x')");
    });
    const result = await call(`code=abc&store_id=1003&state=${state}`);
    expect(result.statusCode).toBe(500);
    expect(result.body).toContain('Something went wrong');
    expect(result.body).toContain('Reference: request-id-1');
    expect(result.body).not.toContain('TypeError');
    expect(result.body).not.toMatch(/\.ts:\d+/);
    const logged = logs.entries().find((entry) => entry.errorCode === 'INTERNAL')!;
    expect(logged).toMatchObject({ level: 'ERROR', status: 500 });
    expect(String(logged.stack)).toContain('TypeError');
  });

  it('counts a code Ecwid refused in a CodesRejected metric, once: a reload replaying the refusal is not counted', async () => {
    const { call, state, tokenEndpoint, logs } = await harnessWithInstallStarted();
    tokenEndpoint.answer(new EcwidRequestError('CODE_REJECTED', 'invalid_grant'));
    expect((await call(`code=junk&store_id=1003&state=${state}`)).statusCode).toBe(400);
    expect((await call(`code=junk&store_id=1003&state=${state}`)).statusCode).toBe(400);
    const counted = logs.entries().filter((entry) => entry.CodesRejected === 1);
    expect(counted).toHaveLength(1);
    expect(counted[0]).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'EcwidAppAuth', Metrics: [{ Name: 'CodesRejected', Unit: 'Count' }] }] },
    });
    expect(tokenEndpoint.requests).toHaveLength(1);
  });

  it('keeps a Bearer credential out of the log when an unforeseen error quotes one, whatever its shape', async () => {
    const { call, state, tokenEndpoint, logs } = await harnessWithInstallStarted();
    // Not Ecwid's token shape: only the Bearer rule of the redaction can catch it.
    const opaque = 'eyJhbGciOiJIUzI1NiJ9.c2Vzc2lvbg.x7Kq2';
    tokenEndpoint.answer(async () => {
      throw new Error(`upstream refused: Authorization: Bearer ${opaque}`);
    });
    const result = await call(`code=abc&store_id=1003&state=${state}`);
    expect(result.statusCode).toBe(500);
    expect(logs.lines.some((line) => line.includes('upstream refused'))).toBe(true);
    expect(logs.lines.join('\n')).not.toContain(opaque);
    expect(result.body).not.toContain(opaque);
  });

  it('refuses App Market installs with 403 when the lane is turned off', async () => {
    const { call, tokenEndpoint } = await harnessWithInstallStarted({ APP_MARKET_INSTALLS: 'false' });
    const result = await call('code=abc&store_id=5');
    expect(result.statusCode).toBe(403);
    expect(tokenEndpoint.requests).toHaveLength(0);
  });

  it('ignores unknown parameters such as iss', async () => {
    const { call, state } = await harnessWithInstallStarted();
    const result = await call(`code=abc&store_id=1003&state=${state}&iss=https%3A%2F%2Fmy.ecwid.com`);
    expect(result.statusCode).toBe(200);
  });
});
