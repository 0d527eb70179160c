import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../functions/runtime/metric-names';

export interface AlarmOn {
  readonly id: string;
  readonly description: string;
  readonly metric: IMetric;
  /** @default 1 */
  readonly threshold?: number;
}

/**
 * An alarm for ops on `topic`: the metric's sum reached the threshold within one period. Missing data
 * (nothing happened) is not a breach.
 */
export function alarmOn(scope: Construct, topic: ITopic, alarm: AlarmOn): Alarm {
  const created = new Alarm(scope, alarm.id, {
    alarmDescription: alarm.description,
    metric: alarm.metric,
    threshold: alarm.threshold ?? 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  created.addAlarmAction(new SnsAction(topic));
  return created;
}

/** One of the app's own metrics (published by the functions' log lines), summed over `period`. */
export function appMetric(metricName: string, period: Duration): Metric {
  return new Metric({ namespace: METRICS_NAMESPACE, metricName, statistic: 'Sum', period });
}
