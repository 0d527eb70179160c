import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDbInstallationStore } from '../functions/adapters/dynamodb/installation-store';
import { DynamoTable } from '../functions/adapters/dynamodb/table';
import { KmsTokenVault } from '../functions/adapters/kms-token-vault';
import {
  InstallationUnusableError,
  InvalidStoreIdError,
  NotInstalledError,
  TokenRenewalPendingError,
} from '../functions/core/credentials/credentials-errors';
import { DEFAULT_HAND_OUT_RULES, parseStoreId, planHandOut, type StoreCredentials } from '../functions/core/credentials/hand-out';
import { openCredentials } from '../functions/core/credentials/open-credentials';
import { ConfigurationError } from '../functions/core/errors';
import { createCredentialsApiClient, type CredentialsApiClientOptions } from './credentials-api-client';
import type { CredentialsSource, RejectionVerdict, ScopeVerdict } from './credentials-source';

export interface CredentialsReaderOptions {
  /** The installations table: `EcwidAppAuth.table.tableName`. */
  tableName: string;
  /** The key that wraps the stores' data keys: `EcwidAppAuth.tokenKey.keyArn`. */
  tokenKeyArn: string;
  /**
   * The credentials API (`EcwidAppAuth.credentialsApiUrl`, or the options of a client for it): where
   * a token Ecwid refused is reported, and where a token within five minutes of its end is renewed.
   * Without it, `reportRejected` throws, and such a token is handed out only while it lasts a minute
   * (then `TokenRenewalPendingError`, until the scheduled job renews it).
   */
  credentialsApi?: string | CredentialsApiClientOptions;
  /**
   * How long an opened token is reused without reading again, in milliseconds. Default 60 s; at most
   * 300 s, well under the 15 minutes before expiry at which tokens are refreshed; 0 turns caching off.
   */
  cacheTtlMs?: number;
  /** How many stores' tokens the cache keeps at most; the least recently used goes first. Default 1000. */
  cacheMaxEntries?: number;
  /** The AWS region of the table and key. Default: the SDK's (in Lambda, the function's). */
  region?: string;
  /** Clients of your own (other endpoints, other credentials); by default, new ones. */
  dynamoDb?: DynamoDBClient;
  kms?: KMSClient;
  /** The clock, in epoch milliseconds (tests pass their own). */
  now?: () => number;
}

/** A credentials source that reads the table and opens the token itself. */
export interface CredentialsReader extends CredentialsSource {
  /** Drops a store's cached token, so the next read goes to the table. */
  forget(storeId: number): void;
}

const DEFAULT_CACHE_TTL_MS = 60_000;
const MAX_CACHE_TTL_MS = 300_000;
const DEFAULT_CACHE_MAX_ENTRIES = 1_000;

/**
 * Reads a store's credentials directly, for code in AWS granted `EcwidAppAuth.grantCredentialsRead`:
 * one strongly consistent `GetItem` of the installation and one KMS `Decrypt` of its data key (with
 * the store's encryption context), then the tokens are opened locally. The answers are the API's:
 * the credentials, or `NotInstalledError`, `InstallationUnusableError`, `TokenRenewalPendingError`.
 *
 * An opened token is cached for `cacheTtlMs` (never past a minute before it expires), so a busy
 * function does not pay KMS per call; concurrent reads of one store share one read. A reported
 * rejection drops the store's cached token first. Only tokens are cached: a store that is not
 * installed, or whose token does not work, is read again every time.
 *
 * @throws ConfigurationError for a cache setting out of bounds.
 */
