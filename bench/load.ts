/**
 * `npm run bench:load [-- --concurrency 32 --duration 20 --request-timeout-ms 10000]`: a bounded load test of
 * the install flow, end to end over loopback, that proves no installation is lost.
 *
 * The local stack (dynalite, the Secrets Manager stub, the fake Ecwid, the real handlers behind the API Gateway
 * adapter) runs in this process on 127.0.0.1. `--concurrency` virtual merchants install stores until
 * `--duration` seconds are over (60 at most), each install as a browser does it, every hop over real HTTP with
 * the merchant's own cookie jar and no redirect followed automatically:
 *
 *   GET /authorize (302 + cookie) → GET the fake consent page (200) → POST the decision, approving a store id
 *   never used before (302) → GET /callback with the cookie (200, the success page).
 *
 * An install counts as completed only when every hop answers its expected status and the last page is the
 * success page; anything else is an error, counted by hop and status. At the deadline no new install starts;
 * the ones in flight finish, each request bounded by `--request-timeout-ms`.
 *
 * Measured: installs completed, installs per second, HTTP requests per second (all hops, failed ones
 * included), and p50/p90/p99/max latency per hop (from the call to fetch to the last byte of the body, answers
 * with the expected status only) and per whole install (completed ones only), with `performance.now()`. The event loop
 * utilisation of both processes tells which side was saturated.
 *
 * Then it checks that nothing was lost: the stored installations (`listInstallations`) are exactly the
 * completed installs' stores, none missing, none extra, each written once (version 1); each completed
 * install's code was exchanged exactly once at the fake, successfully; and each stored access token is valid
 * at the fake (tokens are sealed at rest: each is opened with the stack's own vault first).
 *
 * Where the load comes from: the virtual merchants run in a child process (this file, forked with
 * `--import tsx`), talking to the stack over loopback. In one process, the merchants' fetch work (building
 * requests, parsing answers, cookie jars) would run on the stack's only JavaScript thread and be counted as
 * the stack's latency, and the stack's work would delay the merchants' timers and clocks. In a separate
 * process the load is generated as real browsers generate it, from outside, and on a machine with two cores
 * or more each side has one. The figures are those of the whole local stack on one thread, not of Lambda,
 * which runs one request per instance.
 *
 * Prints the options, a report and the verification, then one line of JSON with every figure. Exits 1 when
 * any install failed or any check failed (this benchmark asserts zero errors), or when the run itself could
 * not be done; 0 otherwise.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { BROWSER_BINDING_COOKIE } from '../functions/runtime/browser-binding';
import { JsonLogger } from '../functions/runtime/logger';
import type { Installation } from '../functions/core/model';
import type { FakeEcwid, TokenExchangeRecord } from '../local/fake-ecwid';
import { startLocalStack, type LocalStack } from '../local/stack';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** The argument that makes this file the merchants' process instead of the benchmark. */
const MERCHANTS_PROCESS = '--virtual-merchants-process';
const MAX_DURATION_SECONDS = 60;
const ERROR_SAMPLE_SIZE = 10;
/** Store ids of this run start here; each install takes the next one. */
const FIRST_STORE_ID = 1_000_001;
const SUCCESS_HEADING = '<h1>Your store is connected</h1>';

const HOPS = ['GET /authorize', 'GET consent page', 'POST consent decision', 'GET /callback'] as const;
type Hop = (typeof HOPS)[number];

interface Options {
  concurrency: number;
  durationSeconds: number;
  requestTimeoutMs: number;
}

/** What the merchants' process is asked to do. */
interface LoadRequest {
  baseUrl: string;
  concurrency: number;
  durationMs: number;
  requestTimeoutMs: number;
  firstStoreId: number;
}

/** An install that reached the success page: the store approved and the code Ecwid sent back with it. */
interface CompletedInstall {
  storeId: number;
  code: string;
}

