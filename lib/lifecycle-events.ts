import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { EventBus, type IEventBus } from 'aws-cdk-lib/aws-events';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, UNPUBLISHED_EVENTS_METRIC } from '../functions/runtime/metric-names';

export interface LifecycleEventsProps {
  /** Where the alarm on events that could not be published notifies. */
  readonly alarmTopic: ITopic;
}

/**
 * The app's lifecycle events (source `ecwid-app-auth`): the EventBridge bus the functions publish to,
 * which the app's other services subscribe to with rules of their own, and an alarm for events given
 * up after their retries (each is logged whole, to be replayed).
 */
export class LifecycleEvents extends Construct {
  readonly bus: IEventBus;

  constructor(scope: Construct, id: string, props: LifecycleEventsProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { description: 'Ecwid app lifecycle: installs, uninstalls, token and subscription changes' });
    new Alarm(this, 'EventsUnpublished', {
      alarmDescription: 'Lifecycle events could not be published; each is logged whole ("replay them from this line")',
      metric: new Metric({ namespace: METRICS_NAMESPACE, metricName: UNPUBLISHED_EVENTS_METRIC, statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new SnsAction(props.alarmTopic));
  }

  /** `events:PutEvents` on this bus only. */
  grantPublish(grantee: IGrantable): Grant {
    return this.bus.grantPutEventsTo(grantee);
  }
}
