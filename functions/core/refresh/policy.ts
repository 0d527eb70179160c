/**
 * What an answer from Ecwid means for an installation, and when to look at it next: pure
 * functions of the installation, the answer and the time, tested without fakes. The I/O around
 * them lives in `installation-check.ts`.
 */
import { EcwidRequestError, RateLimitedError, errorCodeOf } from '../errors';
import type { CheckResult, Installation, TokenGrant, TokenVerification } from '../model';
import type { RandomSource } from '../ports';
import type { CheckOutcome } from './outcomes';
import { nextCheckAt, randomFraction, type CheckSchedulePolicy } from './schedule';

/** The fixed and tunable rules the decisions follow. */
export interface CheckPolicy {
  schedule: CheckSchedulePolicy;
  /** After this long without a successful check, an installation needs attention. */
  failureBudgetSeconds: number;
  /** The first retry after a passing failure; each further failure doubles it, up to the maximum. */
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  /** Wait after a 429 without `Retry-After`, and the most any `Retry-After` is honoured for. */
  rateLimitDefaultSeconds: number;
  rateLimitMaxSeconds: number;
  /**
   * The lifetime assumed for a refreshed token whose answer has no `expires_in` and whose previous
   * lifetime is unknown. A missing `expires_in` never means "expires never" (RFC 6749 §5.1 makes it
   * optional, not infinite): the previous lifetime is reused, else this one.
   */
  assumedTokenLifetimeSeconds: number;
}

/** What to write after a check, and how to count it. */
export interface Decision {
  outcome: CheckOutcome;
  result: CheckResult;
}

/** Where a refreshed grant's times land; the tokens themselves are sealed by the caller. */
export interface RefreshedGrantPlan {
  expiresAtEpochSeconds: number;
  nextCheckAtEpochSeconds: number;
  /** The scope to store; absent when the answer named none (RFC 6749 §5.1: unchanged). */
  scope?: string;
}

/**
 * The decision that needs no request: an expiring token that has no refresh token can only wait
 * for its end, then needs a reinstall. Undefined when a request to Ecwid must decide.
 */
export function decideWithoutRequest(installation: Installation, nowEpochSeconds: number): Decision | undefined {
  if (installation.expiresAtEpochSeconds === undefined || installation.refreshToken !== undefined) return undefined;
  return nowEpochSeconds >= installation.expiresAtEpochSeconds
    ? { outcome: 'needs_reinstall', result: { status: 'needs_reinstall', statusReason: 'token_expired_without_refresh_token' } }
    : {
        outcome: 'retry_later',
        result: keepAsIs(installation, { nextCheckAtEpochSeconds: installation.expiresAtEpochSeconds }),
      };
}

/** The stored token does not open for its store (altered, or copied from another): only a new install gives one. */
export function decideAfterUnreadableToken(): Decision {
  return { outcome: 'needs_reinstall', result: { status: 'needs_reinstall', statusReason: 'token_unreadable' } };
}

/**
 * The decision after Ecwid's profile endpoint answered (or did not) for a non-expiring token.
 *
 * @see https://api-docs.ecwid.com/reference/errors
 */
export function decideAfterVerification(
  installation: Installation,
  verification: TokenVerification,
  nowEpochSeconds: number,
  policy: CheckPolicy,
  random: RandomSource,
): Decision {
  switch (verification.outcome) {
    case 'valid':
      return {
        outcome: 'verified',
        result: {
          status: 'active',
          lastVerifiedAtEpochSeconds: nowEpochSeconds,
          nextCheckAtEpochSeconds: nextCheckAt({}, nowEpochSeconds, policy.schedule, random),
        },
      };
    case 'revoked':
      // Stop using the token: Ecwid blocks tokens that keep failing.
      return { outcome: 'needs_reinstall', result: { status: 'needs_reinstall', statusReason: verification.errorCode } };
    case 'store_gone':
      return { outcome: 'store_gone', result: { status: 'store_gone', statusReason: verification.errorCode } };
    case 'suspended':
      return {
        outcome: 'suspended',
        result: {
          status: 'suspended',
          statusReason: verification.errorCode,
          nextCheckAtEpochSeconds: nextCheckAt({}, nowEpochSeconds, policy.schedule, random),
        },
      };
    case 'rate_limited':
      return decideAfterRateLimit(installation, nowEpochSeconds, policy, verification.retryAfterSeconds);
    case 'failed':
      return decideAfterPassingFailure(installation, verification.reason, nowEpochSeconds, policy, random);
  }
}

