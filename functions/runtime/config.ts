import { ConfigurationError } from '../core/errors';
import { DEFAULT_CHECK_SCHEDULE, type CheckSchedulePolicy } from '../core/refresh/schedule';
import {
  clientIdProblem,
  normalizeBaseUrl,
  positiveIntegerProblem,
  appUiUrlProblem,
  frameAncestorsProblem,
  retentionDaysProblem,
  scopesProblem,
  splitOrigins,
  splitScopes,
  tokenRequestTimeoutProblem,
  urlProblem,
} from './setting-rules';
import { EDGE_ORIGIN_SECRET_MIN_LENGTH } from './edge-origin';
import type { Environment } from './environment';
import { VARIABLE_DEFAULTS, type VariableName } from './variables';

/** How one variable is read: its text (default applied) to a value, or a problem. */
type Reader<T> = (text: string) => { value: T; problem?: string };

const text: Reader<string> = (value) => ({ value });

const baseUrl: Reader<string> = (value) => ({
  value: normalizeBaseUrl(value),
  problem: urlProblem(value, { kind: 'base', allowLoopbackHttp: true }),
});

const optionalWholeUrl: Reader<string | undefined> = (value) =>
  value === '' ? { value: undefined } : { value, problem: urlProblem(value, { kind: 'whole', allowLoopbackHttp: true }) };

const positiveInteger: Reader<number> = (value) => {
  const number = Number(value);
  return { value: number, problem: positiveIntegerProblem(number) };
};

const flag: Reader<boolean> = (value) => {
  const normalized = value.toLowerCase();
  return { value: normalized === 'true', problem: normalized === 'true' || normalized === 'false' ? undefined : 'must be true or false' };
};

const READERS = {
  TABLE_NAME: text,
  CLIENT_SECRET_ID: text,
  TOKEN_KEY_ID: text,
  ECWID_CLIENT_ID: ((value) => ({ value, problem: clientIdProblem(value) === undefined ? undefined : 'has invalid characters' })) as Reader<string>,
  PUBLIC_URL: baseUrl,
  ECWID_OAUTH_URL: baseUrl,
  ECWID_API_URL: baseUrl,
  ECWID_SCOPES: ((value) => {
    const scopes = splitScopes(value);
    return { value: scopes, problem: scopesProblem(scopes) === undefined ? undefined : 'must be space-separated scope names' };
  }) as Reader<string[]>,
  SUCCESS_URL: optionalWholeUrl,
  APP_MARKET_INSTALLS: flag,
  STATE_TTL_SECONDS: positiveInteger,
  TOKEN_REQUEST_TIMEOUT_MS: ((value) => {
    const timeoutMs = Number(value);
    return { value: timeoutMs, problem: tokenRequestTimeoutProblem(timeoutMs) };
  }) as Reader<number>,
  SECRET_CACHE_TTL_SECONDS: positiveInteger,
  REFRESH_CONCURRENCY: positiveInteger,
  REFRESH_MARGIN_SECONDS: positiveInteger,
  VERIFY_INTERVAL_SECONDS: positiveInteger,
  FAILURE_BUDGET_SECONDS: positiveInteger,
  EDGE_ORIGIN_SECRET: ((value) =>
    value === ''
      ? { value: undefined }
      : { value, problem: value.length >= EDGE_ORIGIN_SECRET_MIN_LENGTH ? undefined : `must be at least ${EDGE_ORIGIN_SECRET_MIN_LENGTH} characters` }) as Reader<
    string | undefined
  >,
  EVENT_BUS_NAME: ((value) => ({
    value,
    problem: /^[A-Za-z0-9._\-/:]{1,1600}$/.test(value) ? undefined : 'must be an EventBridge bus name or ARN',
  })) as Reader<string>,
  UNINSTALL_RETENTION_DAYS: ((value) => {
    const days = Number(value);
    return { value: days, problem: retentionDaysProblem(days) };
  }) as Reader<number>,
  SIGNING_KEY_ID: text,
  APP_UI_URL: ((value) => (value === '' ? { value: undefined } : { value, problem: appUiUrlProblem(value) })) as Reader<string | undefined>,
  FRAME_ANCESTORS: ((value) => {
    const origins = splitOrigins(value);
    return { value: origins, problem: frameAncestorsProblem(origins) };
  }) as Reader<string[]>,
} satisfies Record<VariableName, Reader<unknown>>;

/** Every variable's value as the functions use it. */
export type VariableValues = { [N in VariableName]: ReturnType<(typeof READERS)[N]>['value'] };

/**
 * Reads and validates the named environment variables, and no other. Every problem is reported at
 * once, by variable name (never by value), so one failed cold start tells an operator everything
 * to fix.
 *
 * @throws ConfigurationError listing every missing or invalid variable.
 */
export function readVariables<N extends VariableName>(names: readonly N[], environment: Environment = process.env): Pick<VariableValues, N> {
  const problems: string[] = [];
  const values: Partial<Record<VariableName, unknown>> = {};
  for (const name of names) {
    const given = environment[name]?.trim();
    const fallback = VARIABLE_DEFAULTS[name];
    if ((given === undefined || given === '') && fallback === undefined) {
      problems.push(`${name} is required`);
      continue;
    }
    const read = (READERS[name] as Reader<unknown>)(given === undefined || given === '' ? fallback! : given);
    if (read.problem !== undefined) problems.push(`${name} ${read.problem}`);
    values[name] = read.value;
  }
  if (problems.length > 0) {
    throw new ConfigurationError(`invalid configuration: ${problems.join('; ')}`, { problems });
  }
  return values as Pick<VariableValues, N>;
}

/** Where the routes of the deployment are, from its public URL. */
export function deploymentUrls(publicUrl: string) {
  return {
    publicUrl,
    /** `{publicUrl}/callback`: pinned, and sent identically in the authorize and the token request. */
    redirectUri: `${publicUrl}/callback`,
    /** `{publicUrl}/authorize`: where "start again" links point. */
    startUrl: `${publicUrl}/authorize`,
  };
}

/** When installations are checked in a deployment: the defaults, with its refresh margin and verify interval. */
export function checkScheduleOf(variables: Pick<VariableValues, 'REFRESH_MARGIN_SECONDS' | 'VERIFY_INTERVAL_SECONDS'>): CheckSchedulePolicy {
  return {
    ...DEFAULT_CHECK_SCHEDULE,
    refreshMarginSeconds: variables.REFRESH_MARGIN_SECONDS,
    verifyIntervalSeconds: variables.VERIFY_INTERVAL_SECONDS,
  };
}
