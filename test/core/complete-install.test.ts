import { EcwidRequestError, EncryptionError, SecretUnavailableError, StorageError } from '../../functions/core/errors';
import type { SealedToken } from '../../functions/core/model';
import { fingerprint } from '../../functions/core/secure-values';
import { grantFor } from '../support/fakes';
import { errorCodeOf } from '../support/rejections';
import { deferred, installHarness } from './install-harness';

const STORE_ID = 1003;

async function startedInstall(harness: ReturnType<typeof installHarness>) {
  const { state, browserBinding } = await harness.begin();
  const query = (code: string, extra = '') => `code=${code}&store_id=${STORE_ID}&state=${state}${extra}`;
  return { state, browserBinding, query };
}

describe('completeInstall', () => {
  describe('app-initiated installs', () => {
    it('exchanges the code once, with all parameters, and stores the installation', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      const grant = grantFor(STORE_ID, { publicToken: 'public_x' });
      harness.tokenEndpoint.answer(grant);

      await expect(harness.callback(query('code-1'), browserBinding)).resolves.toEqual({
        outcome: 'installed',
        storeId: STORE_ID,
        replayed: false,
        lane: 'app_initiated',
        browserBound: true,
      });

      expect(harness.tokenEndpoint.requests).toEqual([
        {
          code: 'code-1',
          redirectUri: 'https://auth.example.com/callback',
          clientId: 'app-client-id',
          clientSecret: 'client-secret-value',
          storeId: STORE_ID,
        },
      ]);
      const now = harness.clock.nowEpochMs() / 1000;
      const stored = await harness.store.getInstallation(STORE_ID);
      expect(stored).toMatchObject({
        storeId: STORE_ID,
        tokenType: 'Bearer',
        scope: grant.scope,
        installedAtEpochSeconds: now,
        status: 'active',
        version: 1,
        grantCodeHash: fingerprint('code-1'),
      });
      expect(stored).not.toHaveProperty('expiresAtEpochSeconds');
      expect(stored).not.toHaveProperty('refreshToken');
      // Tokens are stored sealed under the store's data key, and open again only as themselves.
      expect(stored!.accessToken).not.toContain(grant.accessToken);
      expect(stored!.publicToken).not.toContain('public_x');
      await expect(harness.vault.reveal(stored!, stored!.accessToken, 'access_token')).resolves.toBe(grant.accessToken);
      await expect(harness.vault.reveal(stored!, stored!.publicToken!, 'public_token')).resolves.toBe('public_x');
      // A non-expiring token is verified about a day later, spread by up to 10% either way.
      expect(stored!.nextCheckAtEpochSeconds).toBeGreaterThanOrEqual(now + 0.9 * 86_400);
      expect(stored!.nextCheckAtEpochSeconds).toBeLessThanOrEqual(now + 1.1 * 86_400);
      await expect(harness.store.getCodeClaim(fingerprint('code-1'))).resolves.toMatchObject({ status: 'installed' });
    });

    it('stores the expiry and refresh token when the server sends them, and schedules the refresh before expiry', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      harness.tokenEndpoint.answer(grantFor(STORE_ID, { expiresInSeconds: 7200, refreshToken: 'refresh_1' }));
      await harness.callback(query('code-1'), browserBinding);

      const now = harness.clock.nowEpochMs() / 1000;
      const stored = await harness.store.getInstallation(STORE_ID);
      expect(stored).toMatchObject({ expiresAtEpochSeconds: now + 7200 });
      await expect(harness.vault.reveal(stored!, stored!.refreshToken!, 'refresh_token')).resolves.toBe('refresh_1');
      // 15 minutes of margin plus up to 5 minutes of jitter.
      expect(stored!.nextCheckAtEpochSeconds).toBeLessThanOrEqual(now + 7200 - 900);
      expect(stored!.nextCheckAtEpochSeconds).toBeGreaterThanOrEqual(now + 7200 - 1200);
    });

    it('exchanges at the legacy path when the redirect named no store', async () => {
      const harness = installHarness();
      const { state, browserBinding } = await harness.begin();
      await harness.callback(`code=code-1&state=${state}`, browserBinding);
      expect(harness.tokenEndpoint.requests[0]).not.toHaveProperty('storeId');
    });

    it.each([
      ['a state it never issued', async (h: ReturnType<typeof installHarness>) => {
        const { browserBinding } = await h.begin();
        return { query: `code=c&store_id=1&state=${'A'.repeat(43)}`, binding: browserBinding };
      }, 'STATE_UNKNOWN'],
      ['a malformed state', async (h: ReturnType<typeof installHarness>) => {
        const { browserBinding } = await h.begin();
        return { query: 'code=c&store_id=1&state=short', binding: browserBinding };
      }, 'STATE_UNKNOWN'],
      ['an empty state', async (h: ReturnType<typeof installHarness>) => {
        const { browserBinding } = await h.begin();
        return { query: 'code=c&store_id=1&state=', binding: browserBinding };
      }, 'STATE_UNKNOWN'],
      ['an expired state', async (h: ReturnType<typeof installHarness>) => {
        const { state, browserBinding } = await h.begin();
        h.clock.advanceSeconds(601);
        return { query: `code=c&store_id=1&state=${state}`, binding: browserBinding };
      }, 'STATE_EXPIRED'],
      ['a state issued to another browser', async (h: ReturnType<typeof installHarness>) => {
        const { state } = await h.begin();
        const other = await h.begin();
        return { query: `code=c&store_id=1&state=${state}`, binding: other.browserBinding };
      }, 'STATE_BROWSER_MISMATCH'],
      ['a state without its cookie', async (h: ReturnType<typeof installHarness>) => {
        const { state } = await h.begin();
        return { query: `code=c&store_id=1&state=${state}`, binding: undefined };
      }, 'STATE_BROWSER_MISMATCH'],
    ])('refuses %s and sends no token request', async (_description, arrange, expectedCode) => {
      const harness = installHarness();
      const { query, binding } = await arrange(harness);
      await expect(errorCodeOf(harness.callback(query, binding))).resolves.toBe(expectedCode);
      expect(harness.tokenEndpoint.requests).toHaveLength(0);
      expect(harness.store.installations.size).toBe(0);
      expect(harness.store.claims.size).toBe(0);
    });

    it('refuses a state that was already used for another code', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      await harness.callback(query('code-1'), browserBinding);
      await expect(errorCodeOf(harness.callback(query('code-2'), browserBinding))).resolves.toBe('STATE_USED');
      expect(harness.tokenEndpoint.requests).toHaveLength(1);
    });

    it('leaves a state usable by its own browser after another browser tried it', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      const stranger = await harness.begin();
      await expect(errorCodeOf(harness.callback(query('code-1'), stranger.browserBinding))).resolves.toBe(
        'STATE_BROWSER_MISMATCH',
      );
      await expect(harness.callback(query('code-1'), browserBinding)).resolves.toMatchObject({ outcome: 'installed' });
    });
  });

  describe('lifecycle events', () => {
    it('announces a first install as Store Installed and a later one of the same store as Store Reinstalled, once each', async () => {
      const harness = installHarness();
      const first = await startedInstall(harness);
      await harness.callback(first.query('code-a'), first.browserBinding);
      await harness.callback(first.query('code-a'), first.browserBinding);
      harness.clock.advanceSeconds(60);
      const second = await startedInstall(harness);
      await harness.callback(second.query('code-b'), second.browserBinding);
      expect(harness.publisher.events.map((event) => [event.detailType, event.detail.storeId, event.detail.status, event.detail.reason])).toEqual([
        ['Store Installed', STORE_ID, 'active', 'app_initiated'],
        ['Store Reinstalled', STORE_ID, 'active', 'app_initiated'],
      ]);
      expect(JSON.stringify(harness.publisher.events)).not.toMatch(/secret_token/);
    });

    it('completes the install when its announcement cannot be published', async () => {
      const harness = installHarness();
      harness.publisher.failing = true;
      const { browserBinding, query } = await startedInstall(harness);
      await expect(harness.callback(query('code-c'), browserBinding)).resolves.toMatchObject({ outcome: 'installed', replayed: false });
      await expect(harness.store.getInstallation(STORE_ID)).resolves.toMatchObject({ status: 'active' });
    });
  });

  describe('never exchanging a code twice', () => {
    it('shows a reloaded callback the first outcome without a second token request', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      await harness.callback(query('code-1'), browserBinding);
      harness.clock.advanceSeconds(30);
      await expect(harness.callback(query('code-1'), browserBinding)).resolves.toEqual({
        outcome: 'installed',
        storeId: STORE_ID,
        replayed: true,
        lane: 'app_initiated',
        browserBound: true,
      });
      expect(harness.tokenEndpoint.requests).toHaveLength(1);
    });

    it('still recognises the reload once the state itself is gone', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      await harness.callback(query('code-1'), browserBinding);
      harness.store.states.clear();
      harness.clock.advanceSeconds(3 * 3600);
      await expect(harness.callback(query('code-1'), browserBinding)).resolves.toMatchObject({ replayed: true });
      expect(harness.tokenEndpoint.requests).toHaveLength(1);
    });

    it('lets a double-clicked callback wait for the first and show its success', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      const answer = deferred<void>();
      harness.tokenEndpoint.answer(async (request) => {
        await answer.promise;
        return grantFor(request.storeId!);
      });
      const first = harness.callback(query('code-1'), browserBinding);
      const second = harness.callback(query('code-1'), browserBinding);
      await new Promise((resolve) => setImmediate(resolve));
      answer.resolve();
      await expect(Promise.all([first, second])).resolves.toEqual([
        { outcome: 'installed', storeId: STORE_ID, replayed: false, lane: 'app_initiated', browserBound: true },
        { outcome: 'installed', storeId: STORE_ID, replayed: true, lane: 'app_initiated', browserBound: true },
      ]);
      expect(harness.tokenEndpoint.requests).toHaveLength(1);
    });

    it('tells a duplicate to reload when the first is still exchanging after the wait', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      const answer = deferred<void>();
      harness.tokenEndpoint.answer(async (request) => {
        await answer.promise;
        return grantFor(request.storeId!);
      });
      const first = harness.callback(query('code-1'), browserBinding);
      await expect(errorCodeOf(harness.callback(query('code-1'), browserBinding))).resolves.toBe('INSTALL_IN_PROGRESS');
      answer.resolve();
      await expect(first).resolves.toMatchObject({ outcome: 'installed', replayed: false });
      expect(harness.tokenEndpoint.requests).toHaveLength(1);
    });

    it('never sends a code again once its grant is stored, even after its claim is gone', async () => {
      const harness = installHarness();
      await harness.callback('code=market-code&store_id=77');
      harness.store.claims.clear();
      harness.clock.advanceSeconds(60 * 24 * 3600);
      await expect(harness.callback('code=market-code&store_id=77')).resolves.toEqual({
        outcome: 'installed',
        storeId: 77,
        replayed: true,
        lane: 'app_market',
        browserBound: false,
      });
      expect(harness.tokenEndpoint.requests).toHaveLength(1);
    });

    it('takes over a code whose first attempt released it while this one waited', async () => {
      const harness = installHarness();
      const answer = deferred<void>();
      harness.tokenEndpoint.answer(async () => {
        await answer.promise;
        throw new EcwidRequestError('ECWID_UNREACHABLE', 'refused', { mayHaveReachedServer: false });
      });
      const first = harness.callback('code=c1&store_id=5');
      await new Promise((resolve) => setImmediate(resolve));
      const second = harness.callback('code=c1&store_id=5');
      await new Promise((resolve) => setImmediate(resolve));
      answer.resolve();
      await expect(errorCodeOf(first)).resolves.toBe('ECWID_UNREACHABLE');
      await expect(second).resolves.toMatchObject({ outcome: 'installed', replayed: false });
      expect(harness.tokenEndpoint.requests).toHaveLength(2);
    });

    it('does not let another browser drive a callback whose state this code already spent', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      harness.vault.failure = new EncryptionError('ENCRYPTION_UNAVAILABLE', 'KMS down');
      await expect(errorCodeOf(harness.callback(query('code-1'), browserBinding))).resolves.toBe('ENCRYPTION_UNAVAILABLE');
      harness.vault.failure = undefined;
      await expect(errorCodeOf(harness.callback(query('code-1'), undefined))).resolves.toBe('STATE_USED');
      expect(harness.tokenEndpoint.requests).toHaveLength(0);
      await expect(harness.callback(query('code-1'), browserBinding)).resolves.toMatchObject({ outcome: 'installed' });
    });

    it('reports an attempt that died midway as unknown, and does not send the code again', async () => {
      const harness = installHarness();
      const codeHash = fingerprint('code-1');
      const claimedAt = harness.clock.nowEpochMs() / 1000 - 60;
      await harness.store.claimCode({ codeHash, attemptId: 'died', storeId: 5, claimedAtEpochSeconds: claimedAt, expiresAtEpochSeconds: claimedAt + 86_400 });
      await expect(errorCodeOf(harness.callback('code=code-1&store_id=5'))).resolves.toBe('INSTALL_OUTCOME_UNKNOWN');
      expect(harness.tokenEndpoint.requests).toHaveLength(0);
    });

    it('recognises an install that was stored before its outcome was recorded', async () => {
      const harness = installHarness();
      const codeHash = fingerprint('code-1');
      const now = harness.clock.nowEpochMs() / 1000;
      await harness.store.claimCode({ codeHash, attemptId: 'earlier', storeId: 5, claimedAtEpochSeconds: now, expiresAtEpochSeconds: now + 86_400 });
      await harness.store.saveInstallation({
        storeId: 5,
        tokenKey: 'wrapped',
        accessToken: 'sealed' as SealedToken,
        scope: 'read_store_profile',
        installedAtEpochSeconds: now,
        grantCodeHash: codeHash,
        grantObtainedAtEpochMs: harness.clock.nowEpochMs(),
        nextCheckAtEpochSeconds: now + 86_400,
      });
      await expect(harness.callback('code=code-1&store_id=5')).resolves.toEqual({
        outcome: 'installed',
        storeId: 5,
        replayed: true,
        lane: 'app_market',
        browserBound: false,
      });
      expect(harness.tokenEndpoint.requests).toHaveLength(0);
    });
  });

  describe('failed exchanges', () => {
    it.each([
      ['CODE_REJECTED', new EcwidRequestError('CODE_REJECTED', 'invalid_grant')],
      ['ECWID_TIMEOUT', new EcwidRequestError('ECWID_TIMEOUT', 'timeout')],
      ['ECWID_UNAVAILABLE', new EcwidRequestError('ECWID_UNAVAILABLE', '500')],
      ['ECWID_INVALID_RESPONSE', new EcwidRequestError('ECWID_INVALID_RESPONSE', 'garbage')],
    ])('stores nothing on %s, and shows the same failure on reload without asking Ecwid again', async (code, error) => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      harness.tokenEndpoint.answer(error);
      await expect(errorCodeOf(harness.callback(query('code-1'), browserBinding))).resolves.toBe(code);
      await expect(errorCodeOf(harness.callback(query('code-1'), browserBinding))).resolves.toBe(code);
      expect(harness.tokenEndpoint.requests).toHaveLength(1);
      expect(harness.store.installations.size).toBe(0);
    });

    it('keeps the claim of a rejected code an hour, and only a code that produced a token the long retention', async () => {
      const harness = installHarness();
      const now = Math.floor(harness.clock.nowEpochMs() / 1000);
      harness.tokenEndpoint.answer(new EcwidRequestError('CODE_REJECTED', 'invalid_grant'));
      await errorCodeOf(harness.callback('code=junk&store_id=77'));
      expect(harness.store.claims.get(fingerprint('junk'))).toMatchObject({ status: 'failed', expiresAtEpochSeconds: now + 3_600 });

      await harness.callback('code=good&store_id=78');
      expect(harness.store.claims.get(fingerprint('good'))).toMatchObject({ status: 'installed', expiresAtEpochSeconds: now + 86_400 });
    });

    it('lets a reload try again when the request provably never reached Ecwid', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      harness.tokenEndpoint.answer(
        new EcwidRequestError('ECWID_UNREACHABLE', 'refused', { mayHaveReachedServer: false }),
      );
      await expect(errorCodeOf(harness.callback(query('code-1'), browserBinding))).resolves.toBe('ECWID_UNREACHABLE');
      await expect(harness.callback(query('code-1'), browserBinding)).resolves.toMatchObject({ outcome: 'installed' });
      expect(harness.tokenEndpoint.requests).toHaveLength(2);
    });

    it('spends nothing when the client secret cannot be read, so the same callback works later', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      const realSecret = harness.clientSecret.clientSecret.bind(harness.clientSecret);
      harness.clientSecret.clientSecret = async () => {
        throw new SecretUnavailableError('down');
      };
      await expect(errorCodeOf(harness.callback(query('code-1'), browserBinding))).resolves.toBe('SECRET_UNAVAILABLE');
      expect(harness.tokenEndpoint.requests).toHaveLength(0);
      harness.clientSecret.clientSecret = realSecret;
      await expect(harness.callback(query('code-1'), browserBinding)).resolves.toMatchObject({ outcome: 'installed' });
    });

    it('gets the data key before spending the code, so a KMS outage costs nothing and the same callback works later', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      harness.vault.failure = new EncryptionError('ENCRYPTION_UNAVAILABLE', 'KMS down');
      await expect(errorCodeOf(harness.callback(query('code-1'), browserBinding))).resolves.toBe('ENCRYPTION_UNAVAILABLE');
      expect(harness.tokenEndpoint.requests).toHaveLength(0);
      expect(harness.store.claims.size).toBe(0);
      harness.vault.failure = undefined;
      await expect(harness.callback(query('code-1'), browserBinding)).resolves.toMatchObject({ outcome: 'installed', replayed: false });
      expect(harness.tokenEndpoint.requests).toHaveLength(1);
    });

    it('asks KMS for no data key when a reload only replays the outcome', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      await harness.callback(query('code-1'), browserBinding);
      await harness.callback(query('code-1'), browserBinding);
      expect(harness.vault.calls.sealerFor).toBe(1);
    });

    it('records the failure when the token cannot be stored', async () => {
      const harness = installHarness();
      const { browserBinding, query } = await startedInstall(harness);
      harness.store.saveInstallation = async () => {
        throw new StorageError('down', { operation: 'UpdateItem' });
      };
      await expect(errorCodeOf(harness.callback(query('code-1'), browserBinding))).resolves.toBe('STORAGE_UNAVAILABLE');
      await expect(harness.store.getCodeClaim(fingerprint('code-1'))).resolves.toMatchObject({
        status: 'failed',
        errorCode: 'STORAGE_UNAVAILABLE',
      });
    });

    it('keeps the claim of a code that produced a token the long lifetime, even when the token could not be stored', async () => {
      const harness = installHarness();
      const now = Math.floor(harness.clock.nowEpochMs() / 1000);
      harness.store.saveInstallation = async () => {
        throw new StorageError('down', { operation: 'UpdateItem' });
      };
      await expect(errorCodeOf(harness.callback('code=spent&store_id=79'))).resolves.toBe('STORAGE_UNAVAILABLE');
      expect(harness.store.claims.get(fingerprint('spent'))).toMatchObject({ status: 'failed', expiresAtEpochSeconds: now + 86_400 });
    });

    it('writes the installed outcome a second time when the first write fails', async () => {
      const harness = installHarness();
      const now = Math.floor(harness.clock.nowEpochMs() / 1000);
      const record = harness.store.recordCodeOutcome.bind(harness.store);
      let writes = 0;
      harness.store.recordCodeOutcome = async (request) => {
        writes += 1;
        if (writes === 1) throw new StorageError('throttled', { operation: 'UpdateItem' });
        return record(request);
      };
      await expect(harness.callback('code=installed&store_id=80')).resolves.toMatchObject({ outcome: 'installed', replayed: false });
      expect(writes).toBe(2);
      expect(harness.store.claims.get(fingerprint('installed'))).toMatchObject({ status: 'installed', expiresAtEpochSeconds: now + 86_400 });
    });

    it('still shows the install when both writes of its outcome fail, and writes no third time', async () => {
      const harness = installHarness();
      let writes = 0;
      harness.store.recordCodeOutcome = async () => {
        writes += 1;
        throw new StorageError('down', { operation: 'UpdateItem' });
      };
      await expect(harness.callback('code=unrecorded&store_id=81')).resolves.toMatchObject({ outcome: 'installed' });
      expect(writes).toBe(2);
      expect(harness.store.claims.get(fingerprint('unrecorded'))).toMatchObject({ status: 'pending' });
    });
  });

  describe('scopes', () => {
    it('records the lane and the configured scopes the grant lacks, and announces them as Scopes Missing', async () => {
      const harness = installHarness({ configuredScopes: ['read_store_profile', 'read_catalog', 'read_orders', 'update_catalog'] });
      const { browserBinding, query } = await startedInstall(harness);
      harness.tokenEndpoint.answer(grantFor(STORE_ID, { scope: 'read_store_profile read_catalog' }));
      await harness.callback(query('code-1'), browserBinding);
      await expect(harness.store.getInstallation(STORE_ID)).resolves.toMatchObject({ grantLane: 'app_initiated', missingScopes: ['read_orders', 'update_catalog'] });
      expect(harness.publisher.types()).toEqual(['Store Installed', 'Scopes Missing']);
      expect(harness.publisher.events[1]!.detail).toEqual({
        storeId: STORE_ID,
        status: 'active',
        reason: 'app_initiated',
        time: expect.any(String),
        missingScopes: ['read_orders', 'update_catalog'],
      });
    });

    it('clears the gap when a re-consent grants every configured scope, and announces nothing about scopes', async () => {
      const harness = installHarness({ configuredScopes: ['read_store_profile', 'read_catalog', 'read_orders'] });
      harness.tokenEndpoint.answer(grantFor(STORE_ID, { scope: 'read_store_profile read_catalog' }));
      await harness.callback(`code=first&store_id=${STORE_ID}`);
      expect((await harness.store.getInstallation(STORE_ID))!.missingScopes).toEqual(['read_orders']);
      harness.tokenEndpoint.answer(grantFor(STORE_ID, { scope: 'read_store_profile read_catalog read_orders' }));
      harness.clock.advanceSeconds(60);
      await harness.callback(`code=second&store_id=${STORE_ID}`);
      const reconsented = (await harness.store.getInstallation(STORE_ID))!;
      expect(reconsented.scope).toBe('read_store_profile read_catalog read_orders');
      expect(reconsented).not.toHaveProperty('missingScopes');
      expect(harness.publisher.types()).toEqual(['Store Installed', 'Scopes Missing', 'Store Reinstalled']);
    });
  });

  describe('App Market installs', () => {
    it('accepts a callback with a code and a store id but no state', async () => {
      const harness = installHarness();
      await expect(harness.callback('code=market-code&store_id=77')).resolves.toEqual({
        outcome: 'installed',
        storeId: 77,
        replayed: false,
        lane: 'app_market',
        browserBound: false,
      });
      expect(harness.tokenEndpoint.requests[0]).toMatchObject({ code: 'market-code', storeId: 77 });
    });

    it('refuses them when the lane is turned off, without a token request', async () => {
      const harness = installHarness({ appMarketInstalls: false });
      await expect(errorCodeOf(harness.callback('code=market-code&store_id=77'))).resolves.toBe(
        'APP_MARKET_INSTALLS_DISABLED',
      );
      expect(harness.tokenEndpoint.requests).toHaveLength(0);
    });

    it('keeps the later grant when an earlier one arrives to be stored after it, and still shows success', async () => {
      const harness = installHarness();
      const later = grantFor(78);
      harness.tokenEndpoint.answer(later);
      harness.clock.advanceSeconds(60);
      await harness.callback('code=later&store_id=78');
      // The earlier grant was obtained before `later` but reaches the store only now.
      harness.clock.advanceSeconds(-30);
      await expect(harness.callback('code=earlier&store_id=78')).resolves.toMatchObject({ outcome: 'installed', storeId: 78 });
      const stored = (await harness.store.getInstallation(78))!;
      await expect(harness.vault.reveal(stored, stored.accessToken, 'access_token')).resolves.toBe(later.accessToken);
    });

    it('replaces the token of a store that installs again', async () => {
      const harness = installHarness();
      const first = grantFor(77);
      const second = grantFor(77);
      harness.tokenEndpoint.answer(first).answer(second);
      await harness.callback('code=first&store_id=77');
      harness.clock.advanceSeconds(60);
      await harness.callback('code=second&store_id=77');
      const stored = (await harness.store.getInstallation(77))!;
      expect(stored.version).toBe(2);
      await expect(harness.vault.reveal(stored, stored.accessToken, 'access_token')).resolves.toBe(second.accessToken);
    });
  });

  describe('merchant decisions', () => {
    it('reports a denied consent as cancelled, storing nothing and asking nothing', async () => {
      const harness = installHarness();
      const { state, browserBinding } = await harness.begin();
      await expect(harness.callback(`error=access_denied&state=${state}`, browserBinding)).resolves.toEqual({
        outcome: 'cancelled',
      });
      expect(harness.tokenEndpoint.requests).toHaveLength(0);
      expect(harness.store.claims.size).toBe(0);
    });

    it('reports another Ecwid error as such', async () => {
      const harness = installHarness();
      await expect(errorCodeOf(harness.callback('error=invalid_scope&code=x&store_id=1'))).resolves.toBe(
        'ECWID_AUTHORIZATION_ERROR',
      );
      expect(harness.tokenEndpoint.requests).toHaveLength(0);
    });
  });
});
