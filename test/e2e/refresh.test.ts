import type { FakeEcwid } from '../../local/fake-ecwid';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { TestBrowser } from '../support/browser';
import { capturingLogger } from '../support/fakes';
import { storedTokens } from '../support/stored-tokens';

/**
 * The scheduled refresh over real HTTP: the local stack's job against dynalite and the fake Ecwid
 * (its token endpoint and its REST API), both token shapes.
 */
describe('scheduled refresh over HTTP', () => {
  let stack: LocalStack;
  let fake: FakeEcwid;
  const logs = capturingLogger();
  const MINUTE = 60_000;
  const HOUR = 60 * MINUTE;
  /** Verifications come due a day after install, spread by up to 10% either way. */
  const LATER_THAN_ANY_VERIFICATION = 27 * HOUR;
  let nextStoreId = 7000;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      clientId: 'refresh-app',
      clientSecret: 'refresh-client-secret-value',
      scopes: ['read_store_profile'],
      tokenRequestTimeoutMs: 1_000,
      log: logs.log,
    });
    fake = stack.fakeEcwid!;
  });

  afterAll(async () => {
    await stack?.close();
  });

  afterEach(() => {
    fake.tokenLifetimeSeconds = undefined;
    fake.tokenEndpointFault = undefined;
    fake.latencyMs = 0;
    fake.profileAnswers.clear();
    fake.uninstalledStores.clear();
    fake.now = () => Date.now();
    fake.releaseHeldRequests();
  });

  /** An App Market install, completed over HTTP; returns the new store's id. */
  async function installStore(): Promise<number> {
    nextStoreId += 1;
    const page = await new TestBrowser().get(fake.appMarketRedirect(nextStoreId));
    expect(page.status).toBe(200);
    return nextStoreId;
  }

  /** Runs the job as if the clock read now + `aheadMs`; the fake's clock moves along. */
  async function refreshAt(aheadMs: number) {
    const at = Date.now() + aheadMs;
    fake.now = () => Date.now() + aheadMs;
    const response = await fetch(`${stack.url}/__local/refresh?at=${new Date(at).toISOString()}`, { method: 'POST' });
    expect(response.status).toBe(200);
    return (await response.json()) as { outcomes: Record<string, number>; processed: number };
  }

  async function listed(storeId: number) {
    const all = (await (await fetch(`${stack.url}/__local/installations`)).json()) as Array<Record<string, unknown>>;
    return all.find((item) => item.storeId === storeId)!;
  }

  describe('non-expiring tokens (Ecwid today)', () => {
    it('verifies each token about a day after install, with the token in the Authorization header', async () => {
      const storeId = await installStore();
      expect((await refreshAt(HOUR)).outcomes.verified ?? 0).toBe(0);
      const summary = await refreshAt(LATER_THAN_ANY_VERIFICATION);
      expect(summary.outcomes.verified).toBeGreaterThanOrEqual(1);
      expect(fake.profileRequestsOf(storeId)).toHaveLength(1);
      expect(fake.profileRequestsOf(storeId)[0]).toMatchObject({ status: 200 });
      expect(await listed(storeId)).toMatchObject({ status: 'active', lastVerifiedAt: expect.any(String) });
    });

    it('marks a token Ecwid revoked as needing a reinstall, with the reason', async () => {
      const storeId = await installStore();
      fake.uninstalledStores.add(storeId);
      await refreshAt(LATER_THAN_ANY_VERIFICATION);
      expect(await listed(storeId)).toMatchObject({
        status: 'needs_reinstall',
        statusReason: 'INVALID_API_TOKEN',
        nextCheckAt: null,
      });
    });

    it('honours Retry-After when the API rate-limits', async () => {
      const storeId = await installStore();
      fake.profileAnswers.set(storeId, 'rate_limited');
      fake.retryAfterSeconds = 45;
      const ahead = LATER_THAN_ANY_VERIFICATION;
      const before = Date.now();
      await refreshAt(ahead);
      const nextCheckAt = Date.parse(String((await listed(storeId)).nextCheckAt));
      expect(nextCheckAt - (before + ahead)).toBeGreaterThanOrEqual(44_000);
      expect(nextCheckAt - (Date.now() + ahead)).toBeLessThanOrEqual(46_000);
      expect((await listed(storeId)).status).toBe('active');
    });

    it('records a suspended store and a store that is gone', async () => {
      const suspended = await installStore();
      const gone = await installStore();
      fake.profileAnswers.set(suspended, 'suspended');
      fake.profileAnswers.set(gone, 'not_found');
      await refreshAt(LATER_THAN_ANY_VERIFICATION);
      expect(await listed(suspended)).toMatchObject({ status: 'suspended', statusReason: 'STORE_IS_SUSPENDED' });
      expect(await listed(gone)).toMatchObject({ status: 'store_gone', statusReason: 'STORE_NOT_FOUND', nextCheckAt: null });
    });
  });

  describe('expiring tokens with rotating refresh tokens', () => {
    beforeEach(() => {
      fake.tokenLifetimeSeconds = 3600;
    });

    it('refreshes before expiry, twice in a row, each time with the newest refresh token', async () => {
      const storeId = await installStore();
      await refreshAt(50 * MINUTE);
      await refreshAt(50 * MINUTE + HOUR);
      const refreshes = fake.refreshesOf(storeId);
      expect(refreshes.map((refresh) => refresh.outcome)).toEqual(['issued', 'issued']);
      expect(refreshes[1]!.refreshToken).not.toBe(refreshes[0]!.refreshToken);
      const stored = await storedTokens(stack.vault, (await stack.store.getInstallation(storeId))!);
      expect(fake.isTokenValid(stored.accessToken)).toBe(true);
      expect(fake.isRefreshTokenValid(stored.refreshToken!)).toBe(true);
      expect(await listed(storeId)).toMatchObject({ status: 'active', lastRefreshedAt: expect.any(String) });
    });

    it('refreshes each due token exactly once when several runs overlap', async () => {
      const stores = await Promise.all(Array.from({ length: 8 }, () => installStore()));
      fake.latencyMs = 20;
      const ahead = 50 * MINUTE;
      fake.now = () => Date.now() + ahead;
      const summaries = await Promise.all(Array.from({ length: 4 }, () => stack.runRefresh(Date.now() + ahead)));
      for (const storeId of stores) {
        expect(fake.refreshesOf(storeId).map((refresh) => refresh.outcome)).toEqual(['issued']);
        const stored = await storedTokens(stack.vault, (await stack.store.getInstallation(storeId))!);
        expect(fake.isRefreshTokenValid(stored.refreshToken!)).toBe(true);
      }
      expect(summaries.reduce((sum, summary) => sum + summary.outcomes.refreshed, 0)).toBeGreaterThanOrEqual(8);
    });

    it('retries a timed-out refresh on a later run and succeeds', async () => {
      const storeId = await installStore();
      fake.tokenEndpointFault = 'timeout';
      await refreshAt(50 * MINUTE);
      expect(await listed(storeId)).toMatchObject({ status: 'active', failureCount: 1 });
      fake.tokenEndpointFault = undefined;
      fake.releaseHeldRequests();
      await refreshAt(58 * MINUTE);
      expect(await listed(storeId)).toMatchObject({ status: 'active', failureCount: 0, lastRefreshedAt: expect.any(String) });
    });

    it('stores a reinstall that follows a refresh run with a clock far ahead (POST /__local/refresh?at=)', async () => {
      fake.tokenLifetimeSeconds = 3600;
      const storeId = await installStore();
      await refreshAt(30 * 24 * HOUR);
      expect(fake.refreshesOf(storeId).map((refresh) => refresh.outcome)).toEqual(['issued']);
      fake.now = () => Date.now();
      fake.tokenLifetimeSeconds = undefined;
      // The merchant installs again, now: Ecwid issues a new, non-expiring token.
      expect((await new TestBrowser().get(fake.appMarketRedirect(storeId))).status).toBe(200);
      const stored = await stack.store.getInstallation(storeId);
      expect(stored).not.toHaveProperty('expiresAtEpochSeconds');
      expect(fake.isTokenValid((await storedTokens(stack.vault, stored!)).accessToken)).toBe(true);
    });

    it('does not silently lose a store whose refresh answer was lost: it retries and records why the grant died', async () => {
      const storeId = await installStore();
      fake.tokenEndpointFault = 'lost_response';
      await refreshAt(50 * MINUTE);
      expect(await listed(storeId)).toMatchObject({ status: 'active', failureCount: 1 });
      fake.tokenEndpointFault = undefined;
      await refreshAt(58 * MINUTE);
      expect(fake.refreshesOf(storeId).map((refresh) => refresh.outcome)).toEqual(['fault', 'rejected']);
      expect(await listed(storeId)).toMatchObject({
        status: 'needs_reinstall',
        statusReason: 'refresh_outcome_lost',
      });
    });

    it('keeps the reinstalled token when a reinstall lands while a refresh is in flight', async () => {
      const storeId = await installStore();
      // The refresh answer takes 800 ms (within the 1 s request budget); the reinstall lands meanwhile.
      fake.latencyMs = 800;
      const ahead = 50 * MINUTE;
      fake.now = () => Date.now() + ahead;
      const run = stack.runRefresh(Date.now() + ahead);
      while (fake.requestsWaiting === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      fake.latencyMs = 0;
      expect((await new TestBrowser().get(fake.appMarketRedirect(storeId))).status).toBe(200);
      const reinstalled = await storedTokens(stack.vault, (await stack.store.getInstallation(storeId))!);
      const summary = await run;
      expect(summary.outcomes.superseded).toBe(1);
      expect(fake.refreshesOf(storeId).map((refresh) => refresh.outcome)).toEqual(['issued']);
      const kept = await storedTokens(stack.vault, (await stack.store.getInstallation(storeId))!);
      expect(kept.accessToken).toBe(reinstalled.accessToken);
      expect(fake.isTokenValid(kept.accessToken)).toBe(true);
    });
  });

  describe('after every run above', () => {
    it('logged one summary per run and never a token', () => {
      const entries = logs.entries();
      const summaries = entries.filter((entry) => entry.message === 'refresh run finished');
      expect(summaries.length).toBeGreaterThan(5);
      for (const summary of summaries) {
        expect(summary).toMatchObject({ outcomes: expect.any(Object), durationMs: expect.any(Number) });
        expect(summary._aws).toMatchObject({ CloudWatchMetrics: [expect.objectContaining({ Namespace: 'EcwidAppAuth' })] });
      }
      const logged = logs.lines.join('\n');
      for (const token of [...fake.issuedTokens(), ...fake.issuedRefreshTokens()]) expect(logged).not.toContain(token);
      expect(logged).not.toContain('refresh-client-secret-value');
    });
  });
});
