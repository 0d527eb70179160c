import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgePublisher } from '../../functions/adapters/eventbridge-publisher';
import type { LifecycleEvent } from '../../functions/core/model';
import { lifecycleEventPublisher } from '../../functions/runtime/event-publisher';
import { capturingLogger, ManualClock } from '../support/fakes';

const eventBridge = mockClient(EventBridgeClient);

const event = (storeId: number): LifecycleEvent => ({
  detailType: 'Store Uninstalled',
  detail: { storeId, status: 'uninstalled', reason: 'INVALID_API_TOKEN', time: '2026-11-26T12:00:00.000Z' },
});

function publisher(budgetMs = 2_000) {
  const undelivered: Array<{ events: readonly LifecycleEvent[]; failure: Record<string, unknown> }> = [];
  const clock = new ManualClock();
  const subject = new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } }), {
    busName: 'lifecycle-bus',
    clock,
    attempts: 3,
    budgetMs,
    onUndelivered: (events, failure) => undelivered.push({ events, failure }),
  });
  return { subject, undelivered, clock };
}

beforeEach(() => eventBridge.reset());

describe('EventBridgePublisher', () => {
  it('puts each event on the bus with source ecwid-app-auth, its detail type, its detail and its time', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    const { subject, undelivered } = publisher();
    await subject.publish([event(1)]);
    expect(eventBridge.commandCalls(PutEventsCommand)[0]!.args[0].input).toEqual({
      Entries: [
        {
          EventBusName: 'lifecycle-bus',
          Source: 'ecwid-app-auth',
          DetailType: 'Store Uninstalled',
          Detail: JSON.stringify(event(1).detail),
          Time: new Date('2026-11-26T12:00:00.000Z'),
        },
      ],
    });
    expect(undelivered).toEqual([]);
  });

  it('retries only the entries EventBridge refused, and sends at most ten per request', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException' }, ...Array.from({ length: 8 }, () => ({ EventId: 'x' }))] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }, { EventId: 'c' }] });
    const { subject, undelivered } = publisher();
    await expect(subject.publish(Array.from({ length: 11 }, (_, index) => event(index + 1)))).resolves.toEqual({ unpublished: 0 });
    const calls = eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries!.map((entry) => JSON.parse(entry.Detail!).storeId));
    expect(calls).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2], [11]]);
    expect(undelivered).toEqual([]);
  });

  it('gives up after its attempts and hands over what it could not publish, never throwing', async () => {
    eventBridge.on(PutEventsCommand).rejects(Object.assign(new Error('down'), { name: 'InternalException' }));
    const { subject, undelivered } = publisher();
    await expect(subject.publish([event(1), event(2)])).resolves.toEqual({ unpublished: 2 });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(3);
    expect(undelivered).toEqual([{ events: [event(1), event(2)], failure: { awsError: 'InternalException', attempts: 3 } }]);
  });

  it('stops retrying when its time budget would run out', async () => {
    eventBridge.on(PutEventsCommand).rejects(Object.assign(new Error('slow'), { name: 'TimeoutError' }));
    const { subject, undelivered } = publisher(150);
    await subject.publish([event(1)]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(2);
    expect(undelivered[0]!.failure).toMatchObject({ attempts: 2 });
  });

  it('gives up at once, without a request, an event whose detail cannot be written as JSON, and still publishes the others', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }] });
    const { subject, undelivered } = publisher();
    const unwritable: LifecycleEvent = { detailType: 'Personal Data Request', detail: { ...event(2).detail, data: nestedBeyondJson() } };
    await expect(subject.publish([event(1), unwritable])).resolves.toEqual({ unpublished: 1 });
    expect(eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries!.length)).toEqual([1]);
    expect(undelivered).toEqual([{ events: [unwritable], failure: { entryErrorCode: 'UNSERIALIZABLE', attempts: 0 } }]);
  });

  it('logs an event it cannot write whole by what identifies it, with the metric, and never throws', async () => {
    const logs = capturingLogger();
    const composed = lifecycleEventPublisher({
      aws: { region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } },
      busName: 'bus',
      budgetMs: 5_000,
      clock: new ManualClock(),
      log: logs.log,
    });
    const unwritable: LifecycleEvent = { detailType: 'Personal Data Request', detail: { ...event(3).detail, webhookEventId: 'evt-3', data: nestedBeyondJson() } };
    await expect(composed.publish([unwritable])).resolves.toEqual({ unpublished: 1 });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(logs.entries()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        entryErrorCode: 'UNSERIALIZABLE',
        events: [expect.objectContaining({ detailType: 'Personal Data Request', detail: expect.objectContaining({ storeId: 3, webhookEventId: 'evt-3' }) })],
        LifecycleEventsUnpublished: 1,
      }),
    ]);
  });

  it('logs what it gave up whole, with the metric the stack alarms on', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    const logs = capturingLogger();
    const clock = new ManualClock();
    const composed = lifecycleEventPublisher({
      aws: { region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } },
      busName: 'bus',
      budgetMs: 5_000,
      clock,
      log: logs.log,
    });
    await composed.publish([event(9)]);
    const [line] = logs.entries();
    expect(line).toMatchObject({
      level: 'ERROR',
      entryErrorCode: 'InternalFailure',
      events: [event(9)],
      LifecycleEventsUnpublished: 1,
      _aws: { CloudWatchMetrics: [{ Namespace: 'EcwidAppAuth', Metrics: [{ Name: 'LifecycleEventsUnpublished', Unit: 'Count' }] }] },
    });
  });
});

/** A value nested far deeper than `JSON.stringify` can write (it throws a RangeError). */
function nestedBeyondJson(): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let depth = 0; depth < 100_000; depth += 1) value = { a: value };
  return value;
}
