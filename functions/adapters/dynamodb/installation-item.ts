import type { Installation, InstallationStatus, InstallationView, SealedToken, Tombstone } from '../../core/model';
import { TABLE_SCHEMA } from './schema';
import type { Item } from './table';

/** The attributes an installation item may lack; all others are always present. */
const OPTIONAL_INSTALLATION_FIELDS = [
  'accessTokenFingerprint',
  'publicToken',
  'refreshToken',
  'expiresAtEpochSeconds',
  'statusReason',
  'grantCodeHash',
  'grantLane',
  'grantObtainedAtEpochMs',
  'nextCheckAtEpochSeconds',
  'lastRefreshedAtEpochSeconds',
  'lastVerifiedAtEpochSeconds',
  'failureCount',
  'firstFailureAtEpochSeconds',
  'refreshInFlightSinceEpochSeconds',
  'subscriptionStatus',
  'subscriptionChangedAtEpochSeconds',
  'uninstallRequestedAtEpochSeconds',
  'missingScopes',
] as const;

/** An installation item (`STORE#{storeId}`) as the domain sees it: lease and index attributes stay behind. */
export function toInstallation(item: Item): Installation {
  const installation: Installation = {
    storeId: item.storeId as number,
    tokenKey: item.tokenKey as string,
    accessToken: item.accessToken as SealedToken,
    tokenType: 'Bearer',
    scope: item.scope as string,
    installedAtEpochSeconds: item.installedAtEpochSeconds as number,
    updatedAtEpochSeconds: item.updatedAtEpochSeconds as number,
    status: item.status as InstallationStatus,
    version: item.version as number,
  };
  const optional = installation as unknown as Record<string, unknown>;
  for (const field of OPTIONAL_INSTALLATION_FIELDS) {
    if (item[field] !== undefined) optional[field] = item[field];
  }
  return installation;
}

const { shardPrefix, shardCount } = TABLE_SCHEMA.dueIndex;

/** The due-index shard of a store: stable, and spread evenly over consecutive store ids. */
export function dueShardOf(storeId: number): string {
  return `${shardPrefix}${storeId % shardCount}`;
}

/** Every shard name of the due index. */
export function dueShardNames(): string[] {
  return Array.from({ length: shardCount }, (_, index) => `${shardPrefix}${index}`);
}

/**
 * Whether an installation item holds a grant: not a tombstone (`uninstalled`, its tokens purged), nor
 * the record of a subscription webhook that arrived before the store's install. Only such an item is
 * an {@link Installation}.
 */
export function holdsGrant(item: Item): boolean {
  return typeof item.accessToken === 'string' && item.status !== ('uninstalled' satisfies InstallationStatus);
}

/**
 * What a purge removes: every token, the wrapped data key, the owner's email, the code hash,
 * everything that would put the item back in the scheduled job's hands (the due index, a lease, the
 * failure streak, a pending uninstall), and the subscription status (Ecwid ends the app's
 * subscription with the uninstall: a reinstall must not inherit it).
 */
export const PURGED_ATTRIBUTES = [
  'tokenKey',
  'accessToken',
  'accessTokenFingerprint',
  'refreshToken',
  'publicToken',
  'tokenType',
  'ownerEmail',
  'grantCodeHash',
  'expiresAtEpochSeconds',
  'nextCheckAtEpochSeconds',
  TABLE_SCHEMA.dueIndex.partitionKey,
  TABLE_SCHEMA.dueIndex.sortKey,
  'leaseOwner',
  'leaseExpiresAtEpochSeconds',
  'failureCount',
  'firstFailureAtEpochSeconds',
  'uninstallRequestedAtEpochSeconds',
  'missingScopes',
  'subscriptionStatus',
] as const;

/**
 * What a purge sets: the tombstone's status, when the uninstall happened, and the TTL that deletes it.
 * The subscription counts as changed at the uninstall: a subscription webhook from before it, arriving
 * late, cannot bring the old status back; the next install's, newer, are recorded.
 */
export function tombstoneAttributes(tombstone: Tombstone): Record<string, unknown> {
  return {
    status: 'uninstalled' satisfies InstallationStatus,
    uninstalledAtEpochSeconds: tombstone.uninstalledAtEpochSeconds,
    subscriptionChangedAtEpochSeconds: tombstone.uninstalledAtEpochSeconds,
    [TABLE_SCHEMA.timeToLiveAttribute]: tombstone.deleteAfterEpochSeconds,
  };
}

const VIEW_FIELDS = [
  'status',
  'statusReason',
  'scope',
  'installedAtEpochSeconds',
  'updatedAtEpochSeconds',
  'version',
  'grantObtainedAtEpochMs',
  'expiresAtEpochSeconds',
  'nextCheckAtEpochSeconds',
  'lastRefreshedAtEpochSeconds',
  'lastVerifiedAtEpochSeconds',
  'failureCount',
  'firstFailureAtEpochSeconds',
  'subscriptionStatus',
  'subscriptionChangedAtEpochSeconds',
  'uninstallRequestedAtEpochSeconds',
  'uninstalledAtEpochSeconds',
  'grantLane',
  'missingScopes',
] as const;

/** An installation item as operators see it: its lifecycle, never a token, a data key or an email. */
export function toInstallationView(item: Item): InstallationView {
  const view: Record<string, unknown> = { storeId: item.storeId };
  for (const field of VIEW_FIELDS) {
    if (item[field] !== undefined) view[field] = item[field];
  }
  const ttl = item[TABLE_SCHEMA.timeToLiveAttribute];
  if (typeof ttl === 'number') view.deleteAfterEpochSeconds = ttl;
  return view as InstallationView;
}
