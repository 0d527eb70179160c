import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { loggableEvents } from '../core/lifecycle/announcements';
import type { Clock, LifecycleEventPublisher, Logger } from '../core/ports';
import { clientConfig, type AwsClientOptions } from './aws-clients';
import { UNPUBLISHED_EVENTS_METRIC } from './metric-names';
import { embeddedCounts } from './metrics';

/**
 * The lifecycle event publisher of a function: EventBridge, retried within `budgetMs`. An event given
 * up is logged whole at error level (it holds no token: an operator can replay it from the log) with
 * the `LifecycleEventsUnpublished` metric, which the stack alarms on.
 */
export function lifecycleEventPublisher(options: {
  aws: AwsClientOptions;
  busName: string;
  budgetMs: number;
  clock: Clock;
  log: Logger;
}): LifecycleEventPublisher {
  const client = new EventBridgeClient({
    ...clientConfig(options.aws, options.aws.eventBridgeEndpoint),
    // The publisher retries itself, inside its budget; the SDK's own retries would overrun it.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 500, requestTimeout: Math.max(500, Math.floor(options.budgetMs / 2)) },
  });
  return new EventBridgePublisher(client, {
    busName: options.busName,
    clock: options.clock,
    attempts: 3,
    budgetMs: options.budgetMs,
    onUndelivered: (events, failure) => {
      try {
        options.log.error('lifecycle events could not be published; replay them from this line', {
          ...failure,
          events: loggableEvents(events),
          ...embeddedCounts({ [UNPUBLISHED_EVENTS_METRIC]: events.length }, options.clock.nowEpochMs()),
        });
      } catch {
        // Never thrown to the change that is waiting: the count, at least, still reaches its alarm.
        options.log.error('lifecycle events could not be published', {
          unpublished: events.length,
          ...embeddedCounts({ [UNPUBLISHED_EVENTS_METRIC]: events.length }, options.clock.nowEpochMs()),
        });
      }
    },
  });
}
