/**
 * The names of the app's own CloudWatch metrics. Imports types only: the CDK side reads it for its
 * alarms without loading the job.
 */
import type { CheckOutcome } from '../core/refresh/outcomes';

/** The CloudWatch namespace of the app's own metrics (the stack's alarms read from it). */
export const METRICS_NAMESPACE = 'EcwidAppAuth';

/** Authorization codes Ecwid refused (not a reload replaying an earlier refusal): counted by the callback. */
export const CODES_REJECTED_METRIC = 'CodesRejected';

/** The metric each outcome of a scheduled check is counted under. */
export const OUTCOME_METRICS: Record<CheckOutcome, string> = {
  refreshed: 'TokensRefreshed',
  verified: 'TokensVerified',
  needs_reinstall: 'InstallationsNeedingReinstall',
  refresh_outcome_lost: 'RefreshOutcomesLost',
  suspended: 'StoresSuspended',
  store_gone: 'StoresGone',
  rate_limited: 'ChecksRateLimited',
  retry_later: 'ChecksToRetry',
  needs_attention: 'InstallationsNeedingAttention',
  uninstalled: 'StoresUninstalled',
  superseded: 'ChecksSuperseded',
  skipped: 'ChecksSkipped',
  deferred: 'ChecksDeferred',
  error: 'CheckErrors',
};


/** Lifecycle events given up after their retries (logged whole): the alarm on it tells ops to replay them. */
export const UNPUBLISHED_EVENTS_METRIC = 'LifecycleEventsUnpublished';

/** Webhooks answered with a 5xx (Ecwid delivers them again; too many and it blocks the URL for two weeks). */
export const WEBHOOK_FAILURES_METRIC = 'WebhookFailures';

/** Webhooks whose signature only the previous client secret matched (accepted within 48 hours of a rotation). */
export const WEBHOOKS_SIGNED_WITH_PREVIOUS_SECRET_METRIC = 'WebhooksSignedWithPreviousSecret';

/** Webhooks carrying the `eventId` of another with different unsigned fields (a replayed signature): alarmed. */
export const WEBHOOK_VARIANTS_METRIC = 'WebhookVariants';
