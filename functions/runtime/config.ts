import { DEFAULT_CHECK_SCHEDULE, type CheckSchedulePolicy } from '../core/check-schedule';
import { ConfigurationError } from '../core/errors';

/** Everything the functions need to know about their deployment, read once from the environment. */
export interface AppConfig {
  tableName: string;
  /** Name or ARN of the Secrets Manager secret holding the client secret. */
  clientSecretId: string;
  /** ARN (or id, or alias) of the KMS key that wraps every store's token data key. */
  tokenKeyId: string;
  clientId: string;
  /** The public origin of the API (`https://auth.example.com`); routes hang below it. */
  publicUrl: string;
  /** `{publicUrl}/callback`: pinned, and sent identically in the authorize and the token request. */
  redirectUri: string;
  /** `{publicUrl}/authorize`: where "start again" links point. */
  startUrl: string;
  ecwidOAuthUrl: string;
  ecwidApiUrl: string;
  scopes: string[];
  /** Where a completed install is sent (with `store_id`); a built-in page when absent. */
  successUrl: string | undefined;
  appMarketInstalls: boolean;
  stateLifetimeSeconds: number;
  tokenRequestTimeoutMs: number;
  secretCacheTtlMs: number;
  checkSchedule: CheckSchedulePolicy;
  /** How many installations the scheduled job handles at once. */
  refreshConcurrency: number;
  /** After this long without a successful check, an installation needs attention. */
  failureBudgetSeconds: number;
}

type Environment = Record<string, string | undefined>;

/** Every environment variable the functions read, with its default where it has one. */
export const ENVIRONMENT_VARIABLES = {
  TABLE_NAME: undefined,
  CLIENT_SECRET_ID: undefined,
  TOKEN_KEY_ID: undefined,
  ECWID_CLIENT_ID: undefined,
  PUBLIC_URL: undefined,
  ECWID_OAUTH_URL: 'https://my.ecwid.com',
  ECWID_API_URL: 'https://app.ecwid.com',
  ECWID_SCOPES: 'read_store_profile',
  SUCCESS_URL: '',
  APP_MARKET_INSTALLS: 'true',
  STATE_TTL_SECONDS: '600',
  TOKEN_REQUEST_TIMEOUT_MS: '8000',
  SECRET_CACHE_TTL_SECONDS: '300',
  REFRESH_CONCURRENCY: '16',
  REFRESH_MARGIN_SECONDS: '900',
  VERIFY_INTERVAL_SECONDS: '86400',
  FAILURE_BUDGET_SECONDS: '259200',
} as const satisfies Record<string, string | undefined>;

type VariableName = keyof typeof ENVIRONMENT_VARIABLES;

/** An Ecwid scope name; `ECWID_SCOPES` separates them with spaces. */
export const SCOPE_PATTERN = /^[a-z][a-z0-9_]*$/;
/** What an Ecwid client id looks like. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Reads and validates the configuration. Every problem is reported at once, by variable name
 * (never by value), so one failed cold start tells an operator everything to fix.
 *
 * @throws ConfigurationError listing every missing or invalid variable.
 */
export function readConfig(environment: Environment = process.env): AppConfig {
  const problems: string[] = [];
  const read = (name: VariableName): string => {
    const value = environment[name]?.trim();
    if (value !== undefined && value !== '') return value;
    const fallback = ENVIRONMENT_VARIABLES[name];
    if (fallback === undefined) problems.push(`${name} is required`);
    return fallback ?? '';
  };
  /** A base URL paths are appended to (no query, no fragment, no trailing slash), or a whole URL. */
  const url = (name: VariableName, kind: 'base' | 'whole' = 'base'): string => {
    const value = read(name);
    // Empty: either optional, or already reported as required.
    if (value === '') return '';
    if (!isHttpUrl(value)) {
      problems.push(`${name} must be an absolute https URL (http only for localhost)`);
    } else if (kind === 'base' && /[?#]/.test(value)) {
      problems.push(`${name} must not have a query or a fragment: paths are appended to it`);
    }
    return kind === 'base' ? value.replace(/\/+$/, '') : value;
  };
  const positiveInteger = (name: VariableName): number => {
    const value = Number(read(name));
    if (!Number.isSafeInteger(value) || value <= 0) problems.push(`${name} must be a positive integer`);
    return value;
  };

  const clientId = read('ECWID_CLIENT_ID');
  if (clientId !== '' && !CLIENT_ID_PATTERN.test(clientId)) problems.push('ECWID_CLIENT_ID has invalid characters');
  const scopes = read('ECWID_SCOPES').split(/\s+/).filter(Boolean);
  if (scopes.length === 0 || !scopes.every((scope) => SCOPE_PATTERN.test(scope))) {
    problems.push('ECWID_SCOPES must be space-separated scope names');
  }
  const appMarket = read('APP_MARKET_INSTALLS').toLowerCase();
  if (appMarket !== 'true' && appMarket !== 'false') problems.push('APP_MARKET_INSTALLS must be true or false');

  const publicUrl = url('PUBLIC_URL');
  const successUrl = url('SUCCESS_URL', 'whole');
  const config: AppConfig = {
    tableName: read('TABLE_NAME'),
    clientSecretId: read('CLIENT_SECRET_ID'),
    tokenKeyId: read('TOKEN_KEY_ID'),
    clientId,
    publicUrl,
    redirectUri: `${publicUrl}/callback`,
    startUrl: `${publicUrl}/authorize`,
    ecwidOAuthUrl: url('ECWID_OAUTH_URL'),
    ecwidApiUrl: url('ECWID_API_URL'),
    scopes,
    successUrl: successUrl === '' ? undefined : successUrl,
    appMarketInstalls: appMarket === 'true',
    stateLifetimeSeconds: positiveInteger('STATE_TTL_SECONDS'),
    tokenRequestTimeoutMs: positiveInteger('TOKEN_REQUEST_TIMEOUT_MS'),
    secretCacheTtlMs: positiveInteger('SECRET_CACHE_TTL_SECONDS') * 1000,
    checkSchedule: {
      ...DEFAULT_CHECK_SCHEDULE,
      refreshMarginSeconds: positiveInteger('REFRESH_MARGIN_SECONDS'),
      verifyIntervalSeconds: positiveInteger('VERIFY_INTERVAL_SECONDS'),
    },
    refreshConcurrency: positiveInteger('REFRESH_CONCURRENCY'),
    failureBudgetSeconds: positiveInteger('FAILURE_BUDGET_SECONDS'),
  };
  if (problems.length > 0) {
    throw new ConfigurationError(`invalid configuration: ${problems.join('; ')}`, {
      detail: { problems: problems.join('; ') },
    });
  }
  return config;
}

/** An https URL, or plain http to a loopback host (the local stack and its fakes). */
function isHttpUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}
