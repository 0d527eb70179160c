/** What the scheduled refresh job is given: its settings and its dependencies. */
import type {
  ClientSecretSource,
  Clock,
  DueInstallationStore,
  LifecycleEventPublisher,
  Logger,
  RandomSource,
  TokenRefresher,
  TokenVault,
  TokenVerifier,
} from '../ports';
import type { Semaphore } from './concurrency';
import type { CheckPolicy } from './policy';

export interface RefreshJobSettings extends CheckPolicy {
  clientId: string;
  /**
   * How many requests to Ecwid are in flight at once. Twice as many installations are in hand, so
   * the database work around each request (lease, result) overlaps other requests instead of
   * leaving a request slot idle.
   */
  concurrency: number;
  /** Installations read per query of one shard of the due index. */
  pageSize: number;
  /** How long a lease keeps other runs away; longer than handling one installation can take. */
  leaseDurationSeconds: number;
  /** No new installation is started when less than this remains before the deadline. */
  deadlineMarginMs: number;
  /**
   * A request to Ecwid is sent only if this much time remains both before the deadline and before
   * the lease expires: enough for the request and for storing its answer. A rotated refresh token
   * must never be obtained by a run that could die, or lose its lease, before storing it.
   */
  requestReserveMs: number;
  /**
   * The scopes the app asks for: each check recomputes what the store's grant lacks of them
   * (`missingScopes`), so a change of configuration reaches every store within one verify interval.
   */
  configuredScopes: readonly string[];
  /** How long the tombstone of an uninstall the job confirms is kept. */
  uninstallRetentionSeconds: number;
}

export interface RefreshJobDependencies {
  installations: DueInstallationStore;
  refresher: TokenRefresher;
  verifier: TokenVerifier;
  clientSecret: ClientSecretSource;
  vault: TokenVault;
  clock: Clock;
  random: RandomSource;
  log: Logger;
  /** Announces the changes the job makes (a revoked token, a recovered one, a confirmed uninstall). */
  publisher: LifecycleEventPublisher;
}

/** What the checks of one run share. */
export interface RunContext {
  /** The run's id: the owner of every lease it takes. */
  owner: string;
  deadlineEpochMs: number;
  /** Bounds the requests to Ecwid in flight. */
  ecwidSlots: Semaphore;
  /** Set when the token endpoint refused the app's credentials: the run stops sending tokens. */
  credentialsRejected: boolean;
  /** The stores this run has taken up: each at most once, whatever the due index shows again. */
  handledStoreIds: Set<number>;
}
