import { TokenRenewalPendingError } from '../../functions/core/credentials/credentials-errors';
import { EcwidRequestError, EncryptionError, RateLimitedError } from '../../functions/core/errors';
import type { TokenGrant } from '../../functions/core/model';
import { storedTokens } from '../support/stored-tokens';
import { credentialsHarness, until } from './credentials-harness';

const invalidGrant = () => new EcwidRequestError('REFRESH_TOKEN_REJECTED', 'invalid_grant');
const unavailable = () => new EcwidRequestError('ECWID_UNAVAILABLE', 'the token endpoint answered 500');

describe('handing out credentials', () => {
  it('hands out an active store its token, with one read and one KMS request', async () => {
    const h = credentialsHarness();
    await h.install(1003, { publicToken: 'public_storefront_1003' });
    const answer = await h.desk.read({ storeId: 1003, deadlineEpochMs: h.deadline() });
    expect(answer).toEqual({
      outcome: 'issued',
      credentials: {
        storeId: 1003,
        accessToken: 'secret_stored_1003',
        tokenType: 'Bearer',
        scope: 'read_store_profile read_catalog',
        publicToken: 'public_storefront_1003',
        expiresAt: null,
        status: 'active',
        missingScopes: [],
      },
    });
    expect(h.store.calls.getInstallation).toBe(1);
    expect(h.vault.calls.sealerOf).toBe(1);
    expect(h.ecwid.refreshes).toHaveLength(0);
  });

  it('hands out a token whose checks are failing (needs_attention): only checks fail, not the token', async () => {
    const h = credentialsHarness();
    await h.install(1004);
    h.patch(1004, { status: 'needs_attention', statusReason: 'ecwid_unavailable' });
    await expect(h.desk.read({ storeId: 1004, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({
      outcome: 'issued',
      credentials: { status: 'needs_attention', accessToken: 'secret_stored_1004' },
    });
  });

  it('says a store is not installed, without touching KMS', async () => {
    const h = credentialsHarness();
    await expect(h.desk.read({ storeId: 42, deadlineEpochMs: h.deadline() })).resolves.toEqual({ outcome: 'not_installed' });
    expect(h.vault.calls.sealerOf).toBe(0);
  });

  it.each([
    ['needs_reinstall', 'INVALID_API_TOKEN'],
    ['suspended', 'STORE_IS_SUSPENDED'],
    ['store_gone', 'STORE_NOT_FOUND'],
  ] as const)('refuses a %s store with its reason, and never opens its token', async (status, reason) => {
    const h = credentialsHarness();
    await h.install(1005);
    h.patch(1005, { status, statusReason: reason });
    await expect(h.desk.read({ storeId: 1005, deadlineEpochMs: h.deadline() })).resolves.toEqual({ outcome: 'unusable', status, reason });
    expect(h.vault.calls.sealerOf).toBe(0);
  });

  it('shares one read and one KMS request among concurrent requests for one store', async () => {
    const h = credentialsHarness();
    await h.install(1006);
    const answers = await Promise.all(Array.from({ length: 10 }, () => h.desk.read({ storeId: 1006, deadlineEpochMs: h.deadline() })));
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(h.store.calls.getInstallation).toBe(1);
    expect(h.vault.calls.sealerOf).toBe(1);
  });

  it('passes on a KMS failure, having changed nothing', async () => {
    const h = credentialsHarness();
    await h.install(1007);
    h.vault.failure = new EncryptionError('ENCRYPTION_UNAVAILABLE', 'KMS Decrypt failed');
    await expect(h.desk.read({ storeId: 1007, deadlineEpochMs: h.deadline() })).rejects.toMatchObject({ code: 'ENCRYPTION_UNAVAILABLE' });
    expect(h.store.installations.get(1007)!.version).toBe(1);
  });
});

describe('an expiring token close to its end', () => {
  it('hands out an expiring token with more than the renewal margin left as it is', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1010, 301);
    const answer = await h.desk.read({ storeId: 1010, deadlineEpochMs: h.deadline() });
    expect(answer).toMatchObject({ outcome: 'issued', credentials: { accessToken: 'secret_stored_1010' } });
    expect(h.ecwid.refreshes).toHaveLength(0);
    expect(h.store.calls.leaseInstallation).toBe(0);
  });

  it('is renewed before it is handed out, under the lease, and the rotated grant is stored', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1011, 120, 'refresh_original');
    const answer = await h.desk.read({ storeId: 1011, deadlineEpochMs: h.deadline() });
    expect(answer).toMatchObject({
      outcome: 'issued',
      credentials: { accessToken: 'secret_renewed_1', expiresAt: new Date((h.nowSeconds() + 3600) * 1000).toISOString(), status: 'active' },
    });
    expect(answer).not.toHaveProperty('transition');
    expect(h.ecwid.refreshes.map((request) => request.refreshToken)).toEqual(['refresh_original']);
    const stored = h.store.installations.get(1011)!;
    expect(await storedTokens(h.vault, stored)).toEqual({ accessToken: 'secret_renewed_1', refreshToken: 'refresh_renewed_1' });
    expect(stored).toMatchObject({ status: 'active', version: 2, expiresAtEpochSeconds: h.nowSeconds() + 3600, lastRefreshedAtEpochSeconds: h.nowSeconds() });
    expect(stored.nextCheckAtEpochSeconds).toBeLessThan(h.nowSeconds() + 3600 - 900);
    expect(h.store.leases.has(1011)).toBe(false);

    await expect(h.desk.read({ storeId: 1011, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({ credentials: { accessToken: 'secret_renewed_1' } });
    expect(h.ecwid.refreshes).toHaveLength(1);
  });

  it('never sends a rotated refresh token twice: each renewal presents the newest one', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1012, 100, 'refresh_first');
    await h.desk.read({ storeId: 1012, deadlineEpochMs: h.deadline() });
    h.clock.advanceSeconds(3600 - 100);
    await h.desk.read({ storeId: 1012, deadlineEpochMs: h.deadline() });
    h.clock.advanceSeconds(3600 - 100);
    await h.desk.read({ storeId: 1012, deadlineEpochMs: h.deadline() });
    expect(h.ecwid.refreshes.map((request) => request.refreshToken)).toEqual(['refresh_first', 'refresh_renewed_1', 'refresh_renewed_2']);
  });

  it('shares one renewal among concurrent readers of one execution environment', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1013, 30);
    const answers = await Promise.all(Array.from({ length: 5 }, () => h.desk.read({ storeId: 1013, deadlineEpochMs: h.deadline() })));
    expect(answers.map((answer) => answer.outcome === 'issued' && answer.credentials.accessToken)).toEqual(Array(5).fill('secret_renewed_1'));
    expect(h.ecwid.refreshes).toHaveLength(1);
  });

  it('shares one renewal among readers in different execution environments: the others wait for it', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1014, 30);
    let release!: (grant: TokenGrant) => void;
    h.ecwid.onRefresh(() => new Promise<TokenGrant>((resolve) => (release = resolve)));
    const first = h.newDesk().read({ storeId: 1014, deadlineEpochMs: h.deadline() });
    await until(() => h.ecwid.refreshes.length === 1);
    const second = h.newDesk().read({ storeId: 1014, deadlineEpochMs: h.deadline() });
    await until(() => h.store.calls.leaseInstallation >= 2);
    release({ accessToken: 'secret_from_first', refreshToken: 'refresh_from_first', expiresInSeconds: 3600, scope: 'read_store_profile', storeId: 1014 });
    const [a, b] = await Promise.all([first, second]);
    expect(a).toMatchObject({ credentials: { accessToken: 'secret_from_first' } });
    expect(b).toMatchObject({ credentials: { accessToken: 'secret_from_first' } });
    expect(h.ecwid.refreshes).toHaveLength(1);
  });

  it('waits for the scheduled job when the job holds the lease, and hands out the token it stored', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1015, 50);
    const leased = (await h.store.acquireLease({ storeId: 1015, owner: 'run-1', nowEpochSeconds: h.nowSeconds() + 86_400, leaseExpiresAtEpochSeconds: h.nowSeconds() + 60 }))!;
    const reading = h.desk.read({ storeId: 1015, deadlineEpochMs: h.deadline() });
    await until(() => h.store.calls.getInstallation >= 3);
    const sealer = await h.vault.sealerOf(leased);
    await h.store.completeCheck({
      storeId: 1015,
      owner: 'run-1',
      version: leased.version,
      nowEpochSeconds: h.nowSeconds(),
      result: {
        status: 'active',
        refreshedGrant: {
          accessToken: sealer.seal('secret_from_job', 'access_token'),
          refreshToken: sealer.seal('refresh_from_job', 'refresh_token'),
          expiresAtEpochSeconds: h.nowSeconds() + 3600,
        },
        nextCheckAtEpochSeconds: h.nowSeconds() + 2700,
      },
    });
    await expect(reading).resolves.toMatchObject({ outcome: 'issued', credentials: { accessToken: 'secret_from_job' } });
    expect(h.ecwid.refreshes).toHaveLength(0);
  });

  it('gives up waiting after the bound: the current token while it lasts a minute, never a refresh of its own', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1016, 200);
    await h.store.leaseInstallation({ storeId: 1016, owner: 'stuck', nowEpochSeconds: h.nowSeconds(), leaseExpiresAtEpochSeconds: h.nowSeconds() + 60 });
    const startedAt = h.clock.nowEpochMs();
    await expect(h.desk.read({ storeId: 1016, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({
      credentials: { accessToken: 'secret_stored_1016' },
    });
    expect(h.clock.nowEpochMs() - startedAt).toBeLessThanOrEqual(h.settings.renewalWaitWithFallbackMs);
    expect(h.ecwid.refreshes).toHaveLength(0);
  });

  it('answers "renewal pending" rather than hand out a token about to die while another holder renews it', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1017, 40);
    await h.store.leaseInstallation({ storeId: 1017, owner: 'stuck', nowEpochSeconds: h.nowSeconds(), leaseExpiresAtEpochSeconds: h.nowSeconds() + 60 });
    const startedAt = h.clock.nowEpochMs();
    const failure = await h.desk.read({ storeId: 1017, deadlineEpochMs: h.deadline() }).catch((error: unknown) => error);
    // Without a token to fall back on, it waits the longer bound for the holder's renewal.
    expect(h.clock.nowEpochMs() - startedAt).toBeGreaterThan(h.settings.renewalWaitWithFallbackMs);
    expect(h.clock.nowEpochMs() - startedAt).toBeLessThanOrEqual(h.settings.renewalWaitMs);
    expect(failure).toBeInstanceOf(TokenRenewalPendingError);
    expect(failure).toMatchObject({ code: 'TOKEN_RENEWAL_PENDING', retryAfterSeconds: 1 });
    expect(h.ecwid.refreshes).toHaveLength(0);
  });

  it('sends no refresh when the request could not be stored before the deadline', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1018, 200);
    await expect(h.desk.read({ storeId: 1018, deadlineEpochMs: h.deadline(5_000) })).resolves.toMatchObject({
      credentials: { accessToken: 'secret_stored_1018' },
    });
    expect(h.ecwid.refreshes).toHaveLength(0);
    expect(h.store.leases.has(1018)).toBe(false);
  });

  it('moves a store whose grant the server refused to needs_reinstall, and says which transition it made', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1019, 30);
    h.ecwid.onRefresh(invalidGrant());
    await expect(h.desk.read({ storeId: 1019, deadlineEpochMs: h.deadline() })).resolves.toEqual({
      outcome: 'unusable',
      status: 'needs_reinstall',
      reason: 'invalid_grant',
      transition: { storeId: 1019, from: 'active', to: 'needs_reinstall', reason: 'invalid_grant' },
    });
    expect(h.store.installations.get(1019)).toMatchObject({ status: 'needs_reinstall', statusReason: 'invalid_grant' });
    expect(h.store.leases.has(1019)).toBe(false);
  });

  it('hands out the current token when a renewal fails for a passing reason and the token still lasts, then backs off like the job', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1020, 200);
    h.ecwid.onRefresh(unavailable());
    await expect(h.desk.read({ storeId: 1020, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({
      credentials: { accessToken: 'secret_stored_1020' },
    });
    expect(h.store.installations.get(1020)).toMatchObject({ status: 'active', failureCount: 1 });
    await h.desk.read({ storeId: 1020, deadlineEpochMs: h.deadline() });
    expect(h.ecwid.refreshes).toHaveLength(1);
  });

  it('passes on the failure when a renewal fails and the token would die within a minute (a 429 with its Retry-After)', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1021, 50);
    h.ecwid.onRefresh(new RateLimitedError('429', { retryAfterSeconds: 20 }));
    await expect(h.desk.read({ storeId: 1021, deadlineEpochMs: h.deadline() })).rejects.toMatchObject({
      code: 'ECWID_RATE_LIMITED',
      retryAfterSeconds: 20,
    });
    expect(h.store.installations.get(1021)!.nextCheckAtEpochSeconds).toBe(h.nowSeconds() + 20);
  });

  it('answers "pending" during the back-off after a failed renewal, instead of refreshing again', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1028, 50);
    h.ecwid.onRefresh(unavailable());
    await expect(h.desk.read({ storeId: 1028, deadlineEpochMs: h.deadline() })).rejects.toMatchObject({ code: 'ECWID_UNAVAILABLE' });
    const stored = h.store.installations.get(1028)!;
    expect(stored).toMatchObject({ failureCount: 1 });
    const failure = await h.desk.read({ storeId: 1028, deadlineEpochMs: h.deadline() }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TokenRenewalPendingError);
    expect((failure as TokenRenewalPendingError).retryAfterSeconds).toBe(Math.min(60, stored.nextCheckAtEpochSeconds! - h.nowSeconds()));
    expect(h.ecwid.refreshes).toHaveLength(1);
  });

  it('marks the renewal in flight before the request leaves, so a lost outcome is never taken for a revocation', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1040, 200);
    // The request timed out: the server may have rotated the refresh token.
    h.ecwid.onRefresh(new EcwidRequestError('ECWID_TIMEOUT', 'no answer in time'));
    await expect(h.desk.read({ storeId: 1040, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({
      credentials: { accessToken: 'secret_stored_1040' },
    });
    const marked = h.store.installations.get(1040)!;
    expect(marked.refreshInFlightSinceEpochSeconds).toBe(h.nowSeconds());
    // Later, the old refresh token is refused as reused: the outcome was lost, the merchant revoked nothing.
    h.clock.advanceSeconds(marked.nextCheckAtEpochSeconds! - h.nowSeconds() + 1);
    h.ecwid.onRefresh(invalidGrant());
    await expect(h.newDesk().read({ storeId: 1040, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({
      outcome: 'unusable',
      status: 'needs_reinstall',
      reason: 'refresh_outcome_lost',
    });
  });

  it('clears the mark once the answer of a renewal is stored, and marks nothing when the server states its refusal', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1041, 30);
    await h.desk.read({ storeId: 1041, deadlineEpochMs: h.deadline() });
    expect(h.store.installations.get(1041)!.refreshInFlightSinceEpochSeconds).toBeUndefined();
    await h.installExpiring(1042, 200);
    h.ecwid.onRefresh(new RateLimitedError('429', { retryAfterSeconds: 20 }));
    await h.newDesk().read({ storeId: 1042, deadlineEpochMs: h.deadline() });
    expect(h.store.installations.get(1042)!.refreshInFlightSinceEpochSeconds).toBeUndefined();
  });

  it('leaves an installation with an uninstall awaiting confirmation to the job: no renewal, the current token while it lasts', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1043, 200);
    h.patch(1043, { uninstallRequestedAtEpochSeconds: h.nowSeconds() - 10 });
    await expect(h.desk.read({ storeId: 1043, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({
      credentials: { accessToken: 'secret_stored_1043' },
    });
    expect(h.ecwid.refreshes).toHaveLength(0);
    expect(h.store.leases.has(1043)).toBe(false);
  });

  it('retries the write of a rotated grant, as the job does', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1022, 30);
    h.store.failWrites = 2;
    await expect(h.desk.read({ storeId: 1022, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({ credentials: { accessToken: 'secret_renewed_1' } });
    expect(await storedTokens(h.vault, h.store.installations.get(1022)!)).toMatchObject({ refreshToken: 'refresh_renewed_1' });
  });

  it('still hands out the renewed token when its grant cannot be stored at all, and says so in the log', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1023, 30);
    h.store.failWrites = 3;
    await expect(h.desk.read({ storeId: 1023, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({ credentials: { accessToken: 'secret_renewed_1' } });
    expect(h.logs.entries()).toContainEqual(expect.objectContaining({ level: 'ERROR', message: expect.stringContaining('could not be stored') }));
    expect(h.logs.lines.join('\n')).not.toContain('secret_renewed_1');
  });

  it('keeps a reinstall that landed during the renewal, and hands out its token', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1024, 30);
    h.ecwid.onRefresh(async (request) => {
      await h.install(1024, { accessToken: 'secret_reinstalled' });
      return { accessToken: 'secret_from_old_grant', refreshToken: 'refresh_x', expiresInSeconds: 3600, scope: '', storeId: request.storeId };
    });
    await expect(h.desk.read({ storeId: 1024, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({ credentials: { accessToken: 'secret_reinstalled' } });
    expect(await storedTokens(h.vault, h.store.installations.get(1024)!)).toMatchObject({ accessToken: 'secret_reinstalled' });
  });

  it('reports the way back to active when it renews a store that needed attention', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1025, 30);
    h.patch(1025, { status: 'needs_attention', statusReason: 'ecwid_timeout' });
    await expect(h.desk.read({ storeId: 1025, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({
      outcome: 'issued',
      credentials: { status: 'active' },
      transition: { storeId: 1025, from: 'needs_attention', to: 'active' },
    });
  });

  it('refuses an expiring token without a refresh token near its end: only a reinstall helps', async () => {
    const h = credentialsHarness();
    await h.install(1026, { expiresAtEpochSeconds: h.nowSeconds() + 30 });
    await expect(h.desk.read({ storeId: 1026, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({
      outcome: 'unusable',
      status: 'needs_reinstall',
      reason: 'token_expiring_without_refresh_token',
    });
    h.clock.advanceSeconds(31);
    await expect(h.desk.read({ storeId: 1026, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({
      outcome: 'unusable',
      status: 'needs_reinstall',
      reason: 'token_expired_without_refresh_token',
      transition: { from: 'active', to: 'needs_reinstall' },
    });
    expect(h.ecwid.refreshes).toHaveLength(0);
  });

  it('moves a store whose refresh token does not decrypt to needs_reinstall', async () => {
    const h = credentialsHarness();
    await h.installExpiring(1027, 30);
    const other = await h.install(9999);
    h.patch(1027, { refreshToken: other.accessToken });
    await expect(h.desk.read({ storeId: 1027, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({
      outcome: 'unusable',
      status: 'needs_reinstall',
      reason: 'token_unreadable',
    });
    expect(h.ecwid.refreshes).toHaveLength(0);
  });
});
