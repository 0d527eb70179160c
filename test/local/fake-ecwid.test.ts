import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeEcwid, type ScriptedProfileAnswer, type TokenEndpointFault } from '../../local/fake-ecwid';

/**
 * The fake Ecwid on an HTTP server of its own, driven over real HTTP as the refresh job and the
 * callback drive it: code exchange, refresh rotation and reuse detection, the profile endpoint and
 * its scripted answers, faults and latency.
 */
const CLIENT_ID = 'fake-ecwid-test-app';
const CLIENT_SECRET = 'fake-ecwid-test-secret';
const REDIRECT_URL = 'https://app.example.com/callback';
const START_EPOCH_MS = Date.UTC(2026, 0, 15, 9, 0, 0);
const LIFETIME_SECONDS = 3600;

const ACCESS_TOKEN = /^secret_[A-Za-z0-9]{32}$/;
const REFRESH_TOKEN = /^refresh_[A-Za-z0-9]{32}$/;
const INVALID_API_TOKEN = { errorMessage: expect.any(String), errorCode: 'INVALID_API_TOKEN' };
const INVALID_GRANT = { error: 'invalid_grant', error_description: expect.any(String) };

type Json = Record<string, unknown>;

describe('FakeEcwid over HTTP', () => {
  let server: Server;
  let baseUrl: string;
  let fake: FakeEcwid;
  let nowEpochMs: number;
  /** Requests that reached the server, counted before the fake sees them. */
  let arrivals: number;

  beforeAll(async () => {
    server = createServer((request, response) => {
      arrivals += 1;
      fake
        .handle(request, response)
        .then((handled) => {
          if (!handled) response.writeHead(404).end();
        })
        .catch(() => response.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    nowEpochMs = START_EPOCH_MS;
    arrivals = 0;
    fake = new FakeEcwid({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUrl: REDIRECT_URL,
      now: () => nowEpochMs,
    });
  });

  afterEach(() => {
    fake.releaseHeldRequests();
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const advanceSeconds = (seconds: number) => {
    nowEpochMs += seconds * 1000;
  };

  function postForm(path: string, fields: Record<string, string>): Promise<Response> {
    return fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
  }

  function exchangeCode(storeId: number, code = fake.issueCode({ storeId, scope: 'read_store_profile read_catalog' })) {
    return postForm(`/api/oauth/token/${storeId}`, {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      code,
      redirect_uri: REDIRECT_URL,
      grant_type: 'authorization_code',
    });
  }

  /** `path` is the token endpoint path; the store-less `/api/oauth/token` when `storeId` is undefined. */
  function refresh(refreshToken: string, storeId: number | undefined, clientSecret = CLIENT_SECRET) {
    const path = storeId === undefined ? '/api/oauth/token' : `/api/oauth/token/${storeId}`;
    return postForm(path, { client_id: CLIENT_ID, client_secret: clientSecret, refresh_token: refreshToken, grant_type: 'refresh_token' });
  }

  function profile(storeId: number, accessToken: string): Promise<Response> {
    return fetch(`${baseUrl}/api/v3/${storeId}/profile`, { headers: { authorization: `Bearer ${accessToken}` } });
  }

  async function answer(response: Promise<Response> | Response): Promise<{ status: number; body: Json }> {
    const settled = await response;
    return { status: settled.status, body: (await settled.json()) as Json };
  }

  /** Installs a store with expiring tokens: its first access token and refresh token. */
  async function installWithExpiringTokens(storeId: number): Promise<{ accessToken: string; refreshToken: string }> {
    fake.tokenLifetimeSeconds = LIFETIME_SECONDS;
    const { status, body } = await answer(exchangeCode(storeId));
    expect(status).toBe(200);
    return { accessToken: body.access_token as string, refreshToken: body.refresh_token as string };
  }

  async function eventually(condition: () => boolean): Promise<void> {
    for (let attempt = 0; attempt < 400 && !condition(); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(condition()).toBe(true);
  }

  describe('code exchange', () => {
    it('answers like Ecwid today: no expires_in, no refresh_token, a token that never expires', async () => {
      const { status, body } = await answer(exchangeCode(7001));
      expect(status).toBe(200);
      expect(body).toEqual({
        access_token: expect.stringMatching(ACCESS_TOKEN),
        token_type: 'Bearer',
        scope: 'read_store_profile read_catalog',
        store_id: 7001,
        email: 'owner-7001@example.com',
      });
      advanceSeconds(10 * 365 * 24 * 3600);
      expect(await answer(profile(7001, body.access_token as string))).toEqual({ status: 200, body: { generalInfo: { storeId: 7001 } } });
    });

    it('adds expires_in and a refresh token when tokens expire, and the token stops working at its expiry', async () => {
      fake.tokenLifetimeSeconds = LIFETIME_SECONDS;
      const { status, body } = await answer(exchangeCode(7002));
      expect(status).toBe(200);
      expect(body).toEqual({
        access_token: expect.stringMatching(ACCESS_TOKEN),
        token_type: 'Bearer',
        scope: 'read_store_profile read_catalog',
        store_id: 7002,
        email: 'owner-7002@example.com',
        expires_in: LIFETIME_SECONDS,
        refresh_token: expect.stringMatching(REFRESH_TOKEN),
      });
      const accessToken = body.access_token as string;
      advanceSeconds(LIFETIME_SECONDS - 1);
      expect((await profile(7002, accessToken)).status).toBe(200);
      expect(fake.isTokenValid(accessToken)).toBe(true);
      advanceSeconds(1);
      expect(await answer(profile(7002, accessToken))).toEqual({ status: 403, body: INVALID_API_TOKEN });
      expect(fake.isTokenValid(accessToken)).toBe(false);
    });

    it('refuses a JSON body with 400 invalid_request and records no exchange', async () => {
      const code = fake.issueCode({ storeId: 7003 });
      const response = await fetch(`${baseUrl}/api/oauth/token/7003`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, code, redirect_uri: REDIRECT_URL, grant_type: 'authorization_code' }),
      });
      expect(await answer(response)).toEqual({ status: 400, body: { error: 'invalid_request', error_description: 'Form-encoded body required' } });
      expect(fake.exchangesOf(code)).toEqual([]);
    });

    it('revokes everything refreshed from a code when the code is exchanged a second time', async () => {
      fake.tokenLifetimeSeconds = LIFETIME_SECONDS;
      const code = fake.issueCode({ storeId: 7004 });
      const first = await answer(exchangeCode(7004, code));
      const refreshed = await answer(refresh(first.body.refresh_token as string, 7004));
      expect(refreshed.status).toBe(200);

      expect(await answer(exchangeCode(7004, code))).toEqual({ status: 400, body: INVALID_GRANT });
      expect((await answer(profile(7004, refreshed.body.access_token as string))).status).toBe(403);
      expect(await answer(refresh(refreshed.body.refresh_token as string, 7004))).toEqual({ status: 400, body: INVALID_GRANT });
    });

    it('answers no_access_token for the store of the path, so only the token is missing', async () => {
      fake.tokenEndpointFault = 'no_access_token';
      const code = fake.issueCode({ storeId: 7005 });
      expect(await answer(exchangeCode(7005, code))).toEqual({
        status: 200,
        body: { token_type: 'Bearer', scope: 'read_store_profile', store_id: 7005 },
      });
      expect(fake.exchangesOf(code)).toEqual([{ code, pathStoreId: 7005, outcome: 'fault' }]);
    });
  });

  describe('refresh grant', () => {
    it('rotates on each refresh, and earlier access tokens keep working until their own expiry', async () => {
      const installed = await installWithExpiringTokens(7101);
      advanceSeconds(3000);
      const first = await answer(refresh(installed.refreshToken, 7101));
      expect(first).toEqual({
        status: 200,
        body: {
          access_token: expect.stringMatching(ACCESS_TOKEN),
          token_type: 'Bearer',
          expires_in: LIFETIME_SECONDS,
          refresh_token: expect.stringMatching(REFRESH_TOKEN),
          scope: 'read_store_profile read_catalog',
          store_id: 7101,
        },
      });
      const second = await answer(refresh(first.body.refresh_token as string, 7101));
      expect(second.status).toBe(200);
      const accessTokens = [installed.accessToken, first.body.access_token, second.body.access_token];
      const refreshTokens = [installed.refreshToken, first.body.refresh_token, second.body.refresh_token];
      expect(new Set(accessTokens).size).toBe(3);
      expect(new Set(refreshTokens).size).toBe(3);
      expect(refreshTokens.map((token) => fake.isRefreshTokenValid(token as string))).toEqual([false, false, true]);

      expect((await profile(7101, installed.accessToken)).status).toBe(200);
      advanceSeconds(LIFETIME_SECONDS - 3000);
      expect((await profile(7101, installed.accessToken)).status).toBe(403);
      expect((await profile(7101, second.body.access_token as string)).status).toBe(200);
      expect(fake.refreshesOf(7101)).toEqual([
        { refreshToken: installed.refreshToken, storeId: 7101, pathStoreId: 7101, outcome: 'issued' },
        { refreshToken: first.body.refresh_token, storeId: 7101, pathStoreId: 7101, outcome: 'issued' },
      ]);
    });

    it('revokes the whole grant when a rotated refresh token is replayed', async () => {
      const installed = await installWithExpiringTokens(7102);
      const first = await answer(refresh(installed.refreshToken, 7102));
      const second = await answer(refresh(first.body.refresh_token as string, 7102));
      expect(second.status).toBe(200);

      expect(await answer(refresh(installed.refreshToken, 7102))).toEqual({ status: 400, body: INVALID_GRANT });

      for (const accessToken of [installed.accessToken, first.body.access_token, second.body.access_token]) {
        expect(await answer(profile(7102, accessToken as string))).toEqual({ status: 403, body: INVALID_API_TOKEN });
      }
      expect(await answer(refresh(second.body.refresh_token as string, 7102))).toEqual({ status: 400, body: INVALID_GRANT });
      expect(fake.refreshesOf(7102).map((record) => record.outcome)).toEqual(['issued', 'issued', 'rejected', 'rejected']);
    });

    it('answers an unknown refresh token with 400 invalid_grant', async () => {
      expect(await answer(refresh(`refresh_${'x'.repeat(32)}`, 7103))).toEqual({ status: 400, body: INVALID_GRANT });
      expect(fake.refreshes).toEqual([{ refreshToken: `refresh_${'x'.repeat(32)}`, storeId: undefined, pathStoreId: 7103, outcome: 'rejected' }]);
    });

    it('answers wrong client credentials with 401 invalid_client and leaves the refresh token usable', async () => {
      const installed = await installWithExpiringTokens(7104);
      expect(await answer(refresh(installed.refreshToken, 7104, 'not-the-secret'))).toEqual({
        status: 401,
        body: { error: 'invalid_client', error_description: expect.any(String) },
      });
      expect((await refresh(installed.refreshToken, 7104)).status).toBe(200);
    });

    it('answers a refresh for another store with 400 invalid_grant without spending the refresh token', async () => {
      const installed = await installWithExpiringTokens(7105);
      expect(await answer(refresh(installed.refreshToken, 9999))).toEqual({ status: 400, body: INVALID_GRANT });
      expect((await refresh(installed.refreshToken, 7105)).status).toBe(200);
    });

    it('accepts the store-less token endpoint and records the request without a path store id', async () => {
      const installed = await installWithExpiringTokens(7106);
      expect((await answer(refresh(installed.refreshToken, undefined))).body).toMatchObject({ store_id: 7106 });
      expect(fake.refreshesOf(7106)).toEqual([{ refreshToken: installed.refreshToken, storeId: 7106, pathStoreId: undefined, outcome: 'issued' }]);
    });

    it('refuses a JSON body with 400 invalid_request without spending the refresh token', async () => {
      const installed = await installWithExpiringTokens(7107);
      const response = await fetch(`${baseUrl}/api/oauth/token/7107`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, refresh_token: installed.refreshToken, grant_type: 'refresh_token' }),
      });
      expect(await answer(response)).toEqual({ status: 400, body: { error: 'invalid_request', error_description: 'Form-encoded body required' } });
      expect(fake.isRefreshTokenValid(installed.refreshToken)).toBe(true);
    });

    it('answers like a plain RFC 6749 server when asked: no store_id, no scope', async () => {
      const installed = await installWithExpiringTokens(7108);
      fake.refreshAnswerShape = 'rfc6749';
      expect(await answer(refresh(installed.refreshToken, 7108))).toEqual({
        status: 200,
        body: {
          access_token: expect.stringMatching(ACCESS_TOKEN),
          token_type: 'Bearer',
          expires_in: LIFETIME_SECONDS,
          refresh_token: expect.stringMatching(REFRESH_TOKEN),
        },
      });
    });

    it('issues refreshed tokens with the lifetime set at the time of the refresh', async () => {
      const installed = await installWithExpiringTokens(7109);
      fake.tokenLifetimeSeconds = 60;
      const refreshed = await answer(refresh(installed.refreshToken, 7109));
      expect(refreshed.body.expires_in).toBe(60);
      advanceSeconds(60);
      expect((await profile(7109, refreshed.body.access_token as string)).status).toBe(403);
      expect((await profile(7109, installed.accessToken)).status).toBe(200);
    });

    it('refuses the refresh tokens of an uninstalled store', async () => {
      const installed = await installWithExpiringTokens(7110);
      fake.uninstalledStores.add(7110);
      expect(await answer(refresh(installed.refreshToken, 7110))).toEqual({ status: 400, body: INVALID_GRANT });
      expect(fake.isTokenValid(installed.accessToken)).toBe(false);
    });
  });

  describe('token endpoint faults on a refresh', () => {
    it.each<[TokenEndpointFault, number]>([
      ['server_error', 500],
      ['html', 200],
      ['missing_store_id', 200],
      ['wrong_store_id', 200],
    ])('answers %s with status %i, records a fault and does not rotate', async (fault, status) => {
      const installed = await installWithExpiringTokens(7201);
      fake.tokenEndpointFault = fault;
      const response = await refresh(installed.refreshToken, 7201);
      expect(response.status).toBe(status);
      await response.text();
      expect(fake.refreshesOf(7201)).toEqual([{ refreshToken: installed.refreshToken, storeId: 7201, pathStoreId: 7201, outcome: 'fault' }]);
      expect(fake.isRefreshTokenValid(installed.refreshToken)).toBe(true);
    });

    it('answers rate_limited with 429 and Retry-After in seconds', async () => {
      const installed = await installWithExpiringTokens(7202);
      fake.tokenEndpointFault = 'rate_limited';
      const first = await refresh(installed.refreshToken, 7202);
      expect(first.headers.get('retry-after')).toBe('30');
      expect(await answer(first)).toEqual({ status: 429, body: { errorMessage: expect.any(String), errorCode: 'RATE_LIMITED' } });
      fake.retryAfterSeconds = 7;
      const second = await refresh(installed.refreshToken, 7202);
      await second.text();
      expect([second.status, second.headers.get('retry-after')]).toEqual([429, '7']);
      expect(fake.isRefreshTokenValid(installed.refreshToken)).toBe(true);
    });

    it('holds a timed-out refresh until released, without rotating', async () => {
      const installed = await installWithExpiringTokens(7203);
      fake.tokenEndpointFault = 'timeout';
      const pending = refresh(installed.refreshToken, 7203);
      await eventually(() => fake.refreshes.length === 1);
      fake.releaseHeldRequests();
      await expect(pending).rejects.toThrow('fetch failed');
      expect(fake.refreshes[0]!.outcome).toBe('fault');
      expect(fake.isRefreshTokenValid(installed.refreshToken)).toBe(true);
    });

    it('resets the connection on connection_reset, without rotating', async () => {
      const installed = await installWithExpiringTokens(7204);
      fake.tokenEndpointFault = 'connection_reset';
      await expect(refresh(installed.refreshToken, 7204)).rejects.toThrow('fetch failed');
      expect(fake.isRefreshTokenValid(installed.refreshToken)).toBe(true);
    });

    it('rotates on lost_response but the client only sees a broken connection; a retry is a replay', async () => {
      const installed = await installWithExpiringTokens(7205);
      fake.tokenEndpointFault = 'lost_response';
      await expect(refresh(installed.refreshToken, 7205)).rejects.toThrow('fetch failed');
      expect(fake.refreshesOf(7205)).toEqual([{ refreshToken: installed.refreshToken, storeId: 7205, pathStoreId: 7205, outcome: 'fault' }]);
      expect(fake.isRefreshTokenValid(installed.refreshToken)).toBe(false);
      const unseenRefreshToken = fake.issuedRefreshTokens().find((token) => token !== installed.refreshToken)!;
      expect(fake.isRefreshTokenValid(unseenRefreshToken)).toBe(true);

      fake.tokenEndpointFault = undefined;
      expect(await answer(refresh(installed.refreshToken, 7205))).toEqual({ status: 400, body: INVALID_GRANT });
      expect(fake.isRefreshTokenValid(unseenRefreshToken)).toBe(false);
      expect((await profile(7205, installed.accessToken)).status).toBe(403);
      expect(fake.refreshesOf(7205).map((record) => record.outcome)).toEqual(['fault', 'rejected']);
    });

    it('spends a code on lost_response too: the client never learns the token', async () => {
      fake.tokenEndpointFault = 'lost_response';
      const code = fake.issueCode({ storeId: 7206 });
      await expect(exchangeCode(7206, code)).rejects.toThrow('fetch failed');
      expect(fake.exchangesOf(code)).toEqual([{ code, pathStoreId: 7206, outcome: 'fault' }]);
      expect(fake.issuedTokens().filter((token) => fake.isTokenValid(token))).toHaveLength(1);
    });
  });

  describe('profile endpoint', () => {
    it('answers a valid Bearer token with the store id and counts the request', async () => {
      const { body } = await answer(exchangeCode(7301));
      expect(await answer(profile(7301, body.access_token as string))).toEqual({ status: 200, body: { generalInfo: { storeId: 7301 } } });
      expect(fake.profileRequestsOf(7301)).toEqual([{ storeId: 7301, status: 200, outcome: 'ok' }]);
    });

    it('does not authenticate a token passed as ?token=', async () => {
      const { body } = await answer(exchangeCode(7302));
      const response = await fetch(`${baseUrl}/api/v3/7302/profile?token=${body.access_token as string}`);
      expect(await answer(response)).toEqual({ status: 403, body: INVALID_API_TOKEN });
      expect(fake.profileRequestsOf(7302)).toEqual([{ storeId: 7302, status: 403, outcome: 'invalid_token' }]);
    });

    it('refuses a token of another store', async () => {
      const { body } = await answer(exchangeCode(7303));
      expect(await answer(profile(7304, body.access_token as string))).toEqual({ status: 403, body: INVALID_API_TOKEN });
    });

    it.each<[ScriptedProfileAnswer, number, string]>([
      ['suspended', 402, 'STORE_IS_SUSPENDED'],
      ['plan', 402, 'NOT_AVAILABLE_ON_CURRENT_PLAN'],
      ['not_found', 404, 'STORE_NOT_FOUND'],
      ['rate_limited', 429, 'RATE_LIMITED'],
      ['server_error', 500, 'INTERNAL_ERROR'],
    ])('answers a store scripted as %s with %i %s, even for a valid token', async (scripted, status, errorCode) => {
      const { body } = await answer(exchangeCode(7305));
      fake.profileAnswers.set(7305, scripted);
      const response = await profile(7305, body.access_token as string);
      expect(response.headers.get('retry-after')).toBe(scripted === 'rate_limited' ? '30' : null);
      expect(await answer(response)).toEqual({ status, body: { errorMessage: expect.any(String), errorCode } });
      expect(fake.profileRequestsOf(7305)).toEqual([{ storeId: 7305, status, outcome: scripted }]);
      fake.profileAnswers.delete(7305);
      expect((await profile(7305, body.access_token as string)).status).toBe(200);
    });

    it('holds the answer of a store scripted as timeout until released', async () => {
      const { body } = await answer(exchangeCode(7306));
      fake.profileAnswers.set(7306, 'timeout');
      const pending = profile(7306, body.access_token as string);
      await eventually(() => fake.profileRequestsOf(7306).length === 1);
      fake.releaseHeldRequests();
      await expect(pending).rejects.toThrow('fetch failed');
      expect(fake.profileRequestsOf(7306)).toEqual([{ storeId: 7306, status: undefined, outcome: 'timeout' }]);
    });
  });

  describe('application endpoint', () => {
    const application = (storeId: number, accessToken: string) =>
      fetch(`${baseUrl}/api/v3/${storeId}/application`, { headers: { authorization: `Bearer ${accessToken}` } });

    it("answers the app's subscription in the store as the merchant's last change set it (ACTIVE before any)", async () => {
      const { body } = await answer(exchangeCode(7321));
      const token = body.access_token as string;
      expect(await answer(application(7321, token))).toEqual({
        status: 200,
        body: { subscriptionStatus: 'ACTIVE', subscription: { status: 'ACTIVE', startDate: expect.stringMatching(/ \+0000$/), expirationDate: expect.any(String) } },
      });
      // The merchant's change in the fake (its webhook goes nowhere here).
      fake.webhookUrl = 'http://127.0.0.1:9/unreachable';
      fake.webhooks.retryDelaysMs = [];
      await fake.changeSubscription(7321, 'SUSPENDED');
      expect(await answer(application(7321, token))).toMatchObject({ status: 200, body: { subscriptionStatus: 'SUSPENDED', subscription: { status: 'SUSPENDED' } } });
      expect(fake.applicationRequests).toEqual([
        { storeId: 7321, status: 200, outcome: 'ok' },
        { storeId: 7321, status: 200, outcome: 'ok' },
      ]);
    });

    it("refuses a token of another store, or a revoked one, and answers the store's scripted errors and rate limits", async () => {
      const { body } = await answer(exchangeCode(7322));
      const token = body.access_token as string;
      expect(await answer(application(7323, token))).toEqual({ status: 403, body: INVALID_API_TOKEN });
      fake.profileAnswers.set(7322, 'server_error');
      expect((await application(7322, token)).status).toBe(500);
      fake.profileAnswers.delete(7322);
      fake.restRateLimits.set(7322, { retryAfterSeconds: 4, remaining: 1 });
      const limited = await application(7322, token);
      expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '4']);
      expect((await application(7322, token)).status).toBe(200);
      fake.uninstalledStores.add(7322);
      expect(await answer(application(7322, token))).toEqual({ status: 403, body: INVALID_API_TOKEN });
    });
  });

  describe('products endpoint', () => {
    function products(storeId: number, accessToken: string, query = ''): Promise<Response> {
      return fetch(`${baseUrl}/api/v3/${storeId}/products${query}`, { headers: { authorization: `Bearer ${accessToken}` } });
    }

    it("answers a token with read_catalog with the store's products, page by page", async () => {
      const { body } = await answer(exchangeCode(7501));
      const page = await answer(products(7501, body.access_token as string, '?offset=1&limit=2'));
      expect(page).toEqual({
        status: 200,
        body: { total: 5, count: 2, offset: 1, limit: 2, items: [expect.objectContaining({ sku: 'SKU-7501-2' }), expect.objectContaining({ sku: 'SKU-7501-3' })] },
      });
      expect(fake.productRequestsOf(7501)).toEqual([{ storeId: 7501, status: 200, outcome: 'ok' }]);
    });

    it('refuses an unknown token, a token of another store, and a revoked one with INVALID_API_TOKEN', async () => {
      const { body } = await answer(exchangeCode(7502));
      expect(await answer(products(7502, 'secret_unknown'))).toEqual({ status: 403, body: INVALID_API_TOKEN });
      expect(await answer(products(7503, body.access_token as string))).toEqual({ status: 403, body: INVALID_API_TOKEN });
      fake.uninstalledStores.add(7502);
      expect(await answer(products(7502, body.access_token as string))).toEqual({ status: 403, body: INVALID_API_TOKEN });
    });

    it('refuses a token whose grant lacks read_catalog with INSUFFICIENT_APP_SCOPE', async () => {
      const { body } = await answer(exchangeCode(7504, fake.issueCode({ storeId: 7504, scope: 'read_store_profile' })));
      expect(await answer(products(7504, body.access_token as string))).toEqual({
        status: 403,
        body: { errorMessage: expect.any(String), errorCode: 'INSUFFICIENT_APP_SCOPE' },
      });
    });

    it('refuses a limit over 100', async () => {
      const { body } = await answer(exchangeCode(7505));
      expect((await products(7505, body.access_token as string, '?limit=101')).status).toBe(400);
    });
  });

  describe('rate limits of the REST API', () => {
    it('answers 429 with Retry-After for the store switched, a given number of times, then processes requests again', async () => {
      const { body } = await answer(exchangeCode(7601));
      const token = body.access_token as string;
      fake.restRateLimits.set(7601, { retryAfterSeconds: 7, remaining: 2 });
      for (const request of [() => fetch(`${baseUrl}/api/v3/7601/products`, { headers: { authorization: `Bearer ${token}` } }), () => profile(7601, token)]) {
        const response = await request();
        expect(response.headers.get('retry-after')).toBe('7');
        expect(await answer(response)).toEqual({ status: 429, body: { errorMessage: expect.any(String), errorCode: 'RATE_LIMITED' } });
      }
      expect((await profile(7601, token)).status).toBe(200);
      expect(fake.restRateLimits.size).toBe(0);
    });

    it('switches every store at once with "*", a store of its own winning', async () => {
      const { body } = await answer(exchangeCode(7602));
      fake.restRateLimits.set('*', { retryAfterSeconds: 3 });
      expect((await profile(7602, body.access_token as string)).status).toBe(429);
      fake.restRateLimits.set(7602, { retryAfterSeconds: 4, remaining: 1 });
      expect((await profile(7602, body.access_token as string)).headers.get('retry-after')).toBe('4');
      expect((await profile(7602, body.access_token as string)).headers.get('retry-after')).toBe('3');
    });
  });

  describe('latency', () => {
    it('still answers token and profile requests correctly when slow', async () => {
      fake.latencyMs = 50;
      fake.tokenLifetimeSeconds = LIFETIME_SECONDS;
      const exchanged = await answer(exchangeCode(7401));
      expect(exchanged.status).toBe(200);
      const refreshed = await answer(refresh(exchanged.body.refresh_token as string, 7401));
      expect(refreshed.body).toMatchObject({ store_id: 7401, expires_in: LIFETIME_SECONDS });
      expect(await answer(profile(7401, refreshed.body.access_token as string))).toEqual({ status: 200, body: { generalInfo: { storeId: 7401 } } });
    });

    it('drops a waiting request when held requests are released, without processing it', async () => {
      fake.latencyMs = 60_000;
      const code = fake.issueCode({ storeId: 7402 });
      const pending = exchangeCode(7402, code);
      await eventually(() => arrivals === 1);
      fake.releaseHeldRequests();
      await expect(pending).rejects.toThrow('fetch failed');
      expect(fake.exchanges).toEqual([]);
    });

    it('drops a waiting request whose client gave up, without processing it', async () => {
      const { body } = await answer(exchangeCode(7403));
      fake.latencyMs = 100;
      const abort = new AbortController();
      const pending = fetch(`${baseUrl}/api/v3/7403/profile`, {
        headers: { authorization: `Bearer ${body.access_token as string}` },
        signal: abort.signal,
      });
      await eventually(() => arrivals === 2);
      abort.abort();
      await expect(pending).rejects.toThrow('aborted');
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(fake.profileRequests).toEqual([]);
      expect((await profile(7403, body.access_token as string)).status).toBe(200);
    });
  });
});
