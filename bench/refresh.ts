/**
 * `npm run bench:refresh [-- --installations 100000 --due-percent 10 --latency-ms 50 --concurrency 16]`:
 * how the scheduled refresh scales with the number of installations.
 *
 * Seeds installations in dynalite, a given share of them due, points the real job
 * (`refreshDueInstallations` with the DynamoDB adapter and the HTTP Ecwid client) at the fake Ecwid
 * answering after a fixed latency, runs it once, and prints:
 * - installations processed per second, the ceiling (concurrency / latency) and their ratio (target ≥ 0.8);
 * - DynamoDB items read per processed installation (target ≤ 1.2), counted from every answer of a
 *   read operation (Query, GetItem, Scan, BatchGetItem);
 * - items read that were not due (target: none).
 *
 * dynalite and the fake Ecwid each run in a process of their own, as a database and Ecwid are
 * elsewhere: the figures are the job's. On a small machine they still share its cores with the job.
 *
 * Exits 1 when the run itself is wrong (an installation not verified, a request refused), not when a
 * target is missed: it is a measurement.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { TABLE_SCHEMA } from '../functions/adapters/dynamodb/schema';
import { DynamoDbDueInstallationStore } from '../functions/adapters/dynamodb/due-installation-store';
import { DynamoDbInstallationStore } from '../functions/adapters/dynamodb/installation-store';
import { DynamoTable } from '../functions/adapters/dynamodb/table';
import { EcwidOAuthClient } from '../functions/adapters/ecwid/oauth-client';
import { EcwidProfileVerifier } from '../functions/adapters/ecwid/profile-verifier';
import { KmsTokenVault } from '../functions/adapters/kms-token-vault';
import type { SealedToken } from '../functions/core/model';
import { refreshDueInstallations } from '../functions/core/refresh/refresh-run';
import { readRefreshConfig } from '../functions/refresh/dependencies';
import { JsonLogger } from '../functions/runtime/logger';
import { cryptoRandom, systemClock } from '../functions/runtime/system';
import { ensureLocalTable, LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/dynalite-server';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const TARGETS = { ratio: 0.8, itemsReadPerProcessed: 1.2 };
const TABLE = 'ecwid-app-auth-bench-refresh';
const SEED_CONCURRENCY = 64;

interface Options {
  installations: number;
  duePercent: number;
  latencyMs: number;
  concurrency: number;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      installations: { type: 'string', default: '100000' },
      'due-percent': { type: 'string', default: '10' },
      'latency-ms': { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '16' },
    },
  });
  const number = (name: string, value: string, min: number, max: number) => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) throw new Error(`--${name} must be a number from ${min} to ${max}`);
    return parsed;
  };
  return {
    installations: Math.round(number('installations', values.installations!, 1, 10_000_000)),
    duePercent: number('due-percent', values['due-percent']!, 0, 100),
    latencyMs: number('latency-ms', values['latency-ms']!, 1, 60_000),
    concurrency: Math.round(number('concurrency', values.concurrency!, 1, 1024)),
  };
}

/** dynalite in a child process, so the database does not share the job's one JavaScript thread. */
async function startDynaliteProcess(): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['-e', "const s=require('dynalite')({createTableMs:0});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))"],
    { cwd: `${__dirname}/..`, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${code}`)));
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  return { endpoint: `http://127.0.0.1:${port}`, child };
}

