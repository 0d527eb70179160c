/**
 * The app's report that Ecwid refused a request for lack of scope (403 `INSUFFICIENT_APP_SCOPE`):
 * the scopes the store's grant lacks are recomputed at once, against the scopes the app is configured
 * to ask for, instead of waiting for the scheduled job's next check of the store. A new gap is
 * announced (`Scopes Missing`); the store stays usable.
 */
import { scopesAnnouncement } from '../lifecycle/announcements';
import type { LifecycleEvent } from '../model';
import { missingScopes, sameScopes } from '../scopes';
import type { CredentialsDependencies, CredentialsRequest, CredentialsSettings } from './settings';

export type ScopeReportAnswer =
  | { outcome: 'not_installed' }
  | { outcome: 'recorded'; status: string; missingScopes: string[]; announcement?: LifecycleEvent };

/**
 * @throws StorageError
 */
export async function reportInsufficientScope(
  deps: Pick<CredentialsDependencies, 'installations' | 'clock' | 'log'>,
  settings: Pick<CredentialsSettings, 'configuredScopes'>,
  request: CredentialsRequest,
): Promise<ScopeReportAnswer> {
  const installation = await deps.installations.getInstallation(request.storeId);
  if (installation === undefined) return { outcome: 'not_installed' };
  const missing = missingScopes(settings.configuredScopes, installation.scope);
  if (missing.length === 0) {
    // Ecwid says a scope is missing that the stored grant names, or the app called outside what it
    // asks for: only an operator can tell which.
    deps.log.warn('Ecwid refused a request for lack of scope, but the grant has every configured scope (check ECWID_SCOPES)', {
      storeId: installation.storeId,
      scope: installation.scope,
    });
  }
  let announcement: LifecycleEvent | undefined;
  if (!sameScopes(installation.missingScopes, missing)) {
    const written = await deps.installations.recordMissingScopes({ storeId: installation.storeId, version: installation.version, missingScopes: missing });
    if (written) {
      announcement = scopesAnnouncement(
        { storeId: installation.storeId, status: installation.status, missingScopes: missing, updatedAtEpochSeconds: Math.floor(deps.clock.nowEpochMs() / 1000) },
        'insufficient_app_scope',
      );
    }
  }
  return { outcome: 'recorded', status: installation.status, missingScopes: missing, ...(announcement === undefined ? {} : { announcement }) };
}
