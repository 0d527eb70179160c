import { EcwidAppAuthError, EncryptionError, StorageError } from '../../functions/core/errors';
import { DEFAULT_CHECK_SCHEDULE } from '../../functions/core/refresh/schedule';
import { refreshDueInstallations } from '../../functions/core/refresh/refresh-run';
import type { RefreshJobSettings } from '../../functions/core/refresh/job';
import { FixedClientSecret, SeededRandom, silentLogger } from '../support/fakes';
import { MAX_BODIES_PER_EVENT_ID } from '../../functions/core/lifecycle/webhook-digest';
import { webhookHarness } from './webhook-harness';

const HOUR = 3600;

describe('handleWebhook', () => {
  describe('signature', () => {
    it('accepts a webhook signed with the client secret', async () => {
      const { webhook, deliver } = webhookHarness();
      const { bodyText, signature } = webhook({ storeId: 1, eventType: 'application.installed' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'recorded' });
    });

    it.each([
      ['a wrong signature', (sign: string) => sign.replace(/^./, (first) => (first === 'A' ? 'B' : 'A'))],
      ['a signature by another secret', () => ''],
      ['no signature', () => undefined],
      ['a signature that is not base64', () => 'not base64!'],
      ['a truncated signature', (sign: string) => sign.slice(0, 20)],
    ])('refuses %s with WEBHOOK_SIGNATURE_INVALID and records nothing', async (_name, tamper) => {
      const { webhook, deliver, store, publisher, profile, install } = webhookHarness();
      await install(7);
      const { bodyText, signature } = webhook({ storeId: 7, eventType: 'application.uninstalled' });
      const other = webhook({ storeId: 7, eventType: 'application.uninstalled' }, 'another-secret').signature;
      const presented = tamper(signature) === '' ? other : tamper(signature);
      await expect(deliver(bodyText, presented)).rejects.toMatchObject({ code: 'WEBHOOK_SIGNATURE_INVALID' });
      expect(store.webhookEvents.size).toBe(0);
      expect(profile.requests).toHaveLength(0);
      expect(publisher.events).toHaveLength(0);
      await expect(store.getInstallation(7)).resolves.toMatchObject({ status: 'active' });
    });

    it('checks the signature over eventCreated and eventId: a signature moved to another event is refused', async () => {
      const { webhook, deliver } = webhookHarness();
      const first = webhook({ storeId: 1, eventType: 'application.installed' });
      const second = webhook({ storeId: 1, eventType: 'application.installed' });
      await expect(deliver(second.bodyText, first.signature)).rejects.toMatchObject({ code: 'WEBHOOK_SIGNATURE_INVALID' });
    });

    it('accepts the previous client secret while a rotation rolls out, and only then, warning and counting each such webhook', async () => {
      const { webhook, deliver, secrets, counter, logs } = webhookHarness();
      const byOld = webhook({ storeId: 1, eventType: 'application.installed' }, 'the-old-secret');
      await expect(deliver(byOld.bodyText, byOld.signature)).rejects.toMatchObject({ code: 'WEBHOOK_SIGNATURE_INVALID' });
      secrets.previous = 'the-old-secret';
      const again = webhook({ storeId: 1, eventType: 'application.installed' }, 'the-old-secret');
      await expect(deliver(again.bodyText, again.signature)).resolves.toMatchObject({ result: 'processed' });
      expect(counter.counted).toEqual(['signed_with_previous_secret']);
      expect(logs.entries().filter((entry) => entry.message === 'webhook signed with the previous client secret')).toEqual([
        expect.objectContaining({ level: 'WARN', eventId: again.body.eventId }),
      ]);
      const byNew = webhook({ storeId: 1, eventType: 'application.installed' });
      await expect(deliver(byNew.bodyText, byNew.signature)).resolves.toMatchObject({ result: 'processed' });
      expect(counter.counted).toEqual(['signed_with_previous_secret']);
      expect(logs.lines.join('\n')).not.toContain('the-old-secret');
    });

    it("accepts a numeric eventId (Ecwid's documented shape), signed over its digits", async () => {
      const { webhook, deliver } = webhookHarness();
      const { bodyText, signature } = webhook({ eventId: 123456789, storeId: 1, eventType: 'application.installed' });
      await expect(deliver(bodyText, signature)).resolves.toMatchObject({ result: 'processed' });
    });

    it('checks the signature before the rest of the body: a bad signature on a malformed event is a 401', async () => {
      const { webhook, deliver } = webhookHarness();
      const { bodyText } = webhook({ storeId: { nested: true }, eventType: 'application.installed' });
      await expect(deliver(bodyText, 'AAAA')).rejects.toMatchObject({ code: 'WEBHOOK_SIGNATURE_INVALID' });
    });
  });

  describe('malformed bodies', () => {
    it.each([
      ['not JSON', '{"eventId":'],
      ['a JSON array', '[1,2]'],
      ['JSON null', 'null'],
      ['a body without eventId', JSON.stringify({ eventCreated: 1_790_000_000, storeId: 1, eventType: 'application.installed' })],
      ['a body without eventCreated', JSON.stringify({ eventId: 'abc', storeId: 1, eventType: 'application.installed' })],
      ['eventCreated as a word', JSON.stringify({ eventId: 'abc', eventCreated: 'yesterday', storeId: 1, eventType: 'application.installed' })],
      ['eventCreated as a fraction', JSON.stringify({ eventId: 'abc', eventCreated: 1.5, storeId: 1, eventType: 'application.installed' })],
      ['eventId as an object', JSON.stringify({ eventId: { id: 1 }, eventCreated: 1_790_000_000, storeId: 1, eventType: 'application.installed' })],
      ['a body over 64 KB', JSON.stringify({ eventId: 'abc', eventCreated: 1_790_000_000, storeId: 1, eventType: 'application.installed', data: { pad: 'x'.repeat(64 * 1024) } })],
      ['a body nested 33 levels deep', `{"eventId":"abc","eventCreated":1790000000,"data":${'{"a":'.repeat(31)}[1]${'}'.repeat(31)}}`],
      ['a body of 5,000 nested arrays', `${'['.repeat(5_000)}${']'.repeat(5_000)}`],
    ])('refuses %s with INVALID_WEBHOOK and records nothing', async (_name, bodyText) => {
      const { deliver, store } = webhookHarness();
      await expect(deliver(bodyText, 'c2lnbmF0dXJl')).rejects.toMatchObject({ code: 'INVALID_WEBHOOK' });
      expect(store.webhookEvents.size).toBe(0);
    });

    it.each([
      ['storeId missing', { storeId: undefined }],
      ['storeId as an object', { storeId: { id: 1 } }],
      ['storeId negative', { storeId: -4 }],
      ['eventType missing', { eventType: undefined }],
      ['eventType a number', { eventType: 42 }],
      ['entityId a boolean', { entityId: true }],
      ['data an array', { data: [1] }],
    ])('refuses a signed event with %s with INVALID_WEBHOOK and records nothing', async (_name, fields) => {
      const { webhook, deliver, store } = webhookHarness();
      const { bodyText, signature } = webhook({ storeId: 1, eventType: 'application.installed', ...fields });
      await expect(deliver(bodyText, signature)).rejects.toMatchObject({ code: 'INVALID_WEBHOOK' });
      expect(store.webhookEvents.size).toBe(0);
    });

    it('refuses a signed body nested deeper than 32 levels before anything is read or published (400, not a 5xx on every delivery)', async () => {
      const { webhook, deliver, store, publisher, install } = webhookHarness();
      await install(3);
      const { body, signature } = webhook({ storeId: 3, eventType: 'customer.personalDataRemovalRequest', entityId: 5 });
      const nested = `${JSON.stringify(body).slice(0, -1)},"data":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`;
      await expect(deliver(nested, signature)).rejects.toMatchObject({ code: 'INVALID_WEBHOOK' });
      await expect(deliver(nested, signature)).rejects.toMatchObject({ code: 'INVALID_WEBHOOK' });
      expect(store.webhookEvents.size).toBe(0);
      expect(publisher.events).toHaveLength(0);
    });

    it('accepts 32 levels, and does not count brackets inside strings', async () => {
      const { webhook, deliver, install, publisher } = webhookHarness();
      await install(4);
      const { body, signature } = webhook({ storeId: 4, eventType: 'customer.personalDataRemovalRequest', entityId: 5 });
      const text = `${JSON.stringify(body).slice(0, -1)},"note":"${'{['.repeat(40)}\\\"]","data":${'{"a":'.repeat(31)}1${'}'.repeat(31)}}`;
      await expect(deliver(text, signature)).resolves.toEqual({ result: 'processed', detail: 'published' });
      expect(publisher.types()).toEqual(['Personal Data Request']);
    });

    it('refuses a subscription change without its new status, recording nothing', async () => {
      const { webhook, deliver, store, install } = webhookHarness();
      await install(5);
      const { bodyText, signature } = webhook({ storeId: 5, eventType: 'application.subscriptionStatusChanged', data: { oldSubscriptionStatus: 'TRIAL' } });
      await expect(deliver(bodyText, signature)).rejects.toMatchObject({ code: 'INVALID_WEBHOOK' });
      expect(store.webhookEvents.size).toBe(0);
      expect(await store.getInstallation(5)).not.toHaveProperty('subscriptionStatus');
    });

    it('acknowledges a signed event of a type it does not act on, without claiming it', async () => {
      const { webhook, deliver, store } = webhookHarness();
      const { bodyText, signature } = webhook({ storeId: 1, eventType: 'order.created', entityId: 77 });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'ignored', reason: 'unknown_event_type' });
      expect(store.webhookEvents.size).toBe(0);
    });
  });

  describe('each eventId once', () => {
    it('acts on a duplicate delivery once, and answers it as a duplicate', async () => {
      const { webhook, deliver, install, profile, publisher, store } = webhookHarness();
      const { accessToken } = await install(8);
      profile.validTokens.delete(accessToken);
      const { bodyText, signature } = webhook({ storeId: 8, eventType: 'application.uninstalled' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'purged' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'duplicate' });
      expect(profile.requests).toHaveLength(1);
      expect(publisher.types()).toEqual(['Store Uninstalled']);
      expect(store.webhookClaims()).toEqual([expect.objectContaining({ status: 'done', outcome: 'purged' })]);
    });

    it('answers WEBHOOK_IN_PROGRESS (Ecwid retries) while another delivery of the event is being handled', async () => {
      const { webhook, deliver, install, profile } = webhookHarness();
      await install(9);
      let answer!: () => void;
      profile.answers.set(9, () => new Promise((resolve) => (answer = () => resolve({ outcome: 'valid' }))));
      const { bodyText, signature } = webhook({ storeId: 9, eventType: 'application.uninstalled' });
      const first = deliver(bodyText, signature);
      await new Promise((resolve) => setImmediate(resolve));
      await expect(deliver(bodyText, signature)).rejects.toMatchObject({ code: 'WEBHOOK_IN_PROGRESS' });
      answer();
      await expect(first).resolves.toEqual({ result: 'ignored', reason: 'unconfirmed' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'duplicate' });
    });

    it('announces a purge whose answer was lost and whose retry was refused (the purge was applied)', async () => {
      const { webhook, deliver, install, profile, store, publisher } = webhookHarness();
      const { accessToken } = await install(26);
      profile.validTokens.delete(accessToken);
      const purge = store.purgeInstallation.bind(store);
      // The write lands, but its answer is lost and the client's retry finds the condition false.
      store.purgeInstallation = async (request) => {
        await purge(request);
        return false;
      };
      const { bodyText, signature } = webhook({ storeId: 26, eventType: 'application.uninstalled' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'purged' });
      expect(publisher.types()).toEqual(['Store Uninstalled']);
    });

    it('announces Store Uninstalled when the purge landed but its write answered an error: the redelivery finds this uninstall’s tombstone', async () => {
      const { webhook, deliver, install, profile, store, publisher } = webhookHarness();
      const { accessToken } = await install(504);
      profile.validTokens.delete(accessToken);
      const purge = store.purgeInstallation.bind(store);
      // DynamoDB applies the UpdateItem, but both of the SDK's tries time out: a StorageError.
      store.purgeInstallation = async (request) => {
        await purge(request);
        throw new StorageError('DynamoDB UpdateItem failed', { operation: 'UpdateItem' });
      };
      const { body, bodyText, signature } = webhook({ storeId: 504, eventType: 'application.uninstalled' });
      await expect(deliver(bodyText, signature)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      expect(publisher.events).toHaveLength(0);
      store.purgeInstallation = purge;
      // Ecwid delivers again, as the 503 asks.
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'purged' });
      await expect(store.describeStore(504)).resolves.toMatchObject({ status: 'uninstalled' });
      expect(publisher.events).toEqual([
        { detailType: 'Store Uninstalled', detail: expect.objectContaining({ storeId: 504, reason: 'INVALID_API_TOKEN', webhookEventId: body.eventId }) },
      ]);
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'duplicate' });
    });

    it('announces nothing for another uninstall of a store already purged (its tombstone is another uninstall’s)', async () => {
      const { webhook, deliver, install, profile, publisher, clock } = webhookHarness();
      const { accessToken } = await install(505);
      profile.validTokens.delete(accessToken);
      const first = webhook({ storeId: 505, eventType: 'application.uninstalled' });
      await deliver(first.bodyText, first.signature);
      clock.advanceSeconds(30);
      const replayed = webhook({ storeId: 505, eventType: 'application.uninstalled' });
      await expect(deliver(replayed.bodyText, replayed.signature)).resolves.toEqual({ result: 'ignored', reason: 'no_installation' });
      expect(publisher.types()).toEqual(['Store Uninstalled']);
    });

    it('releases the claim when the work fails, so the next delivery acts on the event', async () => {
      const { webhook, deliver, install, profile, store } = webhookHarness();
      const { accessToken } = await install(10);
      profile.validTokens.delete(accessToken);
      const purge = store.purgeInstallation.bind(store);
      store.purgeInstallation = async () => {
        throw new StorageError('DynamoDB UpdateItem failed', { operation: 'UpdateItem' });
      };
      const { bodyText, signature } = webhook({ storeId: 10, eventType: 'application.uninstalled' });
      await expect(deliver(bodyText, signature)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      await expect(store.getInstallation(10)).resolves.toMatchObject({ status: 'active' });
      store.purgeInstallation = purge;
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'purged' });
      await expect(store.getInstallation(10)).resolves.toBeUndefined();
    });
  });

  describe('a captured signature carrying another body (only eventId and eventCreated are signed)', () => {
    it('does not let a decoy (the signature replayed as another event type) make the genuine uninstall a duplicate', async () => {
      const { webhook, deliver, install, store, profile, counter, logs, publisher } = webhookHarness();
      const { accessToken } = await install(503);
      profile.validTokens.delete(accessToken); // the merchant really uninstalled: Ecwid revoked the token
      const genuine = webhook({ storeId: 503, eventType: 'application.uninstalled' });
      const decoy = JSON.stringify({ ...genuine.body, eventType: 'application.installed' });
      await expect(deliver(decoy, genuine.signature)).resolves.toEqual({ result: 'processed', detail: 'recorded' });
      await expect(deliver(genuine.bodyText, genuine.signature)).resolves.toEqual({ result: 'processed', detail: 'purged' });
      expect(await store.getInstallation(503)).toBeUndefined();
      expect(publisher.types()).toEqual(['Store Uninstalled']);
      expect(counter.counted).toEqual(['event_variant']);
      expect(logs.entries().filter((entry) => entry.level === 'WARN' && String(entry.message).includes('eventId of another'))).toEqual([
        expect.objectContaining({ eventId: genuine.body.eventId, storeId: 503, eventType: 'application.uninstalled' }),
      ]);
      // Each body is then a duplicate of itself only.
      await expect(deliver(genuine.bodyText, genuine.signature)).resolves.toEqual({ result: 'duplicate' });
      await expect(deliver(decoy, genuine.signature)).resolves.toEqual({ result: 'duplicate' });
    });

    it('answers a redelivery with its fields in another order, or its type in snake_case, as a duplicate', async () => {
      const { webhook, deliver, counter } = webhookHarness();
      const first = webhook({ storeId: 31, eventType: 'customer.personalDataExportRequest', entityId: 8, data: { customerId: 8, email: 'a@example.com' } });
      await expect(deliver(first.bodyText, first.signature)).resolves.toMatchObject({ result: 'processed' });
      const reordered = JSON.stringify({
        data: { email: 'a@example.com', customerId: 8 },
        eventType: 'customer.personal_data_export_request',
        entityId: '8',
        storeId: '31',
        eventCreated: first.body.eventCreated,
        eventId: first.body.eventId,
      });
      await expect(deliver(reordered, first.signature)).resolves.toEqual({ result: 'duplicate' });
      expect(counter.counted).toEqual([]);
    });

    it(`handles at most ${MAX_BODIES_PER_EVENT_ID} bodies under one eventId; past them it acknowledges and ignores, warns and counts`, async () => {
      const { webhook, deliver, publisher, counter, install } = webhookHarness();
      await install(32);
      const genuine = webhook({ storeId: 32, eventType: 'customer.personalDataRemovalRequest', entityId: 1 });
      const forged = (entityId: number) => JSON.stringify({ ...genuine.body, entityId });
      for (let entityId = 1; entityId <= MAX_BODIES_PER_EVENT_ID; entityId += 1) {
        await expect(deliver(forged(entityId), genuine.signature)).resolves.toEqual({ result: 'processed', detail: 'published' });
      }
      await expect(deliver(forged(99), genuine.signature)).resolves.toEqual({ result: 'ignored', reason: 'too_many_variants' });
      expect(publisher.events).toHaveLength(MAX_BODIES_PER_EVENT_ID);
      // Each body announced is told apart by its digest: a subscriber deduplicating by eventId and digest keeps them all.
      expect(new Set(publisher.events.map((event) => event.detail.webhookDigest)).size).toBe(MAX_BODIES_PER_EVENT_ID);
      expect(counter.counted).toEqual(Array.from({ length: MAX_BODIES_PER_EVENT_ID }, () => 'event_variant'));
    });
  });

  describe('freshness', () => {
    it('ignores an event older than 26 hours, and one more than 5 minutes ahead, logging why, recording nothing', async () => {
      const { webhook, deliver, now, store, logs } = webhookHarness();
      const stale = webhook({ storeId: 1, eventType: 'application.uninstalled', eventCreated: now() - 26 * HOUR - 1 });
      await expect(deliver(stale.bodyText, stale.signature)).resolves.toEqual({ result: 'ignored', reason: 'stale' });
      const future = webhook({ storeId: 1, eventType: 'application.uninstalled', eventCreated: now() + 301 });
      await expect(deliver(future.bodyText, future.signature)).resolves.toEqual({ result: 'ignored', reason: 'future' });
      expect(store.webhookEvents.size).toBe(0);
      expect(logs.entries().filter((entry) => entry.message === 'webhook ignored').map((entry) => entry.reason)).toEqual(['stale', 'future']);
    });

    it('accepts an event 26 hours old, or a little ahead of this clock', async () => {
      const { webhook, deliver, now } = webhookHarness();
      const old = webhook({ storeId: 1, eventType: 'application.installed', eventCreated: now() - 26 * HOUR });
      await expect(deliver(old.bodyText, old.signature)).resolves.toMatchObject({ result: 'processed' });
      const ahead = webhook({ storeId: 1, eventType: 'application.installed', eventCreated: now() + 299 });
      await expect(deliver(ahead.bodyText, ahead.signature)).resolves.toMatchObject({ result: 'processed' });
    });
  });

  describe('application.uninstalled', () => {
    it('purges a store whose token Ecwid refuses, and announces it, without a token in the event', async () => {
      const { webhook, deliver, install, profile, store, publisher, vault } = webhookHarness();
      const { accessToken } = await install(11);
      profile.validTokens.delete(accessToken);
      const { body, bodyText, signature } = webhook({ storeId: 11, eventType: 'application.uninstalled' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'purged' });
      expect(profile.requests).toEqual([{ storeId: 11, accessToken, timeoutMs: 3_000 }]);
      await expect(store.getInstallation(11)).resolves.toBeUndefined();
      const view = await store.describeStore(11);
      expect(view).toMatchObject({ status: 'uninstalled', statusReason: 'INVALID_API_TOKEN', uninstalledAtEpochSeconds: body.eventCreated });
      expect(view).not.toHaveProperty('tokenKey');
      expect(vault.calls.sealerOf).toBe(1);
      expect(publisher.events).toEqual([
        {
          detailType: 'Store Uninstalled',
          detail: {
            storeId: 11,
            status: 'uninstalled',
            reason: 'INVALID_API_TOKEN',
            time: new Date(body.eventCreated * 1000).toISOString(),
            webhookEventId: body.eventId,
            webhookDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
          },
        },
      ]);
      expect(JSON.stringify(publisher.events)).not.toContain(accessToken);
    });

    it('ignores a signed uninstall replayed with another store id: that store keeps its working token', async () => {
      const { webhook, deliver, install, store, publisher } = webhookHarness();
      const { saved } = await install(12);
      const { bodyText, signature } = webhook({ storeId: 12, eventType: 'application.uninstalled' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'ignored', reason: 'unconfirmed' });
      await expect(store.getInstallation(12)).resolves.toEqual(saved);
      expect(publisher.events).toHaveLength(0);
    });

    it('reads a store id given as digits and a numeric entityId', async () => {
      const { webhook, deliver, install, profile } = webhookHarness();
      const { accessToken } = await install(13);
      profile.validTokens.delete(accessToken);
      const { bodyText, signature } = webhook({ storeId: '13', eventType: 'application.uninstalled', entityId: 13 });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'purged' });
    });

    it('changes nothing when the uninstall happened before the current install (a reinstall followed it)', async () => {
      const { webhook, deliver, install, profile, now, store } = webhookHarness();
      const uninstalledAt = now() - 120;
      const { accessToken } = await install(14, { installedAtEpochSeconds: now() - 60 });
      profile.validTokens.delete(accessToken);
      const { bodyText, signature } = webhook({ storeId: 14, eventType: 'application.uninstalled', eventCreated: uninstalledAt });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'ignored', reason: 'superseded_by_reinstall' });
      expect(profile.requests).toHaveLength(0);
      await expect(store.getInstallation(14)).resolves.toMatchObject({ status: 'active' });
    });

    it('purges without asking Ecwid when the token is already known dead', async () => {
      const { webhook, deliver, install, profile, store } = webhookHarness();
      await install(15, { status: 'needs_reinstall' });
      const { bodyText, signature } = webhook({ storeId: 15, eventType: 'application.uninstalled' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'purged' });
      expect(profile.requests).toHaveLength(0);
      await expect(store.describeStore(15)).resolves.toMatchObject({ status: 'uninstalled' });
    });

    it('hands the check over when KMS is away, and purges a token that does not open for its store', async () => {
      const { webhook, deliver, install, store, vault } = webhookHarness();
      await install(27);
      await install(28);
      vault.failure = new EncryptionError('ENCRYPTION_UNAVAILABLE', 'KMS Decrypt failed');
      const away = webhook({ storeId: 27, eventType: 'application.uninstalled' });
      await expect(deliver(away.bodyText, away.signature)).resolves.toEqual({ result: 'processed', detail: 'uninstall_check_requested' });
      vault.failure = undefined;
      store.installations.get(28)!.tokenKey = store.installations.get(27)!.tokenKey;
      const unreadable = webhook({ storeId: 28, eventType: 'application.uninstalled' });
      await expect(deliver(unreadable.bodyText, unreadable.signature)).resolves.toEqual({ result: 'processed', detail: 'purged' });
      await expect(store.describeStore(28)).resolves.toMatchObject({ status: 'uninstalled', statusReason: 'token_unreadable' });
    });

    it('ignores an uninstall of a store it has no installation of', async () => {
      const { webhook, deliver } = webhookHarness();
      const { bodyText, signature } = webhook({ storeId: 404, eventType: 'application.uninstalled' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'ignored', reason: 'no_installation' });
    });

    it.each([
      ['a server error', { outcome: 'failed', reason: 'http_500' } as const],
      ['a timeout', { outcome: 'failed', reason: 'timeout' } as const],
      ['a rate limit', { outcome: 'rate_limited', retryAfterSeconds: 30 } as const],
    ])('hands an inconclusive check (%s) to the scheduled job, which finishes the uninstall with the same rule', async (_name, answer) => {
      const { webhook, deliver, install, profile, store, publisher, deps, clock, vault } = webhookHarness();
      const { accessToken } = await install(16);
      profile.validTokens.delete(accessToken);
      profile.answers.set(16, answer);
      const { body, bodyText, signature } = webhook({ storeId: 16, eventType: 'application.uninstalled' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'uninstall_check_requested' });
      await expect(store.getInstallation(16)).resolves.toMatchObject({
        status: 'active',
        uninstallRequestedAtEpochSeconds: body.eventCreated,
        nextCheckAtEpochSeconds: Math.floor(clock.nowEpochMs() / 1000),
      });
      expect(publisher.events).toHaveLength(0);

      profile.answers.delete(16);
      const summary = await runJob({ store, profile, vault, clock, publisher });
      expect(summary.outcomes.uninstalled).toBe(1);
      await expect(store.getInstallation(16)).resolves.toBeUndefined();
      await expect(store.describeStore(16)).resolves.toMatchObject({ status: 'uninstalled', statusReason: 'INVALID_API_TOKEN', uninstalledAtEpochSeconds: body.eventCreated });
      expect(publisher.types()).toEqual(['Store Uninstalled']);
      expect(deps.webhookEvents.webhookEvents.size).toBe(1);
    });

    it('lets the scheduled job forget a requested uninstall when the token works after all', async () => {
      const { webhook, deliver, install, profile, store, publisher, clock, vault } = webhookHarness();
      await install(17);
      profile.answers.set(17, { outcome: 'failed', reason: 'http_503' });
      const { bodyText, signature } = webhook({ storeId: 17, eventType: 'application.uninstalled' });
      await deliver(bodyText, signature);
      profile.answers.delete(17);
      const summary = await runJob({ store, profile, vault, clock, publisher });
      expect(summary.outcomes.verified).toBe(1);
      const installation = await store.getInstallation(17);
      expect(installation).toMatchObject({ status: 'active' });
      expect(installation).not.toHaveProperty('uninstallRequestedAtEpochSeconds');
      expect(publisher.events).toHaveLength(0);
    });

    it('keeps a requested uninstall through another inconclusive check, until one decides', async () => {
      const { webhook, deliver, install, profile, store, publisher, clock, vault } = webhookHarness();
      const { accessToken } = await install(18);
      profile.answers.set(18, { outcome: 'failed', reason: 'http_500' });
      const { bodyText, signature } = webhook({ storeId: 18, eventType: 'application.uninstalled' });
      await deliver(bodyText, signature);
      expect((await runJob({ store, profile, vault, clock, publisher })).outcomes.retry_later).toBe(1);
      await expect(store.getInstallation(18)).resolves.toMatchObject({ uninstallRequestedAtEpochSeconds: expect.any(Number) });
      profile.answers.delete(18);
      profile.validTokens.delete(accessToken);
      clock.advanceSeconds(3600);
      expect((await runJob({ store, profile, vault, clock, publisher })).outcomes.uninstalled).toBe(1);
    });

    it('asks Ecwid only within what is left of the budget, and hands the check over when too little is left', async () => {
      const { webhook, install, profile, deps, clock, store } = webhookHarness();
      await install(19);
      const { bodyText, signature } = webhook({ storeId: 19, eventType: 'application.uninstalled' });
      const { handleWebhook } = await import('../../functions/core/lifecycle/handle-webhook');
      const { WEBHOOK_SETTINGS } = await import('./webhook-harness');
      const outcome = await handleWebhook(deps, WEBHOOK_SETTINGS, { bodyText, signature, requestId: 'r', deadlineEpochMs: clock.nowEpochMs() + 2_800 });
      expect(outcome).toEqual({ result: 'processed', detail: 'uninstall_check_requested' });
      expect(profile.requests).toHaveLength(0);
      await expect(store.getInstallation(19)).resolves.toMatchObject({ uninstallRequestedAtEpochSeconds: expect.any(Number) });
      const next = webhook({ storeId: 19, eventType: 'application.uninstalled' });
      await handleWebhook(deps, WEBHOOK_SETTINGS, { bodyText: next.bodyText, signature: next.signature, requestId: 's', deadlineEpochMs: clock.nowEpochMs() + 4_000 });
      expect(profile.requests[0]!.timeoutMs).toBe(1_500);
    });

    it('answers WEBHOOK_DEFERRED (Ecwid retries) while a scheduled check holds the lease, and releases its claim', async () => {
      const { webhook, deliver, install, profile, store, now } = webhookHarness();
      await install(20);
      store.installations.get(20)!.nextCheckAtEpochSeconds = now();
      await store.acquireLease({ storeId: 20, owner: 'run', nowEpochSeconds: now(), leaseExpiresAtEpochSeconds: now() + 60 });
      profile.answers.set(20, { outcome: 'failed', reason: 'timeout' });
      const { body, bodyText, signature } = webhook({ storeId: 20, eventType: 'application.uninstalled' });
      await expect(deliver(bodyText, signature)).rejects.toMatchObject({ code: 'WEBHOOK_DEFERRED' });
      expect(store.webhookEvents.has(body.eventId)).toBe(true);
      expect(store.webhookClaims()).toEqual([]);
    });
  });

  describe('application.subscriptionStatusChanged', () => {
    it("records the status Ecwid gives, asked with the store's own token, and when it changed; announces it; never lets an older event overwrite it", async () => {
      const { webhook, deliver, install, store, publisher, now, application } = webhookHarness();
      const { accessToken } = await install(21);
      application.subscriptions.set(21, 'TRIAL');
      const trial = webhook({ storeId: 21, eventType: 'application.subscriptionStatusChanged', eventCreated: now() - 120, data: { newSubscriptionStatus: 'TRIAL' } });
      await expect(deliver(trial.bodyText, trial.signature)).resolves.toEqual({ result: 'processed', detail: 'subscription_recorded' });
      application.subscriptions.set(21, 'ACTIVE');
      const newer = webhook({ storeId: 21, eventType: 'application.subscription_status_changed', data: { oldSubscriptionStatus: 'TRIAL', newSubscriptionStatus: 'ACTIVE' } });
      const older = webhook({ storeId: 21, eventType: 'application.subscriptionStatusChanged', eventCreated: now() - 60, data: { newSubscriptionStatus: 'TRIAL' } });
      await expect(deliver(newer.bodyText, newer.signature)).resolves.toEqual({ result: 'processed', detail: 'subscription_recorded' });
      await expect(deliver(older.bodyText, older.signature)).resolves.toEqual({ result: 'ignored', reason: 'older_than_recorded' });
      await expect(store.getInstallation(21)).resolves.toMatchObject({ subscriptionStatus: 'ACTIVE', subscriptionChangedAtEpochSeconds: newer.body.eventCreated });
      expect(application.requests[0]).toEqual({ storeId: 21, accessToken, timeoutMs: 3_000 });
      expect(publisher.events.map((event) => event.detail.subscriptionStatus)).toEqual(['TRIAL', 'ACTIVE']);
      expect(publisher.events[1]).toEqual({
        detailType: 'Subscription Changed',
        detail: {
          storeId: 21,
          status: 'active',
          reason: 'application.subscriptionStatusChanged',
          time: new Date((newer.body.eventCreated as number) * 1000).toISOString(),
          webhookEventId: newer.body.eventId,
          webhookDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
          subscriptionStatus: 'ACTIVE',
          previousSubscriptionStatus: 'TRIAL',
        },
      });
    });

    it('does not let a signature captured from store A set store B’s subscription, nor swallow A’s genuine event', async () => {
      const { webhook, deliver, install, store, publisher, application } = webhookHarness();
      await install(501); // A
      await install(502); // B, the victim
      application.subscriptions.set(501, 'ACTIVE');
      application.subscriptions.set(502, 'TRIAL');
      // Ecwid's genuine delivery for store A. The attacker sees it first (a failed delivery, a proxy log, ...).
      const genuine = webhook({ storeId: 501, eventType: 'application.subscriptionStatusChanged', data: { newSubscriptionStatus: 'ACTIVE' } });
      // Same eventId and eventCreated (so the same signature), another store, another status.
      const forged = JSON.stringify({ ...genuine.body, storeId: 502, data: { newSubscriptionStatus: 'SUSPENDED' } });
      await deliver(forged, genuine.signature);
      await expect(deliver(genuine.bodyText, genuine.signature)).resolves.toEqual({ result: 'processed', detail: 'subscription_recorded' });
      // B's recorded status is Ecwid's, never the forged one; A's genuine change is recorded and announced.
      expect((await store.getInstallation(502))?.subscriptionStatus).toBe('TRIAL');
      expect((await store.getInstallation(501))?.subscriptionStatus).toBe('ACTIVE');
      expect(publisher.events.filter((event) => event.detail.subscriptionStatus === 'SUSPENDED')).toEqual([]);
      expect(publisher.events.filter((event) => event.detail.storeId === 501).map((event) => event.detail.subscriptionStatus)).toEqual(['ACTIVE']);
    });

    it("records Ecwid's status, not the body's, when they differ, and logs the difference", async () => {
      const { webhook, deliver, install, store, application, logs } = webhookHarness();
      await install(33);
      application.subscriptions.set(33, 'SUSPENDED');
      const { bodyText, signature } = webhook({ storeId: 33, eventType: 'application.subscriptionStatusChanged', data: { newSubscriptionStatus: 'ACTIVE' } });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'subscription_recorded' });
      await expect(store.getInstallation(33)).resolves.toMatchObject({ subscriptionStatus: 'SUSPENDED' });
      expect(logs.entries().filter((entry) => entry.level === 'WARN' && entry.webhookStatus !== undefined)).toEqual([
        expect.objectContaining({ storeId: 33, webhookStatus: 'ACTIVE', ecwidStatus: 'SUSPENDED' }),
      ]);
    });

    it('records nothing, and asks nothing, for a store without an installation whose token could ask Ecwid', async () => {
      const { webhook, deliver, store, publisher, application } = webhookHarness();
      const early = webhook({ storeId: 22, eventType: 'application.subscriptionStatusChanged', data: { newSubscriptionStatus: 'TRIAL' } });
      await expect(deliver(early.bodyText, early.signature)).resolves.toEqual({ result: 'ignored', reason: 'no_installation' });
      await expect(store.describeStore(22)).resolves.toBeUndefined();
      expect(application.requests).toHaveLength(0);
      expect(publisher.events).toHaveLength(0);
    });

    it.each([
      ['refuses the token', { outcome: 'refused', reason: 'INVALID_API_TOKEN' } as const],
      ['answers without a status', { outcome: 'refused', reason: 'no_subscription_status' } as const],
    ])('records nothing when Ecwid %s', async (_name, answer) => {
      const { webhook, deliver, install, store, application, publisher } = webhookHarness();
      await install(34);
      application.answers.set(34, answer);
      const { bodyText, signature } = webhook({ storeId: 34, eventType: 'application.subscriptionStatusChanged', data: { newSubscriptionStatus: 'ACTIVE' } });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'ignored', reason: 'unconfirmed' });
      expect(await store.getInstallation(34)).not.toHaveProperty('subscriptionStatus');
      expect(publisher.events).toHaveLength(0);
    });

    it.each([
      ['a timeout', { outcome: 'unavailable', reason: 'timeout' } as const],
      ['a server error', { outcome: 'unavailable', reason: 'http_500' } as const],
      ['a rate limit', { outcome: 'unavailable', reason: 'rate_limited', retryAfterSeconds: 30 } as const],
    ])('answers WEBHOOK_DEFERRED when Ecwid cannot be asked (%s), releasing the claim; the next delivery records it', async (_name, answer) => {
      const { webhook, deliver, install, store, application, publisher } = webhookHarness();
      await install(35);
      application.answers.set(35, answer);
      const { bodyText, signature } = webhook({ storeId: 35, eventType: 'application.subscriptionStatusChanged', data: { newSubscriptionStatus: 'ACTIVE' } });
      await expect(deliver(bodyText, signature)).rejects.toMatchObject({ code: 'WEBHOOK_DEFERRED' });
      expect(store.webhookClaims()).toEqual([]);
      expect(await store.getInstallation(35)).not.toHaveProperty('subscriptionStatus');
      application.answers.delete(35);
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'subscription_recorded' });
      expect(publisher.types()).toEqual(['Subscription Changed']);
    });

    it('answers WEBHOOK_DEFERRED without asking Ecwid when KMS is away or too little of the budget is left', async () => {
      const { webhook, deliver, install, application, vault, deps, clock } = webhookHarness();
      await install(36);
      vault.failure = new EncryptionError('ENCRYPTION_UNAVAILABLE', 'KMS Decrypt failed');
      const first = webhook({ storeId: 36, eventType: 'application.subscriptionStatusChanged', data: { newSubscriptionStatus: 'ACTIVE' } });
      await expect(deliver(first.bodyText, first.signature)).rejects.toMatchObject({ code: 'WEBHOOK_DEFERRED' });
      vault.failure = undefined;
      const { handleWebhook } = await import('../../functions/core/lifecycle/handle-webhook');
      const { WEBHOOK_SETTINGS } = await import('./webhook-harness');
      const late = webhook({ storeId: 36, eventType: 'application.subscriptionStatusChanged', data: { newSubscriptionStatus: 'ACTIVE' } });
      await expect(
        handleWebhook(deps, WEBHOOK_SETTINGS, { bodyText: late.bodyText, signature: late.signature, requestId: 'r', deadlineEpochMs: clock.nowEpochMs() + 2_800 }),
      ).rejects.toMatchObject({ code: 'WEBHOOK_DEFERRED' });
      expect(application.requests).toHaveLength(0);
    });

    it('does not carry the previous install’s subscription status into a reinstall after an uninstall', async () => {
      const { webhook, deliver, install, profile, store, clock } = webhookHarness();
      const { accessToken } = await install(505);
      const paid = webhook({ storeId: 505, eventType: 'application.subscriptionStatusChanged', data: { newSubscriptionStatus: 'ACTIVE' } });
      await deliver(paid.bodyText, paid.signature);
      clock.advanceSeconds(60);
      profile.validTokens.delete(accessToken);
      const uninstall = webhook({ storeId: 505, eventType: 'application.uninstalled' });
      await expect(deliver(uninstall.bodyText, uninstall.signature)).resolves.toEqual({ result: 'processed', detail: 'purged' });
      // The paid status, delivered again late (Ecwid retries for a day), cannot come back over the uninstall.
      const late = webhook({ storeId: 505, eventType: 'application.subscriptionStatusChanged', eventCreated: paid.body.eventCreated, data: { newSubscriptionStatus: 'ACTIVE' } });
      await deliver(late.bodyText, late.signature);
      clock.advanceSeconds(86_400);
      await install(505);
      expect(await store.getInstallation(505)).not.toHaveProperty('subscriptionStatus');
    });

  });

  describe('other events', () => {
    it('records application.installed without any token work', async () => {
      const { webhook, deliver, install, profile, vault, publisher } = webhookHarness();
      await install(23);
      const { bodyText, signature } = webhook({ storeId: 23, eventType: 'application.installed' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'recorded' });
      expect(profile.requests).toHaveLength(0);
      expect(vault.calls.sealerOf).toBe(0);
      expect(publisher.events).toHaveLength(0);
    });

    it.each([
      ['customer.personalDataRemovalRequest', 'removal', 'customer'],
      ['customer.personal_data_export_request', 'export', 'customer'],
      ['profile.personalDataRemovalRequest', 'removal', 'profile'],
      ['profile.personal_data_export_request', 'export', 'profile'],
    ])('publishes %s for the app to act on, and acknowledges it', async (eventType, request, subject) => {
      const { webhook, deliver, install, publisher } = webhookHarness();
      await install(24);
      const { body, bodyText, signature } = webhook({ storeId: 24, eventType, entityId: 5150, data: { customerEmail: 'someone@example.com' } });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'published' });
      expect(publisher.events).toEqual([
        {
          detailType: 'Personal Data Request',
          detail: expect.objectContaining({ storeId: 24, status: 'active', request, subject, entityId: '5150', webhookEventId: body.eventId, data: { customerEmail: 'someone@example.com' } }),
        },
      ]);
    });

    it.each([
      ['gives the event up', (publisher: { givingUp: boolean; failing: boolean }) => (publisher.givingUp = true)],
      ['throws', (publisher: { givingUp: boolean; failing: boolean }) => (publisher.failing = true)],
    ])('does not acknowledge a privacy request whose event the publisher %s: 503, the claim released, and the next delivery publishes it', async (_name, breakIt) => {
      const { webhook, deliver, install, publisher, store } = webhookHarness();
      await install(29);
      breakIt(publisher);
      const { body, bodyText, signature } = webhook({ storeId: 29, eventType: 'customer.personalDataRemovalRequest', entityId: 7, data: { customerId: 7 } });
      await expect(deliver(bodyText, signature)).rejects.toMatchObject({ code: 'WEBHOOK_DEFERRED' });
      expect(store.webhookClaims().some((claim) => claim.status === 'done')).toBe(false);
      publisher.givingUp = false;
      publisher.failing = false;
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'published' });
      expect(publisher.events).toEqual([{ detailType: 'Personal Data Request', detail: expect.objectContaining({ storeId: 29, webhookEventId: body.eventId }) }]);
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'duplicate' });
    });

    it('keeps the change and answers 200 when publishing its event fails', async () => {
      const { webhook, deliver, install, profile, publisher, store, logs } = webhookHarness();
      const { accessToken } = await install(25);
      profile.validTokens.delete(accessToken);
      publisher.failing = true;
      const { bodyText, signature } = webhook({ storeId: 25, eventType: 'application.uninstalled' });
      await expect(deliver(bodyText, signature)).resolves.toEqual({ result: 'processed', detail: 'purged' });
      await expect(store.describeStore(25)).resolves.toMatchObject({ status: 'uninstalled' });
      expect(logs.entries().some((entry) => entry.level === 'ERROR' && entry.message === 'lifecycle events could not be published')).toBe(true);
    });
  });

  it('throws only EcwidAppAuthErrors for anything a webhook body can hold', async () => {
    const { deliver } = webhookHarness();
    for (const bodyText of ['', ' ', '"text"', '1', 'true', '{}', '{"eventId":"","eventCreated":0}']) {
      const error = await deliver(bodyText, undefined).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(EcwidAppAuthError);
      expect(['INVALID_WEBHOOK', 'WEBHOOK_SIGNATURE_INVALID']).toContain((error as EcwidAppAuthError).code);
    }
  });
});

