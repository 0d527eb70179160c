import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDbInstallationDirectory } from '../functions/adapters/dynamodb/installation-directory';
import { DynamoDbInstallationStore } from '../functions/adapters/dynamodb/installation-store';
import { DynamoTable } from '../functions/adapters/dynamodb/table';
import { KmsTokenVault } from '../functions/adapters/kms-token-vault';
import { composeAuthorize, readAuthorizeConfig } from '../functions/authorize/dependencies';
import { createAuthorizeHandler } from '../functions/authorize/handler';
import { composeApp, readAppConfig } from '../functions/app/dependencies';
import { createAppHandler } from '../functions/app/handler';
import { composeCallback, readCallbackConfig } from '../functions/callback/dependencies';
import { createCallbackHandler } from '../functions/callback/handler';
import { composeCredentials, readCredentialsConfig } from '../functions/credentials/dependencies';
import { createCredentialsHandler } from '../functions/credentials/handler';
import { CREDENTIALS_ROUTES, routeKeyOf } from '../functions/credentials/routes';
import type { Clock, RandomSource, TokenVault } from '../functions/core/ports';
import type { RefreshRunSummary } from '../functions/core/refresh/refresh-run';
import { composeRefresh, readRefreshConfig } from '../functions/refresh/dependencies';
import { createRefreshHandler } from '../functions/refresh/handler';
import { composeJwks, readJwksConfig } from '../functions/jwks/dependencies';
import { createJwksHandler } from '../functions/jwks/handler';
import { composeWebhooks, readWebhooksConfig } from '../functions/webhooks/dependencies';
import { createWebhooksHandler } from '../functions/webhooks/handler';
import { clientConfig, type AwsClientOptions } from '../functions/runtime/aws-clients';
import { basics, rootLogger, type CompositionOverrides } from '../functions/runtime/composition';
import { deploymentUrls } from '../functions/runtime/config';
import type { Environment } from '../functions/runtime/environment';
import type { AppLogger } from '../functions/runtime/logger';
import { invokeAsApiGateway, lambdaContext, type HttpLambda } from './api-gateway';
import { EventBridgeStub } from './eventbridge-stub';
import { ensureLocalTable, LOCAL_CREDENTIALS, LOCAL_REGION, startDynalite, type LocalDynamoDb } from './dynalite-server';
import { createSessionVerifier } from '../client/sessions';
import { LOCAL_APP_UI_PATH } from './app-ui';
import { FakeEcwid } from './fake-ecwid';
import { sendJson } from './http-util';
import { KmsStub } from './kms-stub';
import { keepKmsKeys, persistedKmsKeys } from './persisted-kms-keys';
import { closeServers, listen } from './servers';
import { FAKE_ECWID_PATH, serveLocalRoute, type LocalRouteContext } from './local-routes';
import { matchRoute } from './route-templates';
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
  /** The chance, from 0 to 1, that the built-in fake delivers a webhook twice (as Ecwid sometimes does); default 0. */
  webhookDuplicateProbability?: number;
  /** How long an uninstalled store's tombstone is kept (`UNINSTALL_RETENTION_DAYS`). */
  uninstallRetentionDays?: number;
  /** How long the functions cache the client secret (`SECRET_CACHE_TTL_SECONDS`); tests of a rotation shorten it. */
  secretCacheTtlSeconds?: number;
  /**
   * Where `/app` sends the merchant with the session (`APP_UI_URL`): by default the local demo of an
   * app UI (`/__local/app-ui`), which verifies the session and shows its claims; `false` for the
   * built-in page.
   */
  appUiUrl?: string | false;
  /** The origins that may frame `/app` (`FRAME_ANCESTORS`); by default the stack's own origin, where the fake control panel is. */
  frameAncestors?: string[];
  log?: AppLogger;
  clock?: Clock;
  random?: RandomSource;
}

/** Where the local stack's routes and its Ecwid are. */
export interface LocalStackConfig {
  publicUrl: string;
  redirectUri: string;
  startUrl: string;
  clientId: string;
  ecwidOAuthUrl: string;
  ecwidApiUrl: string;
}

