import { DEFAULT_CHECK_SCHEDULE } from '../../functions/core/refresh/schedule';
import { EcwidRequestError, EncryptionError, RateLimitedError } from '../../functions/core/errors';
import type { NewInstallation, TokenGrant, TokenVerification } from '../../functions/core/model';
import type { TokenRefreshRequest } from '../../functions/core/ports';
import type { RefreshJobDependencies, RefreshJobSettings } from '../../functions/core/refresh/job';
import { refreshDueInstallations } from '../../functions/core/refresh/refresh-run';
import { FixedClientSecret, ManualClock, RecordingPublisher, SeededRandom, silentLogger } from '../support/fakes';
import { MemoryStore } from '../support/memory-store';
import { MemoryTokenVault } from '../support/memory-token-vault';
import { deferred } from './install-harness';

const DAY = 86_400;

const SETTINGS: RefreshJobSettings = {
  clientId: 'app-client-id',
  concurrency: 4,
  pageSize: 3,
  leaseDurationSeconds: 60,
  deadlineMarginMs: 5_000,
  requestReserveMs: 3_000,
  schedule: DEFAULT_CHECK_SCHEDULE,
  failureBudgetSeconds: 3 * DAY,
  retryBaseSeconds: 300,
  retryMaxSeconds: 6 * 3600,
  rateLimitDefaultSeconds: 60,
  rateLimitMaxSeconds: 3600,
  assumedTokenLifetimeSeconds: 3600,
  uninstallRetentionSeconds: 30 * DAY,
  configuredScopes: ['read_store_profile'],
};

type RefreshAnswer = TokenGrant | EcwidRequestError | ((request: TokenRefreshRequest) => Promise<TokenGrant>);

/** A token server and REST API answering from per-store scripts; records every call. */
class ScriptedEcwid {
  readonly refreshes: TokenRefreshRequest[] = [];
  readonly verifications: number[] = [];
  /** The tokens verifications carried: in the clear, as the REST API needs them. */
  readonly verifiedTokens: string[] = [];
  private readonly refreshAnswers = new Map<number, RefreshAnswer[]>();
  private readonly verifyAnswers = new Map<number, TokenVerification[]>();
  private counter = 0;

  onRefresh(storeId: number, ...answers: RefreshAnswer[]): this {
    this.refreshAnswers.set(storeId, [...(this.refreshAnswers.get(storeId) ?? []), ...answers]);
    return this;
  }

  /** Forgets what is left of a store's scripts: it answers like a healthy Ecwid again. */
  heal(storeId: number): void {
    this.refreshAnswers.delete(storeId);
    this.verifyAnswers.delete(storeId);
  }

  onVerify(storeId: number, ...answers: TokenVerification[]): this {
    this.verifyAnswers.set(storeId, [...(this.verifyAnswers.get(storeId) ?? []), ...answers]);
    return this;
  }

  async refreshToken(request: TokenRefreshRequest): Promise<TokenGrant> {
    this.refreshes.push(request);
    const next = this.refreshAnswers.get(request.storeId)?.shift();
    if (next instanceof EcwidRequestError) throw next;
    if (typeof next === 'function') return next(request);
    this.counter += 1;
    return (
      next ?? {
        accessToken: `access_${this.counter}`,
        refreshToken: `refresh_${this.counter}`,
        expiresInSeconds: 3600,
        scope: 'read_store_profile',
        storeId: request.storeId,
      }
    );
  }

  async verifyToken(request: { storeId: number; accessToken: string }): Promise<TokenVerification> {
    this.verifications.push(request.storeId);
    this.verifiedTokens.push(request.accessToken);
    return this.verifyAnswers.get(request.storeId)?.shift() ?? { outcome: 'valid' };
  }
}

