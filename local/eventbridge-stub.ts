import { randomUUID } from 'node:crypto';
import { AwsJsonService, AwsServiceError } from './aws-json-service';

/** One event as the stub received it: what a rule on the bus would see. */
export interface PublishedEvent {
  id: string;
  eventBusName: string;
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  time: string;
}

/**
 * EventBridge on loopback, speaking its real wire protocol (AWS JSON 1.1, `AWSEvents.PutEvents`), so
 * the functions run their real SDK code. Keeps every event, in arrival order. `refuseNext` makes the
 * next entries fail one by one, as EventBridge reports a throttled entry.
 */
export class EventBridgeStub extends AwsJsonService {
  readonly events: PublishedEvent[] = [];
  /** How many of the next entries to refuse (`ThrottlingException` in the entry's `ErrorCode`). */
  refuseNext = 0;

  constructor(readonly busName: string) {
    super('AWSEvents', {
      PutEvents: (input) => {
        const entries = Array.isArray(input.Entries) ? (input.Entries as Array<Record<string, unknown>>) : [];
        if (entries.length === 0 || entries.length > 10) throw new AwsServiceError('ValidationException', 'Entries must hold 1 to 10 entries');
        let failed = 0;
        const results = entries.map((entry) => {
          if (this.refuseNext > 0) {
            this.refuseNext -= 1;
            failed += 1;
            return { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' };
          }
          if (entry.EventBusName !== this.busName && entry.EventBusName !== this.busArn()) {
            failed += 1;
            return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${String(entry.EventBusName)} does not exist.` };
          }
          const id = randomUUID();
          this.events.push({
            id,
            eventBusName: this.busName,
            source: String(entry.Source),
            detailType: String(entry.DetailType),
            detail: JSON.parse(String(entry.Detail ?? '{}')) as Record<string, unknown>,
            time: typeof entry.Time === 'number' ? new Date(entry.Time * 1000).toISOString() : new Date().toISOString(),
          });
          return { EventId: id };
        });
        return { FailedEntryCount: failed, Entries: results };
      },
    });
  }

  busArn(): string {
    return `arn:aws:events:local:000000000000:event-bus/${this.busName}`;
  }
}
