import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  createCredentialsApiClient,
  createEcwidApi,
  InsufficientScopeError,
  InstallationUnusableError,
  NotInstalledError,
  RateLimitedError,
  TokenRejectedError,
} from '../../client';
import { AwsServiceError } from '../../local/aws-json-service';
import { productsOf } from '../../local/fake-ecwid-catalog';
import type { FakeEcwid } from '../../local/fake-ecwid';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { TestBrowser } from '../support/browser';
import { capturingLogger, ShiftedClock } from '../support/fakes';
import { storedTokens } from '../support/stored-tokens';

const run = promisify(execFile);

/**
 * The credentials API over real HTTP: the local stack (dynalite, the KMS and Secrets Manager stubs,
 * the fake Ecwid, the real handler behind the API Gateway adapter, no IAM on loopback), every status
 * the routes answer, renewals on read, reported rejections, and the client library on top.
 */
describe('credentials API over HTTP', () => {
  let stack: LocalStack;
  let fake: FakeEcwid;
  const clock = new ShiftedClock();
  const logs = capturingLogger();
  let nextStoreId = 9000;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      clientId: 'credentials-app',
      clientSecret: 'credentials-client-secret-value',
      scopes: ['read_store_profile', 'read_catalog'],
      tokenRequestTimeoutMs: 1_000,
      clock,
      log: logs.log,
    });
    fake = stack.fakeEcwid!;
    fake.now = () => clock.nowEpochMs();
  });

  afterAll(async () => {
    await stack?.close();
  });

  afterEach(() => {
    clock.offsetMs = 0;
    fake.tokenLifetimeSeconds = undefined;
    fake.uninstalledStores.clear();
    fake.profileAnswers.clear();
    fake.restRateLimits.clear();
    fake.tokenEndpointFault = undefined;
    fake.latencyMs = 0;
    stack.kms.failure = undefined;
    fake.releaseHeldRequests();
  });

  /** An App Market install over HTTP, with these scopes; returns the new store's id. */
  async function installStore(scope = 'read_store_profile read_catalog'): Promise<number> {
    nextStoreId += 1;
    const page = await new TestBrowser().get(fake.appMarketRedirect(nextStoreId, scope));
    expect(page.status).toBe(200);
    return nextStoreId;
  }

  async function call(method: 'GET' | 'POST', path: string) {
    const response = await fetch(`${stack.url}${path}`, { method });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, unknown>, text };
  }

  const credentialsOf = (storeId: number) => call('GET', `/stores/${storeId}/credentials`);
  const reportRejected = (storeId: number) => call('POST', `/stores/${storeId}/credentials/rejected`);

  function expectJsonAnswer(answer: { headers: Headers; text: string }) {
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.text).not.toMatch(/Error:|at .+\.(ts|js):\d+|Exception|stack/);
  }

  describe('GET /stores/{storeId}/credentials', () => {
    it('200: a working token and every documented field, never cached', async () => {
      const storeId = await installStore();
      const answer = await credentialsOf(storeId);
      expect(answer.status).toBe(200);
      expectJsonAnswer(answer);
      expect(answer.body).toEqual({
        storeId,
        accessToken: expect.stringMatching(/^secret_/),
        tokenType: 'Bearer',
        scope: 'read_store_profile read_catalog',
        publicToken: null,
        expiresAt: null,
        status: 'active',
        missingScopes: [],
      });
      expect(fake.isTokenValid(answer.body.accessToken as string)).toBe(true);
    });

    it('200 for a store whose checks keep failing (needs_attention): only checks fail, not the token', async () => {
      const storeId = await installStore();
      fake.profileAnswers.set(storeId, 'server_error');
      for (let run = 1; run <= 12; run += 1) {
        const response = await fetch(`${stack.url}/__local/refresh?at=${new Date(Date.now() + run * 2 * 86_400_000).toISOString()}`, { method: 'POST' });
        expect(response.status).toBe(200);
      }
      const installation = await stack.store.getInstallation(storeId);
      expect(installation?.status).toBe('needs_attention');
      const answer = await credentialsOf(storeId);
      expect(answer).toMatchObject({ status: 200, body: { status: 'needs_attention' } });
    });

    it('404 not_installed for a store that never installed', async () => {
      const answer = await credentialsOf(424_242);
      expect(answer.status).toBe(404);
      expectJsonAnswer(answer);
      expect(answer.body).toEqual({ error: 'not_installed' });
    });

    it('409 with the status and the reason for a store whose token is known not to work', async () => {
      const revoked = await installStore();
      fake.uninstalledStores.add(revoked);
      await reportRejected(revoked);
      const answer = await credentialsOf(revoked);
      expect(answer.status).toBe(409);
      expectJsonAnswer(answer);
      expect(answer.body).toEqual({ error: 'needs_reinstall', reason: 'INVALID_API_TOKEN' });

      const suspended = await installStore();
      const gone = await installStore();
      fake.profileAnswers.set(suspended, 'suspended');
      fake.profileAnswers.set(gone, 'not_found');
      await fetch(`${stack.url}/__local/refresh?at=${new Date(Date.now() + 27 * 3_600_000).toISOString()}`, { method: 'POST' });
      await expect(credentialsOf(suspended)).resolves.toMatchObject({ status: 409, body: { error: 'suspended', reason: 'STORE_IS_SUSPENDED' } });
      await expect(credentialsOf(gone)).resolves.toMatchObject({ status: 409, body: { error: 'store_gone', reason: 'STORE_NOT_FOUND' } });
    });

    it.each(['0', '-5', '01', '1.5', 'abc', '1e3', '99999999999999999999'])('400 invalid_store_id for %j', async (storeId) => {
      const answer = await credentialsOf(storeId as unknown as number);
      expect(answer.status).toBe(400);
      expectJsonAnswer(answer);
      expect(answer.body).toEqual({ error: 'invalid_store_id' });
    });

    it('503 with a reference, never a stack trace, when KMS fails; and the token again once KMS is back', async () => {
      const storeId = await installStore();
      stack.kms.failure = new AwsServiceError('KMSInternalException', 'KMS is down', 500);
      const answer = await credentialsOf(storeId);
      expect(answer.status).toBe(503);
      expectJsonAnswer(answer);
      expect(answer.body).toEqual({ error: 'encryption_unavailable', reference: expect.any(String) });
      stack.kms.failure = undefined;
      await expect(credentialsOf(storeId)).resolves.toMatchObject({ status: 200 });
    });
  });

  describe('an expiring token close to its end', () => {
    beforeEach(() => {
      fake.tokenLifetimeSeconds = 3600;
    });

    it('is renewed before it is handed out: a token that lasts, and the rotated grant stored', async () => {
      const storeId = await installStore();
      const before = await storedTokens(stack.vault, (await stack.store.getInstallation(storeId))!);
      clock.offsetMs = (3600 - 200) * 1000;
      const answer = await credentialsOf(storeId);
      expect(answer.status).toBe(200);
      expect(answer.body.accessToken).not.toBe(before.accessToken);
      expect(Date.parse(answer.body.expiresAt as string) - clock.nowEpochMs()).toBeGreaterThan(3500_000);
      expect(fake.isTokenValid(answer.body.accessToken as string)).toBe(true);
      const after = await storedTokens(stack.vault, (await stack.store.getInstallation(storeId))!);
      expect(after.accessToken).toBe(answer.body.accessToken);
      expect(fake.isRefreshTokenValid(after.refreshToken!)).toBe(true);
      expect(fake.refreshesOf(storeId).map((refresh) => refresh.refreshToken)).toEqual([before.refreshToken]);
    });

    it('is renewed once for many readers and the scheduled job at the same moment: one refresh, one token', async () => {
      const storeId = await installStore();
      clock.offsetMs = (3600 - 100) * 1000;
      fake.latencyMs = 150;
      const [job, ...reads] = await Promise.all([
        fetch(`${stack.url}/__local/refresh?at=${new Date(clock.nowEpochMs()).toISOString()}`, { method: 'POST' }),
        ...Array.from({ length: 6 }, () => credentialsOf(storeId)),
      ]);
      expect(job!.status).toBe(200);
      expect(reads.map((read) => read.status)).toEqual(Array(6).fill(200));
      expect(new Set(reads.map((read) => read.body.accessToken)).size).toBe(1);
      expect(fake.refreshesOf(storeId)).toHaveLength(1);
      const stored = await storedTokens(stack.vault, (await stack.store.getInstallation(storeId))!);
      expect(stored.accessToken).toBe(reads[0]!.body.accessToken);
      expect(fake.isRefreshTokenValid(stored.refreshToken!)).toBe(true);
    });

    it('never sends a rotated refresh token twice across renewals', async () => {
      const storeId = await installStore();
      for (const hours of [1, 2, 3]) {
        clock.offsetMs = (hours * 3600 - 100) * 1000;
        await expect(credentialsOf(storeId)).resolves.toMatchObject({ status: 200 });
      }
      const presented = fake.refreshesOf(storeId).map((refresh) => refresh.refreshToken);
      expect(presented).toHaveLength(3);
      expect(new Set(presented).size).toBe(3);
      expect(fake.refreshesOf(storeId).every((refresh) => refresh.outcome === 'issued')).toBe(true);
    });

    it('answers 409 needs_reinstall when the server refused the grant', async () => {
      const storeId = await installStore();
      fake.uninstalledStores.add(storeId);
      clock.offsetMs = (3600 - 100) * 1000;
      await expect(credentialsOf(storeId)).resolves.toMatchObject({ status: 409, body: { error: 'needs_reinstall', reason: 'invalid_grant' } });
      expect(logs.entries()).toContainEqual(expect.objectContaining({ message: 'installation status changed', storeId, to: 'needs_reinstall' }));
    });

    it('answers 503 with Retry-After, never a token about to die, when the renewal cannot be done now', async () => {
      const storeId = await installStore();
      fake.tokenEndpointFault = 'rate_limited';
      fake.retryAfterSeconds = 17;
      clock.offsetMs = (3600 - 30) * 1000;
      const answer = await credentialsOf(storeId);
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('17');
      expect(answer.body).toEqual({ error: 'ecwid_rate_limited', reference: expect.any(String) });
    });
  });

  describe('POST /stores/{storeId}/credentials/rejected', () => {
    it('200 active when Ecwid still accepts the stored token: nothing changes', async () => {
      const storeId = await installStore();
      const answer = await reportRejected(storeId);
      expect(answer.status).toBe(200);
      expectJsonAnswer(answer);
      expect(answer.body).toEqual({ status: 'active' });
      await expect(credentialsOf(storeId)).resolves.toMatchObject({ status: 200 });
    });

    it('200 needs_reinstall once Ecwid confirms the revocation, checked with the stored token', async () => {
      const storeId = await installStore();
      fake.uninstalledStores.add(storeId);
      await expect(reportRejected(storeId)).resolves.toMatchObject({ status: 200, body: { status: 'needs_reinstall' } });
      expect(fake.profileRequestsOf(storeId)).toEqual([expect.objectContaining({ outcome: 'invalid_token' })]);
      await expect(reportRejected(storeId)).resolves.toMatchObject({ status: 200, body: { status: 'needs_reinstall' } });
      expect(fake.profileRequestsOf(storeId)).toHaveLength(1);
    });

    it('503 rejection_unconfirmed with Retry-After when Ecwid cannot tell now', async () => {
      const storeId = await installStore();
      fake.restRateLimits.set(storeId, { retryAfterSeconds: 9 });
      const answer = await reportRejected(storeId);
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('9');
      expect(answer.body).toEqual({ error: 'rejection_unconfirmed', reason: 'rate_limited', reference: expect.any(String) });
      expect((await stack.store.getInstallation(storeId))?.status).toBe('active');
    });

    it('404 not_installed, 400 invalid_store_id', async () => {
      await expect(reportRejected(515_151)).resolves.toMatchObject({ status: 404, body: { error: 'not_installed' } });
      await expect(reportRejected('x' as unknown as number)).resolves.toMatchObject({ status: 400, body: { error: 'invalid_store_id' } });
    });
  });

  describe('the client library against the local stack', () => {
    const credentials = () => createCredentialsApiClient({ url: stack.url, auth: 'none' });
    const ecwid = () => createEcwidApi({ credentials: credentials(), apiUrl: stack.config.ecwidApiUrl, timeoutMs: 2_000 });

    it("lists a store's products with the token the API hands out", async () => {
      const storeId = await installStore();
      const answer = await ecwid().request<{ total: number; items: Array<{ sku: string }> }>(storeId, 'GET', 'products', { query: { limit: 2 } });
      expect(answer.total).toBe(productsOf(storeId).length);
      expect(answer.items.map((item) => item.sku)).toEqual(productsOf(storeId).slice(0, 2).map((item) => item.sku));
    });

    it('waits out a 429 and its Retry-After', async () => {
      const storeId = await installStore();
      const switched = await fetch(`${stack.url}/__local/rate-limit?store_id=${storeId}&retry_after=1&times=1`, { method: 'POST' });
      expect(await switched.json()).toEqual({ rateLimited: [storeId], retryAfterSeconds: 1, times: 1 });
      const startedAt = Date.now();
      await expect(ecwid().request(storeId, 'GET', 'products')).resolves.toMatchObject({ total: 5 });
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
      expect(fake.productRequestsOf(storeId).map((request) => request.status)).toEqual([429, 200]);
    });

    it('raises RateLimitedError when the rate limit outlasts the bounded waits', async () => {
      const storeId = await installStore();
      expect((await fetch(`${stack.url}/__local/rate-limit?retry_after=60`, { method: 'POST' })).status).toBe(200);
      await expect(ecwid().request(storeId, 'GET', 'products')).rejects.toMatchObject({ code: 'ECWID_RATE_LIMITED', retryAfterSeconds: 60 });
      await expect(ecwid().request(storeId, 'GET', 'products')).rejects.toBeInstanceOf(RateLimitedError);
      expect((await fetch(`${stack.url}/__local/rate-limit`, { method: 'DELETE' })).status).toBe(200);
      await expect(ecwid().request(storeId, 'GET', 'products')).resolves.toMatchObject({ total: 5 });
      expect((await fetch(`${stack.url}/__local/rate-limit?retry_after=soon`, { method: 'POST' })).status).toBe(400);
    });

    it('raises InsufficientScopeError for a store that did not grant read_catalog', async () => {
      const storeId = await installStore('read_store_profile');
      await expect(ecwid().request(storeId, 'GET', 'products')).rejects.toBeInstanceOf(InsufficientScopeError);
    });

    it('reports a revoked token, which the backend confirms: TokenRejectedError, then 409 for everyone', async () => {
      const storeId = await installStore();
      fake.uninstalledStores.add(storeId);
      const failure = await ecwid().request(storeId, 'GET', 'products').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(TokenRejectedError);
      expect(failure).toMatchObject({ verdict: { status: 'needs_reinstall' } });
      await expect(credentials().getCredentials(storeId)).rejects.toBeInstanceOf(InstallationUnusableError);
    });

    it('answers as the route does for a store that is not installed', async () => {
      await expect(credentials().getCredentials(616_161)).rejects.toBeInstanceOf(NotInstalledError);
    });
  });

  it("runs the repository's example: a store's credentials through the route, then its products", async () => {
    const storeId = await installStore();
    const tsx = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const { stdout } = await run(tsx, ['examples/list-products.ts', '--store', String(storeId), '--url', stack.url, '--limit', '2'], {
      cwd: path.join(__dirname, '..', '..'),
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      timeout: 60_000,
    });
    expect(stdout).toContain(`Store ${storeId}: a token with scopes "read_store_profile read_catalog", not expiring.`);
    expect(stdout).toContain('5 products; the first 2:');
    expect(stdout).toContain(`SKU-${storeId}-2`);
    expect(stdout).not.toContain('secret_');
  }, 90_000);

  it('never logs a token it handed out', async () => {
    const storeId = await installStore();
    const { body } = await credentialsOf(storeId);
    const tokens = fake.issuedTokens();
    expect(tokens).toContain(body.accessToken);
    const logged = logs.lines.join('\n');
    for (const token of [...tokens, ...fake.issuedRefreshTokens()]) expect(logged).not.toContain(token);
  });
});
