import { errorCodeOf, errorName } from '../errors';
import type { CheckResult, Installation, TokenGrant } from '../model';
import type { TokenSealer } from '../ports';
import {
  decideAfterRefreshFailure,
  decideAfterUnreadableToken,
  decideWithoutRequest,
  planRefreshedGrant,
  refreshOutcomeUnknown,
  withRefreshMark,
  type Decision,
} from '../refresh/policy';
import { accessTokenFingerprint } from '../secure-values';
import { TokenRenewalPendingError } from './credentials-errors';
import { isUsable, lastsLongEnough, planHandOut, toStoreCredentials, type UsableInstallation } from './hand-out';
import { openCredentials } from './open-credentials';
import type { CredentialsAnswer, CredentialsDependencies, CredentialsRequest, CredentialsSettings, InstallationTransition } from './settings';

/** How often a refreshed grant's write is tried, like the scheduled job: the old refresh token is already dead. */
const REFRESHED_GRANT_WRITE_ATTEMPTS = 3;

/**
 * One renewal, on read, of an expiring token close to its end: single flight with the scheduled job.
 *
 * - It takes the job's own lease on the installation (`leaseInstallation`), so neither the job nor
 *   another reader refreshes the same grant meanwhile: a server that rotates refresh tokens may
 *   revoke the whole grant when one is presented twice (RFC 9700 §4.14.2).
 * - A reader that finds the lease taken waits for its holder's result, polling the item (bounded by
 *   `renewalWaitMs`), and hands out the renewed token instead of refreshing again.
 * - What an answer of the token endpoint means is the job's pure policy (`refresh/policy.ts`), and
 *   the result is written with the job's conditional write (leased version, lease owner). Like the
 *   job, it marks the refresh in flight before the request leaves, so an outcome that is lost (a
 *   timeout, a write that fails) is reported as such by the next check, not as a revocation.
 * - An installation with an uninstall waiting for confirmation is left to the job, which checks it
 *   at once: a reader gets its current token while it lasts.
 * - A failure the job would retry later backs off the same way; a reader then gets the current token
 *   while it still lasts the minimum lifetime, and an error otherwise, never a token about to die.
 */
export class TokenRenewal {
  private readonly owner: string;
  private leaseExpiresAtEpochMs = 0;

  /**
   * @param stillNeeded whether an installation, as leased or re-read, still needs this renewal
   *   (false once someone else renewed it, or its status changed).
   */
  constructor(
    private readonly deps: CredentialsDependencies,
    private readonly settings: CredentialsSettings,
    private readonly request: CredentialsRequest,
    private readonly stillNeeded: (installation: Installation) => boolean,
  ) {
    this.owner = `credentials-${Buffer.from(deps.random.randomBytes(12)).toString('hex')}`;
  }

  async renew(seen: UsableInstallation): Promise<CredentialsAnswer> {
    // A reader with a token that still lasts waits less: the current token is a good answer too.
    const waitMs = lastsLongEnough(seen, this.nowEpochSeconds(), this.settings) ? this.settings.renewalWaitWithFallbackMs : this.settings.renewalWaitMs;
    const waitUntilEpochMs = Math.min(this.nowEpochMs() + waitMs, this.request.deadlineEpochMs);
    let current: Installation = seen;
    for (;;) {
      if (!this.mayRefreshNow(current)) return this.answerWithout(current);
      const leased = await this.lease();
      if (leased !== undefined) return this.renewLeased(leased);
      // Someone else holds the lease (the job, or a reader elsewhere): share its renewal.
      if (this.nowEpochMs() + this.settings.renewalPollMs > waitUntilEpochMs) return this.answerWithout(current);
      await this.deps.clock.sleep(this.settings.renewalPollMs);
      const latest = await this.deps.installations.getInstallation(this.request.storeId);
      if (latest === undefined) return { outcome: 'not_installed' };
      if (!this.stillNeeded(latest)) return this.answerWithout(latest);
      current = latest;
    }
  }

