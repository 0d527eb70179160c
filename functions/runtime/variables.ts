/**
 * The environment variables the functions read: each one's default, and which function reads
 * which. The CDK construct sets exactly a function's own variables, from these lists, so a
 * function that starts reading a variable it is not given fails its type check, not its cold start.
 * No imports: the CDK app reads this without loading any SDK.
 */

/** Every variable, with its default; `undefined` marks a required one. */
export const VARIABLE_DEFAULTS = {
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
  EDGE_ORIGIN_SECRET: '',
  /** The EventBridge bus lifecycle events are published to. */
  EVENT_BUS_NAME: undefined,
  /** How long an uninstalled store's tombstone is kept before DynamoDB deletes it. */
  UNINSTALL_RETENTION_DAYS: '30',
  /** The asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) that signs sessions and install receipts. */
  SIGNING_KEY_ID: undefined,
  /** Where `/app` sends the merchant with `#session=...`; empty: a built-in page. */
  APP_UI_URL: '',
  /** The origins that may frame `/app` (CSP `frame-ancestors`), space-separated: Ecwid's control panel. */
  FRAME_ANCESTORS: 'https://my.ecwid.com',
} as const satisfies Record<string, string | undefined>;

export type VariableName = keyof typeof VARIABLE_DEFAULTS;

/** The variables each function reads, and no others. */
export const FUNCTION_VARIABLES = {
  authorize: ['ECWID_CLIENT_ID', 'PUBLIC_URL', 'TABLE_NAME', 'ECWID_OAUTH_URL', 'ECWID_SCOPES', 'STATE_TTL_SECONDS', 'EDGE_ORIGIN_SECRET'],
  callback: [
    'ECWID_CLIENT_ID',
    'PUBLIC_URL',
    'TABLE_NAME',
    'CLIENT_SECRET_ID',
    'TOKEN_KEY_ID',
    'ECWID_OAUTH_URL',
    'SUCCESS_URL',
    'APP_MARKET_INSTALLS',
    'TOKEN_REQUEST_TIMEOUT_MS',
    'SECRET_CACHE_TTL_SECONDS',
    'REFRESH_MARGIN_SECONDS',
    'VERIFY_INTERVAL_SECONDS',
    'EDGE_ORIGIN_SECRET',
    'EVENT_BUS_NAME',
    'ECWID_SCOPES',
    'SIGNING_KEY_ID',
  ],
  refresh: [
    'ECWID_CLIENT_ID',
    'TABLE_NAME',
    'CLIENT_SECRET_ID',
    'TOKEN_KEY_ID',
    'ECWID_OAUTH_URL',
    'ECWID_API_URL',
    'TOKEN_REQUEST_TIMEOUT_MS',
    'SECRET_CACHE_TTL_SECONDS',
    'REFRESH_CONCURRENCY',
    'REFRESH_MARGIN_SECONDS',
    'VERIFY_INTERVAL_SECONDS',
    'FAILURE_BUDGET_SECONDS',
    'EVENT_BUS_NAME',
    'UNINSTALL_RETENTION_DAYS',
    'ECWID_SCOPES',
  ],
  webhooks: [
    'TABLE_NAME',
    'CLIENT_SECRET_ID',
    'TOKEN_KEY_ID',
    'ECWID_API_URL',
    'SECRET_CACHE_TTL_SECONDS',
    'EVENT_BUS_NAME',
    'UNINSTALL_RETENTION_DAYS',
    'EDGE_ORIGIN_SECRET',
  ],
  credentials: [
    'ECWID_CLIENT_ID',
    'TABLE_NAME',
    'CLIENT_SECRET_ID',
    'TOKEN_KEY_ID',
    'ECWID_OAUTH_URL',
    'ECWID_API_URL',
    'TOKEN_REQUEST_TIMEOUT_MS',
    'SECRET_CACHE_TTL_SECONDS',
    'REFRESH_MARGIN_SECONDS',
    'VERIFY_INTERVAL_SECONDS',
    'FAILURE_BUDGET_SECONDS',
    'EVENT_BUS_NAME',
    'ECWID_SCOPES',
  ],
  app: [
    'ECWID_CLIENT_ID',
    'PUBLIC_URL',
    'TABLE_NAME',
    'CLIENT_SECRET_ID',
    'TOKEN_KEY_ID',
    'SIGNING_KEY_ID',
    'ECWID_API_URL',
    'ECWID_SCOPES',
    'APP_UI_URL',
    'FRAME_ANCESTORS',
    'TOKEN_REQUEST_TIMEOUT_MS',
    'SECRET_CACHE_TTL_SECONDS',
    'REFRESH_MARGIN_SECONDS',
    'VERIFY_INTERVAL_SECONDS',
    'EDGE_ORIGIN_SECRET',
    'EVENT_BUS_NAME',
  ],
  jwks: ['SIGNING_KEY_ID', 'EDGE_ORIGIN_SECRET'],
} as const satisfies Record<string, readonly VariableName[]>;

export type FunctionName = keyof typeof FUNCTION_VARIABLES;

/** The variables function `F` reads. */
export type VariablesOf<F extends FunctionName> = (typeof FUNCTION_VARIABLES)[F][number];
