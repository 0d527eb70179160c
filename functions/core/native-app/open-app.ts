/**
 * The app opened inside Ecwid's control panel: the iframe's encrypted payload turned into a short
 * session for the person in front of it, the one place the app learns, with proof, which store they
 * manage. A store whose stored token is missing or dead is repaired from the payload's own token when
 * Ecwid accepts it (the `control_panel` lane); otherwise the merchant is asked to reinstall.
 */
import { EcwidAppAuthError, RateLimitedError } from '../errors';
import type { Installation, InstallationStatus, TokenVerification } from '../model';
import type { ClientSecretVersions, InstallationStore, LifecycleEventPublisher, Logger, RandomSource, TokenVault, TokenVerifier } from '../ports';
import { announce, installAnnouncement, scopesAnnouncement } from '../lifecycle/announcements';
import { nextCheckAt, type CheckSchedulePolicy } from '../refresh/schedule';
import { ALWAYS_GRANTED_SCOPE, missingScopes } from '../scopes';
import { accessTokenFingerprint, sameFingerprint } from '../secure-values';
import { openControlPanelPayload, type ControlPanelPayload } from './control-panel-payload';
import { issueSession, type SessionClaims, type TokenIssuer } from './signed-tokens';

export interface OpenAppSettings {
  /** The scopes the app asks for: the session says which of them the store's grant lacks. */
  configuredScopes: readonly string[];
  /** When a repaired installation is first checked by the scheduled job. */
  checkSchedule: CheckSchedulePolicy;
  /** At most 15 minutes. */
  sessionLifetimeSeconds: number;
}

export interface OpenAppDependencies {
  /** The payload is encrypted with the client secret; during a rotation, with either. */
  clientSecrets: ClientSecretVersions;
  installations: InstallationStore;
  vault: TokenVault;
  verifier: TokenVerifier;
  sessions: TokenIssuer;
  publisher: LifecycleEventPublisher;
  random: RandomSource;
  log: Logger;
}

/** What the control panel's iframe request carries: `payload`, and `app_state` (untrusted deep-link state). */
export interface OpenAppRequest {
  payload: string | undefined;
}

/** What the app's UI is told about the installation (never a token). */
export type InstallationSummary = Pick<Installation, 'storeId' | 'status' | 'scope'> & {
  statusReason?: string;
  missingScopes: string[];
  grantLane?: Installation['grantLane'];
};

export type OpenAppResult =
  | { outcome: 'session'; session: string; claims: SessionClaims; installation: InstallationSummary; repaired: boolean }
  /** The store has no working token here and the payload's token did not pass the profile check. */
  | { outcome: 'reinstall_required'; storeId: number; reason: string };

/** Statuses whose stored token is known dead: the control panel's token may replace it. */
const DEAD: ReadonlySet<InstallationStatus> = new Set(['needs_reinstall', 'store_gone']);

/**
 * Opens the app for the merchant the control panel shows it to.
 *
 * @throws EcwidAppAuthError `APP_PAYLOAD_INVALID` (no detail: no oracle); `ECWID_RATE_LIMITED` or
 *   `ECWID_UNAVAILABLE` when a repair's profile check could not be made; the failures of the store,
 *   KMS and the secret.
 */
export async function openApp(deps: OpenAppDependencies, settings: OpenAppSettings, request: OpenAppRequest): Promise<OpenAppResult> {
  const payload = await decryptPayload(deps.clientSecrets, request.payload);
  const stored = await deps.installations.getInstallation(payload.storeId);
  let installation = stored;
  let repaired = false;
  if (installation === undefined || DEAD.has(installation.status)) {
    const repair = await repairFromControlPanel(deps, settings, payload, stored);
    if (repair.outcome === 'reinstall_required') return repair;
    ({ installation, repaired } = repair);
  } else {
    await requireTokenOfTheStore(deps, payload, installation);
  }
  const missing = missingScopes(settings.configuredScopes, installation.scope);
  const { token, claims } = await issueSession(
    deps.sessions,
    { store_id: payload.storeId, scope: installation.scope, missing_scopes: missing, lang: payload.lang, view_mode: payload.viewMode },
    settings.sessionLifetimeSeconds,
  );
  return {
    outcome: 'session',
    session: token,
    claims,
    repaired,
    installation: {
      storeId: installation.storeId,
      status: installation.status,
      scope: installation.scope,
      missingScopes: missing,
      ...(installation.statusReason === undefined ? {} : { statusReason: installation.statusReason }),
      ...(installation.grantLane === undefined ? {} : { grantLane: installation.grantLane }),
    },
  };
}

/**
 * The payload's encryption (AES-CBC) has no integrity: whoever holds one store's payload can rewrite
 * its first 16 bytes (`{"store_id":1003`) by changing the IV, without the key. So its `store_id` is
 * believed only together with its token: the store's stored token (by fingerprint, no KMS), or a
 * token Ecwid's profile endpoint accepts for that very store.
 *
 * @throws EcwidAppAuthError `APP_PAYLOAD_INVALID` when Ecwid refuses the token for the store;
 *   `ECWID_RATE_LIMITED` / `ECWID_UNAVAILABLE` when it cannot say now.
 */
