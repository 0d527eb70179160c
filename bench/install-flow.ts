/**
 * `npm run bench [-- --requests 300 --warmup 20 --cold-runs 15]`: how heavy and how fast the install flow is.
 *
 * 1. Bundle size of every Lambda function the stack defines: the stack is synthesized in-process, as
 *    `bin/app.ts` does (with the context of cdk.json), and each function's `index.js` is read from its
 *    asset, with its gzip size (1 KB = 1024 bytes). Target: under 300 KB.
 * 2. Module initialisation of each bundle: the time `require` of `index.js` takes in a fresh `node`
 *    process (node's own startup excluded), with the function's environment. Target: under 150 ms.
 * 3. Latency of `GET /authorize` and of a complete `GET /callback` (state consumed, code claimed,
 *    token exchanged with the fake Ecwid over HTTP, installation stored in dynalite) against the
 *    local stack, sequential requests after a warm-up.
 *
 * Prints a report, then one line of JSON with every figure. Exits 1 only when the run itself fails
 * (a wrong status, a bundle that does not load); a missed target is reported, not fatal.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { AssetManifestArtifact } from 'aws-cdk-lib/cx-api';
import { BROWSER_BINDING_COOKIE } from '../functions/runtime/browser-binding';
import { JsonLogger } from '../functions/runtime/logger';
import { buildStack } from '../lib/stack-context';
import { startLocalStack, type LocalStack } from '../local/stack';

const PROJECT_ROOT = path.join(__dirname, '..');
const KB = 1024;
const TARGETS = { bundleKB: 300, initMs: 150 };

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
  /** The construct under the stack that owns the function (`Authorize`). */
  name: string;
  logicalId: string;
  constructPath: string;
  /** The module Lambda loads (`index.js`) and the export it calls (`handler`). */
  file: string;
  exportName: string;
  /** The function's environment, deploy-time references replaced by placeholders. */
  environment: Record<string, string>;
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

    const functions = bundles.map((bundle) => {
      const source = fs.readFileSync(bundle.file);
      const assetBytes = fs
        .readdirSync(path.dirname(bundle.file))
        .reduce((sum, file) => sum + fs.statSync(path.join(path.dirname(bundle.file), file)).size, 0);
      return { ...bundle, bytes: source.length, gzipBytes: gzipSync(source).length, assetBytes };
    });
    console.log(`\nBundle size (index.js of each asset; target < ${TARGETS.bundleKB} KB)`);
    printTable(
      ['function', 'logical id', 'index.js', 'gzip', 'whole asset', 'target'],
      functions.map((fn) => [
        fn.name,
        fn.logicalId,
        kb(fn.bytes),
        kb(fn.gzipBytes),
        kb(fn.assetBytes),
        verdict(fn.bytes < TARGETS.bundleKB * KB),
      ]),
    );

    console.log(`\nModule initialisation (require of index.js in a fresh node, ${options.coldRuns} runs; target < ${TARGETS.initMs} ms)`);
    const initialisations = functions.map((fn) => ({ fn, stats: summarize(coldRequireTimes(fn, options.coldRuns)) }));
    printTable(
      ['function', 'median', 'min', 'max', 'NODE_OPTIONS', 'target'],
      initialisations.map(({ fn, stats }) => [
        fn.name,
        ms(stats.p50),
        ms(stats.min),
        ms(stats.max),
        fn.environment.NODE_OPTIONS ?? '',
        verdict(stats.p50 < TARGETS.initMs),
      ]),
    );

    stack = await startLocalStack({
      port: 0,
      clientId: 'bench-app',
      clientSecret: 'bench-client-secret',
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

    const verdicts = [
      ...functions.map((fn) => fn.bytes < TARGETS.bundleKB * KB),
      ...initialisations.map(({ stats }) => stats.p50 < TARGETS.initMs),
    ];
    console.log(`\nTargets met: ${verdicts.filter(Boolean).length} of ${verdicts.length}`);
    console.log(
      JSON.stringify({
        options,
        node: process.version,
        targets: TARGETS,
        functions: initialisations.map(({ fn, stats }) => ({
          name: fn.name,
          logicalId: fn.logicalId,
          constructPath: fn.constructPath,
          bundleBytes: fn.bytes,
          gzipBytes: fn.gzipBytes,
          assetBytes: fn.assetBytes,
          bundlePass: fn.bytes < TARGETS.bundleKB * KB,
          initMs: { median: round(stats.p50), min: round(stats.min), max: round(stats.max), runs: stats.n },
          initPass: stats.p50 < TARGETS.initMs,
        })),
        latencyMs: Object.fromEntries(
          Object.entries(latency).map(([route, stats]) => [
            route,
            Object.fromEntries(Object.entries(stats).map(([key, value]) => [key, round(value)])),
          ]),
        ),
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
      'cold-runs': { type: 'string', default: '15' },
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

/**
 * Synthesizes the real stack into `outdir` (bundling every function with esbuild, as `cdk synth`
 * does) and finds each Lambda function's bundle through the template: `Code.S3Key` names the
 * object an asset of the stack's asset manifest is published as.
 */
function synthesizeBundles(outdir: string): LambdaBundle[] {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const app = new App({ outdir, context: cdkJson.context ?? {} });
  const stack = buildStack(app);
  const artifact = app.synth().getStackByName(stack.stackName);

  const assetDirectoryByObjectKey = new Map<string, string>();
  for (const manifest of artifact.dependencies.filter(AssetManifestArtifact.isAssetManifestArtifact)) {
    for (const file of Object.values(manifest.contents.files ?? {})) {
      if (file.source.path === undefined) continue;
      for (const destination of Object.values(file.destinations)) {
        assetDirectoryByObjectKey.set(destination.objectKey, path.join(path.dirname(manifest.file), file.source.path));
      }
    }
  }
  const constructPathByLogicalId = new Map(
    stack.node
      .findAll()
      .filter(CfnResource.isCfnResource)
      .map((resource) => [Stack.of(resource).resolve(resource.logicalId) as string, resource.node.path]),
  );

  type LambdaResource = {
    Type: string;
    Properties: { Code?: { S3Key?: unknown }; Handler?: string; Environment?: { Variables?: Record<string, unknown> } };
  };
  const resources = artifact.template.Resources as Record<string, LambdaResource>;
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .map(([logicalId, { Properties: properties }]) => {
      const objectKey = properties.Code?.S3Key;
      const assetDirectory = typeof objectKey === 'string' ? assetDirectoryByObjectKey.get(objectKey) : undefined;
      const handler = properties.Handler ?? '';
      const separator = handler.lastIndexOf('.');
      if (assetDirectory === undefined || separator <= 0) {
        throw new Error(`${logicalId}: no bundled asset or handler found in the template`);
      }
      const constructPath = constructPathByLogicalId.get(logicalId) ?? logicalId;
      const environment: Record<string, string> = {};
      for (const [name, value] of Object.entries(properties.Environment?.Variables ?? {})) {
        environment[name] = typeof value === 'string' ? value : `bench-placeholder-${name.toLowerCase()}`;
      }
      return {
        name: constructPath.split('/')[1] ?? logicalId,
        logicalId,
        constructPath,
        file: path.join(assetDirectory, `${handler.slice(0, separator)}.js`),
        exportName: handler.slice(separator + 1),
        environment: { ...environment, ...PLACEHOLDER_ENVIRONMENT },
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
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

function coldRequireTimes(bundle: LambdaBundle, runs: number): number[] {
  return Array.from({ length: runs }, () => {
    // Only the function's own environment, not this process's (tsx loaders, npm variables).
    const output = execFileSync(process.execPath, ['-e', COLD_REQUIRE_SCRIPT, bundle.file, bundle.exportName], {
      cwd: path.dirname(bundle.file),
      env: { ...bundle.environment, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      encoding: 'utf8',
    });
    return (JSON.parse(output) as { elapsedMs: number }).elapsedMs;
  });
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
  return { 'GET /authorize': summarize(authorizeTimes), 'GET /callback': summarize(callbackTimes) };
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
const kb = (bytes: number) => `${(bytes / KB).toFixed(1)} KB`;
const ms = (value: number) => `${value.toFixed(2)} ms`;
const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(1)} s`;
const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');

main().catch((error: unknown) => {
  console.error(`\nBenchmark failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