/** What the merchants' process measured. */
interface LoadResult {
  /** From the first request to the end of the last install in flight at the deadline. */
  elapsedMs: number;
  installsStarted: number;
  completed: CompletedInstall[];
  /** Every request sent, whatever became of it. */
  requests: number;
  hopLatenciesMs: Record<Hop, number[]>;
  installLatenciesMs: number[];
  /** Failed installs by `hop → status`. */
  errorCounts: Record<string, number>;
  errorSamples: string[];
  eventLoopUtilization: number;
}

type MerchantsMessage = { ready: true } | { result: LoadResult } | { failed: string };

/** A sample of `n` timings summarized, in milliseconds. */
interface MillisecondStats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

interface Verification {
  completed: number;
  stored: number;
  /** Completed installs with no stored installation. */
  missing: number[];
  /** Stored installations no completed install accounts for. */
  extra: number[];
  /** Stores listed more than once, or whose installation was written more than once (version above 1). */
  notStoredOnce: number[];
  /** Completed installs whose code was not exchanged exactly once, successfully. */
  notExchangedOnce: number[];
  /** Completed installs whose stored access token the fake does not accept. */
  invalidTokens: number[];
  /** Code exchanges the fake recorded in all. */
  exchanges: number;
  tokenCheck: TokenCheckSummary;
  passed: boolean;
}

/** The check of the stored tokens at the fake. */
interface TokenCheckSummary {
  durationMs: number;
  checked: number;
}