async function requireTokenOfTheStore(deps: OpenAppDependencies, payload: ControlPanelPayload, installation: Installation): Promise<void> {
  if (sameFingerprint(installation.accessTokenFingerprint, accessTokenFingerprint(payload.accessToken))) return;
  const verification = await deps.verifier.verifyToken({ storeId: payload.storeId, accessToken: payload.accessToken });
  switch (verification.outcome) {
    case 'valid':
      return;
    case 'revoked':
    case 'store_gone':
    case 'suspended':
      // Not the store's token: a forged store id, or a payload of an earlier install replayed.
      deps.log.warn('a control panel payload whose token is not the store\'s was refused', { storeId: payload.storeId, ecwidOutcome: verification.outcome });
      throw new EcwidAppAuthError('APP_PAYLOAD_INVALID', 'the payload\'s token does not belong to its store');
    case 'rate_limited':
    case 'failed':
      throw inconclusive(verification);
  }
}

async function decryptPayload(secrets: ClientSecretVersions, payload: string | undefined): Promise<ControlPanelPayload> {
  if (payload === undefined) throw new EcwidAppAuthError('APP_PAYLOAD_INVALID', 'the app was opened without a payload');
  const { current, previous } = await secrets.clientSecrets();
  try {
    return openControlPanelPayload(payload, current);
  } catch (error) {
    // While a rotated secret rolls out, Ecwid may still encrypt with the one before.
    if (previous === undefined) throw error;
    return openControlPanelPayload(payload, previous);
  }
}

type Repair = { outcome: 'repaired'; installation: Installation; repaired: boolean } | Extract<OpenAppResult, { outcome: 'reinstall_required' }>;

/**
 * Stores the payload's token as the store's installation when Ecwid accepts it. Its scope cannot be
 * learned (Ecwid answers no introspection), so only the scope every grant has is recorded: the
 * others show as missing until a re-consent through `/authorize` records the real grant.
 */
async function repairFromControlPanel(
  deps: OpenAppDependencies,
  settings: OpenAppSettings,
  payload: ControlPanelPayload,
  stored: Installation | undefined,
): Promise<Repair> {
  const { storeId } = payload;
  const verification = await deps.verifier.verifyToken({ storeId, accessToken: payload.accessToken });
  if (verification.outcome !== 'valid') return refusedRepair(storeId, verification, stored);

  const nowEpochMs = deps.sessions.clock.nowEpochMs();
  const nowEpochSeconds = Math.floor(nowEpochMs / 1000);
  const sealer = await deps.vault.sealerFor(storeId);
  const saved = await deps.installations.saveInstallation(
    {
      storeId,
      tokenKey: sealer.tokenKey,
      accessToken: sealer.seal(payload.accessToken, 'access_token'),
      accessTokenFingerprint: accessTokenFingerprint(payload.accessToken),
      ...(payload.publicToken === undefined ? {} : { publicToken: sealer.seal(payload.publicToken, 'public_token') }),
      scope: ALWAYS_GRANTED_SCOPE,
      installedAtEpochSeconds: nowEpochSeconds,
      grantLane: 'control_panel',
      // When Ecwid issued this token is unknown, and an OAuth grant obtained meanwhile must win over
      // it: a repair ranks below every install (its own write is guarded by `replacing`).
      grantObtainedAtEpochMs: 0,
      nextCheckAtEpochSeconds: nextCheckAt({ expiresAtEpochSeconds: undefined }, nowEpochSeconds, settings.checkSchedule, deps.random),
      missingScopes: missingScopes(settings.configuredScopes, ALWAYS_GRANTED_SCOPE),
    },
    // Only over what was looked at: an install that landed meanwhile keeps its (real) grant.
    { replacing: stored === undefined ? 'no_grant' : { version: stored.version } },
  );
  if (saved === undefined) {
    const current = await deps.installations.getInstallation(storeId);
    if (current === undefined || DEAD.has(current.status)) return { outcome: 'reinstall_required', storeId, reason: current?.statusReason ?? 'not_installed' };
    return { outcome: 'repaired', installation: current, repaired: false };
  }
  deps.log.info('installation stored from the control panel', { storeId, lane: 'control_panel', previousStatus: stored?.status ?? 'not_installed' });
  await announce(deps.publisher, deps.log, [installAnnouncement(saved, 'control_panel'), scopesAnnouncement(saved, 'control_panel')]);
  return { outcome: 'repaired', installation: saved, repaired: true };
}

function refusedRepair(storeId: number, verification: Exclude<TokenVerification, { outcome: 'valid' }>, stored: Installation | undefined): Repair {
  switch (verification.outcome) {
    case 'revoked':
    case 'store_gone':
    case 'suspended':
      return { outcome: 'reinstall_required', storeId, reason: stored?.statusReason ?? verification.errorCode };
    case 'rate_limited':
    case 'failed':
      throw inconclusive(verification);
  }
}

/** A profile check of the control panel token that could not conclude: the merchant tries again. */
function inconclusive(verification: Extract<TokenVerification, { outcome: 'rate_limited' | 'failed' }>): EcwidAppAuthError {
  return verification.outcome === 'rate_limited'
    ? new RateLimitedError('Ecwid rate-limited the check of the control panel token', { retryAfterSeconds: verification.retryAfterSeconds })
    : new EcwidAppAuthError('ECWID_UNAVAILABLE', 'the control panel token could not be checked with Ecwid', { detail: { reason: verification.reason } });
}
