import { randomBytes } from 'node:crypto';
import type { CodeClaimStore, InstallationStore, NewInstallation, StateStore } from '../../functions/core/ports';
import { ManualClock } from '../support/fakes';

export type ContractStore = StateStore & CodeClaimStore & InstallationStore;

export interface ContractSubject {
  store: ContractStore;
  clock: ManualClock;
}

const hash = () => randomBytes(32).toString('hex');

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

      it('recognises a reload of the same callback (same code) as consumed', async () => {
        const state = await issueState();
        const codeHash = hash();
        await store.consumeState({ ...state, codeHash, nowEpochSeconds: now() });
        await expect(store.consumeState({ ...state, codeHash, nowEpochSeconds: now() })).resolves.toBe('consumed');
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

      it('treats a claim past its lifetime as absent even before any TTL deletes it', async () => {
        const codeHash = hash();
        await store.claimCode({ codeHash, claimedAtEpochSeconds: now(), expiresAtEpochSeconds: now() + 60 });
        clock.advanceSeconds(60);
        await expect(store.getCodeClaim(codeHash)).resolves.toBeUndefined();
        await expect(
          store.claimCode({ codeHash, claimedAtEpochSeconds: now(), expiresAtEpochSeconds: now() + 60 }),
        ).resolves.toEqual({ claimed: true });
      });
    });

    describe('installations', () => {
      const installation = (storeId: number, overrides: Partial<NewInstallation> = {}): NewInstallation => ({
        storeId,
        accessToken: `secret_${hash().slice(0, 32)}`,
        scope: 'read_store_profile read_catalog',
        installedAtEpochSeconds: now(),
        grantCodeHash: hash(),
        nextCheckAtEpochSeconds: now() + 86_400,
        ...overrides,
      });

      it('stores an installation and reads it back whole', async () => {
        const input = installation(1001, {
          publicToken: 'public_abc',
          ownerEmail: 'owner@example.com',
          refreshToken: 'refresh_abc',
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
          installation(1002, { refreshToken: 'refresh_old', expiresAtEpochSeconds: now() + 3600, publicToken: 'public_old' }),
        );
        clock.advanceSeconds(100);
        const second = installation(1002);
        const saved = await store.saveInstallation(second);
        expect(saved.version).toBe(2);
        const stored = await store.getInstallation(1002);
        expect(stored).toEqual({ ...second, tokenType: 'Bearer', status: 'active', version: 2, updatedAtEpochSeconds: now() });
        expect(stored).not.toHaveProperty('refreshToken');
        expect(stored).not.toHaveProperty('expiresAtEpochSeconds');
        expect(stored).not.toHaveProperty('publicToken');
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
  });
}