// ---------------------------------------------------------------------------------------------
// The benchmark: the stack, the verification, the report
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  console.log('Install load test');
  console.log(
    `  options: --concurrency ${options.concurrency} --duration ${options.durationSeconds} --request-timeout-ms ${options.requestTimeoutMs}` +
      `  (node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'})`,
  );

  let stack: LocalStack | undefined;
  let merchants: MerchantsProcess | undefined;
  try {
    stack = await startLocalStack({
      port: 0,
      clientId: 'bench-app',
      clientSecret: 'bench-client-secret',
      scopes: ['read_store_profile'],
      log: new JsonLogger({}, () => undefined),
    });
    const fake = stack.fakeEcwid;
    if (fake === undefined) throw new Error('the local stack started without its built-in fake Ecwid');
    merchants = await startMerchantsProcess();
    console.log(`\nStack at ${stack.url}; ${options.concurrency} virtual merchants in process ${merchants.pid}, for ${options.durationSeconds} s`);

    const stackLoopBefore = performance.eventLoopUtilization();
    const result = await merchants.run({
      baseUrl: stack.url,
      concurrency: options.concurrency,
      durationMs: options.durationSeconds * 1000,
      requestTimeoutMs: options.requestTimeoutMs,
      firstStoreId: FIRST_STORE_ID,
    });
    const stackLoopUtilization = performance.eventLoopUtilization(stackLoopBefore).utilization;

    const errors = result.installsStarted - result.completed.length;
    const elapsedSeconds = result.elapsedMs / 1000;
    const figures = {
      elapsedSeconds,
      installsStarted: result.installsStarted,
      installsCompleted: result.completed.length,
      errors,
      installsPerSecond: result.completed.length / elapsedSeconds,
      requests: result.requests,
      requestsPerSecond: result.requests / elapsedSeconds,
    };
    const latency: Record<string, MillisecondStats> = {
      ...Object.fromEntries(HOPS.map((hop) => [hop, summarize(result.hopLatenciesMs[hop])])),
      'whole install': summarize(result.installLatenciesMs),
    };

    console.log(`\nThroughput (${figures.elapsedSeconds.toFixed(2)} s, in-flight installs finished after the deadline included)`);
    printTable(
      ['', 'count', 'per second'],
      [
        ['installs completed', String(figures.installsCompleted), figures.installsPerSecond.toFixed(1)],
        ['installs failed', String(errors), ''],
        ['HTTP requests (all hops)', String(figures.requests), figures.requestsPerSecond.toFixed(1)],
      ],
    );
    console.log('\nLatency (call to fetch to last byte of the body; hops with the expected status, completed installs)');
    printTable(
      ['', 'n', 'p50', 'p90', 'p99', 'max'],
      Object.entries(latency).map(([name, stats]) => [name, String(stats.n), ms(stats.p50), ms(stats.p90), ms(stats.p99), ms(stats.max)]),
    );
    console.log(
      `\nEvent loop utilisation: stack ${percent(stackLoopUtilization)}, virtual merchants ${percent(result.eventLoopUtilization)}` +
        ' (near 100%: that process was the bottleneck)',
    );

    if (errors > 0) {
      console.log(`\nErrors: ${errors}`);
      printTable(
        ['hop → status', 'installs'],
        Object.entries(result.errorCounts).map(([kind, count]) => [kind, String(count)]),
      );
      console.log('  samples:');
      for (const sample of result.errorSamples) console.log(`    ${sample}`);
    } else {
      console.log('\nErrors: none');
    }

    const verification = await verify(stack, fake, result.completed);
    console.log('\nVerification (no installation lost, each stored once)');
    printTable(
      ['check', 'result'],
      [
        ['stored installations = completed installs', `${verification.stored} stored, ${verification.completed} completed`],
        ['completed installs not stored', describeStores(verification.missing)],
        ['stored installations not completed', describeStores(verification.extra)],
        ['stores not stored exactly once', describeStores(verification.notStoredOnce)],
        ['codes not exchanged exactly once', describeStores(verification.notExchangedOnce)],
        ['code exchanges at the fake', String(verification.exchanges)],
        [
          'stored tokens the fake refuses',
          `${describeStores(verification.invalidTokens)} (${verification.tokenCheck.checked} opened and checked in ` +
            `${ms(verification.tokenCheck.durationMs)})`,
        ],
      ],
    );
    const passed = errors === 0 && verification.passed;
    console.log(`\n${passed ? 'PASS' : 'FAIL'}: ${errors} failed installs, verification ${verification.passed ? 'passed' : 'failed'}`);

    console.log(
      JSON.stringify({
        options,
        node: process.version,
        cpus: os.cpus().length,
        loadGenerator: 'child process',
        elapsedSeconds: round(figures.elapsedSeconds),
        installsStarted: figures.installsStarted,
        installsCompleted: figures.installsCompleted,
        errors,
        installsPerSecond: round(figures.installsPerSecond),
        requests: figures.requests,
        requestsPerSecond: round(figures.requestsPerSecond),
        latencyMs: Object.fromEntries(
          Object.entries(latency).map(([name, stats]) => [
            name,
            Object.fromEntries(Object.entries(stats).map(([key, value]) => [key, round(value)])),
          ]),
        ),
        eventLoopUtilization: { stack: round(stackLoopUtilization), merchants: round(result.eventLoopUtilization) },
        errorCounts: result.errorCounts,
        errorSamples: result.errorSamples,
        verification: {
          ...verification,
          tokenCheck: { ...verification.tokenCheck, durationMs: round(verification.tokenCheck.durationMs) },
          missing: verification.missing.length,
          extra: verification.extra.length,
          notStoredOnce: verification.notStoredOnce.length,
          notExchangedOnce: verification.notExchangedOnce.length,
          invalidTokens: verification.invalidTokens.length,
        },
        passed,
      }),
    );
    process.exitCode = passed ? 0 : 1;
  } finally {
    merchants?.stop();
    await stack?.close();
  }
}

function readOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      concurrency: { type: 'string', default: '32' },
      duration: { type: 'string', default: '20' },
      'request-timeout-ms': { type: 'string', default: '10000' },
    },
  });
  const number = (name: string, text: string, min: number, max: number, whole: boolean): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max || (whole && !Number.isSafeInteger(value))) {
      throw new Error(`--${name} must be a ${whole ? 'whole ' : ''}number from ${min} to ${max}, got "${text}"`);
    }
    return value;
  };
  return {
    concurrency: number('concurrency', values.concurrency, 1, 1024, true),
    // The hard limit keeps a load test on a shared machine short, whatever is asked.
    durationSeconds: number('duration', values.duration, 0.1, MAX_DURATION_SECONDS, false),
    requestTimeoutMs: number('request-timeout-ms', values['request-timeout-ms'], 100, 60_000, true),
  };
}

/**
 * Compares what was stored and exchanged with what the merchants saw completed, then has every stored token
 * checked at the fake. Reads the fake's exchange records once, grouped by code (what `exchangesOf` filters,
 * without a scan of all exchanges per install).
 */