/** The fake Ecwid in a child process (`bench/fake-ecwid-process.ts`), driven over its IPC channel. */
async function startFakeEcwidProcess(latencyMs: number) {
  const child = fork(`${__dirname}/fake-ecwid-process.ts`, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, FAKE_ECWID_LATENCY_MS: String(latencyMs) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = <T>(message: unknown) =>
    new Promise<T>((resolve) => {
      child.once('message', (answer) => resolve(answer as T));
      if (message !== undefined) child.send(message as object);
    });
  const { listening, kms, keyArn } = await ask<{ listening: string; kms: string; keyArn: string }>(undefined);
  return {
    url: listening,
    kms,
    keyArn,
    /** Tokens the fake accepts, as if each store had installed. */
    grant: async (storeIds: number[]) => (await ask<{ tokens: string[] }>({ grant: storeIds })).tokens,
    profileRequests: () => ask<{ profileRequests: number; ok: number }>({ count: true }),
    stop: () => child.kill(),
  };
}

/** Counts the items every read operation returns, and those among them that were not due. */
function countReads(client: DynamoDBClient, nowEpochSeconds: () => number) {
  const counts = { itemsRead: 0, notDueRead: 0, reads: 0 };
  const readCommands = new Set(['QueryCommand', 'GetItemCommand', 'ScanCommand', 'BatchGetItemCommand']);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (readCommands.has(context.commandName ?? '')) {
        const output = result.output as { Items?: Array<Record<string, { N?: string }>>; Item?: unknown; Responses?: Record<string, unknown[]> };
        const items = output.Items ?? (output.Item === undefined ? [] : [output.Item as Record<string, { N?: string }>]);
        counts.reads += 1;
        counts.itemsRead += items.length + Object.values(output.Responses ?? {}).reduce((sum, list) => sum + list.length, 0);
        for (const item of items) {
          const due = item[TABLE_SCHEMA.dueIndex.sortKey]?.N;
          if (due !== undefined && Number(due) > nowEpochSeconds()) counts.notDueRead += 1;
        }
      }
      return result;
    },
    { step: 'initialize', name: 'countReads' },
  );
  return counts;
}