export function createCredentialsReader(options: CredentialsReaderOptions): CredentialsReader {
  const ttlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  const maxEntries = options.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 0 || ttlMs > MAX_CACHE_TTL_MS) {
    throw new ConfigurationError(`cacheTtlMs must be whole milliseconds from 0 to ${MAX_CACHE_TTL_MS}`);
  }
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new ConfigurationError('cacheMaxEntries must be a positive integer');
  if (options.tableName.trim() === '' || options.tokenKeyArn.trim() === '') throw new ConfigurationError('tableName and tokenKeyArn are required');

  const region = options.region === undefined ? {} : { region: options.region };
  const store = new DynamoDbInstallationStore(new DynamoTable(options.dynamoDb ?? new DynamoDBClient(region), options.tableName));
  const vault = new KmsTokenVault(options.kms ?? new KMSClient(region), options.tokenKeyArn);
  const api =
    options.credentialsApi === undefined
      ? undefined
      : createCredentialsApiClient(typeof options.credentialsApi === 'string' ? { url: options.credentialsApi } : options.credentialsApi);
  const now = options.now ?? Date.now;
  const cache = new CredentialsCache(ttlMs, maxEntries);
  const inFlight = new Map<number, Promise<StoreCredentials>>();

  async function read(storeId: number): Promise<StoreCredentials> {
    const generation = cache.generationOf(storeId);
    const keep = (credentials: StoreCredentials) => cache.put(credentials, now(), generation);
    const installation = await store.getInstallation(storeId);
    if (installation === undefined) throw new NotInstalledError(storeId);
    const plan = planHandOut(installation, Math.floor(now() / 1000), DEFAULT_HAND_OUT_RULES);
    if (plan.kind === 'unusable') throw new InstallationUnusableError(storeId, plan.status, plan.reason);
    if (plan.kind === 'renew' && api !== undefined) {
      // The API renews under the scheduled job's lease: a reader never refreshes on its own.
      try {
        return keep(await api.getCredentials(storeId));
      } catch (error) {
        if (!plan.fallback) throw error;
      }
    }
    if (plan.kind === 'renew' && !plan.fallback) {
      throw new TokenRenewalPendingError('the token expires within a minute and is not renewed yet', { storeId, retryAfterSeconds: 1 });
    }
    return keep(await openCredentials(vault, plan.installation));
  }

  /** Drops the cached token, and lets no read that started before keep what it read. */
  function forget(storeId: number): void {
    cache.forget(storeId);
    inFlight.delete(storeId);
  }

  return {
    async getCredentials(storeId: number): Promise<StoreCredentials> {
      if (parseStoreId(String(storeId)) !== storeId) throw new InvalidStoreIdError();
      const cached = cache.get(storeId, now());
      if (cached !== undefined) return cached;
      const running = inFlight.get(storeId);
      if (running !== undefined) return running;
      const started = read(storeId).finally(() => {
        if (inFlight.get(storeId) === started) inFlight.delete(storeId);
      });
      inFlight.set(storeId, started);
      return started;
    },

    async reportRejected(storeId: number): Promise<RejectionVerdict> {
      forget(storeId);
      if (api === undefined) throw new ConfigurationError('reporting a rejection needs the credentials API: pass credentialsApi to createCredentialsReader');
      const verdict = await api.reportRejected(storeId);
      // Whatever was concluded, the next read goes to the table again.
      forget(storeId);
      return verdict;
    },

    async reportInsufficientScope(storeId: number): Promise<ScopeVerdict> {
      if (api === undefined) throw new ConfigurationError('reporting a missing scope needs the credentials API: pass credentialsApi to createCredentialsReader');
      const verdict = await api.reportInsufficientScope(storeId);
      // The cached credentials name the missing scopes too: read them again.
      forget(storeId);
      return verdict;
    },

    forget,
  };
}

/**
 * Opened credentials by store, each until its TTL ends or until a minute before its token expires,
 * whichever comes first; at most `maxEntries`, the least recently used dropped first.
 */
class CredentialsCache {
  private readonly entries = new Map<number, { credentials: StoreCredentials; validUntilEpochMs: number }>();
  /** Bumped by every `forget` of a store: what a read started before a forget does not enter the cache. */
  private readonly generations = new Map<number, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(storeId: number, nowEpochMs: number): StoreCredentials | undefined {
    const entry = this.entries.get(storeId);
    if (entry === undefined) return undefined;
    this.entries.delete(storeId);
    if (entry.validUntilEpochMs <= nowEpochMs) return undefined;
    this.entries.set(storeId, entry);
    return entry.credentials;
  }

  generationOf(storeId: number): number {
    return this.generations.get(storeId) ?? 0;
  }

  /** Keeps `credentials` (unless caching is off, or the store was forgotten since `generation`) and returns them. */
  put(credentials: StoreCredentials, nowEpochMs: number, generation: number): StoreCredentials {
    if (this.generationOf(credentials.storeId) !== generation) return credentials;
    const expiresAtEpochMs = credentials.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(credentials.expiresAt);
    const validUntilEpochMs = Math.min(nowEpochMs + this.ttlMs, expiresAtEpochMs - DEFAULT_HAND_OUT_RULES.minimumLifetimeSeconds * 1000);
    if (validUntilEpochMs <= nowEpochMs) return credentials;
    this.entries.delete(credentials.storeId);
    this.entries.set(credentials.storeId, { credentials, validUntilEpochMs });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return credentials;
  }

  forget(storeId: number): void {
    this.entries.delete(storeId);
    this.generations.set(storeId, this.generationOf(storeId) + 1);
    // Bounded like the entries: an old store's generation only matters while a read of it runs.
    if (this.generations.size > 4 * this.maxEntries) this.generations.delete(this.generations.keys().next().value!);
  }
}