async function verify(stack: LocalStack, fake: FakeEcwid, completed: CompletedInstall[]): Promise<Verification> {
  const installations = await stack.store.listInstallations();
  const completedStores = new Set(completed.map((install) => install.storeId));
  const storedStores = new Set<number>();
  const notStoredOnce = new Set<number>();
  for (const installation of installations) {
    if (storedStores.has(installation.storeId) || installation.version !== 1) notStoredOnce.add(installation.storeId);
    storedStores.add(installation.storeId);
  }
  const exchangesByCode = new Map<string, TokenExchangeRecord[]>();
  for (const exchange of fake.exchanges) exchangesByCode.set(exchange.code, [...(exchangesByCode.get(exchange.code) ?? []), exchange]);

  const missing: number[] = [];
  const notExchangedOnce: number[] = [];
  for (const { storeId, code } of completed) {
    const exchanges = exchangesByCode.get(code) ?? [];
    const exchangedOnce = exchanges.length === 1 && exchanges[0]!.outcome === 'issued' && exchanges[0]!.pathStoreId === storeId;
    if (!exchangedOnce) notExchangedOnce.push(storeId);
    if (!storedStores.has(storeId)) missing.push(storeId);
  }
  const extra = [...storedStores].filter((storeId) => !completedStores.has(storeId));
  const exchanges = fake.exchanges.length;

  const tokens = await checkStoredTokens(
    stack,
    fake,
    installations.filter((installation) => completedStores.has(installation.storeId)),
  );

  const verification = {
    completed: completed.length,
    stored: installations.length,
    missing,
    extra,
    notStoredOnce: [...notStoredOnce],
    notExchangedOnce,
    invalidTokens: tokens.invalid,
    exchanges,
    tokenCheck: tokens.summary,
  };
  const passed =
    completedStores.size === completed.length &&
    installations.length === completed.length &&
    [missing, extra, verification.notStoredOnce, notExchangedOnce, tokens.invalid].every((stores) => stores.length === 0);
  return { ...verification, passed };
}

/**
 * Whether the fake accepts each store's stored access token. Tokens are sealed at rest, so each is
 * opened with the stack's own vault (one KMS stub call per store), as the product opens them.
 */
async function checkStoredTokens(
  stack: LocalStack,
  fake: FakeEcwid,
  installations: Installation[],
): Promise<{ invalid: number[]; summary: TokenCheckSummary }> {
  const startedAt = performance.now();
  const invalid: number[] = [];
  for (const installation of installations) {
    const sealer = await stack.vault.sealerOf(installation);
    if (!fake.isTokenValid(sealer.open(installation.accessToken, 'access_token'))) invalid.push(installation.storeId);
  }
  return { invalid, summary: { durationMs: performance.now() - startedAt, checked: installations.length } };
}

// ---------------------------------------------------------------------------------------------
// The merchants' process
// ---------------------------------------------------------------------------------------------

interface MerchantsProcess {
  pid: number | undefined;
  run(request: LoadRequest): Promise<LoadResult>;
  stop(): void;
}