function setup(settings: Partial<RefreshJobSettings> = {}, options: { dueShards?: number } = {}) {
  const clock = new ManualClock();
  const store = new MemoryStore(options.dueShards ?? 4, clock);
  const ecwid = new ScriptedEcwid();
  const vault = new MemoryTokenVault();
  const publisher = new RecordingPublisher();
  const deps: RefreshJobDependencies = {
    installations: store,
    refresher: ecwid,
    verifier: ecwid,
    clientSecret: new FixedClientSecret(),
    vault,
    clock,
    random: new SeededRandom(),
    log: silentLogger,
    publisher,
  };
  const now = () => Math.floor(clock.nowEpochMs() / 1000);
  let runs = 0;
  const run = (deadlineInMs = 60_000, runSettings: Partial<RefreshJobSettings> = {}) =>
    refreshDueInstallations(deps, { ...SETTINGS, ...settings, ...runSettings }, {
      runId: `run-${(runs += 1)}`,
      deadlineEpochMs: clock.nowEpochMs() + deadlineInMs,
    });
  let obtainedAt = clock.nowEpochMs();
  /** Stores an installation as an install would: tokens sealed under a fresh data key of the store. */
  const install = async (
    storeId: number,
    overrides: Partial<Omit<NewInstallation, 'accessToken' | 'refreshToken' | 'tokenKey'>> & { accessToken?: string; refreshToken?: string } = {},
  ) => {
    const { accessToken = `secret_${storeId}`, refreshToken, ...rest } = overrides;
    const sealer = await vault.sealerFor(storeId);
    return store.saveInstallation({
      storeId,
      tokenKey: sealer.tokenKey,
      accessToken: sealer.seal(accessToken, 'access_token'),
      ...(refreshToken === undefined ? {} : { refreshToken: sealer.seal(refreshToken, 'refresh_token') }),
      scope: 'read_store_profile',
      installedAtEpochSeconds: now(),
      grantCodeHash: `code-${storeId}`,
      grantObtainedAtEpochMs: (obtainedAt += 1),
      nextCheckAtEpochSeconds: now(),
      ...rest,
    });
  };
  const expiring = (storeId: number, lifetimeSeconds = 3600) =>
    install(storeId, {
      refreshToken: `refresh_initial_${storeId}`,
      expiresAtEpochSeconds: now() + lifetimeSeconds,
      nextCheckAtEpochSeconds: now() + lifetimeSeconds - 900,
    });
  /** The stored tokens of a store, in the clear. */
  const tokensOf = async (storeId: number) => {
    const installation = (await store.getInstallation(storeId))!;
    const sealer = await vault.sealerOf(installation);
    return {
      accessToken: sealer.open(installation.accessToken, 'access_token'),
      refreshToken: installation.refreshToken === undefined ? undefined : sealer.open(installation.refreshToken, 'refresh_token'),
    };
  };
  return { clock, store, ecwid, vault, deps, publisher, now, run, install, expiring, tokensOf };
}

