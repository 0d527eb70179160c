/**
 * The callback's half of the install: one file on purpose, a little over the usual size. Its
 * invariants (the state spent before the claim, the claim before the exchange, the data key before
 * the code is spent, a reload answered from the first outcome) only read as a whole; split, each
 * piece would hide why the next one is safe.
 */
import { EcwidAppAuthError, EcwidRequestError, errorCodeOf, errorName } from '../errors';
import type { CodeClaim, CodeClaimOutcome, StateConsumption, TokenGrant } from '../model';
import type {
  ClientSecretSource,
  Clock,
  CodeClaimStore,
  InstallationStore,
  LifecycleEventPublisher,
  Logger,
  RandomSource,
  StateStore,
  TokenEndpoint,
  TokenSealer,
  TokenVault,
} from '../ports';
import { announce, installAnnouncement, scopesAnnouncement } from '../lifecycle/announcements';
import { missingScopes } from '../scopes';
import { nextCheckAt, type CheckSchedulePolicy } from '../refresh/schedule';
import { accessTokenFingerprint, fingerprint, isWellFormedNonce } from '../secure-values';
import type { CallbackRequest } from './callback-request';

export interface CompleteInstallSettings {
  clientId: string;
  redirectUri: string;
  /** Whether a callback without `state` (Ecwid's App Market sending the merchant directly) is accepted. */
  appMarketInstalls: boolean;
  /**
   * How long the claim of a code that produced a token (and its outcome, for reloads) is kept; the
   * installation itself also remembers the code that produced it.
   */
  codeClaimLifetimeSeconds: number;
  /**
   * How long a claim is kept while its outcome is unknown, and after the code failed: a code lives
   * minutes, so past this it is dead whatever happens, and a stranger's junk codes cost no storage
   * for long.
   */
  failedClaimLifetimeSeconds: number;
  /** How long a duplicate callback waits for the request that is exchanging the same code. */
  pendingClaimWaitMs: number;
  pendingClaimPollMs: number;
  /** A claim this old that still has no outcome belongs to an attempt that died midway. */
  staleClaimAfterSeconds: number;
  checkSchedule: CheckSchedulePolicy;
  /** The scopes the app asks for: what a grant lacks of them is recorded (`missingScopes`). */
  configuredScopes: readonly string[];
}

export interface CompleteInstallDependencies {
  states: StateStore;
  claims: CodeClaimStore;
  installations: InstallationStore;
  tokenEndpoint: TokenEndpoint;
  clientSecret: ClientSecretSource;
  vault: TokenVault;
  clock: Clock;
  random: RandomSource;
  log: Logger;
  /** Announces each stored install (`Store Installed` or `Store Reinstalled`). */
  publisher: LifecycleEventPublisher;
}

export interface CompleteInstallRequest {
  callback: CallbackRequest;
  /** The browser-binding cookie sent with the callback, if any. */
  browserBinding?: string | undefined;
}

export type CompleteInstallResult =
  | { outcome: 'cancelled' }
  /**
   * `replayed`: this callback repeated one whose code was already exchanged; nothing was sent to Ecwid.
   * `browserBound`: this very request spent a state issued to this browser (its binding cookie matched),
   * so the browser that carries it is the one that started the install; never on the App Market lane.
   */
  | { outcome: 'installed'; storeId: number; replayed: boolean; lane: CodeLane['lane']; browserBound: boolean };

type CodeLane = Extract<CallbackRequest, { code: string }>;

/**
 * Completes an install from Ecwid's redirect.
 *
 * The code is exchanged at most once, ever: it is claimed (by its hash) with a conditional write
 * before the token request, and a callback that finds it claimed shows the first attempt's outcome
 * instead of sending it again, because Ecwid revokes the first token when a code is exchanged twice.
 * A state is spent atomically and must belong to this browser. Nothing is stored on failure.
 *
 * @see https://api-docs.ecwid.com/docs/get-access-token
 * @see RFC 9700 §4.7.1 (state), RFC 6749 §4.1.2 (single-use codes)
 * @throws EcwidAppAuthError with the code of the failure (see `errors.ts`).
 */