export interface LocalStack {
  url: string;
  config: LocalStackConfig;
  /** The built-in fake Ecwid, unless the stack was pointed at another server. */
  fakeEcwid: FakeEcwid | undefined;
  secretsManager: SecretsManagerStub;
  kms: KmsStub;
  dynamoDb: LocalDynamoDb;
  /** The installations in the local table, read as the functions read them, for inspection. */
  store: DynamoDbInstallationStore;
  /** Every installation item, tombstones included, as operators see them. */
  directory: DynamoDbInstallationDirectory;
  /** The local EventBridge: every lifecycle event published, in order. */
  eventBridge: EventBridgeStub;
  /** `{url}/webhooks`: where the fake Ecwid delivers webhooks. */
  webhookUrl: string;
  /** The same token vault the functions use: tests open stored tokens with it. */
  vault: TokenVault;
  /** Runs the scheduled refresh once, as EventBridge would, optionally as if the clock read `atEpochMs`. */
  runRefresh(atEpochMs?: number): Promise<RefreshRunSummary>;
  close(): Promise<void>;
}

/** How long a local refresh run may take, like the deployed function's timeout. */
const LOCAL_REFRESH_TIMEOUT_MS = 5 * 60 * 1000;

export const LOCAL_TABLE_NAME = 'ecwid-app-auth-local';
export const LOCAL_SECRET_NAME = 'ecwid-app-auth/client-secret';
export const LOCAL_EVENT_BUS_NAME = 'ecwid-app-auth-local';
export { LOCAL_APP_UI_PATH } from './app-ui';

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

    // With a persisted database, the stub's keys are kept next to it: the stored data keys open again.
    const kms = new KmsStub(undefined, options.dataDirectory === undefined ? undefined : persistedKmsKeys(options.dataDirectory));
    if (options.dataDirectory !== undefined) keepKmsKeys(options.dataDirectory, kms.exportKeys());
    const kmsEndpoint = await kms.listen();
    cleanups.push(() => kms.close());

    const eventBridge = new EventBridgeStub(LOCAL_EVENT_BUS_NAME);
    const eventBridgeEndpoint = await eventBridge.listen();
    cleanups.push(() => eventBridge.close());

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
          webhookUrl: `${publicUrl}/webhooks`,
          appUrl: `${publicUrl}/app`,
        })
      : undefined;
    if (fakeEcwid !== undefined) fakeEcwid.webhooks.duplicateProbability = options.webhookDuplicateProbability ?? 0;
    cleanups.push(async () => fakeEcwid?.releaseHeldRequests());
    if (fakeEcwid !== undefined && options.fakeTokenLifetimeSeconds !== undefined) {
      fakeEcwid.tokenLifetimeSeconds = options.fakeTokenLifetimeSeconds;
    }

    const ecwidOAuthUrl = options.ecwidOAuthUrl ?? `${publicUrl}${FAKE_ECWID_PATH}`;
    const ecwidApiUrl = options.ecwidApiUrl ?? `${publicUrl}${FAKE_ECWID_PATH}`;
    // One environment for every function, as the stack would set it; each reads only its own variables.
    const environment: Environment = {
      TABLE_NAME: LOCAL_TABLE_NAME,
      CLIENT_SECRET_ID: LOCAL_SECRET_NAME,
      TOKEN_KEY_ID: kms.keyArn,
      SIGNING_KEY_ID: kms.signingKeyArn,
      ECWID_CLIENT_ID: options.clientId,
      PUBLIC_URL: publicUrl,
      ECWID_OAUTH_URL: ecwidOAuthUrl,
      ECWID_API_URL: ecwidApiUrl,
      ECWID_SCOPES: options.scopes.join(' '),
      SUCCESS_URL: options.successUrl,
      APP_MARKET_INSTALLS: options.appMarketInstalls === false ? 'false' : 'true',
      STATE_TTL_SECONDS: options.stateLifetimeSeconds?.toString(),
      TOKEN_REQUEST_TIMEOUT_MS: options.tokenRequestTimeoutMs?.toString(),
      EVENT_BUS_NAME: LOCAL_EVENT_BUS_NAME,
      UNINSTALL_RETENTION_DAYS: options.uninstallRetentionDays?.toString(),
      SECRET_CACHE_TTL_SECONDS: options.secretCacheTtlSeconds?.toString(),
      APP_UI_URL: options.appUiUrl === false ? undefined : (options.appUiUrl ?? `${publicUrl}${LOCAL_APP_UI_PATH}`),
      FRAME_ANCESTORS: (options.frameAncestors ?? [new URL(publicUrl).origin]).join(' '),
    };
    const aws: AwsClientOptions = {
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      dynamoDbEndpoint: dynamoDb.endpoint,
      secretsManagerEndpoint,
      kmsEndpoint,
      eventBridgeEndpoint,
    };
    const overrides: CompositionOverrides = {
      aws,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(options.log === undefined ? {} : { log: options.log }),
    };
    const { clock } = basics(overrides);
    const log = options.log ?? rootLogger;
    // Read first: a wrong setting stops the stack before it serves anything.
    const authorize = composeAuthorize(readAuthorizeConfig(environment), overrides);
    const callback = composeCallback(readCallbackConfig(environment), overrides);
    const refresh = composeRefresh(readRefreshConfig(environment), overrides);
    const webhooks = composeWebhooks(readWebhooksConfig(environment), overrides);
    const credentials = composeCredentials(readCredentialsConfig(environment), overrides);
    const appPage = composeApp(readAppConfig(environment), overrides);
    const jwks = composeJwks(readJwksConfig(environment), overrides);
    const runRefresh = (atEpochMs?: number) => {
      const runClock = atEpochMs === undefined ? clock : shiftedClock(clock, atEpochMs - clock.nowEpochMs());
      const startedAt = Date.now();
      return createRefreshHandler(() => ({ ...refresh, clock: runClock }), log)(
        { source: 'local' },
        lambdaContext('refresh', () => LOCAL_REFRESH_TIMEOUT_MS - (Date.now() - startedAt)),
      );
    };
    // The credentials routes are served without IAM here: the local stack listens on loopback only.
    const credentialsFunction = { functionName: 'credentials', handler: createCredentialsHandler(() => credentials, log) };
    const routes: Record<string, { functionName: string; handler: HttpLambda }> = {
      'GET /authorize': { functionName: 'authorize', handler: createAuthorizeHandler(() => authorize, log) },
      'GET /callback': { functionName: 'callback', handler: createCallbackHandler(() => callback, log) },
      'POST /webhooks': { functionName: 'webhooks', handler: createWebhooksHandler(() => webhooks, log) },
      'GET /app': { functionName: 'app', handler: createAppHandler(() => appPage, log) },
      'GET /.well-known/jwks.json': { functionName: 'jwks', handler: createJwksHandler(() => jwks, log) },
      [routeKeyOf(CREDENTIALS_ROUTES.read)]: credentialsFunction,
      [routeKeyOf(CREDENTIALS_ROUTES.reportRejection)]: credentialsFunction,
    };
    const table = new DynamoTable(new DynamoDBClient(clientConfig(aws, aws.dynamoDbEndpoint)), LOCAL_TABLE_NAME);
    const store = new DynamoDbInstallationStore(table);
    const directory = new DynamoDbInstallationDirectory(table, clock);
    const vault = new KmsTokenVault(new KMSClient(clientConfig(aws, aws.kmsEndpoint)), kms.keyArn);
    // The keys over HTTP from this very process, at its loopback address: PUBLIC_URL may be a tunnel.
    const jwksUrl = `http://127.0.0.1:${port}/.well-known/jwks.json`;
    const sessionVerifier = createSessionVerifier({ issuer: publicUrl, audience: options.clientId, jwksUrl });

    for (const server of servers) {
      server.on('request', (request: IncomingMessage, response: ServerResponse) => {
        route(request, response, { routes, fakeEcwid, directory, eventBridge, publicUrl, runRefresh, scopes: options.scopes.join(' '), sessionVerifier }).catch(() => {
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
      config: { ...deploymentUrls(publicUrl), clientId: options.clientId, ecwidOAuthUrl, ecwidApiUrl },
      fakeEcwid,
      secretsManager,
      kms,
      dynamoDb,
      store,
      directory,
      eventBridge,
      webhookUrl: `${publicUrl}/webhooks`,
      vault,
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
  context: LocalRouteContext & { routes: Record<string, { functionName: string; handler: HttpLambda }> },
): Promise<void> {
  const path = (request.url ?? '/').split('?')[0]!;
  const routeKey = `${request.method ?? 'GET'} ${path}`;
  const matched = matchRoute(context.routes, request.method ?? 'GET', path);
  if (matched !== undefined) {
    await invokeAsApiGateway(matched.route.handler, matched.routeKey, request, response, {
      functionName: matched.route.functionName,
      ...(matched.pathParameters === undefined ? {} : { pathParameters: matched.pathParameters }),
    });
    return;
  }
  if (context.fakeEcwid !== undefined && (await context.fakeEcwid.handle(request, response))) return;
  if (await serveLocalRoute(routeKey, request, response, context)) return;
  sendJson(response, 404, { message: 'Not Found' });
}

/** A clock running at real speed, offset from another. */
function shiftedClock(base: Clock, offsetMs: number): Clock {
  return { nowEpochMs: () => base.nowEpochMs() + offsetMs, sleep: (durationMs) => base.sleep(durationMs) };
}
