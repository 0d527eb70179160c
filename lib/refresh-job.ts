import { Duration } from 'aws-cdk-lib';
import type { IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { OUTCOME_METRICS } from '../functions/runtime/metric-names';
import { REFRESH_TIMEOUT_SECONDS } from '../functions/runtime/time-budgets';
import { alarmOn, appMetric } from './alarms';
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
    const period = Duration.minutes(15);
    const alarm = (id: string, description: string, metric: IMetric) => alarmOn(this, topic, { id, description, metric });
    const outcomeMetric = (metricName: string) => appMetric(metricName, period);

    alarm(
      'RunsFailing',
      'A scheduled refresh run failed (see the refresh function logs)',
      this.function.lambda.metricErrors({ period, statistic: 'Sum' }),
    );
    alarm(
      'InstallationsNeedReinstall',
      'Ecwid revoked a token or grant: the store must install the app again',
      outcomeMetric(OUTCOME_METRICS.needs_reinstall),
    );
    alarm(
      'RefreshOutcomesLost',
      'A refreshed grant could not be stored and the token endpoint then refused the old refresh token: the store must install again (see the refresh function logs)',
      outcomeMetric(OUTCOME_METRICS.refresh_outcome_lost),
    );
    alarm(
      'InstallationsNeedAttention',
      'Checks of an installation kept failing for longer than the failure budget',
      outcomeMetric(OUTCOME_METRICS.needs_attention),
    );
    alarm('CheckErrors', 'A refresh result could not be stored', outcomeMetric(OUTCOME_METRICS.error));
  }
}
