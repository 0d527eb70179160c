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

/** Ecwid's control panel: where the app's iframe is shown, so the only default framer of `/app`. */
export const ECWID_CONTROL_PANEL_ORIGIN = 'https://my.ecwid.com';

const FRAME_ANCESTOR_PATTERN = /^(?:https:\/\/(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|http:\/\/(?:localhost|127\.0\.0\.1|\[::1\]))(?::(\d{1,5}))?$/;

/**
 * Whether a wildcard origin covers a domain of someone's own: at least two labels after `*.`, and not
 * a country's second level (`*.co.uk`, `*.com.br`), which would let every site there frame the app.
 */
function wildcardCoversOwnDomain(origin: string): boolean {
  const host = /^https:\/\/\*\.([^:]+)/.exec(origin)?.[1];
  if (host === undefined) return true;
  const labels = host.split('.');
  if (labels.length < 2) return false;
  const [second, top] = labels.slice(-2) as [string, string];
  return !(labels.length === 2 && top.length === 2 && second.length <= 3);
}

function frameAncestorProblem(origin: string): boolean {
  const match = FRAME_ANCESTOR_PATTERN.exec(origin);
  if (match === null) return true;
  const port = match[1];
  return (port !== undefined && Number(port) > 65535) || !wildcardCoversOwnDomain(origin);
}

/** The origins of a space-separated list. */
export function splitOrigins(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/**
 * Origins that may frame the app's pages (CSP `frame-ancestors`): each `https://host[:port]` (a
 * leading `*.` over a domain of someone's own), no path; `http` only for loopback (the local stack).
 */
export function frameAncestorsProblem(origins: readonly string[]): string | undefined {
  if (origins.length === 0) return 'must name at least one origin';
  return origins.every((origin) => !frameAncestorProblem(origin))
    ? undefined
    : 'must be space-separated origins such as https://my.ecwid.com (https, no path; http only for localhost; a wildcard only over a domain of your own)';
}

/** Where `/app` sends the merchant with the session in the fragment: an https URL without a fragment of its own. */
export function appUiUrlProblem(value: string): string | undefined {
  return urlProblem(value, { kind: 'whole', allowLoopbackHttp: true }) ?? (value.includes('#') ? 'must not have a fragment: the session goes there' : undefined);
}
