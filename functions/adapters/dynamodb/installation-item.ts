import type { Installation, InstallationStatus, SealedToken } from '../../core/model';
import { TABLE_SCHEMA } from './schema';
import type { Item } from './table';

/** The attributes an installation item may lack; all others are always present. */
const OPTIONAL_INSTALLATION_FIELDS = [
  'publicToken',
  'refreshToken',
  'expiresAtEpochSeconds',
  'statusReason',
  'grantCodeHash',
  'grantObtainedAtEpochMs',
  'nextCheckAtEpochSeconds',
  'lastRefreshedAtEpochSeconds',
  'lastVerifiedAtEpochSeconds',
  'failureCount',
  'firstFailureAtEpochSeconds',
  'refreshInFlightSinceEpochSeconds',
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