/** Forks this file as the merchants' process and waits until it is ready for a run. */
async function startMerchantsProcess(): Promise<MerchantsProcess> {
  const child: ChildProcess = fork(__filename, [MERCHANTS_PROCESS], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<MerchantsMessage>((resolve, reject) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        reject(new Error(`the virtual merchants' process ended (${signal ?? `exit code ${code}`}) before answering`));
      child.once('exit', onExit);
      child.once('message', (message) => {
        child.off('exit', onExit);
        resolve(message as MerchantsMessage);
      });
    });
  const ready = await next();
  if (!('ready' in ready)) throw new Error('the virtual merchants\' process did not start');
  return {
    pid: child.pid,
    async run(request) {
      const answer = next();
      child.send(request);
      const message = await answer;
      if ('failed' in message) throw new Error(`the virtual merchants' process failed: ${message.failed}`);
      if (!('result' in message)) throw new Error('the virtual merchants\' process answered out of turn');
      return message.result;
    },
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}

/** The merchants' side: announces itself, runs the one load it is sent, answers the result, and leaves. */
function serveAsMerchantsProcess(): void {
  const send = (message: MerchantsMessage) => process.send!(message);
  process.once('message', (request: LoadRequest) => {
    runLoad(request).then(
      (result) => send({ result }),
      (error: unknown) => send({ failed: error instanceof Error ? error.message : String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ ready: true });
}

/** Runs `concurrency` merchants installing one store after another until the deadline, then lets them finish. */
async function runLoad(request: LoadRequest): Promise<LoadResult> {
  const result: LoadResult = {
    elapsedMs: 0,
    installsStarted: 0,
    completed: [],
    requests: 0,
    hopLatenciesMs: Object.fromEntries(HOPS.map((hop) => [hop, []])) as unknown as Record<Hop, number[]>,
    installLatenciesMs: [],
    errorCounts: {},
    errorSamples: [],
    eventLoopUtilization: 0,
  };
  let nextStoreId = request.firstStoreId;
  const loopBefore = performance.eventLoopUtilization();
  const startedAt = performance.now();
  const deadline = startedAt + request.durationMs;

  const merchant = async () => {
    const browser = new MerchantBrowser(request.requestTimeoutMs, result);
    while (performance.now() < deadline) {
      const storeId = nextStoreId++;
      result.installsStarted += 1;
      const installStartedAt = performance.now();
      try {
        const code = await installStore(browser, request.baseUrl, storeId);
        result.installLatenciesMs.push(performance.now() - installStartedAt);
        result.completed.push({ storeId, code });
      } catch (failure) {
        // Anything but a failed hop is a defect of the benchmark: the run itself is wrong.
        if (!(failure instanceof HopFailure)) throw failure;
        const kind = `${failure.hop} → ${failure.status}`;
        result.errorCounts[kind] = (result.errorCounts[kind] ?? 0) + 1;
        // The first of each kind, then the first few of any: a sample that shows every kind of failure.
        if (result.errorCounts[kind] === 1 || result.errorSamples.length < ERROR_SAMPLE_SIZE) {
          result.errorSamples.push(`store ${storeId}: ${kind}: ${failure.message}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: request.concurrency }, merchant));

  result.elapsedMs = performance.now() - startedAt;
  result.eventLoopUtilization = performance.eventLoopUtilization(loopBefore).utilization;
  return result;
}

/**
 * One install as a browser does it. Returns the code Ecwid sent back with the store id.
 * @throws HopFailure at the first hop that does not answer as it should.
 */
async function installStore(browser: MerchantBrowser, baseUrl: string, storeId: number): Promise<string> {
  const authorize = await browser.send('GET /authorize', `${baseUrl}/authorize`, { method: 'GET' }, 302);
  if (authorize.location === undefined) throw new HopFailure('GET /authorize', 'no Location', 'a 302 without Location');
  if (!browser.cookies.has(BROWSER_BINDING_COOKIE)) throw new HopFailure('GET /authorize', 'no cookie', `${BROWSER_BINDING_COOKIE} was not set`);

  const consentUrl = new URL(authorize.location);
  const consent = await browser.send('GET consent page', consentUrl.toString(), { method: 'GET' }, 200);
  const action = /<form method="post" action="([^"]+)"/.exec(consent.body)?.[1];
  if (action === undefined) throw new HopFailure('GET consent page', 'no form', 'the page has no decision form');

  const form = new URLSearchParams({ store_id: String(storeId), decision: 'approve' });
  for (const name of ['client_id', 'redirect_uri', 'scope', 'state']) {
    const value = consentUrl.searchParams.get(name);
    if (value !== null) form.set(name, value);
  }
  const decision = await browser.send(
    'POST consent decision',
    new URL(action, consentUrl).toString(),
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() },
    302,
  );
  if (decision.location === undefined) throw new HopFailure('POST consent decision', 'no Location', 'a 302 without Location');
  const callbackUrl = new URL(decision.location);
  const code = callbackUrl.searchParams.get('code');
  if (code === null) throw new HopFailure('POST consent decision', 'no code', 'the redirect back carries no code');

  const callback = await browser.send('GET /callback', callbackUrl.toString(), { method: 'GET' }, 200);
  if (!callback.body.includes(SUCCESS_HEADING)) throw new HopFailure('GET /callback', 'not the success page', titleOf(callback.body));
  return code;
}

/** A failed hop: `status` is the HTTP status, `timeout`, `network error` or what was wrong with the answer. */
class HopFailure extends Error {
  override readonly name = 'HopFailure';
  constructor(
    readonly hop: Hop,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

interface Answer {
  status: number;
  body: string;
  location: string | undefined;
}

/**
 * One merchant's browser: a cookie jar for the stack's one host (per name, as `TestBrowser` keeps it), no
 * redirect followed by itself, every request timed and bounded by a timeout, counted into the result.
 */
class MerchantBrowser {
  readonly cookies = new Map<string, string>();

  constructor(
    private readonly requestTimeoutMs: number,
    private readonly result: LoadResult,
  ) {}

  /** @throws HopFailure on a timeout, a network error or a status other than `expectedStatus`. */
  async send(hop: Hop, url: string, init: RequestInit, expectedStatus: number): Promise<Answer> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const headers = { ...(init.headers as Record<string, string> | undefined), ...(cookie === '' ? {} : { cookie }) };
    this.result.requests += 1;
    const startedAt = performance.now();
    let response: Response;
    let body: string;
    try {
      // The signal bounds the body as well as the headers.
      response = await fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(this.requestTimeoutMs) });
      body = await response.text();
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') {
        throw new HopFailure(hop, 'timeout', `no complete answer within ${this.requestTimeoutMs} ms`);
      }
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      throw new HopFailure(hop, 'network error', cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
    }
    const elapsedMs = performance.now() - startedAt;
    this.keepCookies(response.headers.getSetCookie());
    if (response.status !== expectedStatus) {
      throw new HopFailure(hop, String(response.status), `expected ${expectedStatus}: ${titleOf(body)}`);
    }
    this.result.hopLatenciesMs[hop].push(elapsedMs);
    const location = response.headers.get('location');
    if (location === null) return { status: response.status, body, location: undefined };
    if (!URL.canParse(location, url)) throw new HopFailure(hop, 'bad Location', 'the Location header is not a URL');
    return { status: response.status, body, location: new URL(location, url).toString() };
  }

  private keepCookies(setCookies: string[]): void {
    for (const setCookie of setCookies) {
      const [pair = '', ...attributes] = setCookie.split(';');
      const separator = pair.indexOf('=');
      if (separator <= 0) continue;
      const name = pair.slice(0, separator).trim();
      if (attributes.some((attribute) => /^\s*max-age\s*=\s*0\s*$/i.test(attribute))) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(separator + 1).trim());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------

/** Percentiles by nearest rank; zeros for an empty sample. */
function summarize(samples: number[]): MillisecondStats {
  if (samples.length === 0) return { n: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (percentile: number) => sorted[Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1)]!;
  return { n: sorted.length, p50: rank(50), p90: rank(90), p99: rank(99), max: sorted[sorted.length - 1]! };
}

/** A page's title: enough to tell error pages apart, and never a code or a token. */
function titleOf(body: string): string {
  return /<title>([^<]*)<\/title>/.exec(body)?.[1] ?? `${body.length} bytes without a title`;
}

function describeStores(storeIds: number[]): string {
  if (storeIds.length === 0) return 'none';
  const shown = storeIds.slice(0, 5).join(', ');
  return `${storeIds.length} (${shown}${storeIds.length > 5 ? ', ...' : ''})`;
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  for (const row of [header, ...rows]) {
    console.log(`  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')}`);
  }
}

const round = (value: number) => Math.round(value * 100) / 100;
const ms = (value: number) => `${value.toFixed(2)} ms`;
const percent = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;

if (process.argv[2] === MERCHANTS_PROCESS && process.send !== undefined) {
  serveAsMerchantsProcess();
} else {
  main().catch((error: unknown) => {
    console.error(`\nLoad test failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