  private async renewLeased(leased: Installation): Promise<CredentialsAnswer> {
    const nowEpochSeconds = this.nowEpochSeconds();
    if (!isUsable(leased) || !this.stillNeeded(leased) || !this.mayRefreshNow(leased) || leased.uninstallRequestedAtEpochSeconds !== undefined) {
      await this.release();
      return this.answerWithout(leased);
    }
    const withoutRequest = decideWithoutRequest(leased, nowEpochSeconds);
    if (withoutRequest !== undefined) return this.settle(leased, withRefreshMark(withoutRequest, leased.refreshInFlightSinceEpochSeconds));

    let sealer: TokenSealer;
    let refreshToken: string;
    try {
      sealer = await this.deps.vault.sealerOf(leased);
      refreshToken = sealer.open(leased.refreshToken!, 'refresh_token');
    } catch (error) {
      if (errorCodeOf(error) === 'TOKEN_UNREADABLE') return this.settle(leased, withRefreshMark(decideAfterUnreadableToken(), leased.refreshInFlightSinceEpochSeconds));
      await this.release();
      throw error;
    }

    let grant: TokenGrant;
    let sent = false;
    try {
      const clientSecret = await this.deps.clientSecret.clientSecret();
      if (!this.timeForRequest()) {
        await this.release();
        return this.answerWithout(leased, sealer);
      }
      // Recorded before the request leaves, while the lease and the version hold.
      const marked = await this.deps.installations.markRefreshInFlight({
        storeId: leased.storeId,
        owner: this.owner,
        version: leased.version,
        nowEpochSeconds,
      });
      if (!marked) {
        const latest = await this.deps.installations.getInstallation(leased.storeId);
        return latest === undefined ? { outcome: 'not_installed' } : this.answerWithout(latest);
      }
      sent = true;
      grant = await this.deps.refresher.refreshToken({ storeId: leased.storeId, refreshToken, clientId: this.settings.clientId, clientSecret });
    } catch (error) {
      const { credentialsRejected, ...decided } = decideAfterRefreshFailure(leased, error, nowEpochSeconds, this.settings, this.deps.random);
      if (credentialsRejected) {
        this.deps.log.error('the token endpoint refused the app credentials; check the client secret', { storeId: leased.storeId });
      }
      const unknownSince = sent && refreshOutcomeUnknown(error) ? nowEpochSeconds : undefined;
      const decision = withRefreshMark(decided, leased.refreshInFlightSinceEpochSeconds ?? unknownSince);
      return this.settle(leased, decision, sealer, error);
    }
    return this.store(leased, grant, sealer, nowEpochSeconds);
  }

  /** Stores a refreshed grant (the rotated refresh token with it) and hands out its access token. */
  private async store(leased: UsableInstallation, grant: TokenGrant, sealer: TokenSealer, nowEpochSeconds: number): Promise<CredentialsAnswer> {
    const plan = planRefreshedGrant(leased, grant, nowEpochSeconds, this.settings, this.deps.random);
    const result: CheckResult = {
      status: 'active',
      refreshedGrant: {
        accessToken: sealer.seal(grant.accessToken, 'access_token'),
        accessTokenFingerprint: accessTokenFingerprint(grant.accessToken),
        // Rotation: the new refresh token goes with the new access token; the old one only when none came.
        refreshToken: grant.refreshToken === undefined ? leased.refreshToken! : sealer.seal(grant.refreshToken, 'refresh_token'),
        expiresAtEpochSeconds: plan.expiresAtEpochSeconds,
        ...(plan.scope === undefined ? {} : { scope: plan.scope }),
      },
      lastRefreshedAtEpochSeconds: nowEpochSeconds,
      nextCheckAtEpochSeconds: plan.nextCheckAtEpochSeconds,
    };
    const written = await this.writeRefreshedGrant(leased, result);
    const inHand = toStoreCredentials(
      {
        storeId: leased.storeId,
        scope: plan.scope ?? leased.scope,
        expiresAtEpochSeconds: plan.expiresAtEpochSeconds,
        status: 'active',
        ...(leased.missingScopes === undefined ? {} : { missingScopes: leased.missingScopes }),
      },
      {
        accessToken: grant.accessToken,
        publicToken: leased.publicToken === undefined ? undefined : sealer.open(leased.publicToken, 'public_token'),
      },
    );
    if (written === 'superseded') {
      // A reinstall (or a lease that ran out and was taken over) wrote first: what is stored now wins
      // when it can be handed out; otherwise the token in hand still works for its whole lifetime.
      const latest = await this.deps.installations.getInstallation(leased.storeId);
      if (latest === undefined) return { outcome: 'not_installed' };
      if (planHandOut(latest, this.nowEpochSeconds(), this.settings).kind !== 'renew') return this.answerWithout(latest);
    }
    this.deps.log.info('renewed an expiring token before handing it out', { storeId: leased.storeId });
    return { outcome: 'issued', credentials: inHand, ...this.transition(leased, 'active') };
  }

  /**
   * Writes a decision that is not a new grant (a failure, a revocation), then answers: the status it
   * wrote when the token is known not to work; else the current token while it lasts the minimum
   * lifetime; else the failure itself (or, without one, a pending renewal).
   */
  private async settle(leased: UsableInstallation, decision: Decision, sealer?: TokenSealer, failure?: unknown): Promise<CredentialsAnswer> {
    let written = false;
    try {
      written = await this.deps.installations.completeCheck({
        storeId: leased.storeId,
        owner: this.owner,
        version: leased.version,
        nowEpochSeconds: this.nowEpochSeconds(),
        result: decision.result,
      });
    } catch (error) {
      // The lease runs out by itself; the job decides again later.
      this.deps.log.warn('could not store the outcome of a renewal on read', { storeId: leased.storeId, errorName: errorName(error) });
    }
    if (!written) {
      const latest = await this.deps.installations.getInstallation(leased.storeId);
      return latest === undefined ? { outcome: 'not_installed' } : this.answerWithout(latest);
    }
    const status = decision.result.status;
    // Never decided here (an installation with a pending uninstall is the job's), but a purge it would be.
    if (status === 'uninstalled') return { outcome: 'not_installed' };
    const transition = this.transition(leased, status, decision.result.statusReason);
    if (status === 'needs_reinstall' || status === 'suspended' || status === 'store_gone') {
      return { outcome: 'unusable', status, reason: decision.result.statusReason ?? status, ...transition };
    }
    const plan = planHandOut(leased, this.nowEpochSeconds(), this.settings);
    if (plan.kind === 'hand_out' || (plan.kind === 'renew' && plan.fallback)) {
      return { outcome: 'issued', credentials: await openCredentials(this.deps.vault, { ...leased, status }, sealer), ...transition };
    }
    if (failure !== undefined) throw failure;
    // An expiring token without a refresh token, near its end: nothing can renew it.
    return { outcome: 'unusable', status: 'needs_reinstall', reason: 'token_expiring_without_refresh_token' };
  }

