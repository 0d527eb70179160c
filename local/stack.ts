import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuthorizeHandler } from '../functions/authorize/handler';
import { createCallbackHandler } from '../functions/callback/handler';
import { createRefreshHandler } from '../functions/refresh/handler';
import type { RefreshRunSummary } from '../functions/core/refresh-installations';
import { DynamoDbStore } from '../functions/adapters/dynamodb-store';
import type { Clock, Installation, RandomSource, TokenVault } from '../functions/core/ports';
import { readConfig, type AppConfig } from '../functions/runtime/config';
import { composeDependencies, rootLogger, type AppDependencies } from '../functions/runtime/dependencies';
import type { AppLogger } from '../functions/runtime/logger';
import { renderPage } from '../functions/runtime/pages';
import { invokeAsApiGateway, lambdaContext, type HttpLambda } from './api-gateway';
import { ensureLocalTable, LOCAL_CREDENTIALS, LOCAL_REGION, startDynalite, type LocalDynamoDb } from './dynalite-server';
import { FakeEcwid } from './fake-ecwid';
import { KmsStub } from './kms-stub';
import { sendHtml, sendJson } from './http-util';
import { SecretsManagerStub } from './secrets-manager-stub';

export interface LocalStackOptions {
  /** 0 picks a free port. */
  port: number;
  /** Defaults to `http://localhost:{port}`; the redirect URI is `{publicUrl}/callback`. */
  publicUrl?: string;
  /** When set, the stack talks to this OAuth server instead of the built-in fake Ecwid. */
  ecwidOAuthUrl?: string;
  /** When set, the stack talks to this REST API instead of the built-in fake Ecwid. */
  ecwidApiUrl?: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  successUrl?: string;
  appMarketInstalls?: boolean;
  stateLifetimeSeconds?: number;
  tokenRequestTimeoutMs?: number;
  /** Keep the database in this folder instead of in memory. */
  dataDirectory?: string;
  /** Run the scheduled refresh every this many seconds; 0 or absent: only on `POST /__local/refresh`. */
  refreshIntervalSeconds?: number;
  /** The built-in fake Ecwid issues tokens that expire after this long, with rotating refresh tokens. */
  fakeTokenLifetimeSeconds?: number;
  log?: AppLogger;
  clock?: Clock;
  random?: RandomSource;
}

export interface LocalStack {
  url: string;
  config: AppConfig;
  /** The built-in fake Ecwid, unless the stack was pointed at another server. */
  fakeEcwid: FakeEcwid | undefined;
  secretsManager: SecretsManagerStub;
  kms: KmsStub;
  dynamoDb: LocalDynamoDb;
  /** The same store the functions use, for inspection. */
  store: DynamoDbStore;
  /** The same token vault the functions use: tests open stored tokens with it. */
  vault: TokenVault;
  /** Runs the scheduled refresh once, as EventBridge would, optionally as if the clock read `atEpochMs`. */
  runRefresh(atEpochMs?: number): Promise<RefreshRunSummary>;
  close(): Promise<void>;
}

/** How long a local refresh run may take, like the deployed function's timeout. */
const LOCAL_REFRESH_TIMEOUT_MS = 5 * 60 * 1000;

export const LOCAL_TABLE_NAME = 'ecwid-app-auth-local';
const LOCAL_SECRET_NAME = 'ecwid-app-auth/client-secret';
const FAKE_ECWID_PATH = '/fake-ecwid';

