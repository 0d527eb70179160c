import { errorCodeOf, errorName } from '../errors';
import type { CheckResult, Installation, TokenGrant } from '../model';
import type { TokenSealer } from '../ports';
import type { RefreshJobDependencies, RefreshJobSettings, RunContext } from './job';
import type { CheckOutcome } from './outcomes';
import {
  decideAfterPassingFailure,
  decideAfterRefreshFailure,
  decideAfterUnreadableToken,
  decideAfterVerification,
  decideWithoutRequest,
  planRefreshedGrant,
  refreshOutcomeUnknown,
  withRefreshMark,
  type Decision,
} from './policy';
import { announce, checkAnnouncement, scopesAnnouncement } from '../lifecycle/announcements';
import { missingScopes, sameScopes } from '../scopes';
import { accessTokenFingerprint } from '../secure-values';
import { settlePendingUninstall } from '../lifecycle/uninstall-policy';

/** Waits between attempts to store a rotated grant: from the first, doubling up to the last. */
const GRANT_WRITE_FIRST_BACKOFF_MS = 200;
const GRANT_WRITE_MAX_BACKOFF_MS = 3_000;
/** Attempts to store a rotated grant stop this long before the lease or the run runs out. */
const GRANT_WRITE_SAFETY_MS = 1_000;

/** Too little time was left to send a request and store its answer: nothing was sent. */
const DEFERRED = Symbol('deferred');
/** The installation changed (a reinstall) or the lease was lost before a refresh could be sent: nothing was sent. */
const SUPERSEDED = Symbol('superseded');

/**
 * The handling of one due installation by one run: lease it, decide (verify or refresh, through
 * the pure policy), and write the result over the leased version. One instance per attempt, like
 * the install flow's `InstallAttempt`. Never throws: every failure is an outcome.
 */
export class InstallationCheck {
  private leaseExpiresAtEpochMs = 0;
  /** When this check marked a refresh in flight whose outcome it then could not learn. */
  private unknownRefreshSentAtEpochSeconds: number | undefined;

  constructor(
    private readonly deps: RefreshJobDependencies,
    private readonly settings: RefreshJobSettings,
    private readonly run: RunContext,
    private readonly storeId: number,
  ) {}

  async perform(): Promise<CheckOutcome> {
    const { deps, storeId } = this;
    try {
      const nowEpochSeconds = this.nowEpochSeconds();
      const leaseExpiresAtEpochSeconds = nowEpochSeconds + this.settings.leaseDurationSeconds;
      this.leaseExpiresAtEpochMs = leaseExpiresAtEpochSeconds * 1000;
      const leased = await deps.installations.acquireLease({
        storeId,
        owner: this.run.owner,
        nowEpochSeconds,
        leaseExpiresAtEpochSeconds,
      });
      if (leased === undefined) return 'skipped';

      const decided = await this.decide(leased);
      // Deferred: nothing was sent, nothing is written; the lease runs out and a later run takes it.
      if (decided === DEFERRED) return 'deferred';
      if (decided === SUPERSEDED) {
        deps.log.warn('the installation changed before its refresh was sent; nothing was sent', { storeId });
        return 'superseded';
      }
      // An uninstall a webhook could not confirm is finished here, with the same rule; then the mark
      // of an unresolved refresh is carried on, unless this check resolved it.
      const settled = settlePendingUninstall(leased, decided, this.nowEpochSeconds(), this.settings.uninstallRetentionSeconds);
      const decision = withScopeGap(
        withRefreshMark(settled, leased.refreshInFlightSinceEpochSeconds ?? this.unknownRefreshSentAtEpochSeconds),
        leased,
        this.settings.configuredScopes,
      );
      const written = await this.write(leased, decision);
      if (!written) {
        deps.log.warn('a newer write superseded this check; its result was dropped', { storeId, outcome: decision.outcome });
        return 'superseded';
      }
      if (decision.result.status !== leased.status || decision.result.status === 'needs_reinstall') {
        deps.log.warn('installation status changed', {
          storeId,
          from: leased.status,
          to: decision.result.status,
          reason: decision.result.statusReason,
        });
      }
      await announce(deps.publisher, deps.log, [
        checkAnnouncement(leased.status, decision.result, storeId, this.nowEpochSeconds()),
        scopeGapAnnouncement(leased, decision.result, this.nowEpochSeconds()),
      ]);
      return decision.outcome;
    } catch (error) {
      deps.log.error('could not handle a due installation; a later run will', {
        storeId,
        errorName: errorName(error),
        errorCode: errorCodeOf(error),
      });
      return 'error';
    }
  }

