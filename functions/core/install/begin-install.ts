import type { Clock, RandomSource, StateStore } from '../ports';
import { fingerprint, isWellFormedNonce, newNonce } from '../secure-values';
import { joinUrl } from '../urls';

export interface BeginInstallSettings {
  /** Ecwid's OAuth origin, `https://my.ecwid.com` in production. */
  ecwidOAuthUrl: string;
  clientId: string;
  /** The one redirect URI this app uses, sent identically in the authorize and the token request. */
  redirectUri: string;
  scopes: readonly string[];
  stateLifetimeSeconds: number;
}

export interface BeginInstallDependencies {
  states: StateStore;
  clock: Clock;
  random: RandomSource;
}

export interface BeginInstallRequest {
  /** The browser-binding cookie the browser already holds, if any. */
  browserBinding?: string | undefined;
}

export interface BeginInstallResult {
  /** Ecwid's consent page for this install. */
  authorizationUrl: string;
  /** The value of the binding cookie to set (the same one when the browser already had a valid one). */
  browserBinding: string;
  /** How long the cookie must live: as long as the state. */
  browserBindingLifetimeSeconds: number;
}

/**
 * Starts an app-initiated install: issues a single-use `state` bound to this browser and builds
 * the URL of Ecwid's consent page.
 *
 * The binding cookie is reused when present, so two installs started in two tabs of one browser
 * both complete. The state is stored only as a hash; its expiry is checked on every read.
 *
 * @see https://api-docs.ecwid.com/docs/get-access-token (the authorize request)
 * @see RFC 9700 §4.7.1 (CSRF protection with a user-agent-bound state)
 * @throws StorageError when the state cannot be stored.
 */
export async function beginInstall(
  deps: BeginInstallDependencies,
  settings: BeginInstallSettings,
  request: BeginInstallRequest,
): Promise<BeginInstallResult> {
  const nowEpochSeconds = Math.floor(deps.clock.nowEpochMs() / 1000);
  const state = newNonce(deps.random);
  const browserBinding = isWellFormedNonce(request.browserBinding) ? request.browserBinding : newNonce(deps.random);

  await deps.states.saveState({
    stateHash: fingerprint(state),
    browserBindingHash: fingerprint(browserBinding),
    createdAtEpochSeconds: nowEpochSeconds,
    expiresAtEpochSeconds: nowEpochSeconds + settings.stateLifetimeSeconds,
  });

  return {
    authorizationUrl: authorizationUrl(settings, state),
    browserBinding,
    browserBindingLifetimeSeconds: settings.stateLifetimeSeconds,
  };
}

function authorizationUrl(settings: BeginInstallSettings, state: string): string {
  const url = joinUrl(settings.ecwidOAuthUrl, '/api/oauth/authorize');
  url.searchParams.set('client_id', settings.clientId);
  url.searchParams.set('redirect_uri', settings.redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', settings.scopes.join(' '));
  url.searchParams.set('state', state);
  return url.toString();
}
