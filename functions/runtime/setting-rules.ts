/**
 * Rules a setting must follow, shared by the functions' configuration (environment variables, read
 * at cold start) and the CDK construct's props (checked at synth), so a value the construct accepts
 * is one the functions accept. Each rule answers what is wrong with a value, never echoing it, or
 * undefined when it is fine. Imports only import-free modules: the CDK app reads this without
 * loading any SDK.
 */
import { CALLBACK_TIMEOUT_SECONDS, MAX_TOKEN_REQUEST_TIMEOUT_MS } from './time-budgets';

/** An Ecwid scope name; lists of them are separated by spaces. */
export const SCOPE_PATTERN = /^[a-z][a-z0-9_]*$/;
/** What an Ecwid client id looks like. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export interface UrlRule {
  /** `base`: paths are appended to it, so no query or fragment. `whole`: used as given. */
  kind: 'base' | 'whole';
  /** Plain http to a loopback host (the local stack and its fakes); deployed settings never allow it. */
  allowLoopbackHttp: boolean;
}

export function urlProblem(value: string, rule: UrlRule): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute https URL';
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(rule.allowLoopbackHttp && url.protocol === 'http:' && loopback)) {
    return rule.allowLoopbackHttp ? 'must be an absolute https URL (http only for localhost)' : 'must be an https URL';
  }
  if (rule.kind === 'base' && /[?#]/.test(value)) return 'must not have a query or a fragment: paths are appended to it';
  return undefined;
}

/** A base URL as paths are appended to it: without its trailing slashes. */
export function normalizeBaseUrl(value: string): string {
  return value.replace(/\/+$/, '');
}

/** The scope names of a space-separated list. */
export function splitScopes(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

export function scopesProblem(scopes: readonly string[]): string | undefined {
  if (scopes.length === 0) return 'must name at least one scope';
  return scopes.every((scope) => SCOPE_PATTERN.test(scope)) ? undefined : 'must be space-separated scope names';
}

export function clientIdProblem(clientId: string): string | undefined {
  return CLIENT_ID_PATTERN.test(clientId) ? undefined : "has invalid characters (1 to 128 letters, digits, '.', '_' or '-')";
}

export function positiveIntegerProblem(value: number): string | undefined {
  return Number.isSafeInteger(value) && value > 0 ? undefined : 'must be a positive integer';
}

/**
 * A token request's budget must fit in the callback's timeout with room to record its outcome:
 * otherwise a slow Ecwid spends the code and the callback dies before storing the token.
 */
export function tokenRequestTimeoutProblem(timeoutMs: number): string | undefined {
  const notPositive = positiveIntegerProblem(timeoutMs);
  if (notPositive !== undefined) return notPositive;
  return timeoutMs <= MAX_TOKEN_REQUEST_TIMEOUT_MS
    ? undefined
    : `must be at most ${MAX_TOKEN_REQUEST_TIMEOUT_MS} ms: the callback times out after ${CALLBACK_TIMEOUT_SECONDS} s and needs the rest to store the install`;
}

/** The longest an uninstalled store's tombstone may be kept: ten years. */
export const MAX_UNINSTALL_RETENTION_DAYS = 3650;

/** How long a tombstone is kept, in whole days: at least one, at most {@link MAX_UNINSTALL_RETENTION_DAYS}. */
export function retentionDaysProblem(value: number): string | undefined {
  return positiveIntegerProblem(value) ?? (value <= MAX_UNINSTALL_RETENTION_DAYS ? undefined : `must be at most ${MAX_UNINSTALL_RETENTION_DAYS} days`);
}
