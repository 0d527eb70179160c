/**
 * `npm run bench [-- --requests 300 --warmup 20 --cold-runs 25]`: how heavy and how fast the install flow
 * is, next to what a user would pick instead of this project.
 *
 * 1. Bundles: every Lambda function the stack defines (the stack is synthesized in-process, as
 *    `bin/app.ts` does, with the context of cdk.json; each function's `index.js` is read from its
 *    asset), and the references of `bench/reference-bundles.ts` (the `grant` package's Lambda handler
 *    with its Ecwid preset, alone and with the storage a grant user must add), bundled with the same
 *    esbuild options.
 * 2. Size of each `index.js`, with its gzip size (1 KB = 1024 bytes). Target: under 200 KB.
 * 3. Module initialisation of each bundle: the time `require` of `index.js` takes in a fresh `node`
 *    process (node's own startup excluded), with the function's environment. The runs are
 *    interleaved, one of each bundle per round, so that noise on the machine hits every bundle alike.
 *    Target: a median no slower than "grant alone" in the same run.
 * 4. Latency of `GET /authorize` and of a complete `GET /callback` (state consumed, code claimed,
 *    token exchanged with the fake Ecwid over HTTP, installation stored in dynalite) against the
 *    local stack, sequential requests after a warm-up; then of `POST /webhooks`, signed as Ecwid
 *    signs: a subscription change (claim, data key unwrapped, the app's status read from the fake
 *    Ecwid, conditional write, event published) and, last, a confirmed
 *    uninstall (claim, data key unwrapped, token checked with the fake Ecwid, purge, event). Target:
 *    the p99 of both far inside the 10 s Ecwid waits for an answer.
 * 5. The credentials read (`bench/credentials-read.ts`): the client's direct reader against the local
 *    stack's dynalite and KMS stub, cold (each installed store read once) and warm (a cache hit), with
 *    the AWS calls of every read counted at the servers; and `GET /stores/{storeId}/credentials`.
 *    Targets: a cold read makes exactly one DynamoDB call and one KMS call, a warm read none.
 * 6. The app opened inside Ecwid's control panel (`bench/app-session.ts`): `GET /app` for each
 *    installed store, with the payload the fake Ecwid builds for it, timed to the 303 that hands the
 *    session to the app's UI, with the AWS calls of each session counted at the servers. Target:
 *    one KMS `Sign` per session and no other KMS call. Measured before the uninstall webhooks, which
 *    purge the stores.
 *
 * Prints a report, then one line of JSON with every figure. Exits 1 only when the run itself fails
 * (a wrong status, a bundle that does not build or load); a missed target is reported, not fatal.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { BROWSER_BINDING_COOKIE } from '../functions/runtime/browser-binding';
import { signWebhook } from '../local/fake-ecwid-webhooks';
import { JsonLogger } from '../functions/runtime/logger';
import { startLocalStack, type LocalStack } from '../local/stack';
import { synthesizeBundles as synthesizeDeployedBundles } from '../test/support/synthesized-bundles';
import { measureAppSessions } from './app-session';
import { measureCredentialsReads } from './credentials-read';
import { buildReferenceBundles, LAMBDA_BUNDLE_OPTIONS, REFERENCE_NAMES, type ReferenceBundle } from './reference-bundles';

const BENCH_CLIENT_SECRET = 'bench-client-secret';
const KB = 1024;
/** Every function's bundle stays under `bundleKB`, and loads no slower than the reference named `initNoSlowerThan`. */
const TARGETS = { bundleKB: 200, initNoSlowerThan: REFERENCE_NAMES.grantAlone, webhookP99Ms: 10_000 };

/** What a bundle's environment needs where the template holds a deploy-time reference. */
const PLACEHOLDER_ENVIRONMENT: Record<string, string> = {
  TABLE_NAME: 'ecwid-app-auth-bench',
  CLIENT_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ecwid-app-auth/client-secret-AbC123',
  ECWID_CLIENT_ID: 'bench-app',
  PUBLIC_URL: 'https://auth.example.com',
  AWS_REGION: 'us-east-1',
};

interface Options {
  requests: number;
  warmup: number;
  coldRuns: number;
}

