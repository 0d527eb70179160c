import { composeApp, readAppConfig, type AppDependencies } from '../../functions/app/dependencies';
import { createAppHandler } from '../../functions/app/handler';
import { createCallbackHandler } from '../../functions/callback/handler';
import type { TokenVerification } from '../../functions/core/model';
import { composeJwks, readJwksConfig } from '../../functions/jwks/dependencies';
import { createJwksHandler } from '../../functions/jwks/handler';
import { sealPayload } from '../support/control-panel-payload';
import { capturingLogger, FixedClientSecret, ManualClock, RecordingPublisher, SeededRandom } from '../support/fakes';
import { getEvent, handlerHarness, lambdaContext, TEST_ENVIRONMENT, type Result } from '../support/handler-harness';
import { LocalTokenSigner } from '../support/local-token-signer';
import { MemoryStore } from '../support/memory-store';
import { MemoryTokenVault } from '../support/memory-token-vault';

const SECRET = 'client-secret-value';

function setup(environment: Record<string, string> = {}) {
  const clock = new ManualClock();
  const random = new SeededRandom();
  const store = new MemoryStore();
  const signer = new LocalTokenSigner();
  const logs = capturingLogger();
  let verification: TokenVerification = { outcome: 'valid' };
  const composed = composeApp(readAppConfig({ ...TEST_ENVIRONMENT, ...environment }), { clock, random });
  const deps: AppDependencies = {
    ...composed,
    clientSecrets: new FixedClientSecret(SECRET),
    installations: store,
    vault: new MemoryTokenVault(),
    verifier: { verifyToken: async () => verification },
    sessions: { ...composed.sessions, signer },
    publisher: new RecordingPublisher(),
    log: logs.log,
  };
  const handler = createAppHandler(() => deps, logs.log);
  const open = async (query: string) => (await handler(getEvent('/app', query), lambdaContext)) as Result;
  const payload = (storeId: number, secret = SECRET) =>
    sealPayload({ store_id: storeId, lang: 'en', access_token: `secret_panel_${storeId}`, view_mode: 'PAGE' }, { secret });
  return { clock, store, signer, logs, deps, open, payload, refuse: (next: TokenVerification) => (verification = next) };
}

const framedBy = (origins: string) => expect.stringContaining(`frame-ancestors ${origins}`);