/**
 * The whole product on one machine, with no AWS account and no network: dynalite for DynamoDB, a
 * Secrets Manager stub that speaks the real protocol, a fake Ecwid, and the real handlers behind an
 * API Gateway v2 event adapter.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const dynamoDb = await startDynalite(options.dataDirectory === undefined ? {} : { dataDirectory: options.dataDirectory });
    cleanups.push(() => dynamoDb.close());
    await ensureLocalTable(dynamoDb.endpoint, LOCAL_TABLE_NAME);

    const secretsManager = new SecretsManagerStub();
    secretsManager.putSecret(LOCAL_SECRET_NAME, options.clientSecret);
    const secretsManagerEndpoint = await secretsManager.listen();
    cleanups.push(() => secretsManager.close());

    const kms = new KmsStub();
    const kmsEndpoint = await kms.listen();
    cleanups.push(() => kms.close());

    const servers = await listen(options.port);
    cleanups.push(() => closeServers(servers));
    const port = (servers[0]!.address() as AddressInfo).port;
    const publicUrl = (options.publicUrl ?? `http://localhost:${port}`).replace(/\/+$/, '');

    const builtInFake = options.ecwidOAuthUrl === undefined || options.ecwidApiUrl === undefined;
    const fakeEcwid = builtInFake
      ? new FakeEcwid({
          clientId: options.clientId,
          clientSecret: options.clientSecret,
          redirectUrl: `${publicUrl}/callback`,
          basePath: FAKE_ECWID_PATH,
        })
      : undefined;
    cleanups.push(async () => fakeEcwid?.releaseHeldRequests());
    if (fakeEcwid !== undefined && options.fakeTokenLifetimeSeconds !== undefined) {
      fakeEcwid.tokenLifetimeSeconds = options.fakeTokenLifetimeSeconds;
    }

    const config = readConfig({
      TABLE_NAME: LOCAL_TABLE_NAME,
      CLIENT_SECRET_ID: LOCAL_SECRET_NAME,
      TOKEN_KEY_ID: kms.keyArn,
      ECWID_CLIENT_ID: options.clientId,
      PUBLIC_URL: publicUrl,
      ECWID_OAUTH_URL: options.ecwidOAuthUrl ?? `${publicUrl}${FAKE_ECWID_PATH}`,
      ECWID_API_URL: options.ecwidApiUrl ?? `${publicUrl}${FAKE_ECWID_PATH}`,
      ECWID_SCOPES: options.scopes.join(' '),
      SUCCESS_URL: options.successUrl,
      APP_MARKET_INSTALLS: options.appMarketInstalls === false ? 'false' : 'true',
      STATE_TTL_SECONDS: options.stateLifetimeSeconds?.toString(),
      TOKEN_REQUEST_TIMEOUT_MS: options.tokenRequestTimeoutMs?.toString(),
    });
    const deps = composeDependencies(config, {
      aws: {
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
        dynamoDbEndpoint: dynamoDb.endpoint,
        secretsManagerEndpoint,
        kmsEndpoint,
      },
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
    const log = options.log ?? rootLogger;
    const runRefresh = (atEpochMs?: number) => {
      const clock = atEpochMs === undefined ? deps.clock : shiftedClock(deps.clock, atEpochMs - deps.clock.nowEpochMs());
      const startedAt = Date.now();
      return createRefreshHandler(() => ({ ...deps, clock }), log)(
        { source: 'local' },
        lambdaContext('refresh', () => LOCAL_REFRESH_TIMEOUT_MS - (Date.now() - startedAt)),
      );
    };
    const routes: Record<string, { functionName: string; handler: HttpLambda }> = {
      'GET /authorize': { functionName: 'authorize', handler: createAuthorizeHandler(() => deps, log) },
      'GET /callback': { functionName: 'callback', handler: createCallbackHandler(() => deps, log) },
    };

    for (const server of servers) {
      server.on('request', (request: IncomingMessage, response: ServerResponse) => {
        route(request, response, { routes, fakeEcwid, deps, publicUrl, runRefresh }).catch(() => {
          if (!response.headersSent) sendJson(response, 500, { message: 'Internal Server Error' });
          else response.destroy();
        });
      });
    }

    if (options.refreshIntervalSeconds !== undefined && options.refreshIntervalSeconds > 0) {
      let running: Promise<unknown> = Promise.resolve();
      const timer = setInterval(() => {
        // Like EventBridge, the timer does not wait for a slow run; the leases keep overlapping runs apart.
        running = runRefresh().catch(() => undefined);
      }, options.refreshIntervalSeconds * 1000);
      cleanups.push(async () => {
        clearInterval(timer);
        await running;
      });
    }

    return {
      url: publicUrl,
      config,
      fakeEcwid,
      secretsManager,
      kms,
      dynamoDb,
      store: deps.installations as DynamoDbStore,
      vault: deps.vault,
      runRefresh,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function route(
  request: IncomingMessage,
  response: ServerResponse,
  context: {
    routes: Record<string, { functionName: string; handler: HttpLambda }>;
    fakeEcwid: FakeEcwid | undefined;
    deps: AppDependencies;
    publicUrl: string;
    runRefresh: (atEpochMs?: number) => Promise<RefreshRunSummary>;
  },
): Promise<void> {
  const path = (request.url ?? '/').split('?')[0]!;
  const routeKey = `${request.method ?? 'GET'} ${path}`;
  const lambda = context.routes[routeKey];
  if (lambda !== undefined) {
    await invokeAsApiGateway(lambda.handler, routeKey, request, response, { functionName: lambda.functionName });
    return;
  }
  if (context.fakeEcwid !== undefined && (await context.fakeEcwid.handle(request, response))) return;
  if (routeKey === 'GET /__local/installations') {
    const installations = await context.deps.installations.listInstallations();
    sendJson(response, 200, installations.map(describeInstallation));
    return;
  }
  if (routeKey === 'POST /__local/refresh') {
    const at = new URL(request.url ?? '/', 'http://local.invalid').searchParams.get('at');
    const atEpochMs = at === null ? undefined : Date.parse(at);
    if (atEpochMs !== undefined && Number.isNaN(atEpochMs)) {
      sendJson(response, 400, { error: 'invalid_at', message: 'at must be an ISO-8601 instant, e.g. 2026-12-01T09:00:00Z' });
      return;
    }
    sendJson(response, 200, await context.runRefresh(atEpochMs));
    return;
  }
  if (routeKey === 'GET /') {
    sendHtml(response, 200, landingPage(context.publicUrl, context.fakeEcwid !== undefined));
    return;
  }
  sendJson(response, 404, { message: 'Not Found' });
}

/** What the local inspection route shows of an installation: its state, never a token. */
export function describeInstallation(installation: Installation) {
  const iso = (epochSeconds: number | undefined) =>
    epochSeconds === undefined ? null : new Date(epochSeconds * 1000).toISOString();
  return {
    storeId: installation.storeId,
    status: installation.status,
    statusReason: installation.statusReason ?? null,
    scope: installation.scope,
    installedAt: iso(installation.installedAtEpochSeconds),
    expiresAt: iso(installation.expiresAtEpochSeconds),
    lastRefreshedAt: iso(installation.lastRefreshedAtEpochSeconds),
    lastVerifiedAt: iso(installation.lastVerifiedAtEpochSeconds),
    nextCheckAt: iso(installation.nextCheckAtEpochSeconds),
    failureCount: installation.failureCount ?? 0,
  };
}

