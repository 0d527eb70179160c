/**
 * How the handling of one due installation can end. No imports: the CDK side reads the list (the
 * metric of each outcome, its alarms) without loading the job.
 */
export const CHECK_OUTCOMES = [
  'refreshed',
  'verified',
  'needs_reinstall',
  /**
   * A refresh was refused as a reused token after an earlier refresh whose outcome was never stored
   * (the rotated refresh token was lost): the store needs a reinstall, and ops need to know why.
   */
  'refresh_outcome_lost',
  'suspended',
  'store_gone',
  'rate_limited',
  'retry_later',
  'needs_attention',
  /** A requested uninstall (an `application.uninstalled` webhook) was confirmed: the installation is purged. */
  'uninstalled',
  /** A reinstall (or another runner after this lease expired) changed the installation first. */
  'superseded',
  /** Another run holds the lease, the installation stopped being due, or this run already handled it. */
  'skipped',
  /** Too little time was left to send a request and store its answer; a later run takes it. */
  'deferred',
  /** The result could not be stored; the lease expires and a later run takes it again. */
  'error',
] as const;

export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];
