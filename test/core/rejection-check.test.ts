import { EcwidRequestError } from '../../functions/core/errors';
import { storedTokens } from '../support/stored-tokens';
import { credentialsHarness, until } from './credentials-harness';

const revoked = { outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' } as const;

describe('a reported rejection', () => {
  it('is checked with Ecwid, using the stored token, and a confirmed revocation moves the store to needs_reinstall', async () => {
    const h = credentialsHarness();
    await h.install(1003);
    h.ecwid.onVerify(revoked);
    await expect(h.desk.reportRejection({ storeId: 1003, deadlineEpochMs: h.deadline() })).resolves.toEqual({
      outcome: 'concluded',
      status: 'needs_reinstall',
      transition: { storeId: 1003, from: 'active', to: 'needs_reinstall', reason: 'INVALID_API_TOKEN' },
    });
    expect(h.ecwid.verifications).toEqual([{ storeId: 1003, accessToken: 'secret_stored_1003' }]);
    const stored = h.store.installations.get(1003)!;
    expect(stored).toMatchObject({ status: 'needs_reinstall', statusReason: 'INVALID_API_TOKEN', version: 2 });
    expect(stored).not.toHaveProperty('nextCheckAtEpochSeconds');
    await expect(h.desk.read({ storeId: 1003, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({ outcome: 'unusable', status: 'needs_reinstall' });
  });

  it("does not take the caller's word: a token Ecwid accepts stays active, and nothing is written", async () => {
    const h = credentialsHarness();
    await h.install(1004);
    await expect(h.desk.reportRejection({ storeId: 1004, deadlineEpochMs: h.deadline() })).resolves.toEqual({ outcome: 'concluded', status: 'active' });
    expect(h.store.installations.get(1004)).toMatchObject({ status: 'active', version: 1 });
    expect(h.store.calls.recordRevocation).toBe(0);
  });

  it('does not ask Ecwid again about a token it accepted moments ago, but does once that memory ends', async () => {
    const h = credentialsHarness();
    await h.install(1005);
    await h.desk.reportRejection({ storeId: 1005, deadlineEpochMs: h.deadline() });
    await h.desk.reportRejection({ storeId: 1005, deadlineEpochMs: h.deadline() });
    expect(h.ecwid.verifications).toHaveLength(1);
    h.clock.advanceSeconds(11);
    await h.desk.reportRejection({ storeId: 1005, deadlineEpochMs: h.deadline() });
    expect(h.ecwid.verifications).toHaveLength(2);
  });

  it('answers the known status of a store whose token already does not work, without asking Ecwid', async () => {
    const h = credentialsHarness();
    await h.install(1006);
    h.patch(1006, { status: 'suspended', statusReason: 'STORE_IS_SUSPENDED' });
    await expect(h.desk.reportRejection({ storeId: 1006, deadlineEpochMs: h.deadline() })).resolves.toEqual({ outcome: 'concluded', status: 'suspended' });
    expect(h.ecwid.verifications).toHaveLength(0);
  });

  it('says a store is not installed', async () => {
    const h = credentialsHarness();
    await expect(h.desk.reportRejection({ storeId: 77, deadlineEpochMs: h.deadline() })).resolves.toEqual({ outcome: 'not_installed' });
  });

  it.each([
    [{ outcome: 'rate_limited', retryAfterSeconds: 42 } as const, 'rate_limited', 42],
    [{ outcome: 'rate_limited' } as const, 'rate_limited', 30],
    [{ outcome: 'failed', reason: 'http_500' } as const, 'http_500', 30],
    [{ outcome: 'failed', reason: 'timeout' } as const, 'timeout', 30],
    [{ outcome: 'suspended', errorCode: 'STORE_IS_SUSPENDED' } as const, 'STORE_IS_SUSPENDED', 30],
    [{ outcome: 'store_gone', errorCode: 'STORE_NOT_FOUND' } as const, 'STORE_NOT_FOUND', 30],
  ])('concludes nothing, and writes nothing, when Ecwid answers %j', async (verification, reason, retryAfterSeconds) => {
    const h = credentialsHarness();
    await h.install(1007);
    h.ecwid.onVerify(verification);
    await expect(h.desk.reportRejection({ storeId: 1007, deadlineEpochMs: h.deadline() })).resolves.toEqual({
      outcome: 'unconfirmed',
      reason,
      retryAfterSeconds,
    });
    expect(h.store.installations.get(1007)).toMatchObject({ status: 'active', version: 1 });
  });

  it('keeps a reinstall that landed while the refused token was being checked', async () => {
    const h = credentialsHarness();
    await h.install(1008);
    h.ecwid.onVerify(async () => {
      await h.install(1008, { accessToken: 'secret_reinstalled' });
      return revoked;
    });
    await expect(h.desk.reportRejection({ storeId: 1008, deadlineEpochMs: h.deadline() })).resolves.toEqual({ outcome: 'concluded', status: 'active' });
    const stored = h.store.installations.get(1008)!;
    expect(stored).toMatchObject({ status: 'active', version: 2 });
    expect(await storedTokens(h.vault, stored)).toMatchObject({ accessToken: 'secret_reinstalled' });
  });

  it('records the revocation over a version moved on by bookkeeping alone (the same token)', async () => {
    const h = credentialsHarness();
    await h.install(1009);
    h.ecwid.onVerify(async () => {
      h.patch(1009, { lastVerifiedAtEpochSeconds: h.nowSeconds() });
      return revoked;
    });
    await expect(h.desk.reportRejection({ storeId: 1009, deadlineEpochMs: h.deadline() })).resolves.toMatchObject({ status: 'needs_reinstall' });
    expect(h.store.installations.get(1009)).toMatchObject({ status: 'needs_reinstall', version: 3 });
  });

  it('shares one check among concurrent reports for one store', async () => {
    const h = credentialsHarness();
    await h.install(1010);
    let answer!: () => void;
    h.ecwid.onVerify(() => new Promise((resolve) => (answer = () => resolve(revoked))));
    const reports = Array.from({ length: 4 }, () => h.desk.reportRejection({ storeId: 1010, deadlineEpochMs: h.deadline() }));
    await until(() => h.ecwid.verifications.length === 1);
    answer();
    const answers = await Promise.all(reports);
    expect(answers.every((item) => item.outcome === 'concluded' && item.status === 'needs_reinstall')).toBe(true);
    expect(h.ecwid.verifications).toHaveLength(1);
    expect(h.store.calls.recordRevocation).toBe(1);
  });

  describe('of an expiring token', () => {
    it('lets the refresh grant decide: a grant that still works renews the token, and the store stays active', async () => {
      const h = credentialsHarness();
      await h.installExpiring(1020, 1800, 'refresh_alive');
      h.ecwid.onVerify(revoked);
      await expect(h.desk.reportRejection({ storeId: 1020, deadlineEpochMs: h.deadline() })).resolves.toEqual({ outcome: 'concluded', status: 'active' });
      expect(h.ecwid.refreshes.map((request) => request.refreshToken)).toEqual(['refresh_alive']);
      expect(await storedTokens(h.vault, h.store.installations.get(1020)!)).toEqual({ accessToken: 'secret_renewed_1', refreshToken: 'refresh_renewed_1' });
    });

    it('a refused grant moves the store to needs_reinstall', async () => {
      const h = credentialsHarness();
      await h.installExpiring(1021, 1800);
      h.ecwid.onVerify(revoked).onRefresh(new EcwidRequestError('REFRESH_TOKEN_REJECTED', 'invalid_grant'));
      await expect(h.desk.reportRejection({ storeId: 1021, deadlineEpochMs: h.deadline() })).resolves.toEqual({
        outcome: 'concluded',
        status: 'needs_reinstall',
        transition: { storeId: 1021, from: 'active', to: 'needs_reinstall', reason: 'invalid_grant' },
      });
    });

    it('a renewal that fails for a passing reason concludes nothing', async () => {
      const h = credentialsHarness();
      await h.installExpiring(1022, 1800);
      h.ecwid.onVerify(revoked).onRefresh(new EcwidRequestError('ECWID_TIMEOUT', 'timeout'));
      await expect(h.desk.reportRejection({ storeId: 1022, deadlineEpochMs: h.deadline() })).resolves.toEqual({
        outcome: 'unconfirmed',
        reason: 'renewal_deferred',
        retryAfterSeconds: 30,
      });
      expect(h.store.installations.get(1022)).toMatchObject({ status: 'active' });
    });
  });
});