describe('refreshDueInstallations', () => {
  describe('scope drift', () => {
    it('recomputes the scopes a store lacks after the configuration changes, and announces the new gap once', async () => {
      const { run, install, store, publisher, clock } = setup();
      await install(7001, { scope: 'read_store_profile read_catalog' });
      await run();
      expect((await store.getInstallation(7001))!.missingScopes).toBeUndefined();
      expect(publisher.types()).toEqual([]);
      // The app now asks for more: each store learns at its next check.
      const widened = { configuredScopes: ['read_store_profile', 'read_catalog', 'read_orders', 'update_orders'] };
      clock.advanceSeconds(2 * 86_400);
      await run(60_000, widened);
      expect((await store.getInstallation(7001))!).toMatchObject({ status: 'active', missingScopes: ['read_orders', 'update_orders'] });
      expect(publisher.events).toEqual([
        {
          detailType: 'Scopes Missing',
          detail: { storeId: 7001, status: 'active', reason: 'scope_check', time: expect.any(String), missingScopes: ['read_orders', 'update_orders'] },
        },
      ]);
      // The same gap at the next check: nothing new to say.
      clock.advanceSeconds(2 * 86_400);
      await run(60_000, widened);
      expect(publisher.types()).toEqual(['Scopes Missing']);
      // Back to the old configuration: the gap closes.
      clock.advanceSeconds(2 * 86_400);
      await run();
      expect((await store.getInstallation(7001))!.missingScopes).toBeUndefined();
    });

    it('takes the scope of a refreshed grant into account', async () => {
      const { run, expiring, store, ecwid, clock } = setup({ configuredScopes: ['read_store_profile', 'read_catalog'] });
      await expiring(7002);
      ecwid.onRefresh(7002, { accessToken: 'access_x', refreshToken: 'refresh_x', expiresInSeconds: 3600, scope: 'read_store_profile read_catalog', storeId: 7002 });
      clock.advanceSeconds(3600 - 900);
      await run();
      expect((await store.getInstallation(7002))!).toMatchObject({ scope: 'read_store_profile read_catalog' });
      expect((await store.getInstallation(7002))!.missingScopes).toBeUndefined();
    });
  });

  describe('non-expiring tokens (Ecwid today)', () => {
    it('verifies a due token, records when, and schedules the next check about a day later', async () => {
      const { run, install, store, ecwid, now } = setup();
      await install(1);
      const summary = await run();
      expect(summary.outcomes.verified).toBe(1);
      expect(ecwid.verifications).toEqual([1]);
      expect(ecwid.verifiedTokens).toEqual(['secret_1']);
      const stored = (await store.getInstallation(1))!;
      expect(stored).toMatchObject({ status: 'active', lastVerifiedAtEpochSeconds: now(), version: 2 });
      expect(stored.nextCheckAtEpochSeconds!).toBeGreaterThanOrEqual(now() + 0.9 * DAY);
      expect(stored.nextCheckAtEpochSeconds!).toBeLessThanOrEqual(now() + 1.1 * DAY);
    });

    it('reads only what is due', async () => {
      const { run, install, store, now, ecwid } = setup();
      for (let storeId = 1; storeId <= 30; storeId += 1) {
        await install(storeId, { nextCheckAtEpochSeconds: storeId <= 10 ? now() - storeId : now() + 3600 });
      }
      const summary = await run();
      expect(summary.processed).toBe(10);
      expect(summary.dueRead).toBe(10);
      expect(store.dueRead).toBe(10);
      expect([...ecwid.verifications].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    it('marks a revoked token as needing a reinstall and stops using it', async () => {
      const { run, install, store, ecwid, clock } = setup();
      await install(2);
      ecwid.onVerify(2, { outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' });
      expect((await run()).outcomes.needs_reinstall).toBe(1);
      const stored = (await store.getInstallation(2))!;
      expect(stored).toMatchObject({ status: 'needs_reinstall', statusReason: 'INVALID_API_TOKEN' });
      expect(stored).not.toHaveProperty('nextCheckAtEpochSeconds');
      clock.advanceSeconds(30 * DAY);
      await run();
      expect(ecwid.verifications).toEqual([2]);
    });

    it('records a suspended store and checks it again later, returning it to active when it recovers', async () => {
      const { run, install, store, ecwid, clock, now } = setup();
      await install(3);
      ecwid.onVerify(3, { outcome: 'suspended', errorCode: 'STORE_IS_SUSPENDED' });
      await run();
      const suspended = (await store.getInstallation(3))!;
      expect(suspended).toMatchObject({ status: 'suspended', statusReason: 'STORE_IS_SUSPENDED' });
      clock.advanceSeconds(suspended.nextCheckAtEpochSeconds! - now());
      await run();
      const recovered = (await store.getInstallation(3))!;
      expect(recovered.status).toBe('active');
      expect(recovered).not.toHaveProperty('statusReason');
    });

    it('records a store that is gone and stops checking it', async () => {
      const { run, install, store, ecwid } = setup();
      await install(4);
      ecwid.onVerify(4, { outcome: 'store_gone', errorCode: 'STORE_NOT_FOUND' });
      expect((await run()).outcomes.store_gone).toBe(1);
      const stored = (await store.getInstallation(4))!;
      expect(stored).toMatchObject({ status: 'store_gone', statusReason: 'STORE_NOT_FOUND' });
      expect(stored).not.toHaveProperty('nextCheckAtEpochSeconds');
    });

    it('honours Retry-After on 429, and waits a minute when none was given', async () => {
      const { run, install, store, ecwid, now } = setup();
      await install(5);
      await install(6);
      ecwid.onVerify(5, { outcome: 'rate_limited', retryAfterSeconds: 120 });
      ecwid.onVerify(6, { outcome: 'rate_limited' });
      expect((await run()).outcomes.rate_limited).toBe(2);
      expect((await store.getInstallation(5))!).toMatchObject({ status: 'active', nextCheckAtEpochSeconds: now() + 120 });
      expect((await store.getInstallation(6))!.nextCheckAtEpochSeconds).toBe(now() + 60);
    });

    it('retries passing failures with growing backoff and needs attention after the failure budget', async () => {
      const { run, install, store, ecwid, clock, now } = setup();
      await install(7);
      const failures = Array.from({ length: 40 }, () => ({ outcome: 'failed', reason: 'http_503' }) as const);
      ecwid.onVerify(7, ...failures);

      await run();
      const first = (await store.getInstallation(7))!;
      expect(first).toMatchObject({ status: 'active', failureCount: 1, firstFailureAtEpochSeconds: now() });
      const firstWait = first.nextCheckAtEpochSeconds! - now();
      expect(firstWait).toBeGreaterThanOrEqual(270);
      expect(firstWait).toBeLessThanOrEqual(330);

      clock.advanceSeconds(firstWait);
      await run();
      const second = (await store.getInstallation(7))!;
      expect(second.failureCount).toBe(2);
      expect(second.nextCheckAtEpochSeconds! - now()).toBeGreaterThanOrEqual(540);

      let outcome = 'retry_later';
      for (let attempt = 0; attempt < 30 && outcome !== 'needs_attention'; attempt += 1) {
        const current = (await store.getInstallation(7))!;
        clock.advanceSeconds(current.nextCheckAtEpochSeconds! - now());
        const summary = await run();
        outcome = summary.outcomes.needs_attention === 1 ? 'needs_attention' : 'retry_later';
      }
      const attention = (await store.getInstallation(7))!;
      expect(attention).toMatchObject({ status: 'needs_attention', statusReason: 'http_503' });
      expect(now() - attention.firstFailureAtEpochSeconds!).toBeGreaterThanOrEqual(3 * DAY);
      expect(attention.nextCheckAtEpochSeconds).toBeDefined();

      ecwid.heal(7);
      clock.advanceSeconds(attention.nextCheckAtEpochSeconds! - now());
      await run();
      const healthy = (await store.getInstallation(7))!;
      expect(healthy.status).toBe('active');
      expect(healthy).not.toHaveProperty('failureCount');
      expect(healthy).not.toHaveProperty('statusReason');
    });
  });

  describe('lifecycle events', () => {
    it('announces a token Ecwid revoked once, and a store that recovers from a suspension', async () => {
      const { run, install, ecwid, clock, now, store, publisher } = setup();
      await install(41);
      await install(42);
      ecwid.onVerify(41, { outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' });
      ecwid.onVerify(42, { outcome: 'suspended', errorCode: 'STORE_IS_SUSPENDED' });
      await run();
      expect(publisher.events).toEqual([
        {
          detailType: 'Token Revoked',
          detail: { storeId: 41, status: 'needs_reinstall', reason: 'INVALID_API_TOKEN', time: new Date(now() * 1000).toISOString() },
        },
      ]);
      clock.advanceSeconds((await store.getInstallation(42))!.nextCheckAtEpochSeconds! - now());
      await run();
      expect(publisher.events.slice(1)).toEqual([
        {
          detailType: 'Token Recovered',
          detail: { storeId: 42, status: 'active', reason: 'was_suspended', time: new Date(now() * 1000).toISOString() },
        },
      ]);
    });

    it('announces nothing for a check that changes no status, and never carries a token', async () => {
      const { run, install, publisher } = setup();
      await install(43);
      await run();
      expect(publisher.events).toEqual([]);
    });

    it('purges an installation with a requested uninstall whose refresh token is refused, and announces it', async () => {
      const { run, expiring, ecwid, store, publisher, clock, now } = setup();
      await expiring(44);
      const installation = store.installations.get(44)!;
      installation.uninstallRequestedAtEpochSeconds = now() - 10;
      installation.nextCheckAtEpochSeconds = now();
      ecwid.onRefresh(44, new EcwidRequestError('REFRESH_TOKEN_REJECTED', 'invalid_grant'));
      expect((await run()).outcomes.uninstalled).toBe(1);
      await expect(store.getInstallation(44)).resolves.toBeUndefined();
      await expect(store.describeStore(44)).resolves.toMatchObject({ status: 'uninstalled', statusReason: 'invalid_grant' });
      expect(publisher.types()).toEqual(['Store Uninstalled']);
      clock.advanceSeconds(2 * DAY);
      await run();
      expect(ecwid.refreshes.filter((request) => request.storeId === 44)).toHaveLength(1);
    });

    it('stores a check and keeps its result when the announcement cannot be published', async () => {
      const { run, install, ecwid, store, publisher } = setup();
      await install(45);
      ecwid.onVerify(45, { outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' });
      publisher.failing = true;
      expect((await run()).outcomes.needs_reinstall).toBe(1);
      await expect(store.getInstallation(45)).resolves.toMatchObject({ status: 'needs_reinstall' });
    });
  });

  describe('expiring tokens', () => {
    it('refreshes before expiry, storing the rotated refresh token with the new access token', async () => {
      const { run, expiring, store, ecwid, clock, now, tokensOf } = setup();
      await expiring(10);
      clock.advanceSeconds(3600 - 900);
      const summary = await run();
      expect(summary.outcomes.refreshed).toBe(1);
      expect(ecwid.refreshes).toEqual([
        { storeId: 10, refreshToken: 'refresh_initial_10', clientId: 'app-client-id', clientSecret: 'client-secret-value' },
      ]);
      const stored = (await store.getInstallation(10))!;
      await expect(tokensOf(10)).resolves.toEqual({ accessToken: 'access_1', refreshToken: 'refresh_1' });
      expect(stored).toMatchObject({
        expiresAtEpochSeconds: now() + 3600,
        lastRefreshedAtEpochSeconds: now(),
        status: 'active',
      });
      expect(stored.nextCheckAtEpochSeconds!).toBeLessThanOrEqual(now() + 3600 - 900);
      expect(stored.nextCheckAtEpochSeconds!).toBeGreaterThanOrEqual(now() + 3600 - 1200);
    });

    it('uses each rotated refresh token exactly once across consecutive refreshes', async () => {
      const { run, expiring, store, ecwid, clock, now, tokensOf } = setup();
      await expiring(11);
      for (let round = 0; round < 3; round += 1) {
        const current = (await store.getInstallation(11))!;
        clock.advanceSeconds(current.nextCheckAtEpochSeconds! - now());
        await run();
      }
      expect(ecwid.refreshes.map((request) => request.refreshToken)).toEqual(['refresh_initial_11', 'refresh_1', 'refresh_2']);
      expect((await tokensOf(11)).refreshToken).toBe('refresh_3');
    });

    it('keeps the refresh token when the server sends none, and the previous lifetime when it sends no expiry', async () => {
      const { run, expiring, store, ecwid, clock, now, tokensOf } = setup();
      await expiring(12, 7200);
      ecwid.onRefresh(12, { accessToken: 'access_x', scope: '', storeId: 12 });
      clock.advanceSeconds(7200 - 900);
      await run();
      await expect(tokensOf(12)).resolves.toEqual({ accessToken: 'access_x', refreshToken: 'refresh_initial_12' });
      expect((await store.getInstallation(12))!).toMatchObject({
        expiresAtEpochSeconds: now() + 7200,
        scope: 'read_store_profile',
      });
    });

    it('marks the installation for reinstall when the grant is revoked (invalid_grant)', async () => {
      const { run, expiring, store, ecwid, clock } = setup();
      await expiring(13);
      ecwid.onRefresh(13, new EcwidRequestError('REFRESH_TOKEN_REJECTED', 'invalid_grant'));
      clock.advanceSeconds(2700);
      expect((await run()).outcomes.needs_reinstall).toBe(1);
      const stored = (await store.getInstallation(13))!;
      expect(stored).toMatchObject({ status: 'needs_reinstall', statusReason: 'invalid_grant' });
      expect(stored).not.toHaveProperty('nextCheckAtEpochSeconds');
    });

    it('retries a refresh whose answer was lost, before the token expires, and says the outcome was lost if the grant is then gone', async () => {
      const { run, expiring, store, ecwid, clock, now, tokensOf } = setup();
      await expiring(14);
      ecwid.onRefresh(
        14,
        new EcwidRequestError('ECWID_TIMEOUT', 'timeout'),
        new EcwidRequestError('REFRESH_TOKEN_REJECTED', 'invalid_grant'),
      );
      clock.advanceSeconds(3600 - 900);
      expect((await run()).outcomes.retry_later).toBe(1);
      const retrying = (await store.getInstallation(14))!;
      expect(retrying).toMatchObject({ status: 'active', failureCount: 1, refreshInFlightSinceEpochSeconds: now() });
      expect((await tokensOf(14)).refreshToken).toBe('refresh_initial_14');
      expect(retrying.nextCheckAtEpochSeconds!).toBeLessThan(retrying.expiresAtEpochSeconds!);

      clock.advanceSeconds(retrying.nextCheckAtEpochSeconds! - now());
      expect((await run()).outcomes.refresh_outcome_lost).toBe(1);
      expect(ecwid.refreshes.map((request) => request.refreshToken)).toEqual(['refresh_initial_14', 'refresh_initial_14']);
      expect((await store.getInstallation(14))!).toMatchObject({
        status: 'needs_reinstall',
        statusReason: 'refresh_outcome_lost',
      });
    });

    it('marks a token that expired without a refresh token for reinstall, once it is dead', async () => {
      const { run, install, store, ecwid, clock, now } = setup();
      await install(15, { expiresAtEpochSeconds: now() + 600, nextCheckAtEpochSeconds: now() });
      await run();
      expect((await store.getInstallation(15))!).toMatchObject({ status: 'active', nextCheckAtEpochSeconds: now() + 600 });
      clock.advanceSeconds(600);
      await run();
      expect((await store.getInstallation(15))!).toMatchObject({
        status: 'needs_reinstall',
        statusReason: 'token_expired_without_refresh_token',
      });
      expect(ecwid.refreshes).toHaveLength(0);
    });
  });

  describe('guarantees', () => {
    it('refreshes each due token exactly once when several runs overlap', async () => {
      const { run, expiring, ecwid, clock } = setup();
      for (let storeId = 20; storeId < 32; storeId += 1) await expiring(storeId);
      // Each refresh takes a few turns of the event loop, as a real request does.
      for (let storeId = 20; storeId < 32; storeId += 1) {
        ecwid.onRefresh(storeId, async (request) => {
          await new Promise((resolve) => setImmediate(resolve));
          return { accessToken: `a_${request.storeId}`, refreshToken: `r_${request.storeId}`, expiresInSeconds: 3600, scope: '', storeId: request.storeId };
        });
      }
      clock.advanceSeconds(2700);
      const summaries = await Promise.all([run(), run(), run(), run()]);
      expect(ecwid.refreshes).toHaveLength(12);
      expect(new Set(ecwid.refreshes.map((request) => request.storeId)).size).toBe(12);
      expect(summaries.reduce((sum, summary) => sum + summary.outcomes.refreshed, 0)).toBe(12);
    });

    it('stops taking work at the deadline and leaves the rest due for the next run', async () => {
      const { run, install, ecwid, clock, store } = setup({ concurrency: 1 });
      for (let storeId = 1; storeId <= 6; storeId += 1) await install(storeId);
      // Each verification takes 2 s of the clock; the run has 9 s, 5 s of them kept as margin.
      ecwid.verifyToken = async (request) => {
        ecwid.verifications.push(request.storeId);
        await clock.sleep(2_000);
        return { outcome: 'valid' };
      };
      const first = await run(9_000);
      expect(first.stoppedAtDeadline).toBe(true);
      expect(first.processed).toBe(2);
      const second = await run(60_000);
      expect(second.processed).toBe(4);
      expect(second.stoppedAtDeadline).toBe(false);
      expect(new Set(ecwid.verifications).size).toBe(6);
      for (let storeId = 1; storeId <= 6; storeId += 1) {
        expect((await store.getInstallation(storeId))!.lastVerifiedAtEpochSeconds).toBeDefined();
      }
    });

    it('keeps the newer token when a reinstall lands while a refresh is in flight', async () => {
      const { run, expiring, install, ecwid, clock, now, tokensOf } = setup();
      await expiring(40);
      ecwid.onRefresh(40, async (request) => {
        await install(40, {
          accessToken: 'access_from_reinstall',
          refreshToken: 'refresh_from_reinstall',
          expiresAtEpochSeconds: now() + 3600,
          nextCheckAtEpochSeconds: now() + 2700,
        });
        return { accessToken: 'access_from_old_grant', refreshToken: 'refresh_rotated', expiresInSeconds: 3600, scope: '', storeId: request.storeId };
      });
      clock.advanceSeconds(2700);
      expect((await run()).outcomes.superseded).toBe(1);
      await expect(tokensOf(40)).resolves.toEqual({ accessToken: 'access_from_reinstall', refreshToken: 'refresh_from_reinstall' });
    });

    it('keeps trying to store a rotated grant for as long as the lease allows, not a fixed few tries', async () => {
      const { run, expiring, store, clock, tokensOf } = setup();
      await expiring(46);
      clock.advanceSeconds(2700);
      const realComplete = store.completeCheck.bind(store);
      let failures = 0;
      store.completeCheck = async (request) => {
        if (request.result.refreshedGrant !== undefined && failures < 8) {
          failures += 1;
          throw new Error('throttled');
        }
        return realComplete(request);
      };
      expect((await run()).outcomes.refreshed).toBe(1);
      expect(failures).toBe(8);
      await expect(tokensOf(46)).resolves.toEqual({ accessToken: 'access_1', refreshToken: 'refresh_1' });
      expect(await store.getInstallation(46)).not.toHaveProperty('refreshInFlightSinceEpochSeconds');
    });

    it('reports a rotated grant it could not store as a lost outcome at the next check, not as a revoked grant', async () => {
      const { run, expiring, store, ecwid, clock, now } = setup();
      await expiring(47);
      clock.advanceSeconds(2700);
      const realComplete = store.completeCheck.bind(store);
      store.completeCheck = async () => {
        throw new Error('storage down');
      };
      expect((await run()).outcomes.error).toBe(1);
      store.completeCheck = realComplete;
      const afterLoss = (await store.getInstallation(47))!;
      expect(afterLoss.refreshInFlightSinceEpochSeconds).toBeDefined();
      // The server rotated the refresh token on the first request and refuses the old one as reused.
      ecwid.onRefresh(47, new EcwidRequestError('REFRESH_TOKEN_REJECTED', 'invalid_grant'));
      clock.advanceSeconds(SETTINGS.leaseDurationSeconds);
      const summary = await run();
      expect(summary.outcomes.refresh_outcome_lost).toBe(1);
      expect(summary.outcomes.needs_reinstall).toBe(0);
      expect((await store.getInstallation(47))!).toMatchObject({ status: 'needs_reinstall', statusReason: 'refresh_outcome_lost' });
      expect(now()).toBeGreaterThan(afterLoss.refreshInFlightSinceEpochSeconds!);
    });

    it('refreshes each store at most once per run, even a token shorter-lived than the refresh margin', async () => {
      const { run, expiring, ecwid, clock, store } = setup({ pageSize: 2 });
      for (let storeId = 200; storeId < 240; storeId += 1) await expiring(storeId, 600);
      for (let storeId = 200; storeId < 240; storeId += 1) {
        ecwid.onRefresh(storeId, ...Array.from({ length: 3 }, () => async (request: TokenRefreshRequest) => ({
          accessToken: `a_${request.storeId}`,
          refreshToken: `r_${request.storeId}_${Math.random()}`,
          expiresInSeconds: 600,
          scope: '',
          storeId: request.storeId,
        })));
      }
      clock.advanceSeconds(1);
      const summary = await run();
      expect(summary.outcomes.refreshed).toBe(40);
      expect(ecwid.refreshes).toHaveLength(40);
      const next = (await store.getInstallation(200))!;
      expect(next.nextCheckAtEpochSeconds! - next.lastRefreshedAtEpochSeconds!).toBe(300);
    });

    it('refreshes each store at most once per run, even when its token lives less than half the run', async () => {
      // One shard read a page at a time: a store refreshed early is due again, in the index, before the run ends.
      const { run, expiring, ecwid, clock } = setup({ pageSize: 1, concurrency: 1 }, { dueShards: 1 });
      const storeIds = Array.from({ length: 10 }, (_, index) => 300 + index);
      for (const storeId of storeIds) await expiring(storeId, 120);
      let issued = 0;
      for (const storeId of storeIds) {
        ecwid.onRefresh(storeId, ...Array.from({ length: 5 }, () => async (request: TokenRefreshRequest) => {
          // Each refresh takes 25 s: ten of them fill most of a 280 s run.
          clock.advanceSeconds(25);
          issued += 1;
          return { accessToken: `a_${issued}`, refreshToken: `r_${issued}`, expiresInSeconds: 120, scope: '', storeId: request.storeId };
        }));
      }
      const startedAtEpochMs = clock.nowEpochMs();
      const summary = await run(280_000);
      expect(clock.nowEpochMs() - startedAtEpochMs).toBeGreaterThan(120_000);
      expect(summary.outcomes.refreshed).toBe(10);
      const refreshesPerStore = storeIds.map((storeId) => ecwid.refreshes.filter((request) => request.storeId === storeId).length);
      expect(refreshesPerStore).toEqual(storeIds.map(() => 1));
    });

    it('stops retrying the write of a rotated grant before its lease ends, however far the deadline', async () => {
      const { run, expiring, store, clock } = setup();
      await expiring(49);
      clock.advanceSeconds(2700);
      let leaseEndsAtEpochMs = 0;
      const realLease = store.acquireLease.bind(store);
      store.acquireLease = async (request) => {
        leaseEndsAtEpochMs = request.leaseExpiresAtEpochSeconds * 1000;
        return realLease(request);
      };
      const writesAtEpochMs: number[] = [];
      store.completeCheck = async () => {
        writesAtEpochMs.push(clock.nowEpochMs());
        throw new Error('storage down');
      };
      // A 20 s lease, an hour to the deadline.
      expect((await run(60 * 60 * 1000, { leaseDurationSeconds: 20 })).outcomes.error).toBe(1);
      expect(writesAtEpochMs.length).toBeGreaterThan(1);
      expect(Math.max(...writesAtEpochMs)).toBeLessThan(leaseEndsAtEpochMs);
    });

    it('honours Retry-After when the token endpoint rate-limits a refresh', async () => {
      const { run, expiring, store, ecwid, clock, now } = setup();
      await expiring(48);
      ecwid.onRefresh(48, new RateLimitedError('429', { retryAfterSeconds: 240 }));
      clock.advanceSeconds(2700);
      expect((await run()).outcomes.rate_limited).toBe(1);
      expect((await store.getInstallation(48))!).toMatchObject({ status: 'active', nextCheckAtEpochSeconds: now() + 240 });
      expect(await store.getInstallation(48)).not.toHaveProperty('refreshInFlightSinceEpochSeconds');
    });

    it('sends no request when the lease would run out before its answer could be stored, even with the deadline far away', async () => {
      const { run, install, ecwid, store } = setup();
      await install(81);
      // An hour to the deadline, but a 5 s lease: 7 s are needed to send and store.
      const summary = await run(60 * 60 * 1000, { leaseDurationSeconds: 5, requestReserveMs: 7_000 });
      expect(summary.outcomes.deferred).toBe(1);
      expect(ecwid.verifications).toHaveLength(0);
      expect((await store.getInstallation(81))!.version).toBe(1);
    });

    it('never lets a refresh by a writer whose clock runs ahead block a later reinstall', async () => {
      const { run, expiring, install, store, clock, now, tokensOf } = setup();
      await expiring(45);
      const installedAtMs = clock.nowEpochMs();
      // A run whose clock reads ten days ahead (as POST /__local/refresh?at= makes on purpose).
      clock.advanceSeconds(10 * DAY);
      expect((await run()).outcomes.refreshed).toBe(1);
      clock.advanceSeconds(-10 * DAY);
      const reinstalled = await install(45, {
        accessToken: 'access_after_reinstall',
        refreshToken: 'refresh_after_reinstall',
        expiresAtEpochSeconds: now() + 3600,
        grantObtainedAtEpochMs: installedAtMs + 60_000,
      });
      expect(reinstalled).toBeDefined();
      await expect(tokensOf(45)).resolves.toEqual({ accessToken: 'access_after_reinstall', refreshToken: 'refresh_after_reinstall' });
      expect((await store.getInstallation(45))!.grantObtainedAtEpochMs).toBe(installedAtMs + 60_000);
    });

    it('counts a result it could not store as an error, and the next run after the lease takes it again', async () => {
      const { run, install, store, ecwid, clock } = setup();
      await install(50);
      const realComplete = store.completeCheck.bind(store);
      store.completeCheck = async () => {
        throw new Error('storage down');
      };
      expect((await run()).outcomes.error).toBe(1);
      store.completeCheck = realComplete;
      expect((await run()).outcomes.skipped).toBe(1);
      clock.advanceSeconds(SETTINGS.leaseDurationSeconds);
      expect((await run()).outcomes.verified).toBe(1);
      expect(ecwid.verifications).toEqual([50, 50]);
    });

    it('retries later when KMS cannot open the data key, without touching the token', async () => {
      const { run, install, store, ecwid, vault, now } = setup();
      await install(70);
      vault.failure = new EncryptionError('ENCRYPTION_UNAVAILABLE', 'KMS down');
      expect((await run()).outcomes.retry_later).toBe(1);
      expect(ecwid.verifications).toHaveLength(0);
      const stored = (await store.getInstallation(70))!;
      expect(stored).toMatchObject({ status: 'active', failureCount: 1 });
      expect(stored.nextCheckAtEpochSeconds).toBeGreaterThan(now());
    });

    it('marks a token that does not decrypt for its store (copied from another) as needing a reinstall', async () => {
      const { run, install, store, ecwid } = setup();
      await install(71);
      await install(72);
      const victim = (await store.getInstallation(71))!;
      const other = (await store.getInstallation(72))!;
      store.installations.set(71, { ...victim, tokenKey: other.tokenKey, accessToken: other.accessToken });
      await run();
      expect(ecwid.verifications).toEqual([72]);
      expect((await store.getInstallation(71))!).toMatchObject({ status: 'needs_reinstall', statusReason: 'token_unreadable' });
    });

    it('sends no request whose answer could not be stored before the deadline, and leaves it due', async () => {
      const { run, install, ecwid, store } = setup();
      await install(80);
      // 6 s left, 5 s of margin: the installation is taken, but 3 s are needed to send and store.
      const summary = await run(6_000, { deadlineMarginMs: 5_000, requestReserveMs: 7_000 });
      expect(summary.outcomes.deferred).toBe(1);
      expect(summary.processed).toBe(0);
      expect(ecwid.verifications).toHaveLength(0);
      expect((await store.getInstallation(80))!.version).toBe(1);
    });

    it('stops sending tokens once the token endpoint refuses the app credentials', async () => {
      const { run, expiring, ecwid, clock } = setup({ concurrency: 1 });
      for (let storeId = 90; storeId < 96; storeId += 1) {
        await expiring(storeId);
        ecwid.onRefresh(storeId, new EcwidRequestError('CLIENT_REJECTED', 'invalid_client'));
      }
      clock.advanceSeconds(2700);
      const summary = await run();
      expect(summary.stoppedOnRejectedCredentials).toBe(true);
      expect(ecwid.refreshes.length).toBeLessThanOrEqual(2);
    });

    it('lets the checks in flight finish and store their results before failing on an unreadable due index', async () => {
      const { run, expiring, store, ecwid, clock, tokensOf } = setup({ pageSize: 1, concurrency: 1 });
      await expiring(100);
      await expiring(101);
      clock.advanceSeconds(2700);
      const answer = deferred<void>();
      ecwid.onRefresh(100, async (request) => {
        await answer.promise;
        return { accessToken: 'access_100', refreshToken: 'rotated_100', expiresInSeconds: 3600, scope: '', storeId: request.storeId };
      });
      const realFindDue = store.findDue.bind(store);
      let reads = 0;
      store.findDue = async (request) => {
        reads += 1;
        if (reads > 1) throw new Error('storage down');
        return realFindDue(request);
      };
      const running = run();
      await new Promise((resolve) => setImmediate(resolve));
      answer.resolve();
      await expect(running).rejects.toThrow('storage down');
      await expect(tokensOf(100)).resolves.toEqual({ accessToken: 'access_100', refreshToken: 'rotated_100' });
    });

    it('fails the run when the due index cannot be read, so the failure alarm fires', async () => {
      const { run, install, store } = setup();
      await install(60);
      store.findDue = async () => {
        throw new Error('storage down');
      };
      await expect(run()).rejects.toThrow('storage down');
    });
  });
});
