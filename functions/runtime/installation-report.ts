import type { InstallationView } from '../core/model';

/**
 * An installation as a person reads it (the local stack's `/__local/installations`, the ops CLI):
 * status, reason, times as ISO-8601, subscription; never a token. `null` for what is not known.
 */
export function describeInstallation(view: InstallationView) {
  const iso = (epochSeconds: number | undefined) => (epochSeconds === undefined ? null : new Date(epochSeconds * 1000).toISOString());
  return {
    storeId: view.storeId,
    // A store with only a subscription record: a webhook came before its install completed.
    status: view.status ?? 'not_installed',
    statusReason: view.statusReason ?? null,
    scope: view.scope ?? null,
    /** The configured scopes the grant lacks: a re-consent (`/authorize`) would add them. */
    missingScopes: view.missingScopes ?? [],
    /** How the current grant came: `app_initiated`, `app_market`, or `control_panel` (a repair from `/app`). */
    grantLane: view.grantLane ?? null,
    installedAt: iso(view.installedAtEpochSeconds),
    updatedAt: iso(view.updatedAtEpochSeconds),
    expiresAt: iso(view.expiresAtEpochSeconds),
    lastRefreshedAt: iso(view.lastRefreshedAtEpochSeconds),
    lastVerifiedAt: iso(view.lastVerifiedAtEpochSeconds),
    nextCheckAt: iso(view.nextCheckAtEpochSeconds),
    failureCount: view.failureCount ?? 0,
    subscriptionStatus: view.subscriptionStatus ?? null,
    subscriptionChangedAt: iso(view.subscriptionChangedAtEpochSeconds),
    uninstallRequestedAt: iso(view.uninstallRequestedAtEpochSeconds),
    uninstalledAt: iso(view.uninstalledAtEpochSeconds),
    deleteAfter: iso(view.deleteAfterEpochSeconds),
  };
}

export type InstallationReport = ReturnType<typeof describeInstallation>;
