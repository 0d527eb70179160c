/**
 * `npm start`: the whole install flow on this machine, no AWS account, no network.
 *
 * Configuration (environment; every name is documented in the README):
 *   PORT, PUBLIC_URL, ECWID_OAUTH_URL, ECWID_API_URL, ECWID_CLIENT_ID, ECWID_CLIENT_SECRET,
 *   ECWID_SCOPES, SUCCESS_URL, APP_MARKET_INSTALLS, LOCAL_DATA_DIR (or --data-dir <folder>),
 *   LOCAL_REFRESH_INTERVAL_SECONDS, FAKE_ECWID_TOKEN_LIFETIME_SECONDS, UNINSTALL_RETENTION_DAYS.
 */
import { rootLogger } from '../functions/runtime/composition';
import { FAKE_ECWID_PATH } from './local-routes';
import { startLocalStack } from './stack';

async function main(): Promise<void> {
  const env = process.env;
  // This machine runs Node 20; the SDK's notice about its future Node 22 requirement is noise here.
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const dataDirectory = argument('--data-dir') ?? env.LOCAL_DATA_DIR;
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('PORT must be a port number');

  const stack = await startLocalStack({
    port,
    ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
    ...(env.ECWID_OAUTH_URL ? { ecwidOAuthUrl: env.ECWID_OAUTH_URL } : {}),
    ...(env.ECWID_API_URL ? { ecwidApiUrl: env.ECWID_API_URL } : {}),
    clientId: env.ECWID_CLIENT_ID || 'local-ecwid-app',
    clientSecret: env.ECWID_CLIENT_SECRET || 'local-client-secret',
    scopes: (env.ECWID_SCOPES || 'read_store_profile read_catalog').split(/\s+/).filter(Boolean),
    ...(env.SUCCESS_URL ? { successUrl: env.SUCCESS_URL } : {}),
    ...(env.APP_MARKET_INSTALLS ? { appMarketInstalls: env.APP_MARKET_INSTALLS !== 'false' } : {}),
    ...(dataDirectory ? { dataDirectory } : {}),
    refreshIntervalSeconds: nonNegativeInteger('LOCAL_REFRESH_INTERVAL_SECONDS', env.LOCAL_REFRESH_INTERVAL_SECONDS ?? '60'),
    ...(env.FAKE_ECWID_TOKEN_LIFETIME_SECONDS
      ? { fakeTokenLifetimeSeconds: nonNegativeInteger('FAKE_ECWID_TOKEN_LIFETIME_SECONDS', env.FAKE_ECWID_TOKEN_LIFETIME_SECONDS) }
      : {}),
    // Ecwid delivers at least once: the fake sends some webhooks twice, to show they are acted on once.
    webhookDuplicateProbability: 0.3,
    ...(env.UNINSTALL_RETENTION_DAYS ? { uninstallRetentionDays: Number(env.UNINSTALL_RETENTION_DAYS) } : {}),
    log: rootLogger.child({ stage: 'local' }),
  });

  const lines = [
    '',
    `  Local stack ready. Open ${stack.url}/ in a browser.`,
    '',
    `  Start an install:        ${stack.url}/authorize`,
    `  Redirect URI (pinned):   ${stack.config.redirectUri}`,
    `  Stored installations:    ${stack.url}/__local/installations   (one store: /__local/installations/<storeId>)`,
    `  Webhook URL:             ${stack.webhookUrl}`,
    `  App URL (iframe):        ${stack.url}/app   (Ecwid frames it with ?payload=...; sessions verify against the JWKS below)`,
    `  JWKS:                    ${stack.url}/.well-known/jwks.json`,
    ...(stack.fakeEcwid
      ? [`  Open the app as Ecwid:   ${stack.url}${FAKE_ECWID_PATH}/control-panel?store_id=1003   (an installed store; the start page links each one)`]
      : []),
    `  Published events:        ${stack.url}/__local/events`,
    `  Ops CLI:                 npm run ops -- stores --local ${stack.url}`,
    `  A store's credentials:   curl ${stack.url}/stores/1003/credentials   (no IAM here: loopback only; deployed, SigV4)`,
    `  Report a refused token:  curl -X POST ${stack.url}/stores/1003/credentials/rejected`,
    `  Ecwid REST API:          ${stack.config.ecwidApiUrl}/api/v3/{storeId}/products   (rate-limit it: curl -X POST '${stack.url}/__local/rate-limit?retry_after=5')`,
    `  List products (example): npm run example:list-products -- --store 1003`,
    `  Run the refresh once:    curl -X POST '${stack.url}/__local/refresh'   (add ?at=2026-12-24T09:00:00Z to run as if it were then)`,
    `  Scheduled refresh:       ${refreshLine(env.LOCAL_REFRESH_INTERVAL_SECONDS ?? '60')}`,
    `  Ecwid OAuth server:      ${stack.config.ecwidOAuthUrl}${stack.fakeEcwid ? '  (built-in fake)' : ''}`,
    `  Database:                ${dataDirectory ? `dynalite, persisted in ${dataDirectory}` : 'dynalite, in memory'}`,
    '',
    '  Press Ctrl+C to stop.',
    '',
  ];
  process.stderr.write(lines.join('\n'));

  const stop = () => {
    stack.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function refreshLine(intervalSeconds: string): string {
  return intervalSeconds === '0' ? 'off (LOCAL_REFRESH_INTERVAL_SECONDS=0)' : `every ${intervalSeconds} s (LOCAL_REFRESH_INTERVAL_SECONDS)`;
}

function nonNegativeInteger(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) throw new Error(`${name} must be a whole number of seconds`);
  return number;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

main().catch((error: unknown) => {
  process.stderr.write(`Could not start the local stack: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
