import { EcwidRequestError, RateLimitedError, StorageError } from '../../functions/core/errors';
import type { Installation, SealedToken } from '../../functions/core/model';
import type { RandomSource } from '../../functions/core/ports';
import {
  decideAfterPassingFailure,
  decideAfterRefreshFailure,
  decideAfterVerification,
  decideWithoutRequest,
  planRefreshedGrant,
  refreshOutcomeUnknown,
  withRefreshMark,
  type CheckPolicy,
} from '../../functions/core/refresh/policy';
import { DEFAULT_CHECK_SCHEDULE } from '../../functions/core/refresh/schedule';

const NOW = 1_800_000_000;
const DAY = 86_400;

const POLICY: CheckPolicy = {
  schedule: DEFAULT_CHECK_SCHEDULE,
  failureBudgetSeconds: 3 * DAY,
  retryBaseSeconds: 300,
  retryMaxSeconds: 6 * 3600,
  rateLimitDefaultSeconds: 60,
  rateLimitMaxSeconds: 3600,
  assumedTokenLifetimeSeconds: 3600,
};

/** Always 0.5 as a fraction: no spread around a verification interval, half the refresh jitter (150 s). */
const middle: RandomSource = { randomBytes: (length) => Uint8Array.from({ length }, (_, index) => (index === 0 ? 0x80 : 0)) };

function installation(overrides: Partial<Installation> = {}): Installation {
  return {
    storeId: 1,
    tokenKey: 'k',
    accessToken: 'sealed' as SealedToken,
    tokenType: 'Bearer',
    scope: 'read_store_profile',
    installedAtEpochSeconds: NOW - DAY,
    updatedAtEpochSeconds: NOW - DAY,
    status: 'active',
    version: 3,
    ...overrides,
  };
}

