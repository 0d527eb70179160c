import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, OUTCOME_METRICS } from '../functions/runtime/metric-names';
import { REFRESH_TIMEOUT_SECONDS } from '../functions/runtime/time-budgets';
import { AppFunction, type DeploymentVariables } from './app-function';

export interface RefreshJobProps {
  readonly variables: DeploymentVariables;
  readonly logRetention: logs.RetentionDays;
  /** How often a run starts. */
  readonly scheduleMinutes: number;
  /** Where the job's alarms notify. */
  readonly alarmTopic: ITopic;
}

/**
 * The scheduled token refresh: the refresh function, the EventBridge rule that runs it, and alarms
 * for ops on failing runs and on installations that need a person. A failed run is not retried:
 * the next scheduled run picks up whatever is still due.
 */
export class RefreshJob extends Construct {
  readonly function: AppFunction;

  constructor(scope: Construct, id: string, props: RefreshJobProps) {
    super(scope, id);
    this.function = new AppFunction(this, 'Function', {
      name: 'refresh',
      description: 'Scheduled: refreshes expiring tokens before they expire and verifies the others',
      timeout: Duration.seconds(REFRESH_TIMEOUT_SECONDS),
      variables: props.variables,
      logRetention: props.logRetention,
      retryAttempts: 0,
    });
    new Rule(this, 'Schedule', {
      description: 'Runs the scheduled token refresh',
      schedule: Schedule.rate(Duration.minutes(props.scheduleMinutes)),
      targets: [new LambdaFunction(this.function.lambda, { retryAttempts: 0 })],
    });
    this.addAlarms(props.alarmTopic);
  }

  /**
   * Refresh runs that fail, and installations that fall into "needs reinstall" or "needs attention"
   * (metrics the runs publish in their summary log line).
   */
  private addAlarms(topic: ITopic): void {
    const action = new SnsAction(topic);
    const period = Duration.minutes(15);
    const alarm = (id: string, description: string, metric: IMetric) =>
      new Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(action);
    const appMetric = (metricName: string) => new Metric({ namespace: METRICS_NAMESPACE, metricName, statistic: 'Sum', period });

    alarm(
      'RunsFailing',
      'A scheduled refresh run failed (see the refresh function logs)',
      this.function.lambda.metricErrors({ period, statistic: 'Sum' }),
    );
    alarm(
      'InstallationsNeedReinstall',
      'Ecwid revoked a token or grant: the store must install the app again',
      appMetric(OUTCOME_METRICS.needs_reinstall),
    );
    alarm(
      'InstallationsNeedAttention',
      'Checks of an installation kept failing for longer than the failure budget',
      appMetric(OUTCOME_METRICS.needs_attention),
    );
    alarm('CheckErrors', 'A refresh result could not be stored', appMetric(OUTCOME_METRICS.error));
  }
}
