/**
 * The app opened inside Ecwid's control panel, for `npm run bench`: `GET /app` with the payload the
 * fake Ecwid builds for each installed store, timed to the 303 that hands the session to the app's
 * UI, and the AWS calls of each session counted where they arrive (the KMS stub, dynalite). Target:
 * one KMS `Sign` per session and no other KMS call (the installation is read, its token not opened).
 */
import type { LocalStack } from '../local/stack';
import type { TimingSummary } from './credentials-read';

type KmsOperation = keyof LocalStack['kms']['calls'];

/** The fewest and the most calls any one session made. */
interface CallRange {
  min: number;
  max: number;
}

export interface AppSessionFigures {
  latencyMs: TimingSummary;
  /** Per KMS operation, the calls one session made. */
  kmsCallsPerSession: Record<KmsOperation, CallRange>;
  dynamoDbCallsPerSession: CallRange;
  /** Exactly one `Sign` and no other KMS call in every measured session. */
  pass: boolean;
}

/**
 * Opens `/app` once per store, sequentially: the first `warmup` stores warm the path up (the client
 * secret's first read, connections), the others are measured.
 *
 * @throws Error when a store has no working token at the fake or `/app` does not answer a 303 with
 *   a session: a benchmark must not time failures.
 */
export async function measureAppSessions(
  stack: LocalStack,
  storeIds: readonly number[],
  warmup: number,
  summarize: (samples: number[]) => TimingSummary,
): Promise<AppSessionFigures> {
  const fake = stack.fakeEcwid;
  if (fake === undefined) throw new Error('the app session bench needs the built-in fake Ecwid to build payloads');
  const samples: Array<{ elapsedMs: number; kms: Record<KmsOperation, number>; dynamoDb: number }> = [];
  for (const [index, storeId] of storeIds.entries()) {
    const payload = fake.controlPanelPayload(storeId);
    if (payload === undefined) throw new Error(`store ${storeId} has no working token at the fake Ecwid`);
    // As Ecwid frames it; the URL carries a working token, so it never reaches an error message.
    const url = `${stack.url}/app?${new URLSearchParams({ payload, 'cache-killer': String(index) })}`;
    const kmsBefore = { ...stack.kms.calls };
    const dynamoDbBefore = totalDynamoDbCalls(stack);
    const startedAt = performance.now();
    const response = await fetch(url, { redirect: 'manual' });
    const body = await response.text();
    const elapsedMs = performance.now() - startedAt;
    const location = response.headers.get('location') ?? '';
    if (response.status !== 303 || !/#session=[\w-]+\.[\w-]+\.[\w-]+/.test(location)) {
      const title = /<title>([^<]*)<\/title>/.exec(body)?.[1] ?? `${body.length} bytes`;
      throw new Error(`GET /app for store ${storeId} answered ${response.status} without a session: ${title}`);
    }
    if (index < warmup) continue;
    const kms = Object.fromEntries(
      Object.entries(stack.kms.calls).map(([operation, count]) => [operation, count - kmsBefore[operation as KmsOperation]]),
    ) as Record<KmsOperation, number>;
    samples.push({ elapsedMs, kms, dynamoDb: totalDynamoDbCalls(stack) - dynamoDbBefore });
  }
  if (samples.length === 0) throw new Error('no /app request was measured: there were no stores beyond the warm-up');

  const range = (values: number[]): CallRange => ({ min: Math.min(...values), max: Math.max(...values) });
  const operations = Object.keys(stack.kms.calls) as KmsOperation[];
  const kmsCallsPerSession = Object.fromEntries(operations.map((operation) => [operation, range(samples.map((sample) => sample.kms[operation]))])) as Record<
    KmsOperation,
    CallRange
  >;
  const pass = operations.every((operation) => {
    const expected = operation === 'Sign' ? 1 : 0;
    return kmsCallsPerSession[operation].min === expected && kmsCallsPerSession[operation].max === expected;
  });
  return {
    latencyMs: summarize(samples.map((sample) => sample.elapsedMs)),
    kmsCallsPerSession,
    dynamoDbCallsPerSession: range(samples.map((sample) => sample.dynamoDb)),
    pass,
  };
}

function totalDynamoDbCalls(stack: LocalStack): number {
  return Object.values(stack.dynamoDb.requests).reduce((sum, count) => sum + count, 0);
}
