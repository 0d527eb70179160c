/**
 * The credentials read, for `npm run bench`: the client library's direct reader against the local
 * stack's dynalite and KMS stub, cold (a store read for the first time: `GetItem` and `Decrypt`) and
 * warm (the same store again: the reader's cache), and the credentials route for comparison. The
 * AWS calls of each read are counted where they arrive, at dynalite and at the KMS stub, not by the
 * client. Targets: a cold read costs exactly one DynamoDB call and one KMS call, a warm read none.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { createCredentialsReader } from '../client';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/dynalite-server';
import { LOCAL_TABLE_NAME, type LocalStack } from '../local/stack';

/** A sample of timings summarized, in milliseconds. */
export interface TimingSummary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** The AWS calls one kind of read made, per read: the fewest and the most any single read made. */
export interface CallsPerRead {
  dynamoDb: { min: number; max: number };
  kms: { min: number; max: number };
}

export interface CredentialsReadFigures {
  cold: { latencyMs: TimingSummary; calls: CallsPerRead; pass: boolean };
  warm: { latencyMs: TimingSummary; calls: CallsPerRead; pass: boolean };
  route: { latencyMs: TimingSummary };
}

/**
 * Reads each of `storeIds` once with a fresh reader (cold), then the first of them `warmReads` times
 * (warm), then each of them through `GET /stores/{storeId}/credentials`.
 *
 * @throws Error when a read fails: a benchmark must not time failures.
 */
export async function measureCredentialsReads(
  stack: LocalStack,
  storeIds: readonly number[],
  warmReads: number,
  summarize: (samples: number[]) => TimingSummary,
): Promise<CredentialsReadFigures> {
  const dynamoDb = new DynamoDBClient({ endpoint: stack.dynamoDb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const kms = new KMSClient({ endpoint: stack.kms.endpoint!, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    const reader = createCredentialsReader({ tableName: LOCAL_TABLE_NAME, tokenKeyArn: stack.kms.keyArn, dynamoDb, kms });
    // One read of a store nobody measures: the SDK clients open their connections here, not in a sample.
    await reader.getCredentials(storeIds[storeIds.length - 1]!);

    const counted = async (read: () => Promise<unknown>) => {
      const before = { dynamoDb: totalDynamoDbCalls(stack), kms: totalKmsCalls(stack) };
      const startedAt = performance.now();
      await read();
      const elapsedMs = performance.now() - startedAt;
      return { elapsedMs, dynamoDb: totalDynamoDbCalls(stack) - before.dynamoDb, kms: totalKmsCalls(stack) - before.kms };
    };

    const cold = [];
    for (const storeId of storeIds.slice(0, -1)) cold.push(await counted(() => reader.getCredentials(storeId)));
    const warm = [];
    for (let read = 0; read < warmReads; read += 1) warm.push(await counted(() => reader.getCredentials(storeIds[0]!)));

    const route: number[] = [];
    for (const storeId of storeIds) {
      const startedAt = performance.now();
      const response = await fetch(`${stack.url}/stores/${storeId}/credentials`);
      await response.text();
      if (response.status !== 200) throw new Error(`GET /stores/${storeId}/credentials answered ${response.status}`);
      route.push(performance.now() - startedAt);
    }

    const coldCalls = callsPerRead(cold);
    const warmCalls = callsPerRead(warm);
    return {
      cold: { latencyMs: summarize(cold.map((sample) => sample.elapsedMs)), calls: coldCalls, pass: exactly(coldCalls, 1) },
      warm: { latencyMs: summarize(warm.map((sample) => sample.elapsedMs)), calls: warmCalls, pass: exactly(warmCalls, 0) },
      route: { latencyMs: summarize(route) },
    };
  } finally {
    dynamoDb.destroy();
    kms.destroy();
  }
}

function totalDynamoDbCalls(stack: LocalStack): number {
  return Object.values(stack.dynamoDb.requests).reduce((sum, count) => sum + count, 0);
}

function totalKmsCalls(stack: LocalStack): number {
  return Object.values(stack.kms.calls).reduce((sum, count) => sum + count, 0);
}

function callsPerRead(samples: Array<{ dynamoDb: number; kms: number }>): CallsPerRead {
  const range = (values: number[]) => ({ min: Math.min(...values), max: Math.max(...values) });
  return { dynamoDb: range(samples.map((sample) => sample.dynamoDb)), kms: range(samples.map((sample) => sample.kms)) };
}

function exactly(calls: CallsPerRead, count: number): boolean {
  return calls.dynamoDb.min === count && calls.dynamoDb.max === count && calls.kms.min === count && calls.kms.max === count;
}