interface LambdaBundle {
  /** The function's directory under `functions/` (`authorize`). */
  name: string;
  logicalId: string;
  constructPath: string;
  /** The module Lambda loads (`index.js`) and the export it calls (`handler`). */
  file: string;
  exportName: string;
  /** The function's environment, deploy-time references replaced by placeholders. */
  environment: Record<string, string>;
}

/** A bundle the bench can load: one of the stack's functions or a reference. */
interface LoadableBundle {
  name: string;
  file: string;
  exportName: string;
  environment: Record<string, string>;
}

/** A bundle's size on disk: `index.js`, gzipped, and the whole directory it ships in (with its source map). */
interface BundleSize {
  bytes: number;
  gzipBytes: number;
  assetBytes: number;
}

/** A sample of `n` timings summarized; every other figure in milliseconds. */
interface MillisecondStats {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const options = readOptions(process.argv.slice(2));
  console.log('Install flow benchmark');
  console.log(
    `  options: --requests ${options.requests} --warmup ${options.warmup} --cold-runs ${options.coldRuns}` +
      `  (node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus()[0]?.model ?? 'unknown CPU'})`,
  );

  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ecwid-bench-'));
  let stack: LocalStack | undefined;
  try {
    const synthStartedAt = performance.now();
    const bundles = synthesizeBundles(outdir);
    console.log(`\nSynthesized the stack with ${bundles.length} functions in ${seconds(performance.now() - synthStartedAt)}`);

    const referencesStartedAt = performance.now();
    const references = await buildReferenceBundles(path.join(outdir, 'references'), LAMBDA_BUNDLE_OPTIONS);
    console.log(
      `Bundled ${references.length} references (${references.map(({ name }) => name).join(', ')}) with the same esbuild options ` +
        `in ${seconds(performance.now() - referencesStartedAt)}`,
    );
    for (const { name, warnings } of references) {
      for (const warning of warnings) console.log(`  esbuild warning (${name}): ${warning}`);
    }

    const loadable: LoadableBundle[] = [...bundles, ...references];
    const sizes = new Map(loadable.map((bundle) => [bundle.name, measureSize(bundle.file)]));
    const initialisations = new Map(
      interleavedColdRequireTimes(loadable, options.coldRuns).map((times, index) => [loadable[index]!.name, summarize(times)]),
    );
    const results = bundles.map((fn) => compareWithReferences(fn, sizes, initialisations, references));
    const nodeOptions = [...new Set(loadable.map(({ environment }) => environment.NODE_OPTIONS ?? '(none)'))].join(', ');

    console.log(
      `\nBundles and module initialisation (require of index.js in a fresh node, ${options.coldRuns} interleaved runs, ` +
        `NODE_OPTIONS ${nodeOptions}; targets: < ${TARGETS.bundleKB} KB, median init no slower than ${TARGETS.initNoSlowerThan})`,
    );
    const [alone, withStorage] = [REFERENCE_NAMES.grantAlone, REFERENCE_NAMES.grantWithStorage];
    console.log(`  ratios: our function ÷ "${alone}" (alone) and ÷ "${withStorage}" (storage); below 1.00× is smaller or faster`);
    printTable(
      [
        'bundle',
        'index.js',
        'gzip',
        'init median',
        'min',
        'max',
        'size ÷ alone',
        'init ÷ alone',
        'size ÷ storage',
        'init ÷ storage',
        'size target',
        'init target',
      ],
      loadable.map((bundle) => {
        const size = sizes.get(bundle.name)!;
        const init = initialisations.get(bundle.name)!;
        const result = results.find(({ fn }) => fn === bundle);
        const ratios = result === undefined ? ['', '', '', ''] : [alone, withStorage].flatMap((name) => {
          const ratio = result.ratios[name];
          return [factor(ratio.size), factor(ratio.init)];
        });
        return [
          result === undefined ? `${bundle.name} (reference)` : bundle.name,
          kb(size.bytes),
          kb(size.gzipBytes),
          ms(init.p50),
          ms(init.min),
          ms(init.max),
          ...ratios,
          result === undefined ? '' : verdict(result.bundlePass),
          result === undefined ? '' : verdict(result.initPass),
        ];
      }),
    );

    const sourceMaps = measureSourceMapCost(bundles.find(({ name }) => name === 'authorize')!, options.coldRuns);
    console.log(
      `\nNODE_OPTIONS=--enable-source-maps, the authorize bundle (${options.coldRuns} interleaved cold processes each way; ` +
        'an error is an unforeseen exception, answered and logged with its stack)',
    );
    printTable(
      ['NODE_OPTIONS', 'init median', 'first error', 'each further error'],
      (['without', 'with'] as const).map((variant) => [
        variant === 'with' ? '--enable-source-maps' : '(none)',
        ms(sourceMaps[variant].initMs.p50),
        ms(sourceMaps[variant].firstErrorMs.p50),
        ms(sourceMaps[variant].perErrorMs.p50),
      ]),
    );
    console.log(
      `  cost of the flag: +${ms(sourceMaps.with.initMs.p50 - sourceMaps.without.initMs.p50)} on every cold start, ` +
        `+${ms(sourceMaps.with.perErrorMs.p50 - sourceMaps.without.perErrorMs.p50)} per logged error: not set on the functions`,
    );

    stack = await startLocalStack({
      port: 0,
      clientId: 'bench-app',
      clientSecret: BENCH_CLIENT_SECRET,
      scopes: ['read_store_profile'],
      log: new JsonLogger({}, () => undefined),
    });
    console.log(
      `\nRequest latency against the local stack (${options.warmup} warm-up, then ${options.requests} sequential requests; ` +
        'time to the last byte of the body)',
    );
    const latency = await measureLatency(stack, options);
    printTable(
      ['route', 'p50', 'p99', 'mean', 'min', 'max'],
      Object.entries(latency).map(([route, stats]) => [
        route,
        ms(stats.p50),
        ms(stats.p99),
        ms(stats.mean),
        ms(stats.min),
        ms(stats.max),
      ]),
    );

    // Every callback above installed a store of its own: 100000, 100001, ...
    const installedStoreIds = installedStores(options);
    console.log(
      `\nCredentials read (the client's reader against dynalite and the KMS stub: ${installedStoreIds.length - 1} cold reads of distinct stores, ` +
        `${options.requests} warm reads of one; AWS calls counted at the servers; targets: cold 1 DynamoDB + 1 KMS call, warm none)`,
    );
    const credentialsRead = await measureCredentialsReads(stack, installedStoreIds, options.requests, summarize);
    const calls = (range: { min: number; max: number }) => (range.min === range.max ? String(range.min) : `${range.min}..${range.max}`);
    printTable(
      ['read', 'p50', 'p99', 'mean', 'min', 'max', 'DynamoDB calls/read', 'KMS calls/read', 'target'],
      [
        ...(['cold', 'warm'] as const).map((kind) => {
          const { latencyMs, calls: perRead, pass } = credentialsRead[kind];
          return [`reader, ${kind}`, ms(latencyMs.p50), ms(latencyMs.p99), ms(latencyMs.mean), ms(latencyMs.min), ms(latencyMs.max), calls(perRead.dynamoDb), calls(perRead.kms), verdict(pass)];
        }),
        (() => {
          const { latencyMs } = credentialsRead.route;
          return ['GET /stores/{id}/credentials', ms(latencyMs.p50), ms(latencyMs.p99), ms(latencyMs.mean), ms(latencyMs.min), ms(latencyMs.max), '', '', ''];
        })(),
      ],
    );

    console.log(
      `\nThe app in the control panel (GET /app with the payload the fake Ecwid builds for each installed store: ${options.warmup} warm-up, ` +
        `then ${options.requests} sequential requests, timed to the 303 that hands the session to the app's UI; AWS calls counted at the servers; ` +
        'target: one KMS Sign per session, no other KMS call)',
    );
    const appSession = await measureAppSessions(stack, installedStoreIds, options.warmup, summarize);
    latency['GET /app (to the 303)'] = appSession.latencyMs;
    const kmsPerSession =
      Object.entries(appSession.kmsCallsPerSession)
        .filter(([, range]) => range.max > 0)
        .map(([operation, range]) => `${calls(range)} ${operation}`)
        .join(' + ') || 'none';
    printTable(
      ['route', 'p50', 'p99', 'mean', 'min', 'max', 'KMS calls/session', 'DynamoDB calls/session', 'target'],
      [
        (() => {
          const { latencyMs } = appSession;
          return ['GET /app (303)', ms(latencyMs.p50), ms(latencyMs.p99), ms(latencyMs.mean), ms(latencyMs.min), ms(latencyMs.max), kmsPerSession, calls(appSession.dynamoDbCallsPerSession), verdict(appSession.pass)];
        })(),
      ],
    );
    console.log(`  one Sign per session: ${verdict(appSession.pass)}`);

    // Last: the uninstall webhooks purge the stores every measurement above used.
    console.log(`\nWebhooks (signed as Ecwid signs; the uninstall confirmed with the fake Ecwid, then purged)`);
    Object.assign(latency, await measureUninstallWebhooks(stack, options));
    const webhookRoutes = Object.entries(latency).filter(([route]) => route.startsWith('POST /webhooks'));
    printTable(
      ['route', 'p50', 'p99', 'mean', 'min', 'max'],
      webhookRoutes.map(([route, stats]) => [route, ms(stats.p50), ms(stats.p99), ms(stats.mean), ms(stats.min), ms(stats.max)]),
    );
    const webhookPass = webhookRoutes.every(([, stats]) => stats.p99 < TARGETS.webhookP99Ms);
    console.log(`  webhooks p99 under Ecwid's ${TARGETS.webhookP99Ms / 1000} s: ${verdict(webhookPass)}`);

    const verdicts = [
      ...results.flatMap(({ bundlePass, initPass }) => [bundlePass, initPass]),
      credentialsRead.cold.pass,
      credentialsRead.warm.pass,
      appSession.pass,
      webhookPass,
    ];
    console.log(`\nTargets met: ${verdicts.filter(Boolean).length} of ${verdicts.length}`);
    const figures = (name: string) => {
      const size = sizes.get(name)!;
      const init = initialisations.get(name)!;
      return {
        bundleBytes: size.bytes,
        gzipBytes: size.gzipBytes,
        assetBytes: size.assetBytes,
        initMs: { median: round(init.p50), min: round(init.min), max: round(init.max), runs: init.n },
      };
    };
    console.log(
      JSON.stringify({
        options,
        node: process.version,
        targets: TARGETS,
        functions: results.map(({ fn, ratios, bundlePass, initPass }) => ({
          name: fn.name,
          logicalId: fn.logicalId,
          constructPath: fn.constructPath,
          ...figures(fn.name),
          bundlePass,
          initPass,
          ratios: Object.fromEntries(
            Object.entries(ratios).map(([name, ratio]) => [name, { size: round(ratio.size), init: round(ratio.init) }]),
          ),
        })),
        references: references.map(({ name, warnings }) => ({ name, ...figures(name), esbuildWarnings: warnings })),
        sourceMaps: Object.fromEntries(
          Object.entries(sourceMaps).map(([variant, stats]) => [
            variant,
            Object.fromEntries(Object.entries(stats).map(([figure, value]) => [figure, round(value.p50)])),
          ]),
        ),
        latencyMs: Object.fromEntries(
          Object.entries(latency).map(([route, stats]) => [
            route,
            Object.fromEntries(Object.entries(stats).map(([key, value]) => [key, round(value)])),
          ]),
        ),
        credentialsRead: {
          cold: { ...credentialsRead.cold, latencyMs: rounded(credentialsRead.cold.latencyMs) },
          warm: { ...credentialsRead.warm, latencyMs: rounded(credentialsRead.warm.latencyMs) },
          routeLatencyMs: rounded(credentialsRead.route.latencyMs),
        },
        appSession: {
          latencyMs: rounded(appSession.latencyMs),
          kmsCallsPerSession: appSession.kmsCallsPerSession,
          dynamoDbCallsPerSession: appSession.dynamoDbCallsPerSession,
          pass: appSession.pass,
        },
      }),
    );
  } finally {
    await stack?.close();
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function readOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      requests: { type: 'string', default: '300' },
      warmup: { type: 'string', default: '20' },
      'cold-runs': { type: 'string', default: '25' },
    },
  });
  const count = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} must be a positive whole number, got "${text}"`);
    return value;
  };
  return {
    requests: count('requests', values.requests),
    warmup: count('warmup', values.warmup),
    coldRuns: count('cold-runs', values['cold-runs']),
  };
}

/** The stack's bundles as cdk deploy would upload them, each named after its function, with a loadable environment. */
function synthesizeBundles(outdir: string): LambdaBundle[] {
  return synthesizeDeployedBundles(outdir).map((bundle) => {
    const environment: Record<string, string> = {};
    for (const [name, value] of Object.entries(bundle.environment)) {
      environment[name] = typeof value === 'string' ? value : `bench-placeholder-${name.toLowerCase()}`;
    }
    return {
      name: bundle.functionName,
      logicalId: bundle.logicalId,
      constructPath: bundle.constructPath,
      file: bundle.file,
      exportName: bundle.exportName,
      environment: { ...environment, ...PLACEHOLDER_ENVIRONMENT },
    };
  });
}

/**
 * In the child: the module's initialisation, then an unforeseen error in the handler (an event it
 * cannot read), which the handler answers with a 500 page and logs with its stack; the first such
 * error, then the mean of further ones. Log lines are dropped, not written.
 */
const ERROR_COST_SCRIPT = `
const [file, exportName, runs] = process.argv.slice(1);
const startedAt = performance.now();
const handler = require(file)[exportName];
const initMs = performance.now() - startedAt;
process.stdout.write = () => true;
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 10000 };
(async () => {
  let at = performance.now();
  const first = await handler(null, context);
  const firstErrorMs = performance.now() - at;
  if (first.statusCode !== 500) throw new Error('expected a 500 for an unreadable event, got ' + first.statusCode);
  at = performance.now();
  for (let i = 0; i < Number(runs); i += 1) await handler(null, context);
  const perErrorMs = (performance.now() - at) / Number(runs);
  process.stderr.write(JSON.stringify({ initMs, firstErrorMs, perErrorMs }));
})();
`;

type SourceMapFigures = Record<'initMs' | 'firstErrorMs' | 'perErrorMs', MillisecondStats>;

/** What `NODE_OPTIONS=--enable-source-maps` costs a function, with and without, interleaved. */
function measureSourceMapCost(bundle: LambdaBundle, runs: number): Record<'with' | 'without', SourceMapFigures> {
  const samples = { with: [] as Array<Record<string, number>>, without: [] as Array<Record<string, number>> };
  for (let run = 0; run < runs; run += 1) {
    for (const variant of ['without', 'with'] as const) {
      const result = spawnSync(process.execPath, ['-e', ERROR_COST_SCRIPT, bundle.file, bundle.exportName, '50'], {
        cwd: path.dirname(bundle.file),
        env: {
          ...bundle.environment,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          ...(variant === 'with' ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        },
        encoding: 'utf8',
      });
      if (result.status !== 0) throw new Error(`${bundle.name}: the error-cost run failed: ${result.stderr}`);
      samples[variant].push(JSON.parse(result.stderr) as Record<string, number>);
    }
  }
  const figures = (list: Array<Record<string, number>>): SourceMapFigures => ({
    initMs: summarize(list.map((sample) => sample.initMs!)),
    firstErrorMs: summarize(list.map((sample) => sample.firstErrorMs!)),
    perErrorMs: summarize(list.map((sample) => sample.perErrorMs!)),
  });
  return { with: figures(samples.with), without: figures(samples.without) };
}

/** Measures `require` alone, inside the child, and checks the handler Lambda would call is there. */
const COLD_REQUIRE_SCRIPT = `
const [file, exportName] = process.argv.slice(1);
const startedAt = performance.now();
const loaded = require(file);
const elapsedMs = performance.now() - startedAt;
if (typeof loaded[exportName] !== 'function') throw new Error(file + ' exports no function ' + exportName);
process.stdout.write(JSON.stringify({ elapsedMs }));
`;

/**
 * `runs` cold `require`s of every bundle, in rounds of one of each: machine noise (another process, a
 * frequency change) then hits every bundle alike. Each round starts one bundle further on, so none is
 * always the first after a pause. Answers the times per bundle, in the order of `bundles`.
 */
function interleavedColdRequireTimes(bundles: LoadableBundle[], runs: number): number[][] {
  const times = bundles.map((): number[] => []);
  for (let round = 0; round < runs; round++) {
    for (let offset = 0; offset < bundles.length; offset++) {
      const index = (round + offset) % bundles.length;
      times[index]!.push(coldRequireTime(bundles[index]!));
    }
  }
  return times;
}

function coldRequireTime(bundle: LoadableBundle): number {
  // Only the function's own environment, not this process's (tsx loaders, npm variables).
  const output = execFileSync(process.execPath, ['-e', COLD_REQUIRE_SCRIPT, bundle.file, bundle.exportName], {
    cwd: path.dirname(bundle.file),
    env: { ...bundle.environment, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    encoding: 'utf8',
  });
  return (JSON.parse(output) as { elapsedMs: number }).elapsedMs;
}

function measureSize(file: string): BundleSize {
  const source = fs.readFileSync(file);
  const directory = path.dirname(file);
  const assetBytes = fs.readdirSync(directory).reduce((sum, name) => sum + fs.statSync(path.join(directory, name)).size, 0);
  return { bytes: source.length, gzipBytes: gzipSync(source).length, assetBytes };
}

/**
 * One function against the references measured in the same run: its size and median initialisation
 * divided by each reference's, and its targets.
 * @throws Error when the reference the initialisation target names was not measured.
 */
function compareWithReferences(
  fn: LambdaBundle,
  sizes: Map<string, BundleSize>,
  initialisations: Map<string, MillisecondStats>,
  references: ReferenceBundle[],
) {
  const size = sizes.get(fn.name)!;
  const init = initialisations.get(fn.name)!;
  const baseline = initialisations.get(TARGETS.initNoSlowerThan);
  if (baseline === undefined) throw new Error(`the reference "${TARGETS.initNoSlowerThan}" was not measured`);
  const ratios = Object.fromEntries(
    references.map(({ name }) => [
      name,
      { size: size.bytes / sizes.get(name)!.bytes, init: init.p50 / initialisations.get(name)!.p50 },
    ]),
  );
  return { fn, ratios, bundlePass: size.bytes < TARGETS.bundleKB * KB, initPass: init.p50 <= baseline.p50 };
}

async function measureLatency(stack: LocalStack, options: Options): Promise<Record<string, MillisecondStats>> {
  const authorizeUrl = `${stack.url}/authorize`;
  const authorizeTimes: number[] = [];
  for (let iteration = 0; iteration < options.warmup + options.requests; iteration++) {
    const { elapsedMs } = await timedGet(authorizeUrl, 302);
    if (iteration >= options.warmup) authorizeTimes.push(elapsedMs);
  }

  const callbackTimes: number[] = [];
  for (let iteration = 0; iteration < options.warmup + options.requests; iteration++) {
    const start = await timedGet(authorizeUrl, 302);
    const state = new URL(start.location ?? '', stack.url).searchParams.get('state');
    const cookie = start.cookies.find((pair) => pair.startsWith(`${BROWSER_BINDING_COOKIE}=`));
    if (state === null || cookie === undefined) throw new Error('GET /authorize gave no state or no browser-binding cookie');
    // A store of its own per iteration: every callback is a first install, never a replay.
    const storeId = 100_000 + iteration;
    const code = stack.fakeEcwid!.issueCode({ storeId });
    const query = new URLSearchParams({ code, store_id: String(storeId), state });
    const { elapsedMs } = await timedGet(`${stack.url}/callback?${query}`, 200, cookie);
    if (iteration >= options.warmup) callbackTimes.push(elapsedMs);
  }
  // Webhooks for the stores just installed (one each: no event is a duplicate).
  const postWebhook = webhookPoster(stack);
  const stores = installedStores(options);
  const subscriptionTimes: number[] = [];
  for (const [iteration, storeId] of stores.entries()) {
    const elapsedMs = await postWebhook(storeId, 'application.subscriptionStatusChanged', { newSubscriptionStatus: 'ACTIVE' });
    if (iteration >= options.warmup) subscriptionTimes.push(elapsedMs);
  }
  return {
    'GET /authorize': summarize(authorizeTimes),
    'GET /callback': summarize(callbackTimes),
    'POST /webhooks (subscription)': summarize(subscriptionTimes),
  };
}

/** The stores `measureLatency` installed, one per callback: 100000, 100001, ... */
function installedStores(options: Options): number[] {
  return Array.from({ length: options.warmup + options.requests }, (_, iteration) => 100_000 + iteration);
}

/** An uninstall webhook per installed store, each confirmed (Ecwid refuses the token) and purged: no store purged twice. */
async function measureUninstallWebhooks(stack: LocalStack, options: Options): Promise<Record<string, MillisecondStats>> {
  const postWebhook = webhookPoster(stack);
  const uninstallTimes: number[] = [];
  for (const [iteration, storeId] of installedStores(options).entries()) {
    // The merchant uninstalled: Ecwid refuses the token, so the webhook confirms and purges.
    stack.fakeEcwid!.uninstalledStores.add(storeId);
    const elapsedMs = await postWebhook(storeId, 'application.uninstalled');
    if (iteration >= options.warmup) uninstallTimes.push(elapsedMs);
  }
  return { 'POST /webhooks (uninstall, confirmed)': summarize(uninstallTimes) };
}

/** Posts a webhook signed as Ecwid signs it; the time to its answer, which must be `processed`. */
function webhookPoster(stack: LocalStack) {
  const clientSecret = BENCH_CLIENT_SECRET;
  return async (storeId: number, eventType: string, data?: Record<string, unknown>) => {
    const body = { eventId: randomUUID(), eventCreated: Math.floor(Date.now() / 1000), storeId, entityId: 'bench-app', eventType, ...(data === undefined ? {} : { data }) };
    const startedAt = performance.now();
    const response = await fetch(stack.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ecwid-webhook-signature': signWebhook(clientSecret, body.eventCreated, body.eventId) },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { result?: string; detail?: string };
    const elapsedMs = performance.now() - startedAt;
    if (response.status !== 200 || answer.result !== 'processed') throw new Error(`POST /webhooks (${eventType}) answered ${response.status} ${JSON.stringify(answer)}`);
    return elapsedMs;
  };
}

/**
 * One GET, timed from the request to the last byte of the body, without following redirects.
 * @throws Error when the status is not the expected one: a benchmark must not time error pages.
 */
async function timedGet(
  url: string,
  expectedStatus: number,
  cookie?: string,
): Promise<{ elapsedMs: number; location: string | undefined; cookies: string[] }> {
  const startedAt = performance.now();
  const response = await fetch(url, { redirect: 'manual', ...(cookie === undefined ? {} : { headers: { cookie } }) });
  const body = await response.text();
  const elapsedMs = performance.now() - startedAt;
  if (response.status !== expectedStatus) {
    const route = new URL(url).pathname;
    const title = /<title>([^<]*)<\/title>/.exec(body)?.[1] ?? body.slice(0, 200);
    throw new Error(`GET ${route} answered ${response.status}, expected ${expectedStatus}: ${title}`);
  }
  return {
    elapsedMs,
    location: response.headers.get('location') ?? undefined,
    cookies: response.headers.getSetCookie().map((header) => header.split(';')[0]!),
  };
}

/** Percentiles by nearest rank. */
function summarize(samples: number[]): MillisecondStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (percent: number) => sorted[Math.max(0, Math.ceil((percent / 100) * sorted.length) - 1)]!;
  return {
    n: sorted.length,
    p50: rank(50),
    p99: rank(99),
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
  };
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  for (const row of [header, ...rows]) {
    console.log(`  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')}`);
  }
}

const round = (value: number) => Math.round(value * 100) / 100;
const rounded = (stats: MillisecondStats) => Object.fromEntries(Object.entries(stats).map(([key, value]) => [key, round(value)]));
const kb = (bytes: number) => `${(bytes / KB).toFixed(1)} KB`;
const ms = (value: number) => `${value.toFixed(2)} ms`;
const factor = (ratio: number) => `${ratio.toFixed(2)}×`;
const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(1)} s`;
const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');

main().catch((error: unknown) => {
  console.error(`\nBenchmark failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