export async function completeInstall(
  deps: CompleteInstallDependencies,
  settings: CompleteInstallSettings,
  request: CompleteInstallRequest,
): Promise<CompleteInstallResult> {
  const { callback } = request;
  switch (callback.lane) {
    case 'consent_denied':
      return { outcome: 'cancelled' };
    case 'ecwid_error':
      throw new EcwidAppAuthError('ECWID_AUTHORIZATION_ERROR', 'Ecwid redirected back with an error', {
        detail: { ecwidError: callback.error },
      });
    case 'app_market':
      if (!settings.appMarketInstalls) {
        throw new EcwidAppAuthError('APP_MARKET_INSTALLS_DISABLED', 'a callback without state was refused by configuration');
      }
      return new InstallAttempt(deps, settings, callback).run(undefined);
    case 'app_initiated':
      return new InstallAttempt(deps, settings, callback).run(request.browserBinding);
  }
}

class InstallAttempt {
  private readonly codeHash: string;
  /** This attempt's own nonce on the claim: only it may record the claim's outcome or release it. */
  private readonly attemptId: string;
  /** Whether this request spent a state bound to its browser. */
  private browserBound = false;

  constructor(
    private readonly deps: CompleteInstallDependencies,
    private readonly settings: CompleteInstallSettings,
    private readonly callback: CodeLane,
  ) {
    this.codeHash = fingerprint(callback.code);
    this.attemptId = Buffer.from(deps.random.randomBytes(16)).toString('hex');
  }

  async run(browserBinding: string | undefined): Promise<CompleteInstallResult> {
    // Read first: without the secret nothing may be spent, so the merchant can simply retry.
    const clientSecret = await this.deps.clientSecret.clientSecret();

    if (this.callback.lane === 'app_initiated') {
      const consumption = await this.consumeState(this.callback.state, browserBinding);
      this.browserBound = consumption === 'consumed';
      if (consumption !== 'consumed') {
        // A reload long after the first callback: its state may be gone, but the code's outcome is kept.
        const earlier = await this.deps.claims.getCodeClaim(this.codeHash);
        if (earlier !== undefined) return this.settle(earlier);
        throw stateRefusal(consumption);
      }
    }

    // The stored grant came from this very code: a reload, however late (its claim may be long gone).
    if (await this.installedByThisCode(this.callback.storeId)) {
      return this.installed(this.callback.storeId!, true);
    }
    return this.claimAndExchange(clientSecret, { retryIfReleased: true });
  }

  private async claimAndExchange(clientSecret: string, options: { retryIfReleased: boolean }): Promise<CompleteInstallResult> {
    const nowEpochSeconds = this.nowEpochSeconds();
    const claim = await this.deps.claims.claimCode({
      codeHash: this.codeHash,
      attemptId: this.attemptId,
      ...(this.callback.storeId === undefined ? {} : { storeId: this.callback.storeId }),
      claimedAtEpochSeconds: nowEpochSeconds,
      expiresAtEpochSeconds: nowEpochSeconds + this.settings.failedClaimLifetimeSeconds,
    });
    if (!claim.claimed) {
      // A claim released while this request waited belonged to an attempt that never reached
      // Ecwid: the code is unspent, so this request may claim it (once).
      return this.settle(claim.existing, () =>
        options.retryIfReleased ? this.claimAndExchange(clientSecret, { retryIfReleased: false }) : undefined,
      );
    }

    // The store's data key comes from KMS before the code is spent: if KMS is down, the claim is
    // released and the same callback works once it is back. Without a store id (the legacy
    // redirect) the store is known only from the answer.
    const { storeId } = this.callback;
    const sealer = storeId === undefined ? undefined : await this.beforeExchange(() => this.deps.vault.sealerFor(storeId));
    const grant = await this.exchange(clientSecret);
    return this.store(grant, this.deps.clock.nowEpochMs(), sealer);
  }