/** One run of the scheduled job over the same store, with the same Ecwid. */
async function runJob(input: {
  store: ReturnType<typeof webhookHarness>['store'];
  profile: ReturnType<typeof webhookHarness>['profile'];
  vault: ReturnType<typeof webhookHarness>['vault'];
  clock: ReturnType<typeof webhookHarness>['clock'];
  publisher: ReturnType<typeof webhookHarness>['publisher'];
}) {
  const settings: RefreshJobSettings = {
    clientId: 'app-client-id',
    concurrency: 2,
    pageSize: 10,
    leaseDurationSeconds: 60,
    deadlineMarginMs: 1_000,
    requestReserveMs: 1_000,
    schedule: DEFAULT_CHECK_SCHEDULE,
    failureBudgetSeconds: 3 * 86_400,
    retryBaseSeconds: 300,
    retryMaxSeconds: 6 * 3600,
    rateLimitDefaultSeconds: 60,
    rateLimitMaxSeconds: 3600,
    assumedTokenLifetimeSeconds: 3600,
    uninstallRetentionSeconds: 30 * 86_400,
    configuredScopes: ['read_store_profile'],
  };
  return refreshDueInstallations(
    {
      installations: input.store,
      refresher: { refreshToken: async () => Promise.reject(new Error('no refresh expected')) },
      verifier: input.profile,
      clientSecret: new FixedClientSecret(),
      vault: input.vault,
      clock: input.clock,
      random: new SeededRandom(),
      log: silentLogger,
      publisher: input.publisher,
    },
    settings,
    { runId: `run-${input.clock.nowEpochMs()}`, deadlineEpochMs: input.clock.nowEpochMs() + 60_000 },
  );
}