describe('the refresh policy (pure decisions)', () => {
  it('needs no request for an expiring token without a refresh token: waits for its end, then asks for a reinstall', () => {
    const expiring = installation({ expiresAtEpochSeconds: NOW + 600 });
    expect(decideWithoutRequest(expiring, NOW)).toEqual({
      outcome: 'retry_later',
      result: { status: 'active', nextCheckAtEpochSeconds: NOW + 600 },
    });
    expect(decideWithoutRequest(expiring, NOW + 600)).toEqual({
      outcome: 'needs_reinstall',
      result: { status: 'needs_reinstall', statusReason: 'token_expired_without_refresh_token' },
    });
    expect(decideWithoutRequest(installation(), NOW)).toBeUndefined();
    expect(decideWithoutRequest(installation({ expiresAtEpochSeconds: NOW, refreshToken: 'r' as SealedToken }), NOW)).toBeUndefined();
  });

  it('reads a valid verification as verified, next check a day later', () => {
    expect(decideAfterVerification(installation(), { outcome: 'valid' }, NOW, POLICY, middle)).toEqual({
      outcome: 'verified',
      result: { status: 'active', lastVerifiedAtEpochSeconds: NOW, nextCheckAtEpochSeconds: NOW + DAY },
    });
  });

  it('takes a revoked or vanished store out of the schedule, and keeps checking a suspended one', () => {
    expect(decideAfterVerification(installation(), { outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' }, NOW, POLICY, middle).result).toEqual({
      status: 'needs_reinstall',
      statusReason: 'INVALID_API_TOKEN',
    });
    expect(decideAfterVerification(installation(), { outcome: 'store_gone', errorCode: 'STORE_NOT_FOUND' }, NOW, POLICY, middle).result).toEqual({
      status: 'store_gone',
      statusReason: 'STORE_NOT_FOUND',
    });
    const suspended = decideAfterVerification(installation(), { outcome: 'suspended', errorCode: 'STORE_IS_SUSPENDED' }, NOW, POLICY, middle);
    expect(suspended.result).toMatchObject({ status: 'suspended', nextCheckAtEpochSeconds: NOW + DAY });
  });

  it('honours Retry-After up to the maximum, and keeps what it knew (status, failure streak)', () => {
    const failing = installation({ status: 'needs_attention', statusReason: 'http_503', failureCount: 4, firstFailureAtEpochSeconds: NOW - 5 * DAY });
    const decision = decideAfterVerification(failing, { outcome: 'rate_limited', retryAfterSeconds: 99_999 }, NOW, POLICY, middle);
    expect(decision).toEqual({
      outcome: 'rate_limited',
      result: {
        status: 'needs_attention',
        statusReason: 'http_503',
        failure: { count: 4, firstAtEpochSeconds: NOW - 5 * DAY },
        nextCheckAtEpochSeconds: NOW + 3600,
      },
    });
    expect(decideAfterVerification(installation(), { outcome: 'rate_limited' }, NOW, POLICY, middle).result.nextCheckAtEpochSeconds).toBe(NOW + 60);
  });

  it('backs off exponentially, retries an expiring token before it dies, and needs attention past the budget', () => {
    const first = decideAfterPassingFailure(installation(), 'http_503', NOW, POLICY, middle);
    expect(first).toEqual({
      outcome: 'retry_later',
      result: { status: 'active', nextCheckAtEpochSeconds: NOW + 300, failure: { count: 1, firstAtEpochSeconds: NOW } },
    });
    const fourth = decideAfterPassingFailure(installation({ failureCount: 3, firstFailureAtEpochSeconds: NOW - 3600 }), 'http_503', NOW, POLICY, middle);
    expect(fourth.result.nextCheckAtEpochSeconds).toBe(NOW + 2400);
    const dying = decideAfterPassingFailure(installation({ failureCount: 5, firstFailureAtEpochSeconds: NOW, expiresAtEpochSeconds: NOW + 200 }), 'timeout', NOW, POLICY, middle);
    expect(dying.result.nextCheckAtEpochSeconds).toBe(NOW + 140);
    const overBudget = decideAfterPassingFailure(installation({ failureCount: 20, firstFailureAtEpochSeconds: NOW - 3 * DAY }), 'http_503', NOW, POLICY, middle);
    expect(overBudget).toMatchObject({ outcome: 'needs_attention', result: { status: 'needs_attention', statusReason: 'http_503' } });
  });

  it('reads a refused refresh token as a lost grant, and as a lost outcome when a refresh was left in flight', () => {
    const rejected = new EcwidRequestError('REFRESH_TOKEN_REJECTED', 'invalid_grant');
    expect(decideAfterRefreshFailure(installation({ failureCount: 2 }), rejected, NOW, POLICY, middle)).toEqual({
      outcome: 'needs_reinstall',
      result: { status: 'needs_reinstall', statusReason: 'invalid_grant' },
      credentialsRejected: false,
    });
    expect(decideAfterRefreshFailure(installation({ refreshInFlightSinceEpochSeconds: NOW - 600 }), rejected, NOW, POLICY, middle)).toEqual({
      outcome: 'refresh_outcome_lost',
      result: { status: 'needs_reinstall', statusReason: 'refresh_outcome_lost' },
      credentialsRejected: false,
    });
  });

  it('knows which failed refreshes the server may still have processed', () => {
    expect(refreshOutcomeUnknown(new EcwidRequestError('ECWID_TIMEOUT', 'timeout'))).toBe(true);
    expect(refreshOutcomeUnknown(new EcwidRequestError('ECWID_INVALID_RESPONSE', 'garbage'))).toBe(true);
    expect(refreshOutcomeUnknown(new EcwidRequestError('ECWID_UNAVAILABLE', 'reset after sending'))).toBe(true);
    expect(refreshOutcomeUnknown(new Error('bug'))).toBe(true);
    expect(refreshOutcomeUnknown(new EcwidRequestError('ECWID_UNAVAILABLE', 'refused', { mayHaveReachedServer: false }))).toBe(false);
    expect(refreshOutcomeUnknown(new RateLimitedError('429', { retryAfterSeconds: undefined }))).toBe(false);
    expect(refreshOutcomeUnknown(new EcwidRequestError('CLIENT_REJECTED', 'invalid_client'))).toBe(false);
  });

  it('keeps the earliest unresolved refresh on every result but a stored refresh or an ended grant', () => {
    const retry = decideAfterPassingFailure(installation(), 'timeout', NOW, POLICY, middle);
    expect(withRefreshMark(retry, NOW - 60).result.refreshInFlightSinceEpochSeconds).toBe(NOW - 60);
    expect(withRefreshMark(retry, undefined).result).not.toHaveProperty('refreshInFlightSinceEpochSeconds');
    const refreshed = { outcome: 'refreshed' as const, result: { status: 'active' as const } };
    expect(withRefreshMark(refreshed, NOW - 60).result).not.toHaveProperty('refreshInFlightSinceEpochSeconds');
    const ended = decideAfterRefreshFailure(installation(), new EcwidRequestError('REFRESH_TOKEN_REJECTED', 'x'), NOW, POLICY, middle);
    expect(withRefreshMark(ended, NOW - 60).result).not.toHaveProperty('refreshInFlightSinceEpochSeconds');
  });

  it('refreshes a just-issued token no earlier than half-way through its life', () => {
    const shortLived = installation({ expiresAtEpochSeconds: NOW + 10, lastRefreshedAtEpochSeconds: NOW - 590, refreshToken: 'r' as SealedToken });
    const plan = planRefreshedGrant(shortLived, { accessToken: 'a', scope: '', storeId: 1, expiresInSeconds: 600 }, NOW, POLICY, middle);
    expect(plan).toMatchObject({ expiresAtEpochSeconds: NOW + 600, nextCheckAtEpochSeconds: NOW + 300 });
  });

  it('reads a rate-limited refresh by its typed Retry-After, and a refused client as a reason to stop the run', () => {
    const limited = decideAfterRefreshFailure(installation(), new RateLimitedError('429', { retryAfterSeconds: 120 }), NOW, POLICY, middle);
    expect(limited).toMatchObject({ outcome: 'rate_limited', credentialsRejected: false, result: { nextCheckAtEpochSeconds: NOW + 120 } });
    const refused = decideAfterRefreshFailure(installation(), new EcwidRequestError('CLIENT_REJECTED', 'invalid_client'), NOW, POLICY, middle);
    expect(refused).toMatchObject({ outcome: 'retry_later', credentialsRejected: true, result: { failure: { count: 1 } } });
    const storage = decideAfterRefreshFailure(installation(), new StorageError('down', { operation: 'GetItem' }), NOW, POLICY, middle);
    expect(storage).toMatchObject({ outcome: 'retry_later', credentialsRejected: false });
    expect(decideAfterRefreshFailure(installation(), new Error('bug'), NOW, POLICY, middle).outcome).toBe('retry_later');
  });

  it('plans a refreshed grant from expires_in, else the previous lifetime, never "expires never"', () => {
    const previous = installation({ expiresAtEpochSeconds: NOW + 60, lastRefreshedAtEpochSeconds: NOW - 7140, refreshToken: 'r' as SealedToken });
    expect(planRefreshedGrant(previous, { accessToken: 'a', scope: '', storeId: 1, expiresInSeconds: 3600 }, NOW, POLICY, middle)).toEqual({
      expiresAtEpochSeconds: NOW + 3600,
      nextCheckAtEpochSeconds: NOW + 3600 - 900 - 150,
    });
    expect(planRefreshedGrant(previous, { accessToken: 'a', scope: 'read_catalog', storeId: 1 }, NOW, POLICY, middle)).toMatchObject({
      expiresAtEpochSeconds: NOW + 7200,
      scope: 'read_catalog',
    });
    const unknownLifetime = installation({ expiresAtEpochSeconds: NOW - 10, lastRefreshedAtEpochSeconds: NOW, refreshToken: 'r' as SealedToken });
    expect(planRefreshedGrant(unknownLifetime, { accessToken: 'a', scope: '', storeId: 1 }, NOW, POLICY, middle).expiresAtEpochSeconds).toBe(NOW + 3600);
  });
});