  /** What to do with the leased installation. Never throws for anything Ecwid, KMS or the network does. */
  private async decide(installation: Installation): Promise<Decision | typeof DEFERRED | typeof SUPERSEDED> {
    const nowEpochSeconds = this.nowEpochSeconds();
    const withoutRequest = decideWithoutRequest(installation, nowEpochSeconds);
    if (withoutRequest !== undefined) return withoutRequest;

    // Tokens are decrypted here, where they are used, and nowhere else. KMS is not Ecwid: its request
    // does not take one of the slots that bound the requests to Ecwid.
    let sealer: TokenSealer;
    let token: string;
    const expiring = installation.expiresAtEpochSeconds !== undefined;
    try {
      sealer = await this.deps.vault.sealerOf(installation);
      token = expiring ? sealer.open(installation.refreshToken!, 'refresh_token') : sealer.open(installation.accessToken, 'access_token');
    } catch (error) {
      if (errorCodeOf(error) === 'TOKEN_UNREADABLE') return decideAfterUnreadableToken();
      return decideAfterPassingFailure(installation, 'encryption_unavailable', nowEpochSeconds, this.settings, this.deps.random);
    }
    return expiring ? this.refresh(installation, sealer, token, nowEpochSeconds) : this.verify(installation, token, nowEpochSeconds);
  }

  private async verify(installation: Installation, accessToken: string, nowEpochSeconds: number): Promise<Decision | typeof DEFERRED> {
    const verification = await this.inSlot(() => this.deps.verifier.verifyToken({ storeId: installation.storeId, accessToken }));
    if (verification === DEFERRED) return DEFERRED;
    return decideAfterVerification(installation, verification, nowEpochSeconds, this.settings, this.deps.random);
  }

  private async refresh(
    installation: Installation,
    sealer: TokenSealer,
    refreshToken: string,
    nowEpochSeconds: number,
  ): Promise<Decision | typeof DEFERRED | typeof SUPERSEDED> {
    let grant: TokenGrant | typeof DEFERRED | typeof SUPERSEDED;
    let sent = false;
    try {
      const clientSecret = await this.deps.clientSecret.clientSecret();
      grant = await this.inSlot(async () => {
        // Recorded before the request leaves: if its answer is lost (or cannot be stored), the next
        // check knows a rotated refresh token may be gone, and says so.
        const marked = await this.deps.installations.markRefreshInFlight({
          storeId: installation.storeId,
          owner: this.run.owner,
          version: installation.version,
          nowEpochSeconds,
        });
        if (!marked) return SUPERSEDED;
        sent = true;
        return this.deps.refresher.refreshToken({
          storeId: installation.storeId,
          refreshToken,
          clientId: this.settings.clientId,
          clientSecret,
        });
      });
    } catch (error) {
      if (sent && refreshOutcomeUnknown(error)) this.unknownRefreshSentAtEpochSeconds = nowEpochSeconds;
      const { credentialsRejected, ...decision } = decideAfterRefreshFailure(installation, error, nowEpochSeconds, this.settings, this.deps.random);
      if (credentialsRejected) {
        this.run.credentialsRejected = true;
        this.deps.log.error('the token endpoint refused the app credentials; check the client secret', { storeId: installation.storeId });
      }
      return decision;
    }
    if (grant === DEFERRED || grant === SUPERSEDED) return grant;

    const plan = planRefreshedGrant(installation, grant, nowEpochSeconds, this.settings, this.deps.random);
    return {
      outcome: 'refreshed',
      result: {
        status: 'active',
        refreshedGrant: {
          accessToken: sealer.seal(grant.accessToken, 'access_token'),
          accessTokenFingerprint: accessTokenFingerprint(grant.accessToken),
          // Rotation: store the new refresh token with the new access token; keep the old one only
          // when the server sent none.
          refreshToken: grant.refreshToken === undefined ? installation.refreshToken! : sealer.seal(grant.refreshToken, 'refresh_token'),
          expiresAtEpochSeconds: plan.expiresAtEpochSeconds,
          ...(plan.scope === undefined ? {} : { scope: plan.scope }),
        },
        lastRefreshedAtEpochSeconds: nowEpochSeconds,
        nextCheckAtEpochSeconds: plan.nextCheckAtEpochSeconds,
      },
    };
  }