async function main(): Promise<void> {
  const options = readOptions();
  const dueCount = Math.round((options.installations * options.duePercent) / 100);
  console.log(
    `Options: ${options.installations} installations, ${options.duePercent}% due (${dueCount}), ` +
      `Ecwid latency ${options.latencyMs} ms, concurrency ${options.concurrency}`,
  );

  const dynalite = await startDynaliteProcess();
  const fake = await startFakeEcwidProcess(options.latencyMs);
  try {
    await ensureLocalTable(dynalite.endpoint, TABLE);
    const fakeUrl = fake.url;

    const client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const table = new DynamoTable(client, TABLE);
    const store = new DynamoDbInstallationStore(table);
    const vault = new KmsTokenVault(
      new KMSClient({ endpoint: fake.kms, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
      fake.keyArn,
    );
    const nowEpochSeconds = () => Math.floor(Date.now() / 1000);

    // Seed: every tenth installation (for the default 10%) is due, spread over the last hour; the
    // others come due between one hour and a day from now, well after the run. Only the due ones
    // hold tokens the fake accepts.
    const seedStarted = performance.now();
    const dueEvery = dueCount === 0 ? Infinity : options.installations / dueCount;
    const dueIndexes = Array.from({ length: options.installations }, (_, index) => index).filter(
      (index) => index % dueEvery < 1,
    ).slice(0, dueCount);
    const dueTokens = new Map<number, string>();
    const grantedTokens = await fake.grant(dueIndexes.map((index) => 1_000_000 + index));
    dueIndexes.forEach((index, position) => dueTokens.set(index, grantedTokens[position]!));
    const dueSeeded = dueTokens.size;
    let seeded = 0;
    const seedOne = async (index: number) => {
      const storeId = 1_000_000 + index;
      const token = dueTokens.get(index);
      const due = token !== undefined;
      const now = nowEpochSeconds();
      // Due installations carry a sealed token the job can open; the others are never opened.
      const sealer = due ? await vault.sealerFor(storeId) : undefined;
      await store.saveInstallation({
        storeId,
        tokenKey: sealer?.tokenKey ?? 'not-due',
        accessToken: sealer?.seal(token!, 'access_token') ?? ('not-due' as SealedToken),
        scope: 'read_store_profile',
        installedAtEpochSeconds: now - 86_400,
        grantCodeHash: `seed-${storeId}`,
        grantObtainedAtEpochMs: Date.now(),
        nextCheckAtEpochSeconds: due ? now - 1 - (index % 3600) : now + 3600 + (index % 86_400),
      });
      seeded += 1;
    };
    let nextIndex = 0;
    await Promise.all(
      Array.from({ length: SEED_CONCURRENCY }, async () => {
        while (nextIndex < options.installations) await seedOne(nextIndex++);
      }),
    );
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    console.log(`Seeded ${seeded} installations (${dueSeeded} due) in ${seedSeconds.toFixed(1)} s`);

    // The job exactly as deployed, but with reads counted and a silent log.
    const config = readRefreshConfig({
      TABLE_NAME: TABLE,
      TOKEN_KEY_ID: fake.keyArn,
      CLIENT_SECRET_ID: 'bench',
      ECWID_CLIENT_ID: 'bench-app',
      ECWID_OAUTH_URL: fakeUrl,
      ECWID_API_URL: fakeUrl,
      REFRESH_CONCURRENCY: String(options.concurrency),
      EVENT_BUS_NAME: 'bench',
    });
    const settings = config.job;
    const counts = countReads(client, nowEpochSeconds);
    const http = { timeoutMs: config.tokenRequestTimeoutMs };
    const cpuBefore = process.cpuUsage();
    const summary = await refreshDueInstallations(
      {
        installations: new DynamoDbDueInstallationStore(table),
        refresher: new EcwidOAuthClient({ oauthBaseUrl: fakeUrl, ...http }),
        verifier: new EcwidProfileVerifier({ apiBaseUrl: fakeUrl, ...http }),
        clientSecret: { clientSecret: async () => 'bench-secret' },
        vault,
        clock: systemClock,
        random: cryptoRandom,
        log: new JsonLogger({}, () => undefined),
        // The checks' announcements are not what is measured here.
        publisher: { publish: async () => ({ unpublished: 0 }) },
      },
      settings,
      { runId: 'bench', deadlineEpochMs: Date.now() + 60 * 60 * 1000 },
    );

    const cpu = process.cpuUsage(cpuBefore);
    const seconds = summary.durationMs / 1000;
    const cpuMsPerProcessed = summary.processed === 0 ? 0 : (cpu.user + cpu.system) / 1000 / summary.processed;
    const perSecond = summary.processed / seconds;
    const ceiling = options.concurrency / (options.latencyMs / 1000);
    const ratio = perSecond / ceiling;
    const itemsPerProcessed = summary.processed === 0 ? 0 : counts.itemsRead / summary.processed;
    const pass = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

    console.log('');
    console.log(`Run: ${summary.processed} installations processed in ${seconds.toFixed(2)} s`);
    console.log(`  outcomes:                 ${JSON.stringify(summary.outcomes)}`);
    console.log(`  processed per second:     ${perSecond.toFixed(1)}`);
    console.log(`  ceiling:                  ${ceiling.toFixed(1)} (${options.concurrency} at a time / ${options.latencyMs} ms)`);
    console.log(`  ratio:                    ${ratio.toFixed(3)}   target >= ${TARGETS.ratio}   ${pass(ratio >= TARGETS.ratio)}`);
    console.log(
      `  items read per processed: ${itemsPerProcessed.toFixed(3)}   target <= ${TARGETS.itemsReadPerProcessed}   ` +
        pass(itemsPerProcessed <= TARGETS.itemsReadPerProcessed),
    );
    console.log(`  not-due items read:       ${counts.notDueRead}   target 0   ${pass(counts.notDueRead === 0)}`);
    console.log(`  read requests:            ${counts.reads} (${counts.itemsRead} items)`);
    console.log(`  CPU of the job:           ${cpuMsPerProcessed.toFixed(2)} ms per installation`);
    console.log(
      JSON.stringify({
        options,
        seeded,
        due: dueSeeded,
        seedSeconds: Number(seedSeconds.toFixed(2)),
        processed: summary.processed,
        outcomes: summary.outcomes,
        runSeconds: Number(seconds.toFixed(3)),
        processedPerSecond: Number(perSecond.toFixed(1)),
        ceiling,
        ratio: Number(ratio.toFixed(3)),
        itemsRead: counts.itemsRead,
        itemsReadPerProcessed: Number(itemsPerProcessed.toFixed(3)),
        notDueRead: counts.notDueRead,
      }),
    );

    const requests = await fake.profileRequests();
    const verifiedAll = summary.outcomes.verified === dueSeeded && requests.profileRequests === dueSeeded && requests.ok === dueSeeded;
    if (!verifiedAll || summary.stoppedAtDeadline) {
      throw new Error(
        `expected ${dueSeeded} verifications, got ${summary.outcomes.verified} (${requests.ok} of ${requests.profileRequests} requests answered 200)`,
      );
    }
    client.destroy();
  } finally {
    fake.stop();
    dynalite.child.kill();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:refresh failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
