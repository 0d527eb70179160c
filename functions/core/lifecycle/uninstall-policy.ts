/**
 * When an `application.uninstalled` webhook may destroy an installation: pure functions of the
 * installation, the event and Ecwid's answer about the token, tested without fakes.
 *
 * The webhook's body is not signed (only `eventCreated` and `eventId` are), so a captured signature
 * can carry any store id. Nothing is destroyed on the event's word: only a token Ecwid refuses
 * (403 `INVALID_API_TOKEN`, or a store it no longer knows), or one already known dead, confirms it.
 *
 * @see ../shared/ecwid-protocol.md, "Webhooks"
 */
import type { CheckResult, Installation, Tombstone, TokenVerification } from '../model';
import type { Decision } from '../refresh/policy';

export type UninstallDecision =
  /** Nothing to do: the event is not about this installation, or the token still works. */
  | { action: 'ignore'; reason: 'superseded_by_reinstall' | 'unconfirmed' }
  /** Confirmed: remove the tokens and the data key, leave a tombstone. */
  | { action: 'purge'; reason: string }
  /** Ask Ecwid whether the token still works. */
  | { action: 'verify' }
  /** Ecwid's answer could not be had in time: the scheduled job asks again, at once, and finishes. */
  | { action: 'request_check'; reason: string };

/** Statuses that already say the token is dead: no request needed to confirm an uninstall. */
const KNOWN_DEAD = new Set<Installation['status']>(['needs_reinstall', 'store_gone']);

/**
 * What to do with an installation an uninstall webhook names, before asking Ecwid anything.
 *
 * An uninstall that happened before the current grant was stored is about an earlier install (a
 * reinstall followed it): it changes nothing. The install time is the callback's own record, never
 * a time the refresh job writes.
 */
export function decideUninstall(installation: Installation, uninstalledAtEpochSeconds: number, nowEpochSeconds: number): UninstallDecision {
  if (uninstalledAtEpochSeconds < installation.installedAtEpochSeconds) return { action: 'ignore', reason: 'superseded_by_reinstall' };
  if (KNOWN_DEAD.has(installation.status)) return { action: 'purge', reason: installation.statusReason ?? installation.status };
  // An expiring access token past its end would be refused for that alone: only a refresh can tell.
  const expiresAt = installation.expiresAtEpochSeconds;
  if (expiresAt !== undefined && expiresAt <= nowEpochSeconds + 60) return { action: 'request_check', reason: 'access_token_expired' };
  return { action: 'verify' };
}

/** What Ecwid's answer about the token means for the uninstall. */
export function decideAfterUninstallVerification(verification: TokenVerification): UninstallDecision {
  switch (verification.outcome) {
    case 'revoked':
    case 'store_gone':
      return { action: 'purge', reason: verification.errorCode };
    case 'valid':
    case 'suspended':
      // The token is accepted (a suspended store's too): the app is still installed.
      return { action: 'ignore', reason: 'unconfirmed' };
    case 'rate_limited':
      return { action: 'request_check', reason: 'rate_limited' };
    case 'failed':
      return { action: 'request_check', reason: verification.reason };
  }
}

/** The tombstone of an uninstall, kept `retentionSeconds` after the purge. */
export function tombstoneFor(uninstalledAtEpochSeconds: number, nowEpochSeconds: number, retentionSeconds: number): Tombstone {
  return { uninstalledAtEpochSeconds, deleteAfterEpochSeconds: nowEpochSeconds + retentionSeconds };
}

/**
 * A scheduled check of an installation with a requested uninstall finishes it with the same rule:
 * a check that finds the token dead (revoked, unreadable, expired without a way to renew it, the
 * store gone) purges the installation; one that finds it working forgets the request; an
 * inconclusive one keeps it, and the job's backoff brings the next check.
 */
export function settlePendingUninstall(
  installation: Installation,
  decision: Decision,
  nowEpochSeconds: number,
  retentionSeconds: number,
): Decision {
  const requestedAt = installation.uninstallRequestedAtEpochSeconds;
  if (requestedAt === undefined) return decision;
  switch (decision.outcome) {
    case 'needs_reinstall':
    case 'refresh_outcome_lost':
    case 'store_gone':
    case 'uninstalled': {
      const result: CheckResult = {
        status: 'uninstalled',
        statusReason: decision.result.statusReason ?? decision.result.status,
        uninstall: tombstoneFor(requestedAt, nowEpochSeconds, retentionSeconds),
      };
      return { outcome: 'uninstalled', result };
    }
    case 'verified':
    case 'refreshed':
    case 'suspended':
      return { ...decision, result: { ...decision.result, dismissUninstallRequest: true } };
    case 'rate_limited':
    case 'retry_later':
    case 'needs_attention':
    case 'superseded':
    case 'skipped':
    case 'deferred':
    case 'error':
      return decision;
  }
}