  /** Work after the claim and before the exchange: when it fails, the code is still unspent. */
  private async beforeExchange<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      await this.bestEffort('release the code claim', () => this.deps.claims.releaseCodeClaim(this.codeHash, this.attemptId));
      throw error;
    }
  }

  private async consumeState(state: string, browserBinding: string | undefined): Promise<StateConsumption> {
    if (!isWellFormedNonce(state)) return 'unknown';
    return this.deps.states.consumeState({
      stateHash: fingerprint(state),
      browserBindingHash: isWellFormedNonce(browserBinding) ? fingerprint(browserBinding) : undefined,
      codeHash: this.codeHash,
      nowEpochSeconds: this.nowEpochSeconds(),
    });
  }

  private async exchange(clientSecret: string): Promise<TokenGrant> {
    try {
      return await this.deps.tokenEndpoint.exchangeCode({
        code: this.callback.code,
        redirectUri: this.settings.redirectUri,
        clientId: this.settings.clientId,
        clientSecret,
        ...(this.callback.storeId === undefined ? {} : { storeId: this.callback.storeId }),
      });
    } catch (error) {
      if (error instanceof EcwidRequestError && !error.mayHaveReachedServer) {
        // The code never left this process: it is still good, so a reload may try it again.
        await this.bestEffort('release the code claim', () => this.deps.claims.releaseCodeClaim(this.codeHash, this.attemptId));
      } else {
        await this.recordOutcome({ status: 'failed', errorCode: errorCodeOf(error) }, 'no_token');
      }
      throw error;
    }
  }

  private async store(
    grant: TokenGrant,
    obtainedAtEpochMs: number,
    sealerBeforeExchange: TokenSealer | undefined,
  ): Promise<CompleteInstallResult> {
    const nowEpochSeconds = this.nowEpochSeconds();
    const expiresAtEpochSeconds =
      grant.expiresInSeconds === undefined ? undefined : nowEpochSeconds + grant.expiresInSeconds;
    try {
      const sealer = sealerBeforeExchange ?? (await this.deps.vault.sealerFor(grant.storeId));
      const saved = await this.deps.installations.saveInstallation({
        storeId: grant.storeId,
        tokenKey: sealer.tokenKey,
        accessToken: sealer.seal(grant.accessToken, 'access_token'),
        accessTokenFingerprint: accessTokenFingerprint(grant.accessToken),
        scope: grant.scope,
        ...(grant.publicToken === undefined ? {} : { publicToken: sealer.seal(grant.publicToken, 'public_token') }),
        ...(grant.refreshToken === undefined ? {} : { refreshToken: sealer.seal(grant.refreshToken, 'refresh_token') }),
        ...(expiresAtEpochSeconds === undefined ? {} : { expiresAtEpochSeconds }),
        installedAtEpochSeconds: nowEpochSeconds,
        grantCodeHash: this.codeHash,
        grantLane: this.callback.lane,
        grantObtainedAtEpochMs: obtainedAtEpochMs,
        missingScopes: missingScopes(this.settings.configuredScopes, grant.scope),
        nextCheckAtEpochSeconds: nextCheckAt(
          { expiresAtEpochSeconds, lifetimeSeconds: grant.expiresInSeconds },
          nowEpochSeconds,
          this.settings.checkSchedule,
          this.deps.random,
        ),
      });
      if (saved === undefined) {
        // Another install of the same store got a later grant and stored it: the store is installed.
        this.deps.log.info('a later grant for this store is already stored; this one was not', { storeId: grant.storeId });
      } else {
        await announce(this.deps.publisher, this.deps.log, [installAnnouncement(saved, this.callback.lane), scopesAnnouncement(saved, this.callback.lane)]);
      }
    } catch (error) {
      await this.recordOutcome({ status: 'failed', errorCode: errorCodeOf(error) }, 'token_obtained');
      throw error;
    }
    await this.recordOutcome({ status: 'installed', storeId: grant.storeId }, 'token_obtained');
    return this.installed(grant.storeId, false);
  }

  private installed(storeId: number, replayed: boolean): CompleteInstallResult {
    return { outcome: 'installed', storeId, replayed, lane: this.callback.lane, browserBound: this.browserBound };
  }

  /**
   * The outcome of an earlier attempt with the same code. A pending one is awaited for a moment:
   * a double-clicked link shows the success page, not an error, once the first request finishes.
   */
  private async settle(
    claim: CodeClaim,
    whenReleased: () => Promise<CompleteInstallResult> | undefined = () => undefined,
  ): Promise<CompleteInstallResult> {
    const { clock } = this.deps;
    const deadlineEpochMs = clock.nowEpochMs() + this.settings.pendingClaimWaitMs;
    let current: CodeClaim | undefined = claim;
    while (current.status === 'pending') {
      if (await this.installedByThisCode(current.storeId)) {
        return this.installed(current.storeId!, true);
      }
      // An attempt past the stale age died midway: waiting longer cannot bring its outcome.
      if (clock.nowEpochMs() >= deadlineEpochMs || this.isStale(current)) break;
      await clock.sleep(this.settings.pendingClaimPollMs);
      current = await this.deps.claims.getCodeClaim(this.codeHash);
      if (current === undefined) {
        const retried = whenReleased();
        if (retried !== undefined) return retried;
        throw new EcwidAppAuthError('ECWID_UNREACHABLE', 'the earlier attempt with this code could not reach Ecwid');
      }
    }

    switch (current.status) {
      case 'installed':
        return this.installed(current.storeId, true);
      case 'failed':
        throw new EcwidAppAuthError(current.errorCode, 'an earlier attempt with this code failed', {
          detail: { replayed: true },
        });
      case 'pending': {
        const ageSeconds = this.nowEpochSeconds() - current.claimedAtEpochSeconds;
        if (this.isStale(current)) {
          throw new EcwidAppAuthError('INSTALL_OUTCOME_UNKNOWN', 'an earlier attempt with this code never finished', {
            detail: { ageSeconds },
          });
        }
        throw new EcwidAppAuthError('INSTALL_IN_PROGRESS', 'another request is exchanging this code', {
          detail: { ageSeconds },
        });
      }
    }
  }

  private isStale(claim: CodeClaim): boolean {
    return this.nowEpochSeconds() - claim.claimedAtEpochSeconds > this.settings.staleClaimAfterSeconds;
  }

  /** Covers the window where the installation is stored but its claim's outcome is not yet recorded. */
  private async installedByThisCode(storeId: number | undefined): Promise<boolean> {
    if (storeId === undefined) return false;
    const installation = await this.deps.installations.getInstallation(storeId);
    return installation?.grantCodeHash === this.codeHash;
  }

  /**
   * Once the exchange returned a token the code is spent for good, whatever happened after: its
   * claim is kept the long lifetime, so no reload within it sends the code again.
   */
  private recordOutcome(outcome: CodeClaimOutcome, exchange: 'token_obtained' | 'no_token'): Promise<void> {
    const lifetimeSeconds = exchange === 'token_obtained' ? this.settings.codeClaimLifetimeSeconds : this.settings.failedClaimLifetimeSeconds;
    const write = () =>
      this.deps.claims.recordCodeOutcome({
        codeHash: this.codeHash,
        attemptId: this.attemptId,
        outcome,
        expiresAtEpochSeconds: this.nowEpochSeconds() + lifetimeSeconds,
      });
    return this.bestEffort('record the outcome of the code claim', async () => {
      try {
        await write();
      } catch (error) {
        // Without it the claim stays pending with the short lifetime, and reloads see "outcome
        // unknown". A second write is safe: it applies only while the claim is pending and this attempt's.
        if (outcome.status !== 'installed') throw error;
        await write();
      }
    });
  }

  /** Bookkeeping that must not mask the real result (the install, or the error that ended it). */
  private async bestEffort(what: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.deps.log.warn(`could not ${what}`, {
        errorCode: errorCodeOf(error),
        errorName: errorName(error),
      });
    }
  }

  private nowEpochSeconds(): number {
    return Math.floor(this.deps.clock.nowEpochMs() / 1000);
  }
}

function stateRefusal(consumption: Exclude<StateConsumption, 'consumed'>): EcwidAppAuthError {
  switch (consumption) {
    case 'unknown':
      return new EcwidAppAuthError('STATE_UNKNOWN', 'the state is not one this app issued');
    case 'used':
      return new EcwidAppAuthError('STATE_USED', 'the state was already used');
    case 'expired':
      return new EcwidAppAuthError('STATE_EXPIRED', 'the state expired');
    case 'browser_mismatch':
      return new EcwidAppAuthError('STATE_BROWSER_MISMATCH', 'the state was issued to another browser');
  }
}
