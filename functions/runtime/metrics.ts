import type { CheckOutcome } from '../core/refresh/outcomes';
import type { RefreshRunSummary } from '../core/refresh/refresh-run';
import { METRICS_NAMESPACE, OUTCOME_METRICS } from './metric-names';

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