/**
 * The decision after a refresh request failed (a refresh that succeeded is planned by
 * {@link planRefreshedGrant}). `credentialsRejected` tells the run to stop sending tokens.
 *
 * @see RFC 6749 §5.2 (`invalid_grant`), RFC 9700 §4.14.2 (refresh token rotation and reuse)
 */
export function decideAfterRefreshFailure(
  installation: Installation,
  error: unknown,
  nowEpochSeconds: number,
  policy: CheckPolicy,
  random: RandomSource,
): Decision & { credentialsRejected: boolean } {
  const code = errorCodeOf(error);
  if (code === 'REFRESH_TOKEN_REJECTED') {
    // The grant is gone. After a refresh whose outcome was never stored, the server rotated the
    // token and then refused the old one as reused: the outcome was lost, the merchant revoked nothing.
    if (installation.refreshInFlightSinceEpochSeconds !== undefined) {
      return {
        outcome: 'refresh_outcome_lost',
        result: { status: 'needs_reinstall', statusReason: 'refresh_outcome_lost' },
        credentialsRejected: false,
      };
    }
    return {
      outcome: 'needs_reinstall',
      result: { status: 'needs_reinstall', statusReason: 'invalid_grant' },
      credentialsRejected: false,
    };
  }
  if (code === 'ECWID_RATE_LIMITED') {
    const retryAfterSeconds = error instanceof RateLimitedError ? error.retryAfterSeconds : undefined;
    return { ...decideAfterRateLimit(installation, nowEpochSeconds, policy, retryAfterSeconds), credentialsRejected: false };
  }
  const failure = decideAfterPassingFailure(installation, code.toLowerCase(), nowEpochSeconds, policy, random);
  // The app's credentials are wrong for every store: stop sending tokens until an operator acts.
  return { ...failure, credentialsRejected: code === 'CLIENT_REJECTED' };
}

/**
 * Whether a refresh that failed this way may still have been processed by the server, which may
 * then have rotated the refresh token: a timeout, a connection that broke after the request was
 * sent, a 5xx, an answer that made no sense, anything unforeseen. A refusal the server states (4xx,
 * 429) or a request that never left (refused connection) is a known outcome.
 */
export function refreshOutcomeUnknown(error: unknown): boolean {
  switch (errorCodeOf(error)) {
    case 'ECWID_TIMEOUT':
    case 'ECWID_INVALID_RESPONSE':
    case 'INTERNAL':
      return true;
    case 'ECWID_UNAVAILABLE':
      return !(error instanceof EcwidRequestError) || error.mayHaveReachedServer;
    default:
      return false;
  }
}

/**
 * The in-flight mark a check's result carries. A refresh whose answer is stored, or a grant that
 * ended, resolves it; any other result keeps the earliest unresolved refresh, so a later
 * `invalid_grant` is read as a lost outcome.
 */
export function withRefreshMark(decision: Decision, markEpochSeconds: number | undefined): Decision {
  const resolved = decision.outcome === 'refreshed' || decision.result.status === 'needs_reinstall' || decision.result.status === 'uninstalled';
  if (resolved || markEpochSeconds === undefined) return decision;
  return { ...decision, result: { ...decision.result, refreshInFlightSinceEpochSeconds: markEpochSeconds } };
}

/**
 * When a refreshed grant expires and is next refreshed. A missing `expires_in` reuses the previous
 * lifetime (never "expires never"), else the assumed one.
 */
