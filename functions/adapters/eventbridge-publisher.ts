import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { errorName } from '../core/errors';
import { LIFECYCLE_EVENT_SOURCE, type LifecycleEvent } from '../core/model';
import type { Clock, LifecycleEventPublisher } from '../core/ports';

/** EventBridge takes at most ten entries per `PutEvents`. */
const ENTRIES_PER_REQUEST = 10;

export interface EventBridgePublisherOptions {
  /** The bus's name or ARN. */
  busName: string;
  clock: Clock;
  /** Tries of one entry before it is given up (the first included). */
  attempts: number;
  /** The whole time publishing may take, retries included: the change it announces is waiting. */
  budgetMs: number;
  /** Told of every event given up, and why: it logs the event whole and counts it (a metric with an alarm). */
  onUndelivered(events: readonly LifecycleEvent[], failure: { awsError?: string; entryErrorCode?: string; attempts: number }): void;
}

/**
 * Publishes lifecycle events to an EventBridge bus: retried with a short backoff (an entry EventBridge
 * refused alone, or the whole request), within a time budget, and never thrown: what is given up is
 * handed to `onUndelivered`.
 *
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 */
export class EventBridgePublisher implements LifecycleEventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly options: EventBridgePublisherOptions,
  ) {}

  async publish(events: readonly LifecycleEvent[]): Promise<{ unpublished: number }> {
    const deadlineEpochMs = this.options.clock.nowEpochMs() + this.options.budgetMs;
    let unpublished = 0;
    for (let start = 0; start < events.length; start += ENTRIES_PER_REQUEST) {
      unpublished += await this.publishBatch(events.slice(start, start + ENTRIES_PER_REQUEST), deadlineEpochMs);
    }
    return { unpublished };
  }

  /** Publishes one request's worth of events; resolves with how many were given up. */
  private async publishBatch(batch: readonly LifecycleEvent[], deadlineEpochMs: number): Promise<number> {
    const entries = new Map<LifecycleEvent, PutEventsRequestEntry>();
    for (const event of batch) {
      const entry = this.entry(event);
      if (entry !== undefined) entries.set(event, entry);
    }
    // An event that cannot be written as JSON never will be: given up at once, not retried.
    const unwritable = batch.filter((event) => !entries.has(event));
    if (unwritable.length > 0) this.options.onUndelivered(unwritable, { entryErrorCode: 'UNSERIALIZABLE', attempts: 0 });
    let pending = batch.filter((event) => entries.has(event));
    let failure: { awsError?: string; entryErrorCode?: string } = {};
    let attempt = 0;
    while (pending.length > 0 && attempt < this.options.attempts) {
      if (attempt > 0) {
        const backoffMs = 100 * 2 ** (attempt - 1);
        if (this.options.clock.nowEpochMs() + backoffMs >= deadlineEpochMs) break;
        await this.options.clock.sleep(backoffMs);
      }
      attempt += 1;
      try {
        const result = await this.client.send(new PutEventsCommand({ Entries: pending.map((event) => entries.get(event)!) }));
        // Entries answer in request order; those with an ErrorCode were not published.
        const refused = (result.Entries ?? []).flatMap((entry, index) => (entry.ErrorCode === undefined ? [] : [{ event: pending[index]!, code: entry.ErrorCode }]));
        if (refused.length > 0) failure = { entryErrorCode: refused[0]!.code };
        pending = result.Entries === undefined ? pending : refused.map(({ event }) => event);
      } catch (error) {
        failure = { awsError: errorName(error) };
      }
    }
    if (pending.length > 0) this.options.onUndelivered(pending, { ...failure, attempts: attempt });
    return unwritable.length + pending.length;
  }

  /** The entry of an event; undefined when its detail cannot be written as JSON. */
  private entry(event: LifecycleEvent): PutEventsRequestEntry | undefined {
    let detail: string;
    try {
      detail = JSON.stringify(event.detail);
    } catch {
      return undefined;
    }
    return {
      EventBusName: this.options.busName,
      Source: LIFECYCLE_EVENT_SOURCE,
      DetailType: event.detailType,
      Detail: detail,
      Time: new Date(event.detail.time),
    };
  }
}
