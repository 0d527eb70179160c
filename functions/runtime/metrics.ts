import type { Clock, Logger, WebhookCount, WebhookCounter } from '../core/ports';
import type { CheckOutcome } from '../core/refresh/outcomes';
import type { RefreshRunSummary } from '../core/refresh/refresh-run';
import { METRICS_NAMESPACE, OUTCOME_METRICS, WEBHOOK_VARIANTS_METRIC, WEBHOOKS_SIGNED_WITH_PREVIOUS_SECRET_METRIC } from './metric-names';

/**
 * The fields that turn a run's summary log line into CloudWatch metrics (Embedded Metric Format):
 * no SDK call and no extra permission, CloudWatch Logs extracts them.
 *
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export function embeddedMetrics(summary: RefreshRunSummary, timestampEpochMs: number): Record<string, unknown> {
  const values: Record<string, number> = { RefreshRunDuration: summary.durationMs, RefreshRunStoppedAtDeadline: summary.stoppedAtDeadline ? 1 : 0 };
  for (const [outcome, metric] of Object.entries(OUTCOME_METRICS)) values[metric] = summary.outcomes[outcome as CheckOutcome];
  return {
    _aws: {
      Timestamp: timestampEpochMs,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [[]],
          Metrics: Object.keys(values).map((name) => ({
            Name: name,
            Unit: name === 'RefreshRunDuration' ? 'Milliseconds' : 'Count',
          })),
        },
      ],
    },
    ...values,
  };
}

/** The fields that make one log line count `values` in the app's namespace (Embedded Metric Format). */
export function embeddedCounts(values: Record<string, number>, timestampEpochMs: number): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: timestampEpochMs,
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[]], Metrics: Object.keys(values).map((name) => ({ Name: name, Unit: 'Count' })) }],
    },
    ...values,
  };
}

/** The metric each thing the webhooks count is published under. */
const WEBHOOK_COUNT_METRICS: Record<WebhookCount, string> = {
  signed_with_previous_secret: WEBHOOKS_SIGNED_WITH_PREVIOUS_SECRET_METRIC,
  event_variant: WEBHOOK_VARIANTS_METRIC,
};

/** Counts through the log: one line per count, carrying its metric (Embedded Metric Format). */
export function webhookCounter(log: Logger, clock: Pick<Clock, 'nowEpochMs'>): WebhookCounter {
  return {
    count: (what) => log.info('metric counted', { counted: what, ...embeddedCounts({ [WEBHOOK_COUNT_METRICS[what]]: 1 }, clock.nowEpochMs()) }),
  };
}
