import { createHash, randomBytes } from 'node:crypto';
import type { CodeClaimOutcome, DueEntry, NewInstallation, SealedToken } from '../../functions/core/model';
import type { AllStores } from '../support/dynamodb-stores';
import { ManualClock } from '../support/fakes';

export type ContractStore = AllStores;

export interface ContractSubject {
  store: ContractStore;
  clock: ManualClock;
}

const hash = () => randomBytes(32).toString('hex');

/** Stores keep tokens as opaque strings: any text stands in for a sealed token here. */
const sealed = (text: string) => text as SealedToken;

/** Grants obtained one after the other, as a test saves them. */
let obtained = 1_700_000_000_000;
const nextObtainedAt = () => (obtained += 1);

/**
 * The behaviour every store adapter must have. Run against the in-memory store, dynalite and
 * Amazon's DynamoDB Local: the core's tests use the first, production uses the last two's twin.
 *
 * @param makeSubject gives a store over an empty table, and a clock the store reads.
 */
export function runStoreContract(name: string, makeSubject: () => Promise<ContractSubject>): void {
  describe(`store contract: ${name}`, () => {
    let store: ContractStore;
    let clock: ManualClock;
    const now = () => Math.floor(clock.nowEpochMs() / 1000);

    beforeEach(async () => {
      ({ store, clock } = await makeSubject());
    });

    async function issueState(overrides: { lifetimeSeconds?: number; bindingHash?: string } = {}) {
      const stateHash = hash();
      const browserBindingHash = overrides.bindingHash ?? hash();
      await store.saveState({
        stateHash,
        browserBindingHash,
        createdAtEpochSeconds: now(),
        expiresAtEpochSeconds: now() + (overrides.lifetimeSeconds ?? 600),
      });
      return { stateHash, browserBindingHash };
    }

    describe('states', () => {
      it('consumes a state issued to this browser', async () => {
        const state = await issueState();
        await expect(store.consumeState({ ...state, codeHash: hash(), nowEpochSeconds: now() })).resolves.toBe('consumed');
      });

      it('rejects a state that was already used by another code', async () => {
        const state = await issueState();
        await store.consumeState({ ...state, codeHash: hash(), nowEpochSeconds: now() });
        await expect(store.consumeState({ ...state, codeHash: hash(), nowEpochSeconds: now() })).resolves.toBe('used');
      });

      it('recognises a reload of the same callback (same code, same browser, in time) as consumed', async () => {
        const state = await issueState();
        const codeHash = hash();
        await store.consumeState({ ...state, codeHash, nowEpochSeconds: now() });
        await expect(store.consumeState({ ...state, codeHash, nowEpochSeconds: now() })).resolves.toBe('consumed');
      });

      it('refuses the same callback from another browser, or once the state expired', async () => {
        const state = await issueState();
        const codeHash = hash();
        await store.consumeState({ ...state, codeHash, nowEpochSeconds: now() });
        await expect(
          store.consumeState({ ...state, browserBindingHash: undefined, codeHash, nowEpochSeconds: now() }),
        ).resolves.toBe('used');
        clock.advanceSeconds(600);
        await expect(store.consumeState({ ...state, codeHash, nowEpochSeconds: now() })).resolves.toBe('used');
      });

      it('reports a state it never issued as unknown', async () => {
        await expect(
          store.consumeState({ stateHash: hash(), browserBindingHash: hash(), codeHash: hash(), nowEpochSeconds: now() }),
        ).resolves.toBe('unknown');
      });

      it('rejects an expired state even before any TTL deletes it', async () => {
        const state = await issueState({ lifetimeSeconds: 600 });
        clock.advanceSeconds(600);
        await expect(store.consumeState({ ...state, codeHash: hash(), nowEpochSeconds: now() })).resolves.toBe('expired');
      });

      it('rejects a state presented by another browser, and leaves it usable by the right one', async () => {
        const state = await issueState();
        await expect(
          store.consumeState({ ...state, browserBindingHash: hash(), codeHash: hash(), nowEpochSeconds: now() }),
        ).resolves.toBe('browser_mismatch');
        await expect(
          store.consumeState({ ...state, browserBindingHash: undefined, codeHash: hash(), nowEpochSeconds: now() }),
        ).resolves.toBe('browser_mismatch');
        await expect(store.consumeState({ ...state, codeHash: hash(), nowEpochSeconds: now() })).resolves.toBe('consumed');
      });

      it('lets exactly one of many concurrent callbacks with different codes spend a state', async () => {
        const state = await issueState();
        const results = await Promise.all(
          Array.from({ length: 8 }, () => store.consumeState({ ...state, codeHash: hash(), nowEpochSeconds: now() })),
        );
        expect(results.filter((result) => result === 'consumed')).toHaveLength(1);
        expect(results.filter((result) => result === 'used')).toHaveLength(7);
      });
    });

    describe('code claims', () => {
      const newClaim = (codeHash: string, storeId?: number, attemptId = 'attempt-1') => ({
        codeHash,
        attemptId,
        ...(storeId === undefined ? {} : { storeId }),
        claimedAtEpochSeconds: now(),
        expiresAtEpochSeconds: now() + 3_600,
      });
      const outcome = (codeHash: string, result: CodeClaimOutcome, attemptId = 'attempt-1', lifetimeSeconds = 86_400) => ({
        codeHash,
        attemptId,
        outcome: result,
        expiresAtEpochSeconds: now() + lifetimeSeconds,
      });

      it('claims a code once and hands the pending claim to the next caller', async () => {
        const codeHash = hash();
        await expect(store.claimCode(newClaim(codeHash, 42))).resolves.toEqual({ claimed: true });
        await expect(store.claimCode(newClaim(codeHash, 42, 'attempt-2'))).resolves.toEqual({
          claimed: false,
          existing: { codeHash, attemptId: 'attempt-1', storeId: 42, claimedAtEpochSeconds: now(), status: 'pending' },
        });
      });

      it('recognises its own pending claim when the same attempt claims again (a retried put whose answer was lost)', async () => {
        const codeHash = hash();
        await expect(store.claimCode(newClaim(codeHash, 43, 'attempt-1'))).resolves.toEqual({ claimed: true });
        await expect(store.claimCode(newClaim(codeHash, 43, 'attempt-1'))).resolves.toEqual({ claimed: true });
        await expect(store.claimCode(newClaim(codeHash, 43, 'attempt-2'))).resolves.toMatchObject({ claimed: false, existing: { attemptId: 'attempt-1' } });
        await store.recordCodeOutcome(outcome(codeHash, { status: 'failed', errorCode: 'ECWID_TIMEOUT' }));
        // Settled, it is nobody's to claim again, not even its own attempt's.
        await expect(store.claimCode(newClaim(codeHash, 43, 'attempt-1'))).resolves.toMatchObject({ claimed: false, existing: { status: 'failed' } });
      });

      it('lets exactly one of many concurrent claims win', async () => {
        const codeHash = hash();
        const results = await Promise.all(Array.from({ length: 8 }, (_, index) => store.claimCode(newClaim(codeHash, undefined, `attempt-${index}`))));
        expect(results.filter((result) => result.claimed)).toHaveLength(1);
      });

      it('records the outcome of a claim once', async () => {
        const installed = hash();
        await store.claimCode(newClaim(installed));
        await store.recordCodeOutcome(outcome(installed, { status: 'installed', storeId: 7 }));
        await store.recordCodeOutcome(outcome(installed, { status: 'failed', errorCode: 'ECWID_TIMEOUT' }));
        await expect(store.getCodeClaim(installed)).resolves.toMatchObject({ status: 'installed', storeId: 7 });

        const failed = hash();
        await store.claimCode(newClaim(failed, 8));
        await store.recordCodeOutcome(outcome(failed, { status: 'failed', errorCode: 'CODE_REJECTED' }));
        await expect(store.getCodeClaim(failed)).resolves.toMatchObject({ status: 'failed', errorCode: 'CODE_REJECTED', storeId: 8 });
      });

      it('records an outcome only for the attempt that holds the claim', async () => {
        const codeHash = hash();
        await store.claimCode(newClaim(codeHash, 9, 'holder'));
        await store.recordCodeOutcome(outcome(codeHash, { status: 'failed', errorCode: 'INTERNAL' }, 'someone-else'));
        await expect(store.getCodeClaim(codeHash)).resolves.toMatchObject({ status: 'pending' });
        await store.recordCodeOutcome(outcome(codeHash, { status: 'installed', storeId: 9 }, 'holder'));
        await expect(store.getCodeClaim(codeHash)).resolves.toMatchObject({ status: 'installed' });
      });

      it('does not create a claim when recording the outcome of one that does not exist', async () => {
        const codeHash = hash();
        await store.recordCodeOutcome(outcome(codeHash, { status: 'installed', storeId: 1 }));
        await expect(store.getCodeClaim(codeHash)).resolves.toBeUndefined();
      });

      it('releases a pending claim so the code can be claimed again, but never a settled one', async () => {
        const pending = hash();
        await store.claimCode(newClaim(pending));
        await store.releaseCodeClaim(pending, 'attempt-1');
        await expect(store.getCodeClaim(pending)).resolves.toBeUndefined();
        await expect(store.claimCode(newClaim(pending))).resolves.toEqual({ claimed: true });

        const settled = hash();
        await store.claimCode(newClaim(settled));
        await store.recordCodeOutcome(outcome(settled, { status: 'installed', storeId: 3 }));
        await store.releaseCodeClaim(settled, 'attempt-1');
        await expect(store.getCodeClaim(settled)).resolves.toMatchObject({ status: 'installed' });
      });

      it('never releases a claim another attempt has taken since (a retried delete after a lost answer)', async () => {
        const codeHash = hash();
        await store.claimCode(newClaim(codeHash, 5, 'first'));
        await store.releaseCodeClaim(codeHash, 'first');
        await expect(store.claimCode(newClaim(codeHash, 5, 'reload'))).resolves.toEqual({ claimed: true });
        // The first attempt's delete arrives again: the reload's claim stays, so no third request can exchange the code.
        await store.releaseCodeClaim(codeHash, 'first');
        await expect(store.getCodeClaim(codeHash)).resolves.toMatchObject({ status: 'pending', storeId: 5 });
        await expect(store.claimCode(newClaim(codeHash, 5, 'third'))).resolves.toMatchObject({ claimed: false });
      });

      it('keeps blocking a code past its claim lifetime: only deletion by the TTL ends a claim', async () => {
        const codeHash = hash();
        await store.claimCode({ codeHash, attemptId: 'a', storeId: 4, claimedAtEpochSeconds: now(), expiresAtEpochSeconds: now() + 60 });
        clock.advanceSeconds(120);
        await expect(store.getCodeClaim(codeHash)).resolves.toMatchObject({ status: 'pending', storeId: 4 });
        await expect(
          store.claimCode({ codeHash, attemptId: 'b', claimedAtEpochSeconds: now(), expiresAtEpochSeconds: now() + 60 }),
        ).resolves.toMatchObject({ claimed: false });
      });
    });

    const installation = (storeId: number, overrides: Partial<NewInstallation> = {}): NewInstallation => ({
      storeId,
      tokenKey: `wrapped-key-${storeId}`,
      accessToken: sealed(`secret_${hash().slice(0, 32)}`),
      scope: 'read_store_profile read_catalog',
      installedAtEpochSeconds: now(),
      grantCodeHash: hash(),
      grantObtainedAtEpochMs: nextObtainedAt(),
      nextCheckAtEpochSeconds: now() + 86_400,
      ...overrides,
    });

    describe('installations', () => {
      it('stores an installation and reads it back whole', async () => {
        const input = installation(1001, {
          publicToken: sealed('public_abc'),
          refreshToken: sealed('refresh_abc'),
          expiresAtEpochSeconds: now() + 3600,
        });
        const saved = await store.saveInstallation(input);
        const expected = {
          ...input,
          tokenType: 'Bearer',
          status: 'active',
          version: 1,
          updatedAtEpochSeconds: input.installedAtEpochSeconds,
        };
        expect(saved).toEqual(expected);
        await expect(store.getInstallation(1001)).resolves.toEqual(expected);
      });

      it('keeps where a grant came from and the scopes it lacks; a grant without a code or a gap drops the old ones', async () => {
        const first = (await store.saveInstallation(installation(1060, { grantLane: 'app_market', missingScopes: ['read_orders', 'update_catalog'] })))!;
        expect(first).toMatchObject({ grantLane: 'app_market', missingScopes: ['read_orders', 'update_catalog'] });
        const { grantCodeHash: _none, ...withoutCode } = installation(1060, { grantLane: 'control_panel', missingScopes: [] });
        const second = (await store.saveInstallation(withoutCode))!;
        expect(second.grantLane).toBe('control_panel');
        expect(second).not.toHaveProperty('grantCodeHash');
        expect(second).not.toHaveProperty('missingScopes');
        await expect(store.getInstallation(1060)).resolves.toEqual(second);
      });

      it('lets a repair replace no grant, or only the grant at the version it looked at', async () => {
        const repair = (storeId: number) => installation(storeId, { grantLane: 'control_panel' });
        // Nothing stored: a repair that expects no grant is stored; a second one, now over a grant, is not.
        await expect(store.saveInstallation(repair(1061), { replacing: 'no_grant' })).resolves.toMatchObject({ version: 1 });
        await expect(store.saveInstallation(repair(1061), { replacing: 'no_grant' })).resolves.toBeUndefined();
        // Over the version it read, only while that version is still stored.
        const stale = (await store.getInstallation(1061))!;
        await store.saveInstallation(installation(1061));
        await expect(store.saveInstallation(repair(1061), { replacing: { version: stale.version } })).resolves.toBeUndefined();
        await expect(store.saveInstallation(repair(1061), { replacing: { version: stale.version + 1 } })).resolves.toMatchObject({ grantLane: 'control_panel' });
        // Over a tombstone: no grant there.
        const purged = (await store.saveInstallation(installation(1062)))!;
        await store.purgeInstallation({
          storeId: 1062,
          version: purged.version,
          reason: 'INVALID_API_TOKEN',
          nowEpochSeconds: now(),
          tombstone: { uninstalledAtEpochSeconds: now(), deleteAfterEpochSeconds: now() + 86_400 },
        });
        await expect(store.saveInstallation(repair(1062), { replacing: 'no_grant' })).resolves.toMatchObject({ status: 'active' });
      });

      it('replaces the whole grant on reinstall and moves the version on', async () => {
        await store.saveInstallation(
          installation(1002, { refreshToken: sealed('refresh_old'), expiresAtEpochSeconds: now() + 3600, publicToken: sealed('public_old') }),
        );
        clock.advanceSeconds(100);
        const second = installation(1002);
        const saved = await store.saveInstallation(second);
        expect(saved!.version).toBe(2);
        const stored = await store.getInstallation(1002);
        expect(stored).toEqual({ ...second, tokenType: 'Bearer', status: 'active', version: 2, updatedAtEpochSeconds: now() });
        expect(stored).not.toHaveProperty('refreshToken');
        expect(stored).not.toHaveProperty('expiresAtEpochSeconds');
        expect(stored).not.toHaveProperty('publicToken');
      });

      it('keeps the later grant when two installs of one store cross', async () => {
        const earlier = installation(1003, { grantObtainedAtEpochMs: 5_000 });
        const later = installation(1003, { grantObtainedAtEpochMs: 6_000 });
        await store.saveInstallation(later);
        await expect(store.saveInstallation(earlier)).resolves.toBeUndefined();
        await expect(store.getInstallation(1003)).resolves.toMatchObject({ accessToken: later.accessToken, version: 1 });
      });

      it('reads nothing for a store that never installed', async () => {
        await expect(store.getInstallation(999_999)).resolves.toBeUndefined();
      });

      it('lists installations only, by store id', async () => {
        await store.saveInstallation(installation(3));
        await store.saveInstallation(installation(1));
        await issueState();
        await store.claimCode({ codeHash: hash(), attemptId: 'a', claimedAtEpochSeconds: now(), expiresAtEpochSeconds: now() + 60 });
        const listed = await store.listInstallations();
        expect(listed.map((item) => item.storeId)).toEqual([1, 3]);
      });
    });
  
    describe('webhook events', () => {
      /** One body of the event: the digest of its unsigned fields. */
      const body = (name = 'genuine') => createHash('sha256').update(name).digest('hex');
      const claim = (eventId: string, owner: string, leaseMs = 10_000, digest = body()) =>
        store.claimWebhookEvent({
          eventId,
          digest,
          maxBodies: 3,
          owner,
          eventType: 'application.uninstalled',
          storeId: 1,
          nowEpochMs: clock.nowEpochMs(),
          leaseUntilEpochMs: clock.nowEpochMs() + leaseMs,
          keepUntilEpochSeconds: now() + 72 * 3600,
        });
      const key = (eventId: string, digest = body()) => ({ eventId, digest });

      it('claims an eventId once: a second delivery sees it in progress, then done', async () => {
        const eventId = hash();
        await expect(claim(eventId, 'delivery-1')).resolves.toEqual({ claimed: true, variant: false });
        await expect(claim(eventId, 'delivery-2')).resolves.toEqual({ claimed: false, state: 'in_progress' });
        await store.completeWebhookEvent(key(eventId), 'delivery-1', 'purged');
        await expect(claim(eventId, 'delivery-3')).resolves.toEqual({ claimed: false, state: 'done' });
        clock.advanceSeconds(71 * 3600);
        await expect(claim(eventId, 'delivery-4')).resolves.toEqual({ claimed: false, state: 'done' });
      });

      it('lets exactly one of many concurrent deliveries claim an event', async () => {
        const eventId = hash();
        const claims = await Promise.all(Array.from({ length: 8 }, (_, index) => claim(eventId, `delivery-${index}`)));
        expect(claims.filter((result) => result.claimed)).toHaveLength(1);
      });

      it('hands the claim of a delivery that died to the next one, and the dead one can no longer complete it', async () => {
        const eventId = hash();
        await claim(eventId, 'dead', 5_000);
        clock.advanceSeconds(5);
        await expect(claim(eventId, 'next')).resolves.toEqual({ claimed: true, variant: false });
        await store.completeWebhookEvent(key(eventId), 'dead', 'purged');
        await expect(claim(eventId, 'third')).resolves.toEqual({ claimed: false, state: 'in_progress' });
        await store.completeWebhookEvent(key(eventId), 'next', 'purged');
        await expect(claim(eventId, 'third')).resolves.toEqual({ claimed: false, state: 'done' });
      });

      it("releases only the owner's claim, so Ecwid's next delivery acts on the event", async () => {
        const eventId = hash();
        await claim(eventId, 'owner');
        await store.releaseWebhookEvent(key(eventId), 'someone-else');
        await expect(claim(eventId, 'next')).resolves.toEqual({ claimed: false, state: 'in_progress' });
        await store.releaseWebhookEvent(key(eventId), 'owner');
        await expect(claim(eventId, 'next')).resolves.toEqual({ claimed: true, variant: false });
      });

      it('treats a record past its TTL as absent, whether or not DynamoDB has deleted it', async () => {
        const eventId = hash();
        await store.claimWebhookEvent({
          eventId,
          digest: body(),
          maxBodies: 3,
          owner: 'first',
          eventType: 'application.installed',
          storeId: 1,
          nowEpochMs: clock.nowEpochMs(),
          leaseUntilEpochMs: clock.nowEpochMs() + 1_000,
          keepUntilEpochSeconds: now() + 60,
        });
        await store.completeWebhookEvent(key(eventId), 'first', 'recorded');
        clock.advanceSeconds(60);
        await expect(claim(eventId, 'later')).resolves.toEqual({ claimed: true, variant: false });
      });

      it('claims another body under the same eventId on its own, says it is a variant, and keeps each body once', async () => {
        const eventId = hash();
        await expect(claim(eventId, 'forged', 10_000, body('forged'))).resolves.toEqual({ claimed: true, variant: false });
        await store.completeWebhookEvent(key(eventId, body('forged')), 'forged', 'recorded');
        // The genuine delivery is not a duplicate of the forged one.
        await expect(claim(eventId, 'genuine')).resolves.toEqual({ claimed: true, variant: true });
        await expect(claim(eventId, 'genuine-again')).resolves.toEqual({ claimed: false, state: 'in_progress' });
        await store.completeWebhookEvent(key(eventId), 'genuine', 'purged');
        await expect(claim(eventId, 'genuine-again')).resolves.toEqual({ claimed: false, state: 'done' });
        await expect(claim(eventId, 'forged-again', 10_000, body('forged'))).resolves.toEqual({ claimed: false, state: 'done' });
      });

      it('refuses a new body past the most bodies one eventId may have, but still answers for those it has', async () => {
        const eventId = hash();
        for (const name of ['a', 'b', 'c']) await expect(claim(eventId, name, 10_000, body(name))).resolves.toMatchObject({ claimed: true });
        await expect(claim(eventId, 'd', 10_000, body('d'))).resolves.toEqual({ claimed: false, state: 'too_many_variants' });
        // A released body still counts: its redelivery may claim it again, a new body may not.
        await store.releaseWebhookEvent(key(eventId, body('b')), 'b');
        await expect(claim(eventId, 'e', 10_000, body('e'))).resolves.toEqual({ claimed: false, state: 'too_many_variants' });
        await expect(claim(eventId, 'b-again', 10_000, body('b'))).resolves.toEqual({ claimed: true, variant: true });
        await expect(claim(eventId, 'a-again', 10_000, body('a'))).resolves.toEqual({ claimed: false, state: 'in_progress' });
      });

      it('completes and releases only the body it names', async () => {
        const eventId = hash();
        await claim(eventId, 'one', 10_000, body('one'));
        await claim(eventId, 'two', 10_000, body('two'));
        await store.completeWebhookEvent(key(eventId, body('two')), 'one', 'purged');
        await store.releaseWebhookEvent(key(eventId, body('two')), 'one');
        await expect(claim(eventId, 'other', 10_000, body('two'))).resolves.toEqual({ claimed: false, state: 'in_progress' });
        await store.completeWebhookEvent(key(eventId, body('one')), 'one', 'purged');
        await expect(claim(eventId, 'other', 10_000, body('one'))).resolves.toEqual({ claimed: false, state: 'done' });
      });
    });

    describe('the lifecycle of installations (uninstalls and subscriptions)', () => {
      const tombstone = (deleteAfterSeconds = 30 * 86_400) => ({ uninstalledAtEpochSeconds: now() - 5, deleteAfterEpochSeconds: now() + deleteAfterSeconds });
      const dueIds = async () => {
        const ids: number[] = [];
        for (const shard of store.dueShards()) ids.push(...(await store.findDue({ shard, nowEpochSeconds: now() + 10 * 86_400, limit: 100 })).due.map((entry) => entry.storeId));
        return ids;
      };

      it('purges tokens and data key in one write, leaving a tombstone that is never an installation, never due, never leased', async () => {
        const saved = (await store.saveInstallation(
          installation(2001, { refreshToken: sealed('refresh_x'), publicToken: sealed('public_x'), expiresAtEpochSeconds: now() + 3600, nextCheckAtEpochSeconds: now() }),
        ))!;
        const stone = tombstone();
        await expect(store.purgeInstallation({ storeId: 2001, version: saved.version, reason: 'INVALID_API_TOKEN', nowEpochSeconds: now(), tombstone: stone })).resolves.toBe(true);
        await expect(store.getInstallation(2001)).resolves.toBeUndefined();
        expect((await store.listInstallations()).map((item) => item.storeId)).not.toContain(2001);
        expect(await dueIds()).not.toContain(2001);
        await expect(store.acquireLease({ storeId: 2001, owner: 'run', nowEpochSeconds: now() + 86_400, leaseExpiresAtEpochSeconds: now() + 86_460 })).resolves.toBeUndefined();
        const view = (await store.describeStore(2001))!;
        expect(view).toMatchObject({
          storeId: 2001,
          status: 'uninstalled',
          statusReason: 'INVALID_API_TOKEN',
          uninstalledAtEpochSeconds: stone.uninstalledAtEpochSeconds,
          deleteAfterEpochSeconds: stone.deleteAfterEpochSeconds,
          version: saved.version + 1,
        });
        for (const field of ['tokenKey', 'accessToken', 'refreshToken', 'publicToken', 'ownerEmail', 'nextCheckAtEpochSeconds', 'expiresAtEpochSeconds']) {
          expect(view).not.toHaveProperty(field);
        }
      });

      it('finds the tombstone a purge left, with its reason, and nothing for an installation, a store it never saw, or a tombstone past its TTL', async () => {
        const saved = (await store.saveInstallation(installation(2011)))!;
        await expect(store.findTombstone(2011, now())).resolves.toBeUndefined();
        await expect(store.findTombstone(2999, now())).resolves.toBeUndefined();
        const stone = tombstone(60);
        await store.purgeInstallation({ storeId: 2011, version: saved.version, reason: 'INVALID_API_TOKEN', nowEpochSeconds: now(), tombstone: stone });
        await expect(store.findTombstone(2011, now())).resolves.toEqual({ uninstalledAtEpochSeconds: stone.uninstalledAtEpochSeconds, statusReason: 'INVALID_API_TOKEN' });
        await expect(store.findTombstone(2011, stone.deleteAfterEpochSeconds)).resolves.toBeUndefined();
        await store.saveInstallation(installation(2011));
        await expect(store.findTombstone(2011, now())).resolves.toBeUndefined();
      });

      it('does not purge an installation that changed since the uninstall was confirmed (a reinstall won)', async () => {
        const first = (await store.saveInstallation(installation(2002)))!;
        const reinstall = installation(2002);
        await store.saveInstallation(reinstall);
        await expect(store.purgeInstallation({ storeId: 2002, version: first.version, reason: 'INVALID_API_TOKEN', nowEpochSeconds: now(), tombstone: tombstone() })).resolves.toBe(false);
        await expect(store.getInstallation(2002)).resolves.toMatchObject({ status: 'active', accessToken: reinstall.accessToken });
      });

      it('installs again over a tombstone: a live installation, without the TTL that would delete it', async () => {
        const first = (await store.saveInstallation(installation(2003)))!;
        await store.purgeInstallation({ storeId: 2003, version: first.version, reason: 'INVALID_API_TOKEN', nowEpochSeconds: now(), tombstone: tombstone() });
        clock.advanceSeconds(60);
        const again = installation(2003);
        const saved = await store.saveInstallation(again);
        expect(saved).toMatchObject({ status: 'active', accessToken: again.accessToken, version: first.version + 2 });
        const view = (await store.describeStore(2003))!;
        expect(view).toMatchObject({ status: 'active' });
        expect(view).not.toHaveProperty('uninstalledAtEpochSeconds');
        expect(view).not.toHaveProperty('deleteAfterEpochSeconds');
        expect(await dueIds()).toContain(2003);
      });

      it('ends the subscription with the uninstall: a reinstall does not inherit it, a late older change cannot bring it back', async () => {
        const first = (await store.saveInstallation(installation(2009)))!;
        const change = (status: string, at: number) =>
          store.recordSubscription({ storeId: 2009, subscriptionStatus: status, changedAtEpochSeconds: at, nowEpochSeconds: now() });
        await change('ACTIVE', now() - 100);
        const stone = tombstone();
        await store.purgeInstallation({ storeId: 2009, version: first.version, reason: 'INVALID_API_TOKEN', nowEpochSeconds: now(), tombstone: stone });
        const purged = (await store.describeStore(2009))!;
        expect(purged).not.toHaveProperty('subscriptionStatus');
        expect(purged).toMatchObject({ subscriptionChangedAtEpochSeconds: stone.uninstalledAtEpochSeconds });
        // A tombstone records no subscription.
        await expect(change('SUSPENDED', now())).resolves.toEqual({ recorded: false, reason: 'no_installation' });
        clock.advanceSeconds(86_400);
        const saved = (await store.saveInstallation(installation(2009)))!;
        expect(saved).not.toHaveProperty('subscriptionStatus');
        expect(await store.getInstallation(2009)).not.toHaveProperty('subscriptionStatus');
        // A change Ecwid made before the uninstall, delivered late, cannot land on the new install.
        await expect(change('ACTIVE', stone.uninstalledAtEpochSeconds - 1)).resolves.toEqual({ recorded: false, reason: 'older_than_recorded' });
        // The new install's own subscription webhooks are newer: recorded.
        await expect(change('TRIAL', now())).resolves.toEqual({ recorded: true, installationStatus: 'active' });
        await expect(store.getInstallation(2009)).resolves.toMatchObject({ subscriptionStatus: 'TRIAL', subscriptionChangedAtEpochSeconds: now() });
      });

      it('ends the subscription the same way when the scheduled job finishes an uninstall', async () => {
        const saved = (await store.saveInstallation(installation(2010, { nextCheckAtEpochSeconds: now() })))!;
        await store.recordSubscription({ storeId: 2010, subscriptionStatus: 'ACTIVE', changedAtEpochSeconds: now() - 100, nowEpochSeconds: now() });
        const leased = (await store.acquireLease({ storeId: 2010, owner: 'run', nowEpochSeconds: now(), leaseExpiresAtEpochSeconds: now() + 60 }))!;
        const stone = tombstone();
        await store.completeCheck({ storeId: 2010, owner: 'run', version: leased.version, nowEpochSeconds: now(), result: { status: 'uninstalled', statusReason: 'INVALID_API_TOKEN', uninstall: stone } });
        const view = (await store.describeStore(2010))!;
        expect(view).toMatchObject({ status: 'uninstalled', subscriptionChangedAtEpochSeconds: stone.uninstalledAtEpochSeconds, version: saved.version + 1 });
        expect(view).not.toHaveProperty('subscriptionStatus');
      });

      it('marks an installation for an immediate check, not while a check holds its lease, and lets the job purge or forget it', async () => {
        const saved = (await store.saveInstallation(installation(2004, { nextCheckAtEpochSeconds: now() }))!)!;
        await store.acquireLease({ storeId: 2004, owner: 'run-1', nowEpochSeconds: now(), leaseExpiresAtEpochSeconds: now() + 60 });
        const request = { storeId: 2004, version: saved.version, requestedAtEpochSeconds: now() - 30, nowEpochSeconds: now() };
        await expect(store.requestUninstallCheck(request)).resolves.toBe(false);
        clock.advanceSeconds(60);
        await expect(store.requestUninstallCheck({ ...request, nowEpochSeconds: now() })).resolves.toBe(true);
        await expect(store.requestUninstallCheck({ ...request, version: saved.version - 1, nowEpochSeconds: now() })).resolves.toBe(false);
        const leased = (await store.acquireLease({ storeId: 2004, owner: 'run-2', nowEpochSeconds: now(), leaseExpiresAtEpochSeconds: now() + 60 }))!;
        expect(leased).toMatchObject({ uninstallRequestedAtEpochSeconds: now() - 90, version: saved.version });
        await store.completeCheck({
          storeId: 2004,
          owner: 'run-2',
          version: leased.version,
          nowEpochSeconds: now(),
          result: { status: 'active', lastVerifiedAtEpochSeconds: now(), nextCheckAtEpochSeconds: now() + 100, dismissUninstallRequest: true },
        });
        expect(await store.getInstallation(2004)).not.toHaveProperty('uninstallRequestedAtEpochSeconds');

        const other = (await store.saveInstallation(installation(2005, { nextCheckAtEpochSeconds: now() + 86_400 })))!;
        await store.requestUninstallCheck({ storeId: 2005, version: other.version, requestedAtEpochSeconds: now(), nowEpochSeconds: now() });
        const leasedOther = (await store.acquireLease({ storeId: 2005, owner: 'run-3', nowEpochSeconds: now(), leaseExpiresAtEpochSeconds: now() + 60 }))!;
        await store.completeCheck({
          storeId: 2005,
          owner: 'run-3',
          version: leasedOther.version,
          nowEpochSeconds: now(),
          result: { status: 'uninstalled', statusReason: 'INVALID_API_TOKEN', uninstall: tombstone() },
        });
        await expect(store.getInstallation(2005)).resolves.toBeUndefined();
        const view = await store.describeStore(2005);
        expect(view).toMatchObject({ status: 'uninstalled', statusReason: 'INVALID_API_TOKEN' });
        expect(view).not.toHaveProperty('accessToken');
        expect(view).not.toHaveProperty('uninstallRequestedAtEpochSeconds');
        expect(await dueIds()).not.toContain(2005);
      });

      it('takes an expired lease away with a requested check: the check still finishing under it cannot write over the request', async () => {
        const saved = (await store.saveInstallation(installation(2008, { nextCheckAtEpochSeconds: now() })))!;
        const leased = (await store.acquireLease({ storeId: 2008, owner: 'slow-run', nowEpochSeconds: now(), leaseExpiresAtEpochSeconds: now() + 54 }))!;
        clock.advanceSeconds(55);
        await expect(
          store.requestUninstallCheck({ storeId: 2008, version: saved.version, requestedAtEpochSeconds: now(), nowEpochSeconds: now() }),
        ).resolves.toBe(true);
        // The slow check writes what it found, from its copy made before the request.
        await expect(
          store.completeCheck({
            storeId: 2008,
            owner: 'slow-run',
            version: leased.version,
            nowEpochSeconds: now() + 1,
            result: { status: 'needs_reinstall', statusReason: 'INVALID_API_TOKEN' },
          }),
        ).resolves.toBe(false);
        await expect(store.getInstallation(2008)).resolves.toMatchObject({ status: 'active', uninstallRequestedAtEpochSeconds: now() });
        expect(await dueIds()).toContain(2008);
        // The job's next run takes the installation with the request.
        await expect(store.acquireLease({ storeId: 2008, owner: 'next-run', nowEpochSeconds: now(), leaseExpiresAtEpochSeconds: now() + 60 })).resolves.toMatchObject({
          uninstallRequestedAtEpochSeconds: now(),
        });
      });

      it('records a subscription status; an older event never overwrites a newer one; the version stays', async () => {
        const saved = (await store.saveInstallation(installation(2006)))!;
        const change = (status: string, at: number) =>
          store.recordSubscription({ storeId: 2006, subscriptionStatus: status, changedAtEpochSeconds: at, nowEpochSeconds: now() });
        await expect(change('TRIAL', now() - 200)).resolves.toEqual({ recorded: true, installationStatus: 'active' });
        await expect(change('ACTIVE', now() - 100)).resolves.toEqual({ recorded: true, previousStatus: 'TRIAL', installationStatus: 'active' });
        await expect(change('SUSPENDED', now() - 150)).resolves.toEqual({ recorded: false, reason: 'older_than_recorded' });
        // The same change again (a retry whose answer was lost) counts as recorded.
        await expect(change('ACTIVE', now() - 100)).resolves.toEqual({ recorded: true, installationStatus: 'active' });
        await expect(change('SUSPENDED', now() - 100)).resolves.toEqual({ recorded: true, previousStatus: 'ACTIVE', installationStatus: 'active' });
        await expect(change('ACTIVE', now() - 101)).resolves.toEqual({ recorded: false, reason: 'older_than_recorded' });
        await expect(store.getInstallation(2006)).resolves.toMatchObject({
          subscriptionStatus: 'SUSPENDED',
          subscriptionChangedAtEpochSeconds: now() - 100,
          version: saved.version,
        });
      });

      it('records no subscription for a store without an installation: nothing is written', async () => {
        await expect(
          store.recordSubscription({ storeId: 2007, subscriptionStatus: 'TRIAL', changedAtEpochSeconds: now(), nowEpochSeconds: now() }),
        ).resolves.toEqual({ recorded: false, reason: 'no_installation' });
        await expect(store.describeStore(2007)).resolves.toBeUndefined();
        const saved = await store.saveInstallation(installation(2007));
        expect(saved).not.toHaveProperty('subscriptionStatus');
      });

      it('lists every installation item, tombstones included, by status, page by page, each once', async () => {
        for (let storeId = 3001; storeId <= 3012; storeId += 1) {
          const saved = (await store.saveInstallation(installation(storeId)))!;
          if (storeId % 3 === 0) {
            await store.purgeInstallation({ storeId, version: saved.version, reason: 'INVALID_API_TOKEN', nowEpochSeconds: now(), tombstone: tombstone() });
          }
        }
        const all: number[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.listStores({ limit: 5, ...(cursor === undefined ? {} : { cursor }) });
          expect(page.stores.length).toBeLessThanOrEqual(5);
          all.push(...page.stores.map((view) => view.storeId));
          cursor = page.cursor;
          pages += 1;
        } while (cursor !== undefined && pages < 10);
        expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, index) => 3001 + index));
        const uninstalled = await store.listStores({ limit: 100, status: 'uninstalled' });
        expect(uninstalled.stores.map((view) => view.storeId).sort((a, b) => a - b)).toEqual([3003, 3006, 3009, 3012]);
        expect(JSON.stringify(uninstalled)).not.toMatch(/secret_|wrapped-key/);
      });
      it('treats an item whose TTL has passed as absent in the listing, whether or not DynamoDB has deleted it', async () => {
        const kept = (await store.saveInstallation(installation(3101)))!;
        const gone = (await store.saveInstallation(installation(3102)))!;
        await store.purgeInstallation({ storeId: 3101, version: kept.version, reason: 'INVALID_API_TOKEN', nowEpochSeconds: now(), tombstone: tombstone(3600) });
        await store.purgeInstallation({ storeId: 3102, version: gone.version, reason: 'INVALID_API_TOKEN', nowEpochSeconds: now(), tombstone: tombstone(60) });
        clock.advanceSeconds(60);
        await expect(store.describeStore(3102)).resolves.toBeUndefined();
        await expect(store.describeStore(3101)).resolves.toMatchObject({ status: 'uninstalled' });
        const listed = await store.listStores({ limit: 100, status: 'uninstalled' });
        expect(listed.stores.map((view) => view.storeId)).toEqual([3101]);
      });
    });

    describe('the due index and leases', () => {
      async function allDue(limit = 100): Promise<DueEntry[]> {
        const found: DueEntry[] = [];
        for (const shard of store.dueShards()) {
          let cursor: string | undefined;
          do {
            const page = await store.findDue({ shard, nowEpochSeconds: now(), limit, ...(cursor === undefined ? {} : { cursor }) });
            found.push(...page.due);
            cursor = page.cursor;
          } while (cursor !== undefined);
        }
        return found;
      }

      const lease = (storeId: number, owner = 'run-1', seconds = 60) =>
        store.acquireLease({ storeId, owner, nowEpochSeconds: now(), leaseExpiresAtEpochSeconds: now() + seconds });

      it('finds exactly the due installations, earliest first within a shard, page by page', async () => {
        for (let storeId = 1; storeId <= 40; storeId += 1) {
          const dueIn = storeId % 2 === 0 ? -storeId : 3600;
          await store.saveInstallation(installation(storeId, { nextCheckAtEpochSeconds: now() + dueIn }));
        }
        const due = await allDue(3);
        expect(due.map((item) => item.storeId).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 20 }, (_, index) => (index + 1) * 2),
        );
        for (const shard of store.dueShards()) {
          const page = await store.findDue({ shard, nowEpochSeconds: now(), limit: 100 });
          const times = page.due.map((entry) => entry.dueAtEpochSeconds);
          expect(times).toEqual([...times].sort((a, b) => a - b));
        }
      });

      it('leases a due installation once and returns it as it is now', async () => {
        await store.saveInstallation(installation(7, { nextCheckAtEpochSeconds: now() }));
        const leased = await lease(7);
        expect(leased).toMatchObject({ storeId: 7, version: 1, status: 'active' });
        await expect(lease(7, 'run-2')).resolves.toBeUndefined();
        clock.advanceSeconds(60);
        await expect(lease(7, 'run-2')).resolves.toMatchObject({ storeId: 7 });
      });

      it('never leases what is not due, not scheduled, or not there', async () => {
        await store.saveInstallation(installation(8, { nextCheckAtEpochSeconds: now() + 10 }));
        await expect(lease(8)).resolves.toBeUndefined();
        await expect(lease(999)).resolves.toBeUndefined();
      });

      it('lets exactly one of many concurrent runs lease an installation', async () => {
        await store.saveInstallation(installation(9, { nextCheckAtEpochSeconds: now() }));
        const leases = await Promise.all(Array.from({ length: 8 }, (_, index) => lease(9, `run-${index}`)));
        expect(leases.filter((item) => item !== undefined)).toHaveLength(1);
      });

      it('records the missing scopes a check recomputed: a list replaces them, an empty one clears them, none leaves them', async () => {
        await store.saveInstallation(installation(19, { nextCheckAtEpochSeconds: now(), missingScopes: ['read_orders'] }));
        const check = async (missingScopes: string[] | undefined) => {
          const leased = (await lease(19))!;
          await store.completeCheck({
            storeId: 19,
            owner: 'run-1',
            version: leased.version,
            nowEpochSeconds: now(),
            result: { status: 'active', nextCheckAtEpochSeconds: now(), ...(missingScopes === undefined ? {} : { missingScopes }) },
          });
          return (await store.getInstallation(19))!.missingScopes;
        };
        await expect(check(undefined)).resolves.toEqual(['read_orders']);
        await expect(check(['read_orders', 'update_catalog'])).resolves.toEqual(['read_orders', 'update_catalog']);
        await expect(check([])).resolves.toBeUndefined();
      });

      it('writes a refresh atomically and reschedules, only for the lease holder at the leased version', async () => {
        await store.saveInstallation(
          installation(10, { nextCheckAtEpochSeconds: now(), refreshToken: sealed('refresh_1'), expiresAtEpochSeconds: now() + 600 }),
        );
        const leased = (await lease(10))!;
        const result = {
          status: 'active' as const,
          refreshedGrant: { accessToken: sealed('access_2'), refreshToken: sealed('refresh_2'), expiresAtEpochSeconds: now() + 3600 },
          lastRefreshedAtEpochSeconds: now(),
          nextCheckAtEpochSeconds: now() + 2700,
        };
        await expect(store.completeCheck({ storeId: 10, owner: 'intruder', version: leased.version, nowEpochSeconds: now(), result })).resolves.toBe(false);
        await expect(store.completeCheck({ storeId: 10, owner: 'run-1', version: leased.version, nowEpochSeconds: now(), result })).resolves.toBe(true);
        await expect(store.getInstallation(10)).resolves.toMatchObject({
          accessToken: sealed('access_2'),
          refreshToken: sealed('refresh_2'),
          expiresAtEpochSeconds: now() + 3600,
          lastRefreshedAtEpochSeconds: now(),
          nextCheckAtEpochSeconds: now() + 2700,
          version: leased.version + 1,
        });
        expect((await allDue()).map((item) => item.storeId)).not.toContain(10);
        clock.advanceSeconds(2700);
        await expect(lease(10, 'run-2')).resolves.toMatchObject({ accessToken: sealed('access_2') });
      });

      it('keeps the newer token when a reinstall races a refresh', async () => {
        await store.saveInstallation(installation(11, { nextCheckAtEpochSeconds: now(), refreshToken: sealed('refresh_old'), expiresAtEpochSeconds: now() + 600 }));
        const leased = (await lease(11))!;
        const reinstall = installation(11, { refreshToken: sealed('refresh_new'), expiresAtEpochSeconds: now() + 3600 });
        await store.saveInstallation(reinstall);
        const written = await store.completeCheck({
          storeId: 11,
          owner: 'run-1',
          version: leased.version,
          nowEpochSeconds: now(),
          result: {
            status: 'active',
            refreshedGrant: {
              accessToken: sealed('access_from_old_grant'),
              refreshToken: sealed('refresh_rotated'),
              expiresAtEpochSeconds: now() + 3600,
            },
            nextCheckAtEpochSeconds: now() + 10,
          },
        });
        expect(written).toBe(false);
        await expect(store.getInstallation(11)).resolves.toMatchObject({
          accessToken: reinstall.accessToken,
          refreshToken: sealed('refresh_new'),
        });
      });

      it('takes an installation out of the schedule, and records failures and reasons', async () => {
        await store.saveInstallation(installation(12, { nextCheckAtEpochSeconds: now() }));
        let leased = (await lease(12))!;
        await store.completeCheck({
          storeId: 12,
          owner: 'run-1',
          version: leased.version,
          nowEpochSeconds: now(),
          result: { status: 'active', lastVerifiedAtEpochSeconds: now(), nextCheckAtEpochSeconds: now(), failure: { count: 2, firstAtEpochSeconds: now() - 100 } },
        });
        await expect(store.getInstallation(12)).resolves.toMatchObject({ failureCount: 2, firstFailureAtEpochSeconds: now() - 100 });
        leased = (await lease(12))!;
        await store.completeCheck({
          storeId: 12,
          owner: 'run-1',
          version: leased.version,
          nowEpochSeconds: now(),
          result: { status: 'needs_reinstall', statusReason: 'INVALID_API_TOKEN' },
        });
        const stored = await store.getInstallation(12);
        expect(stored).toMatchObject({ status: 'needs_reinstall', statusReason: 'INVALID_API_TOKEN', lastVerifiedAtEpochSeconds: now() });
        expect(stored).not.toHaveProperty('nextCheckAtEpochSeconds');
        expect(stored).not.toHaveProperty('failureCount');
        expect((await allDue()).map((item) => item.storeId)).not.toContain(12);
        await expect(lease(12, 'run-2')).resolves.toBeUndefined();
      });

      it("marks a refresh in flight under the job's lease: only the holder, only at the leased version, and the version stays", async () => {
        await store.saveInstallation(installation(14, { nextCheckAtEpochSeconds: now(), refreshToken: sealed('refresh_14'), expiresAtEpochSeconds: now() + 600 }));
        const leased = (await lease(14))!;
        const mark = (owner: string, version = leased.version) => store.markRefreshInFlight({ storeId: 14, owner, version, nowEpochSeconds: now() });
        await expect(mark('run-2')).resolves.toBe(false);
        await expect(mark('run-1', leased.version + 1)).resolves.toBe(false);
        expect(await store.getInstallation(14)).not.toHaveProperty('refreshInFlightSinceEpochSeconds');
        await expect(mark('run-1')).resolves.toBe(true);
        await expect(store.getInstallation(14)).resolves.toMatchObject({ refreshInFlightSinceEpochSeconds: now(), version: leased.version });
      });

      it('keeps the earliest mark: marking again later does not move it', async () => {
        await store.saveInstallation(installation(15, { nextCheckAtEpochSeconds: now(), refreshToken: sealed('refresh_15'), expiresAtEpochSeconds: now() + 600 }));
        const leased = (await lease(15))!;
        const markedAt = now();
        await store.markRefreshInFlight({ storeId: 15, owner: 'run-1', version: leased.version, nowEpochSeconds: markedAt });
        clock.advanceSeconds(20);
        await expect(store.markRefreshInFlight({ storeId: 15, owner: 'run-1', version: leased.version, nowEpochSeconds: now() })).resolves.toBe(true);
        await expect(store.getInstallation(15)).resolves.toMatchObject({ refreshInFlightSinceEpochSeconds: markedAt });
      });

      it('clears the mark with a check result that has none, and keeps it with one that carries it', async () => {
        await store.saveInstallation(installation(16, { nextCheckAtEpochSeconds: now(), refreshToken: sealed('refresh_16'), expiresAtEpochSeconds: now() + 600 }));
        const checkWith = async (refreshInFlightSinceEpochSeconds: number | undefined) => {
          const leased = (await lease(16))!;
          await store.markRefreshInFlight({ storeId: 16, owner: 'run-1', version: leased.version, nowEpochSeconds: now() - 5 });
          await expect(
            store.completeCheck({
              storeId: 16,
              owner: 'run-1',
              version: leased.version,
              nowEpochSeconds: now(),
              result: { status: 'active', nextCheckAtEpochSeconds: now(), ...(refreshInFlightSinceEpochSeconds === undefined ? {} : { refreshInFlightSinceEpochSeconds }) },
            }),
          ).resolves.toBe(true);
          return store.getInstallation(16);
        };
        expect(await checkWith(undefined)).not.toHaveProperty('refreshInFlightSinceEpochSeconds');
        await expect(checkWith(now() - 5)).resolves.toMatchObject({ refreshInFlightSinceEpochSeconds: now() - 5 });
        await expect(lease(16)).resolves.toMatchObject({ refreshInFlightSinceEpochSeconds: now() - 5 });
      });

      it('lets a reinstall clear a live lease and the failure streak', async () => {
        await store.saveInstallation(installation(13, { nextCheckAtEpochSeconds: now() }));
        await lease(13);
        await store.saveInstallation(installation(13, { nextCheckAtEpochSeconds: now() }));
        await expect(lease(13, 'run-2')).resolves.toMatchObject({ version: 2 });
      });
    });

    describe('leases outside the schedule, and confirmed revocations (the credentials API)', () => {
      const readerLease = (storeId: number, owner = 'reader-1', seconds = 30) =>
        store.leaseInstallation({ storeId, owner, nowEpochSeconds: now(), leaseExpiresAtEpochSeconds: now() + seconds });
      const jobLease = (storeId: number, owner = 'run-1', seconds = 60) =>
        store.acquireLease({ storeId, owner, nowEpochSeconds: now(), leaseExpiresAtEpochSeconds: now() + seconds });

      it('leases an installation that is not due, once, and returns it as it is now', async () => {
        await store.saveInstallation(installation(20, { nextCheckAtEpochSeconds: now() + 86_400 }));
        await expect(jobLease(20)).resolves.toBeUndefined();
        await expect(readerLease(20)).resolves.toMatchObject({ storeId: 20, version: 1, status: 'active' });
        await expect(readerLease(20, 'reader-2')).resolves.toBeUndefined();
        clock.advanceSeconds(30);
        await expect(readerLease(20, 'reader-2')).resolves.toMatchObject({ storeId: 20, version: 1 });
      });

      it('is the same lease the scheduled job takes: neither takes it from the other while it lives', async () => {
        await store.saveInstallation(installation(22, { nextCheckAtEpochSeconds: now() }));
        await expect(jobLease(22)).resolves.toBeDefined();
        await expect(readerLease(22)).resolves.toBeUndefined();
        clock.advanceSeconds(60);
        await expect(readerLease(22)).resolves.toBeDefined();
        await expect(jobLease(22, 'run-2')).resolves.toBeUndefined();
      });

      it('never leases what is not there, nor a tombstone', async () => {
        await expect(readerLease(998)).resolves.toBeUndefined();
        const saved = (await store.saveInstallation(installation(996)))!;
        await store.purgeInstallation({
          storeId: 996,
          version: saved.version,
          reason: 'INVALID_API_TOKEN',
          nowEpochSeconds: now(),
          tombstone: { uninstalledAtEpochSeconds: now() - 5, deleteAfterEpochSeconds: now() + 86_400 },
        });
        await expect(readerLease(996)).resolves.toBeUndefined();
      });

      it('records the missing scopes of the version it compared, without moving the version', async () => {
        const saved = (await store.saveInstallation(installation(994)))!;
        await expect(store.recordMissingScopes({ storeId: 994, version: saved.version, missingScopes: ['read_orders'] })).resolves.toBe(true);
        await expect(store.getInstallation(994)).resolves.toMatchObject({ missingScopes: ['read_orders'], version: saved.version });
        await expect(store.recordMissingScopes({ storeId: 994, version: saved.version, missingScopes: [] })).resolves.toBe(true);
        expect((await store.getInstallation(994))!.missingScopes).toBeUndefined();
        await store.saveInstallation(installation(994));
        await expect(store.recordMissingScopes({ storeId: 994, version: saved.version, missingScopes: ['read_orders'] })).resolves.toBe(false);
        await expect(store.recordMissingScopes({ storeId: 993, version: 1, missingScopes: ['read_orders'] })).resolves.toBe(false);
      });

      it('marks a renewal in flight only under its own lease and version', async () => {
        const saved = (await store.saveInstallation(installation(995, { refreshToken: sealed('refresh_995'), expiresAtEpochSeconds: now() + 600 })))!;
        await expect(store.markRefreshInFlight({ storeId: 995, owner: 'reader-1', version: saved.version, nowEpochSeconds: now() })).resolves.toBe(false);
        await readerLease(995);
        await expect(store.markRefreshInFlight({ storeId: 995, owner: 'reader-2', version: saved.version, nowEpochSeconds: now() })).resolves.toBe(false);
        await expect(store.markRefreshInFlight({ storeId: 995, owner: 'reader-1', version: saved.version, nowEpochSeconds: now() })).resolves.toBe(true);
        await expect(store.getInstallation(995)).resolves.toMatchObject({ refreshInFlightSinceEpochSeconds: now(), version: saved.version });
      });

      it('lets exactly one of many concurrent readers lease an installation', async () => {
        await store.saveInstallation(installation(23));
        const leases = await Promise.all(Array.from({ length: 8 }, (_, index) => readerLease(23, `reader-${index}`)));
        expect(leases.filter((item) => item !== undefined)).toHaveLength(1);
      });

      it('releases only its own lease, and changes nothing else', async () => {
        await store.saveInstallation(installation(24, { nextCheckAtEpochSeconds: now() }));
        await readerLease(24, 'reader-1');
        await expect(store.releaseLease({ storeId: 24, owner: 'someone-else' })).resolves.toBe(false);
        await expect(jobLease(24)).resolves.toBeUndefined();
        await expect(store.releaseLease({ storeId: 24, owner: 'reader-1' })).resolves.toBe(true);
        await expect(store.releaseLease({ storeId: 24, owner: 'reader-1' })).resolves.toBe(false);
        await expect(jobLease(24)).resolves.toMatchObject({ version: 1 });
        await expect(store.getInstallation(24)).resolves.toMatchObject({ version: 1, status: 'active', nextCheckAtEpochSeconds: now() });
      });

      it("writes a reader's refresh with the job's write: over the leased version, by the lease holder", async () => {
        await store.saveInstallation(installation(25, { refreshToken: sealed('refresh_1'), expiresAtEpochSeconds: now() + 30 }));
        const leased = (await readerLease(25))!;
        const result = {
          status: 'active' as const,
          refreshedGrant: { accessToken: sealed('access_2'), refreshToken: sealed('refresh_2'), expiresAtEpochSeconds: now() + 3600, obtainedAtEpochMs: nextObtainedAt() },
          lastRefreshedAtEpochSeconds: now(),
          nextCheckAtEpochSeconds: now() + 2700,
        };
        await expect(store.completeCheck({ storeId: 25, owner: 'run-1', version: leased.version, nowEpochSeconds: now(), result })).resolves.toBe(false);
        await expect(store.completeCheck({ storeId: 25, owner: 'reader-1', version: leased.version, nowEpochSeconds: now(), result })).resolves.toBe(true);
        await expect(store.getInstallation(25)).resolves.toMatchObject({ accessToken: sealed('access_2'), refreshToken: sealed('refresh_2'), version: 2 });
        await expect(readerLease(25, 'reader-2')).resolves.toMatchObject({ version: 2 });
      });

      it('records a confirmed revocation over the version read, and takes the installation out of the schedule', async () => {
        await store.saveInstallation(installation(26, { nextCheckAtEpochSeconds: now() }));
        await readerLease(26);
        await expect(store.recordRevocation({ storeId: 26, version: 1, nowEpochSeconds: now() + 5, statusReason: 'INVALID_API_TOKEN' })).resolves.toBe(true);
        const stored = await store.getInstallation(26);
        expect(stored).toMatchObject({ status: 'needs_reinstall', statusReason: 'INVALID_API_TOKEN', version: 2, updatedAtEpochSeconds: now() + 5 });
        expect(stored).not.toHaveProperty('nextCheckAtEpochSeconds');
        const due = await Promise.all(store.dueShards().map((shard) => store.findDue({ shard, nowEpochSeconds: now() + 86_400, limit: 100 })));
        expect(due.flatMap((page) => page.due).map((entry) => entry.storeId)).not.toContain(26);
        await expect(readerLease(26, 'reader-2')).resolves.toMatchObject({ status: 'needs_reinstall' });
      });

      it('refuses to record a revocation over a version that moved on: the reinstall keeps its new token', async () => {
        await store.saveInstallation(installation(27));
        const reinstall = installation(27);
        await store.saveInstallation(reinstall);
        await expect(store.recordRevocation({ storeId: 27, version: 1, nowEpochSeconds: now(), statusReason: 'INVALID_API_TOKEN' })).resolves.toBe(false);
        await expect(store.getInstallation(27)).resolves.toMatchObject({ status: 'active', version: 2, accessToken: reinstall.accessToken });
        await expect(store.recordRevocation({ storeId: 997, version: 1, nowEpochSeconds: now(), statusReason: 'INVALID_API_TOKEN' })).resolves.toBe(false);
        await expect(store.getInstallation(997)).resolves.toBeUndefined();
      });
    });
  });
}