describe('GET /app', () => {
  it('sends the merchant to APP_UI_URL with the session and app_state in the fragment, never cached, without a referrer', async () => {
    const t = setup({ APP_UI_URL: 'https://ui.example.com/ecwid?embedded=1' });
    const result = await t.open(`payload=${t.payload(1003)}&app_state=${encodeURIComponent('orderId: 12 & <b>')}&cache-killer=123`);
    expect(result.statusCode).toBe(303);
    expect(result.headers).toMatchObject({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
    const location = new URL(result.headers.location!);
    expect(`${location.origin}${location.pathname}${location.search}`).toBe('https://ui.example.com/ecwid?embedded=1');
    const fragment = new URLSearchParams(location.hash.slice(1));
    expect([...fragment.keys()]).toEqual(['session', 'app_state']);
    expect(fragment.get('app_state')).toBe('orderId: 12 & <b>');
    const { payload } = await t.signer.verify(fragment.get('session')!, {
      issuer: 'https://auth.example.com',
      audience: 'app-client-id',
      typ: 'session',
      at: new Date(t.clock.nowEpochMs()),
    });
    expect(payload).toMatchObject({ store_id: 1003, sub: '1003', lang: 'en', view_mode: 'PAGE' });
    // The payload carries a working token: no log line ever holds it, nor the session.
    const logged = t.logs.lines.join('\n');
    expect(logged).not.toContain('secret_panel_1003');
    expect(logged).not.toContain(fragment.get('session')!);
  });

  it('shows the built-in page without APP_UI_URL, framed by Ecwid\'s control panel only, with the way to grant missing scopes', async () => {
    const t = setup({ ECWID_SCOPES: 'read_store_profile read_orders' });
    const result = await t.open(`payload=${t.payload(1004)}`);
    expect(result.statusCode).toBe(200);
    expect(result.headers['content-security-policy']).toEqual(framedBy('https://my.ecwid.com'));
    expect(result.headers['content-security-policy']).not.toContain("'none'; base");
    expect(result.headers).not.toHaveProperty('x-frame-options');
    expect(result.body).toContain('Store 1004');
    expect(result.body).toContain('Missing permissions: read_orders');
    expect(result.body).toContain('href="https://auth.example.com/authorize" target="_blank" rel="noopener noreferrer"');
  });

  it('frames its refusals too: a payload that does not open gets a readable 400 with nothing that helps an oracle', async () => {
    const t = setup({ FRAME_ANCESTORS: 'https://my.ecwid.com https://*.ecwid.com' });
    for (const query of ['', `payload=${t.payload(1005, 'another-apps-client-secret')}`, 'payload=%%%', `payload=${'A'.repeat(5000)}`]) {
      const result = await t.open(query);
      expect(result.statusCode).toBe(400);
      expect(result.headers['content-security-policy']).toEqual(framedBy('https://my.ecwid.com https://*.ecwid.com'));
      expect(result.body).toContain('Please open the app from your Ecwid control panel');
      expect(result.body.replace(/<style>.*<\/style>/s, '')).not.toMatch(/decrypt|padding|JSON|cipher/i);
    }
  });

  it('asks for a reinstall, in the frame, when the store has no working token and the payload token is refused', async () => {
    const t = setup();
    t.refuse({ outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' });
    const result = await t.open(`payload=${t.payload(1006)}`);
    expect(result.statusCode).toBe(409);
    expect(result.headers['content-security-policy']).toEqual(framedBy('https://my.ecwid.com'));
    expect(result.body).toContain('Please reinstall the app');
    expect(result.body).toContain('target="_blank"');
  });

  it('refuses a repeated parameter and an app_state far longer than Ecwid sends', async () => {
    const t = setup();
    const payload = t.payload(1007);
    expect((await t.open(`payload=${payload}&payload=${payload}`)).statusCode).toBe(400);
    expect((await t.open(`payload=${payload}&app_state=${'x'.repeat(3000)}`)).statusCode).toBe(400);
  });

  it('still answers a framed "not set up" page when its configuration is broken', async () => {
    const logs = capturingLogger();
    const handler = createAppHandler(() => composeApp(readAppConfig({})), logs.log);
    const result = (await handler(getEvent('/app', 'payload=abc'), lambdaContext)) as Result;
    expect(result.statusCode).toBe(503);
    expect(result.headers['content-security-policy']).toEqual(framedBy('https://my.ecwid.com'));
  });

  it('leaves every other page unframeable', async () => {
    const harness = handlerHarness();
    const callback = createCallbackHandler(() => harness.callbackDeps, harness.logs.log);
    const failed = (await callback(getEvent('/callback', 'state=unknown'), lambdaContext)) as Result;
    expect(failed.statusCode).toBe(400);
    expect(failed.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(failed.headers['x-frame-options']).toBe('DENY');
  });
});

describe('GET /.well-known/jwks.json', () => {
  it('serves the public key, cacheable, to any origin; asks KMS once per execution environment', async () => {
    const signer = new LocalTokenSigner('key-7');
    let calls = 0;
    const deps = {
      ...composeJwks(readJwksConfig(TEST_ENVIRONMENT)),
      publicKeys: async () => {
        calls += 1;
        return signer.jwks().keys as never;
      },
    };
    const handler = createJwksHandler(() => deps, capturingLogger().log);
    const result = (await handler(getEvent('/.well-known/jwks.json'), lambdaContext)) as Result;
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' });
    expect(result.headers).not.toHaveProperty('pragma');
    expect(JSON.parse(result.body)).toEqual({ keys: [expect.objectContaining({ kid: 'key-7', kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })] });
    expect(calls).toBe(1);
  });

  it('answers 503 in JSON when KMS cannot give the key, and asks again on the next request', async () => {
    const composed = composeJwks(readJwksConfig({ ...TEST_ENVIRONMENT }), { aws: { region: 'us-east-1', kmsEndpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } } });
    const handler = createJwksHandler(() => composed, capturingLogger().log);
    const result = (await handler(getEvent('/.well-known/jwks.json'), lambdaContext)) as Result;
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toMatchObject({ error: 'ENCRYPTION_UNAVAILABLE' });
  });
});