  /** Sends one request to Ecwid in a slot, or none when too little time remains to store its answer. */
  private inSlot<T>(request: () => Promise<T>): Promise<T | typeof DEFERRED> {
    return this.run.ecwidSlots.use(async () => {
      const latestEpochMs = Math.min(this.run.deadlineEpochMs, this.leaseExpiresAtEpochMs) - this.settings.requestReserveMs;
      return this.deps.clock.nowEpochMs() <= latestEpochMs ? request() : DEFERRED;
    });
  }

  /**
   * Writes a check's result. With a rotated grant in hand it keeps trying for as long as the lease
   * and the run allow: the old refresh token is dead at the server, so a result that is not stored
   * is a store that will need a reinstall. Any other result is written once; a later run redoes it.
   */
  private async write(leased: Installation, decision: Decision): Promise<boolean> {
    const rotated = decision.result.refreshedGrant !== undefined;
    const lastAttemptEpochMs = Math.min(this.leaseExpiresAtEpochMs, this.run.deadlineEpochMs) - GRANT_WRITE_SAFETY_MS;
    for (let attempt = 1, backoffMs = GRANT_WRITE_FIRST_BACKOFF_MS; ; attempt += 1) {
      try {
        return await this.deps.installations.completeCheck({
          storeId: this.storeId,
          owner: this.run.owner,
          version: leased.version,
          nowEpochSeconds: this.nowEpochSeconds(),
          result: decision.result,
        });
      } catch (error) {
        if (!rotated) throw error;
        if (this.deps.clock.nowEpochMs() + backoffMs > lastAttemptEpochMs) {
          this.deps.log.error('a refreshed grant could not be stored; the next check reports the lost outcome', {
            storeId: this.storeId,
            attempts: attempt,
            errorName: errorName(error),
          });
          throw error;
        }
        await this.deps.clock.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, GRANT_WRITE_MAX_BACKOFF_MS);
      }
    }
  }

  private nowEpochSeconds(): number {
    return Math.floor(this.deps.clock.nowEpochMs() / 1000);
  }
}

/**
 * The scopes the grant lacks, recomputed by every check that leaves a grant (a purge leaves none):
 * from the refreshed grant's scope when a refresh brought one, else the stored scope.
 */
function withScopeGap(decision: Decision, leased: Installation, configuredScopes: readonly string[]): Decision {
  if (decision.result.uninstall !== undefined) return decision;
  const scope = decision.result.refreshedGrant?.scope ?? leased.scope;
  return { ...decision, result: { ...decision.result, missingScopes: missingScopes(configuredScopes, scope) } };
}

/** `Scopes Missing` when a check found scopes missing that were not before (a configuration change, a narrower grant). */
function scopeGapAnnouncement(leased: Installation, result: CheckResult, nowEpochSeconds: number) {
  const missing = result.missingScopes;
  // A store whose token does not work needs a reinstall, which asks for every scope anyway.
  const usable = result.status === 'active' || result.status === 'needs_attention' || result.status === 'suspended';
  if (!usable || missing === undefined || missing.length === 0 || sameScopes(leased.missingScopes, missing)) return undefined;
  return scopesAnnouncement({ storeId: leased.storeId, status: result.status, missingScopes: missing, updatedAtEpochSeconds: nowEpochSeconds }, 'scope_check');
}