  /** The answer from an installation as it is, without renewing it (now, or again). */
  private async answerWithout(installation: Installation, sealer?: TokenSealer): Promise<CredentialsAnswer> {
    const plan = planHandOut(installation, this.nowEpochSeconds(), this.settings);
    if (plan.kind === 'unusable') return { outcome: 'unusable', status: plan.status, reason: plan.reason };
    if (plan.kind === 'hand_out' || plan.fallback) {
      return { outcome: 'issued', credentials: await openCredentials(this.deps.vault, plan.installation, sealer) };
    }
    throw new TokenRenewalPendingError('the token expires within the minimum lifetime and its renewal has not finished', {
      storeId: installation.storeId,
      retryAfterSeconds: this.retryAfterSeconds(installation),
    });
  }

  /**
   * Whether a refresh may be sent now: not while the job's back-off after a failed refresh runs
   * (a refresh whose answer was lost may have rotated the token; hammering would not help either).
   */
  private mayRefreshNow(installation: Installation): boolean {
    const backingOff = (installation.failureCount ?? 0) > 0 && (installation.nextCheckAtEpochSeconds ?? 0) > this.nowEpochSeconds();
    return !backingOff;
  }

  private retryAfterSeconds(installation: Installation): number {
    const backOffSeconds = (installation.nextCheckAtEpochSeconds ?? 0) - this.nowEpochSeconds();
    return (installation.failureCount ?? 0) > 0 && backOffSeconds > 0 ? Math.min(backOffSeconds, 60) : 1;
  }

  private async lease(): Promise<Installation | undefined> {
    const nowEpochSeconds = this.nowEpochSeconds();
    const leaseExpiresAtEpochSeconds = nowEpochSeconds + this.settings.leaseDurationSeconds;
    const leased = await this.deps.installations.leaseInstallation({
      storeId: this.request.storeId,
      owner: this.owner,
      nowEpochSeconds,
      leaseExpiresAtEpochSeconds,
    });
    if (leased !== undefined) this.leaseExpiresAtEpochMs = leaseExpiresAtEpochSeconds * 1000;
    return leased;
  }

  private async release(): Promise<void> {
    try {
      await this.deps.installations.releaseLease({ storeId: this.request.storeId, owner: this.owner });
    } catch (error) {
      this.deps.log.warn('could not release a lease; it runs out by itself', { storeId: this.request.storeId, errorName: errorName(error) });
    }
  }

  /** Whether a refresh and the write of its answer still fit before both the deadline and the lease's end. */
  private timeForRequest(): boolean {
    return this.nowEpochMs() + this.settings.requestReserveMs <= Math.min(this.request.deadlineEpochMs, this.leaseExpiresAtEpochMs);
  }

  /** Like the job: a rotated grant in hand is written again on a failure, as long as attempts remain. */
  private async writeRefreshedGrant(leased: Installation, result: CheckResult): Promise<'written' | 'superseded' | 'failed'> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const written = await this.deps.installations.completeCheck({
          storeId: leased.storeId,
          owner: this.owner,
          version: leased.version,
          nowEpochSeconds: this.nowEpochSeconds(),
          result,
        });
        return written ? 'written' : 'superseded';
      } catch (error) {
        if (attempt >= REFRESHED_GRANT_WRITE_ATTEMPTS) {
          this.deps.log.error('a refreshed grant could not be stored; the store may need a reinstall', {
            storeId: leased.storeId,
            errorName: errorName(error),
          });
          return 'failed';
        }
        await this.deps.clock.sleep(200 * attempt);
      }
    }
  }

  private transition(from: Installation, to: Installation['status'], reason?: string): { transition?: InstallationTransition } {
    if (from.status === to) return {};
    return { transition: { storeId: from.storeId, from: from.status, to, ...(reason === undefined ? {} : { reason }) } };
  }

  private nowEpochMs(): number {
    return this.deps.clock.nowEpochMs();
  }

  private nowEpochSeconds(): number {
    return Math.floor(this.deps.clock.nowEpochMs() / 1000);
  }
}