export function planRefreshedGrant(
  installation: Installation,
  grant: TokenGrant,
  nowEpochSeconds: number,
  policy: CheckPolicy,
  random: RandomSource,
): RefreshedGrantPlan {
  const previousLifetimeSeconds =
    (installation.expiresAtEpochSeconds ?? nowEpochSeconds) -
    (installation.lastRefreshedAtEpochSeconds ?? installation.installedAtEpochSeconds);
  const lifetimeSeconds =
    grant.expiresInSeconds ?? (previousLifetimeSeconds > 0 ? previousLifetimeSeconds : policy.assumedTokenLifetimeSeconds);
  const expiresAtEpochSeconds = nowEpochSeconds + lifetimeSeconds;
  return {
    expiresAtEpochSeconds,
    nextCheckAtEpochSeconds: nextCheckAt({ expiresAtEpochSeconds, lifetimeSeconds }, nowEpochSeconds, policy.schedule, random),
    ...(grant.scope === '' ? {} : { scope: grant.scope }),
  };
}

/** A 429: come back after `Retry-After` (bounded), or after the default wait when it said nothing. */
export function decideAfterRateLimit(
  installation: Installation,
  nowEpochSeconds: number,
  policy: CheckPolicy,
  retryAfterSeconds: number | undefined,
): Decision {
  const waitSeconds =
    retryAfterSeconds !== undefined && retryAfterSeconds > 0
      ? Math.min(Math.ceil(retryAfterSeconds), policy.rateLimitMaxSeconds)
      : policy.rateLimitDefaultSeconds;
  return { outcome: 'rate_limited', result: keepAsIs(installation, { nextCheckAtEpochSeconds: nowEpochSeconds + waitSeconds }) };
}

/**
 * A passing failure (5xx, timeout, network, KMS): retry with exponential backoff and jitter; after
 * the failure budget without a success, the installation needs attention (and is still retried).
 */
export function decideAfterPassingFailure(
  installation: Installation,
  reason: string,
  nowEpochSeconds: number,
  policy: CheckPolicy,
  random: RandomSource,
): Decision {
  const count = (installation.failureCount ?? 0) + 1;
  const firstAtEpochSeconds = installation.firstFailureAtEpochSeconds ?? nowEpochSeconds;
  const backoffSeconds = Math.min(policy.retryMaxSeconds, policy.retryBaseSeconds * 2 ** Math.min(count - 1, 30));
  let nextEpochSeconds = nowEpochSeconds + Math.max(1, Math.round(backoffSeconds * (0.9 + 0.2 * randomFraction(random))));
  const expiresAtEpochSeconds = installation.expiresAtEpochSeconds;
  // Try again before an expiring token dies, while that is still possible.
  if (expiresAtEpochSeconds !== undefined && expiresAtEpochSeconds - 60 > nowEpochSeconds) {
    nextEpochSeconds = Math.min(nextEpochSeconds, expiresAtEpochSeconds - 60);
  }
  const overBudget = nowEpochSeconds - firstAtEpochSeconds >= policy.failureBudgetSeconds;
  const status = overBudget ? 'needs_attention' : installation.status;
  return {
    outcome: overBudget ? 'needs_attention' : 'retry_later',
    result: {
      status,
      ...(status === 'active' ? {} : { statusReason: overBudget ? reason : installation.statusReason ?? reason }),
      nextCheckAtEpochSeconds: nextEpochSeconds,
      failure: { count, firstAtEpochSeconds },
    },
  };
}

/** A result that changes nothing but the next check time. */
function keepAsIs(installation: Installation, change: { nextCheckAtEpochSeconds: number }): CheckResult {
  return {
    status: installation.status,
    ...(installation.statusReason === undefined ? {} : { statusReason: installation.statusReason }),
    ...(installation.failureCount === undefined
      ? {}
      : { failure: { count: installation.failureCount, firstAtEpochSeconds: installation.firstFailureAtEpochSeconds! } }),
    nextCheckAtEpochSeconds: change.nextCheckAtEpochSeconds,
  };
}
