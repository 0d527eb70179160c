import { randomBytes } from 'node:crypto';
import type { DueEntry, NewInstallation, SealedToken } from '../../functions/core/model';
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
      const newClaim = (codeHash: string, storeId?: number) => ({
        codeHash,
        ...(storeId === undefined ? {} : { storeId }),
        claimedAtEpochSeconds: now(),
        expiresAtEpochSeconds: now() + 86_400,
      });

      it('claims a code once and hands the pending claim to the next caller', async () => {
        const codeHash = hash();
        await expect(store.claimCode(newClaim(codeHash, 42))).resolves.toEqual({ claimed: true });
        await expect(store.claimCode(newClaim(codeHash, 42))).resolves.toEqual({
          claimed: false,
          existing: { codeHash, storeId: 42, claimedAtEpochSeconds: now(), status: 'pending' },
        });
      });

      it('lets exactly one of many concurrent claims win', async () => {
        const codeHash = hash();
        const results = await Promise.all(Array.from({ length: 8 }, () => store.claimCode(newClaim(codeHash))));
        expect(results.filter((result) => result.claimed)).toHaveLength(1);
      });

      it('records the outcome of a claim once', async () => {
        const installed = hash();
        await store.claimCode(newClaim(installed));
        await store.recordCodeOutcome(installed, { status: 'installed', storeId: 7 });
        await store.recordCodeOutcome(installed, { status: 'failed', errorCode: 'ECWID_TIMEOUT' });
        await expect(store.getCodeClaim(installed)).resolves.toMatchObject({ status: 'installed', storeId: 7 });

        const failed = hash();
        await store.claimCode(newClaim(failed, 8));
        await store.recordCodeOutcome(failed, { status: 'failed', errorCode: 'CODE_REJECTED' });
        await expect(store.getCodeClaim(failed)).resolves.toMatchObject({ status: 'failed', errorCode: 'CODE_REJECTED', storeId: 8 });
      });

      it('does not create a claim when recording the outcome of one that does not exist', async () => {
        const codeHash = hash();
        await store.recordCodeOutcome(codeHash, { status: 'installed', storeId: 1 });
        await expect(store.getCodeClaim(codeHash)).resolves.toBeUndefined();
      });

      it('releases a pending claim so the code can be claimed again, but never a settled one', async () => {
        const pending = hash();
        await store.claimCode(newClaim(pending));
        await store.releaseCodeClaim(pending);
        await expect(store.getCodeClaim(pending)).resolves.toBeUndefined();
        await expect(store.claimCode(newClaim(pending))).resolves.toEqual({ claimed: true });

        const settled = hash();
        await store.claimCode(newClaim(settled));
        await store.recordCodeOutcome(settled, { status: 'installed', storeId: 3 });
        await store.releaseCodeClaim(settled);
        await expect(store.getCodeClaim(settled)).resolves.toMatchObject({ status: 'installed' });
      });

      it('keeps blocking a code past its claim lifetime: only deletion by the TTL ends a claim', async () => {
        const codeHash = hash();
        await store.claimCode({ codeHash, storeId: 4, claimedAtEpochSeconds: now(), expiresAtEpochSeconds: now() + 60 });
        clock.advanceSeconds(120);
        await expect(store.getCodeClaim(codeHash)).resolves.toMatchObject({ status: 'pending', storeId: 4 });
        await expect(
          store.claimCode({ codeHash, claimedAtEpochSeconds: now(), expiresAtEpochSeconds: now() + 60 }),
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
          ownerEmail: 'owner@example.com',
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
        await store.claimCode({ codeHash: hash(), claimedAtEpochSeconds: now(), expiresAtEpochSeconds: now() + 60 });
        const listed = await store.listInstallations();
        expect(listed.map((item) => item.storeId)).toEqual([1, 3]);
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

      it('writes a refresh atomically and reschedules, only for the lease holder at the leased version', async () => {
        await store.saveInstallation(
          installation(10, { nextCheckAtEpochSeconds: now(), refreshToken: sealed('refresh_1'), expiresAtEpochSeconds: now() + 600 }),
        );
        const leased = (await lease(10))!;
        const result = {
          status: 'active' as const,
          refreshedGrant: { accessToken: sealed('access_2'), refreshToken: sealed('refresh_2'), expiresAtEpochSeconds: now() + 3600, obtainedAtEpochMs: nextObtainedAt() },
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
              obtainedAtEpochMs: nextObtainedAt(),
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

      it('never leases what is not there', async () => {
        await expect(readerLease(998)).resolves.toBeUndefined();
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
