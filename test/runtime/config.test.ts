import { readAppConfig } from '../../functions/app/dependencies';
import { readAuthorizeConfig } from '../../functions/authorize/dependencies';
import { readCallbackConfig } from '../../functions/callback/dependencies';
import { ConfigurationError } from '../../functions/core/errors';
import { readRefreshConfig } from '../../functions/refresh/dependencies';
import { readWebhooksConfig } from '../../functions/webhooks/dependencies';
import { readVariables } from '../../functions/runtime/config';
import { FUNCTION_VARIABLES, VARIABLE_DEFAULTS, type VariableName } from '../../functions/runtime/variables';
import { TEST_ENVIRONMENT } from '../support/handler-harness';

const ALL_VARIABLES = Object.keys(VARIABLE_DEFAULTS) as VariableName[];

function problemsOf(environment: Record<string, string | undefined>, names: readonly VariableName[] = ALL_VARIABLES): string {
  try {
    readVariables(names, environment);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems.join('; ');
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('the functions\' configuration', () => {
  it('derives the pinned redirect URI and the start URL from the public URL', () => {
    const environment = { ...TEST_ENVIRONMENT, PUBLIC_URL: 'https://auth.example.com/' };
    expect(readAuthorizeConfig(environment).beginInstall.redirectUri).toBe('https://auth.example.com/callback');
    expect(readCallbackConfig(environment).completeInstall.redirectUri).toBe('https://auth.example.com/callback');
    expect(readCallbackConfig(environment).startUrl).toBe('https://auth.example.com/authorize');
  });

  it('applies the documented defaults', () => {
    const minimal = {
      TABLE_NAME: 't',
      CLIENT_SECRET_ID: 's',
      TOKEN_KEY_ID: 'k',
      SIGNING_KEY_ID: 'sk',
      ECWID_CLIENT_ID: 'c',
      PUBLIC_URL: 'https://auth.example.com',
      EVENT_BUS_NAME: 'b',
    };
    expect(readAuthorizeConfig(minimal).beginInstall).toMatchObject({
      ecwidOAuthUrl: 'https://my.ecwid.com',
      scopes: ['read_store_profile'],
      stateLifetimeSeconds: 600,
    });
    expect(readCallbackConfig(minimal)).toMatchObject({
      successUrl: undefined,
      tokenRequestTimeoutMs: 8000,
      secretCacheTtlMs: 300_000,
      completeInstall: expect.objectContaining({
        appMarketInstalls: true,
        checkSchedule: expect.objectContaining({ refreshMarginSeconds: 900, verifyIntervalSeconds: 86_400 }),
      }),
    });
    expect(readRefreshConfig(minimal)).toMatchObject({
      ecwidApiUrl: 'https://app.ecwid.com',
      job: expect.objectContaining({ concurrency: 16, failureBudgetSeconds: 259_200, uninstallRetentionSeconds: 30 * 86_400 }),
    });
    expect(readWebhooksConfig(minimal)).toMatchObject({
      ecwidApiUrl: 'https://app.ecwid.com',
      eventBusName: 'b',
      webhook: expect.objectContaining({ maxEventAgeSeconds: 26 * 3600, maxFutureSkewSeconds: 300, uninstallRetentionSeconds: 30 * 86_400 }),
    });
    expect(readWebhooksConfig(minimal).webhook.eventRetentionSeconds).toBeGreaterThanOrEqual(72 * 3600);
    expect(readAppConfig(minimal)).toMatchObject({
      appUiUrl: undefined,
      frameAncestors: ['https://my.ecwid.com'],
      openApp: expect.objectContaining({ configuredScopes: ['read_store_profile'], sessionLifetimeSeconds: 900 }),
    });
  });

  it('reads APP_UI_URL (no fragment: the session goes there) and FRAME_ANCESTORS (origins only) for the app function', () => {
    const base = { ...TEST_ENVIRONMENT };
    const app = (overrides: Record<string, string>) => readAppConfig({ ...base, ...overrides });
    expect(app({ APP_UI_URL: 'https://app.example.com/ui?x=1', FRAME_ANCESTORS: 'https://my.ecwid.com  https://*.ecwid.com' })).toMatchObject({
      appUiUrl: 'https://app.example.com/ui?x=1',
      frameAncestors: ['https://my.ecwid.com', 'https://*.ecwid.com'],
    });
    expect(problemsOf({ ...base, APP_UI_URL: 'https://app.example.com/ui#there' }, FUNCTION_VARIABLES.app)).toMatch(/^APP_UI_URL must not have a fragment/);
    expect(problemsOf({ ...base, APP_UI_URL: 'http://app.example.com/ui' }, FUNCTION_VARIABLES.app)).toMatch(/^APP_UI_URL must be an absolute https URL/);
    for (const value of ['https://my.ecwid.com/app', "'self'", 'http://evil.example', '*', 'https://my.ecwid.com;script-src *', 'https://*.com', 'https://*.co.uk', 'https://my.ecwid.com:99999']) {
      expect(problemsOf({ ...base, FRAME_ANCESTORS: value }, FUNCTION_VARIABLES.app)).toMatch(/^FRAME_ANCESTORS must be space-separated origins/);
    }
  });

  it('reads the uninstall retention in whole days, from 1 to 3650, with the rule the CDK props share', () => {
    const base = { ...TEST_ENVIRONMENT };
    expect(readWebhooksConfig({ ...base, UNINSTALL_RETENTION_DAYS: '7' }).webhook.uninstallRetentionSeconds).toBe(7 * 86_400);
    for (const value of ['0', '-1', '2.5', 'soon', '3651']) {
      expect(problemsOf({ ...base, UNINSTALL_RETENTION_DAYS: value }, FUNCTION_VARIABLES.webhooks)).toMatch(/^UNINSTALL_RETENTION_DAYS must be/);
    }
  });

  it('gives the webhooks function no public URL, no client id and no OAuth origin: it needs none', () => {
    expect(FUNCTION_VARIABLES.webhooks).not.toContain('PUBLIC_URL');
    expect(FUNCTION_VARIABLES.webhooks).not.toContain('ECWID_OAUTH_URL');
    expect(problemsOf({}, FUNCTION_VARIABLES.webhooks)).toBe(
      'TABLE_NAME is required; CLIENT_SECRET_ID is required; TOKEN_KEY_ID is required; EVENT_BUS_NAME is required',
    );
  });

  it('reports every missing variable at once, by name only', () => {
    expect(problemsOf({})).toBe(
      'TABLE_NAME is required; CLIENT_SECRET_ID is required; TOKEN_KEY_ID is required; ECWID_CLIENT_ID is required; ' +
        'PUBLIC_URL is required; EVENT_BUS_NAME is required; SIGNING_KEY_ID is required',
    );
  });

  it('reads only the variables a function uses: authorize needs no secret and no key', () => {
    expect(problemsOf({}, FUNCTION_VARIABLES.authorize)).toBe('ECWID_CLIENT_ID is required; PUBLIC_URL is required; TABLE_NAME is required');
    expect(() => readAuthorizeConfig({ TABLE_NAME: 't', ECWID_CLIENT_ID: 'c', PUBLIC_URL: 'https://auth.example.com' })).not.toThrow();
    expect(problemsOf({}, FUNCTION_VARIABLES.refresh)).not.toContain('PUBLIC_URL');
  });

  it.each([
    ['plain http to a remote host', { PUBLIC_URL: 'http://auth.example.com' }, 'PUBLIC_URL'],
    ['a relative success URL', { SUCCESS_URL: '/welcome' }, 'SUCCESS_URL'],
    ['a public URL with a query', { PUBLIC_URL: 'https://auth.example.com/?a=b' }, 'PUBLIC_URL must not have a query'],
    ['an OAuth URL with a fragment', { ECWID_OAUTH_URL: 'https://my.ecwid.com/#x' }, 'ECWID_OAUTH_URL must not have a query'],
    ['an unknown switch value', { APP_MARKET_INSTALLS: 'maybe' }, 'APP_MARKET_INSTALLS'],
    ['a comma-separated scope list', { ECWID_SCOPES: 'read_catalog,update_catalog' }, 'ECWID_SCOPES'],
    ['a zero lifetime', { STATE_TTL_SECONDS: '0' }, 'STATE_TTL_SECONDS'],
    ['a non-numeric timeout', { TOKEN_REQUEST_TIMEOUT_MS: 'fast' }, 'TOKEN_REQUEST_TIMEOUT_MS'],
    ['a token request longer than the callback can wait for and still store its outcome', { TOKEN_REQUEST_TIMEOUT_MS: '15001' }, 'TOKEN_REQUEST_TIMEOUT_MS must be at most 15000 ms'],
  ])('refuses %s', (_description, override, variable) => {
    expect(problemsOf({ ...TEST_ENVIRONMENT, ...override })).toContain(variable);
  });

  it('keeps a success URL whole, query and trailing slash included', () => {
    expect(readCallbackConfig({ ...TEST_ENVIRONMENT, SUCCESS_URL: 'https://app.example.com/welcome/?from=ecwid' }).successUrl).toBe(
      'https://app.example.com/welcome/?from=ecwid',
    );
  });

  it('accepts plain http for loopback hosts, for the local stack', () => {
    expect(readCallbackConfig({ ...TEST_ENVIRONMENT, PUBLIC_URL: 'http://localhost:3000' }).completeInstall.redirectUri).toBe(
      'http://localhost:3000/callback',
    );
  });

  it('never echoes a value in its report', () => {
    expect(problemsOf({ ...TEST_ENVIRONMENT, ECWID_CLIENT_ID: 'has spaces and <b>' })).toBe('ECWID_CLIENT_ID has invalid characters');
  });
});