/** A clock running at real speed, offset from another. */
function shiftedClock(base: Clock, offsetMs: number): Clock {
  return { nowEpochMs: () => base.nowEpochMs() + offsetMs, sleep: (durationMs) => base.sleep(durationMs) };
}

function landingPage(publicUrl: string, builtInFake: boolean): string {
  return renderPage({
    title: 'Ecwid app authorization: local stack',
    paragraphs: [
      builtInFake
        ? 'Connect a store to start an app-initiated install: the built-in fake Ecwid shows its consent page, and an approved install is stored in the local database.'
        : 'Connect a store to start an app-initiated install with the OAuth server you configured.',
      'The list of installations shows what is stored for each store, never its token.',
    ],
    links: [
      { href: `${publicUrl}/authorize`, label: 'Connect a store' },
      ...(builtInFake
        ? [{ href: `${publicUrl}${FAKE_ECWID_PATH}/app-market/install?store_id=1003`, label: 'Simulate an App Market install' }]
        : []),
      { href: `${publicUrl}/__local/installations`, label: 'Stored installations' },
    ],
  });
}

async function listen(port: number): Promise<Server[]> {
  const primary = createServer();
  await new Promise<void>((resolve, reject) => {
    primary.once('error', reject);
    primary.listen(port, '127.0.0.1', () => resolve());
  });
  if (port === 0) return [primary];
  // Browsers may resolve localhost to ::1 first; answer there too when the machine has IPv6.
  const secondary = createServer();
  const ipv6 = await new Promise<boolean>((resolve) => {
    secondary.once('error', () => resolve(false));
    secondary.listen(port, '::1', () => resolve(true));
  });
  return ipv6 ? [primary, secondary] : [primary];
}

async function closeServers(servers: Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
}
