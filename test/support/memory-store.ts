import { PURGED_ATTRIBUTES } from '../../functions/adapters/dynamodb/installation-item';
import type {
  CheckResult,
  ClaimResult,
  CodeClaim,
  DuePage,
  Installation,
  InstallationView,
  NewCodeClaim,
  NewInstallation,
  StateConsumption,
  StateRecord,
} from '../../functions/core/model';
import { systemClock } from '../../functions/runtime/system';
import type {
  Clock,
  ClaimWebhookRequest,
  AcquireLeaseRequest,
  CodeClaimStore,
  ConsumeStateRequest,
  CredentialsStore,
  DueInstallationStore,
  InstallationDirectory,
  InstallationStore,
  MarkRefreshInFlightRequest,
  RecordCodeOutcomeRequest,
  LifecycleStore,
  ListStoresRequest,
  PurgeRequest,
  RecordRevocationRequest,
  ReleaseLeaseRequest,
  SaveOptions,
  StateStore,
  SubscriptionChange,
  SubscriptionRecording,
  UninstallCheckRequest,
  WebhookClaim,
  WebhookClaimKey,
  WebhookEventStore,
} from '../../functions/core/ports';

/**
 * An installation item: an installation with a grant, or what is left without one (a tombstone, a
 * subscription recorded before the install). Typed as an installation; `holdsGrant` tells which.
 */
type StoredInstallation = Installation & { uninstalledAtEpochSeconds?: number; deleteAfterEpochSeconds?: number };

interface StoredWebhookClaim {
  status: 'processing' | 'done';
  owner: string;
  leaseUntilEpochMs?: number;
  outcome?: string;
}

/** One `eventId`: the bodies seen under it, each body's claim, and when the record may go. */
interface StoredWebhookEvent {
  digests: Set<string>;
  claims: Map<string, StoredWebhookClaim>;
  keepUntilEpochSeconds: number;
}


function holdsGrant(item: StoredInstallation | undefined): boolean {
  return item !== undefined && typeof item.accessToken === 'string' && item.status !== 'uninstalled';
}

function toView(item: StoredInstallation): InstallationView {
  const { tokenKey: _k, accessToken: _a, accessTokenFingerprint: _f, publicToken: _p, refreshToken: _r, tokenType: _t, grantCodeHash: _g, ...view } = item;
  return structuredClone(view) as InstallationView;
}

interface StoredState extends StateRecord {
  consumedAtEpochSeconds?: number;
  consumedByCodeHash?: string;
}

type StoredClaim = CodeClaim & { expiresAtEpochSeconds: number; attemptId: string };

/**
 * The store ports in memory, for tests of the core. It passes the same contract suite as the
 * DynamoDB adapter, so what the core tests prove holds against the real thing too.
 */
export class MemoryStore
  implements StateStore, CodeClaimStore, InstallationStore, DueInstallationStore, WebhookEventStore, LifecycleStore, InstallationDirectory, CredentialsStore
{
  readonly states = new Map<string, StoredState>();
  readonly claims = new Map<string, StoredClaim>();
  readonly installations = new Map<number, StoredInstallation>();
  readonly webhookEvents = new Map<string, StoredWebhookEvent>();
  readonly leases = new Map<number, { owner: string; expiresAtEpochSeconds: number }>();
  /** Installations the due-index queries returned, for tests of the job's reads. */
  dueRead = 0;

  /** @param clock what the directory reads to leave out items whose TTL has passed (the system clock by default) */
  constructor(
    private readonly dueShardCount = 4,
    private readonly clock: Pick<Clock, 'nowEpochMs'> = systemClock,
  ) {}

  async saveState(record: StateRecord): Promise<void> {
    if (this.states.has(record.stateHash)) throw new Error('state exists');
    this.states.set(record.stateHash, { ...record });
  }

  async consumeState(request: ConsumeStateRequest): Promise<StateConsumption> {
    const state = this.states.get(request.stateHash);
    if (state === undefined) return 'unknown';
    const expired = state.expiresAtEpochSeconds <= request.nowEpochSeconds;
    const sameBrowser = state.browserBindingHash === request.browserBindingHash;
    if (state.consumedByCodeHash === request.codeHash && sameBrowser && !expired) return 'consumed';
    if (state.consumedAtEpochSeconds !== undefined) return 'used';
    if (expired) return 'expired';
    if (!sameBrowser) return 'browser_mismatch';
    state.consumedAtEpochSeconds = request.nowEpochSeconds;
    state.consumedByCodeHash = request.codeHash;
    return 'consumed';
  }

  async claimCode(claim: NewCodeClaim): Promise<ClaimResult> {
    // Checked and written without an await in between, as DynamoDB's conditional put is atomic.
    const existing = this.visibleClaim(claim.codeHash);
    if (existing?.status === 'pending' && existing.attemptId === claim.attemptId) return { claimed: true };
    if (existing !== undefined) return { claimed: false, existing };
    this.claims.set(claim.codeHash, {
      codeHash: claim.codeHash,
      attemptId: claim.attemptId,
      ...(claim.storeId === undefined ? {} : { storeId: claim.storeId }),
      claimedAtEpochSeconds: claim.claimedAtEpochSeconds,
      expiresAtEpochSeconds: claim.expiresAtEpochSeconds,
      status: 'pending',
    });
    return { claimed: true };
  }

  async getCodeClaim(codeHash: string): Promise<CodeClaim | undefined> {
    return this.visibleClaim(codeHash);
  }

  private visibleClaim(codeHash: string): CodeClaim | undefined {
    const claim = this.claims.get(codeHash);
    if (claim === undefined) return undefined;
    const { expiresAtEpochSeconds: _expires, ...visible } = claim;
    return structuredClone(visible);
  }

  async recordCodeOutcome(request: RecordCodeOutcomeRequest): Promise<void> {
    const claim = this.claims.get(request.codeHash);
    if (claim === undefined || claim.status !== 'pending' || claim.attemptId !== request.attemptId) return;
    this.claims.set(request.codeHash, {
      ...claim,
      ...request.outcome,
      expiresAtEpochSeconds: request.expiresAtEpochSeconds,
    } as StoredClaim);
  }

  async releaseCodeClaim(codeHash: string, attemptId: string): Promise<void> {
    const claim = this.claims.get(codeHash);
    if (claim?.status === 'pending' && claim.attemptId === attemptId) this.claims.delete(codeHash);
  }

  async saveInstallation(installation: NewInstallation, options: SaveOptions = {}): Promise<Installation | undefined> {
    const previous = this.installations.get(installation.storeId);
    const { replacing } = options;
    if (replacing === 'no_grant') {
      if (previous !== undefined && holdsGrant(previous)) return undefined;
    } else if (replacing !== undefined) {
      if (previous?.version !== replacing.version) return undefined;
    } else if ((previous?.grantObtainedAtEpochMs ?? -Infinity) > installation.grantObtainedAtEpochMs) return undefined;
    this.leases.delete(installation.storeId);
    const { missingScopes, ...grant } = installation;
    const saved: Installation = {
      ...grant,
      ...(missingScopes === undefined || missingScopes.length === 0 ? {} : { missingScopes }),
      tokenType: 'Bearer',
      updatedAtEpochSeconds: installation.installedAtEpochSeconds,
      status: 'active',
      version: (previous?.version ?? 0) + 1,
      // The subscription is the store's, not the grant's: an install keeps it.
      ...(previous?.subscriptionStatus === undefined ? {} : { subscriptionStatus: previous.subscriptionStatus }),
      ...(previous?.subscriptionChangedAtEpochSeconds === undefined ? {} : { subscriptionChangedAtEpochSeconds: previous.subscriptionChangedAtEpochSeconds }),
    };
    this.installations.set(installation.storeId, saved);
    return structuredClone(saved);
  }

  async getInstallation(storeId: number): Promise<Installation | undefined> {
    const installation = this.installations.get(storeId);
    return installation !== undefined && holdsGrant(installation) ? structuredClone(installation) : undefined;
  }

  async listInstallations(): Promise<Installation[]> {
    return [...this.installations.values()].filter(holdsGrant).sort((a, b) => a.storeId - b.storeId).map((item) => structuredClone(item));
  }

  dueShards(): readonly string[] {
    return Array.from({ length: this.dueShardCount }, (_, index) => `shard-${index}`);
  }

  async findDue(request: { shard: string; nowEpochSeconds: number; limit: number; cursor?: string }): Promise<DuePage> {
    const after = request.cursor === undefined ? undefined : (JSON.parse(request.cursor) as [number, number]);
    const due = [...this.installations.values()]
      .filter((item) => `shard-${item.storeId % this.dueShardCount}` === request.shard)
      .filter((item) => item.nextCheckAtEpochSeconds !== undefined && item.nextCheckAtEpochSeconds <= request.nowEpochSeconds)
      .sort((a, b) => a.nextCheckAtEpochSeconds! - b.nextCheckAtEpochSeconds! || a.storeId - b.storeId)
      .filter((item) => after === undefined || item.nextCheckAtEpochSeconds! > after[0] || (item.nextCheckAtEpochSeconds === after[0] && item.storeId > after[1]));
    const page = due.slice(0, request.limit);
    this.dueRead += page.length;
    const last = page[page.length - 1];
    return {
      due: page.map((item) => ({ storeId: item.storeId, dueAtEpochSeconds: item.nextCheckAtEpochSeconds! })),
      ...(due.length > request.limit && last !== undefined ? { cursor: JSON.stringify([last.nextCheckAtEpochSeconds, last.storeId]) } : {}),
    };
  }

  async acquireLease(request: {
    storeId: number;
    owner: string;
    nowEpochSeconds: number;
    leaseExpiresAtEpochSeconds: number;
  }): Promise<Installation | undefined> {
    const installation = this.installations.get(request.storeId);
    const lease = this.leases.get(request.storeId);
    if (installation?.nextCheckAtEpochSeconds === undefined || installation.nextCheckAtEpochSeconds > request.nowEpochSeconds) return undefined;
    if (lease !== undefined && lease.expiresAtEpochSeconds > request.nowEpochSeconds) return undefined;
    this.leases.set(request.storeId, { owner: request.owner, expiresAtEpochSeconds: request.leaseExpiresAtEpochSeconds });
    return structuredClone(installation);
  }

  async markRefreshInFlight(request: MarkRefreshInFlightRequest): Promise<boolean> {
    const installation = this.installations.get(request.storeId);
    if (installation === undefined || installation.version !== request.version) return false;
    if (this.leases.get(request.storeId)?.owner !== request.owner) return false;
    installation.refreshInFlightSinceEpochSeconds ??= request.nowEpochSeconds;
    return true;
  }

  async completeCheck(request: {
    storeId: number;
    owner: string;
    version: number;
    nowEpochSeconds: number;
    result: CheckResult;
  }): Promise<boolean> {
    const installation = this.installations.get(request.storeId);
    if (installation === undefined || installation.version !== request.version) return false;
    if (this.leases.get(request.storeId)?.owner !== request.owner) return false;
    this.leases.delete(request.storeId);
    const { result } = request;
    const next: Installation = { ...installation, status: result.status, version: installation.version + 1, updatedAtEpochSeconds: request.nowEpochSeconds };
    delete next.statusReason;
    delete next.nextCheckAtEpochSeconds;
    delete next.failureCount;
    delete next.refreshInFlightSinceEpochSeconds;
    if (result.refreshInFlightSinceEpochSeconds !== undefined) next.refreshInFlightSinceEpochSeconds = result.refreshInFlightSinceEpochSeconds;
    delete next.firstFailureAtEpochSeconds;
    if (result.statusReason !== undefined) next.statusReason = result.statusReason;
    if (result.nextCheckAtEpochSeconds !== undefined) next.nextCheckAtEpochSeconds = result.nextCheckAtEpochSeconds;
    if (result.failure !== undefined) {
      next.failureCount = result.failure.count;
      next.firstFailureAtEpochSeconds = result.failure.firstAtEpochSeconds;
    }
    if (result.lastRefreshedAtEpochSeconds !== undefined) next.lastRefreshedAtEpochSeconds = result.lastRefreshedAtEpochSeconds;
    if (result.lastVerifiedAtEpochSeconds !== undefined) next.lastVerifiedAtEpochSeconds = result.lastVerifiedAtEpochSeconds;
    if (result.refreshedGrant !== undefined) {
      next.accessToken = result.refreshedGrant.accessToken;
      next.expiresAtEpochSeconds = result.refreshedGrant.expiresAtEpochSeconds;
      if (result.refreshedGrant.refreshToken !== undefined) next.refreshToken = result.refreshedGrant.refreshToken;
      if (result.refreshedGrant.scope !== undefined) next.scope = result.refreshedGrant.scope;
      if (result.refreshedGrant.accessTokenFingerprint !== undefined) next.accessTokenFingerprint = result.refreshedGrant.accessTokenFingerprint;
    }
    if (result.dismissUninstallRequest === true) delete next.uninstallRequestedAtEpochSeconds;
    if (result.missingScopes !== undefined) {
      if (result.missingScopes.length > 0) next.missingScopes = result.missingScopes;
      else delete next.missingScopes;
    }
    this.installations.set(request.storeId, result.uninstall === undefined ? next : tombstoneOf(next, result.uninstall));
    return true;
  }

  // --- webhook events -----------------------------------------------------------------------

  async claimWebhookEvent(request: ClaimWebhookRequest): Promise<WebhookClaim> {
    const stored = this.webhookEvents.get(request.eventId);
    const expired = stored !== undefined && stored.keepUntilEpochSeconds <= Math.floor(request.nowEpochMs / 1000);
    const event = stored === undefined || expired ? { digests: new Set<string>(), claims: new Map(), keepUntilEpochSeconds: request.keepUntilEpochSeconds } : stored;
    const existing = event.claims.get(request.digest);
    const abandoned = existing?.status === 'processing' && (existing.leaseUntilEpochMs ?? 0) <= request.nowEpochMs;
    if (existing !== undefined && !abandoned) return { claimed: false, state: existing.status === 'done' ? 'done' : 'in_progress' };
    if (!event.digests.has(request.digest) && event.digests.size >= request.maxBodies) return { claimed: false, state: 'too_many_variants' };
    const variant = [...event.digests].some((digest) => digest !== request.digest);
    event.digests.add(request.digest);
    event.claims.set(request.digest, { status: 'processing', owner: request.owner, leaseUntilEpochMs: request.leaseUntilEpochMs });
    this.webhookEvents.set(request.eventId, event);
    return { claimed: true, variant };
  }

  async completeWebhookEvent(key: WebhookClaimKey, owner: string, outcome: string): Promise<void> {
    const claim = this.webhookEvents.get(key.eventId)?.claims.get(key.digest);
    if (claim?.owner !== owner || claim.status !== 'processing') return;
    this.webhookEvents.get(key.eventId)!.claims.set(key.digest, { status: 'done', owner, outcome });
  }

  async releaseWebhookEvent(key: WebhookClaimKey, owner: string): Promise<void> {
    const event = this.webhookEvents.get(key.eventId);
    const claim = event?.claims.get(key.digest);
    if (claim?.owner === owner && claim.status === 'processing') event!.claims.delete(key.digest);
  }

  /** Every body's claim, of every eventId: for tests that look at what was recorded. */
  webhookClaims(): StoredWebhookClaim[] {
    return [...this.webhookEvents.values()].flatMap((event) => [...event.claims.values()]);
  }

  // --- lifecycle ------------------------------------------------------------------------------

  async purgeInstallation(request: PurgeRequest): Promise<boolean> {
    const installation = this.installations.get(request.storeId);
    if (installation === undefined || !holdsGrant(installation) || installation.version !== request.version) return false;
    this.leases.delete(request.storeId);
    const purged = tombstoneOf(
      { ...installation, statusReason: request.reason, updatedAtEpochSeconds: request.nowEpochSeconds, version: installation.version + 1 },
      request.tombstone,
    );
    this.installations.set(request.storeId, purged);
    return true;
  }

  async requestUninstallCheck(request: UninstallCheckRequest): Promise<boolean> {
    const installation = this.installations.get(request.storeId);
    if (installation === undefined || !holdsGrant(installation) || installation.version !== request.version) return false;
    const lease = this.leases.get(request.storeId);
    if (lease !== undefined && lease.expiresAtEpochSeconds > request.nowEpochSeconds) return false;
    this.leases.delete(request.storeId);
    installation.uninstallRequestedAtEpochSeconds = request.requestedAtEpochSeconds;
    installation.nextCheckAtEpochSeconds = request.nowEpochSeconds;
    return true;
  }

  async recordSubscription(change: SubscriptionChange): Promise<SubscriptionRecording> {
    const item = this.installations.get(change.storeId);
    if (item === undefined || !holdsGrant(item)) return { recorded: false, reason: 'no_installation' };
    const recordedAt = item.subscriptionChangedAtEpochSeconds;
    if (recordedAt === change.changedAtEpochSeconds && item.subscriptionStatus === change.subscriptionStatus) {
      return { recorded: true, installationStatus: item.status };
    }
    const newer = recordedAt === undefined || recordedAt <= change.changedAtEpochSeconds;
    if (!newer) return { recorded: false, reason: 'older_than_recorded' };
    const previousStatus = item.subscriptionStatus;
    item.subscriptionStatus = change.subscriptionStatus;
    item.subscriptionChangedAtEpochSeconds = change.changedAtEpochSeconds;
    return previousStatus === undefined ? { recorded: true, installationStatus: item.status } : { recorded: true, previousStatus, installationStatus: item.status };
  }

  async findTombstone(storeId: number, nowEpochSeconds: number): Promise<{ uninstalledAtEpochSeconds: number; statusReason?: string } | undefined> {
    const item = this.installations.get(storeId);
    if (item?.status !== 'uninstalled' || item.uninstalledAtEpochSeconds === undefined) return undefined;
    if (item.deleteAfterEpochSeconds !== undefined && item.deleteAfterEpochSeconds <= nowEpochSeconds) return undefined;
    return item.statusReason === undefined
      ? { uninstalledAtEpochSeconds: item.uninstalledAtEpochSeconds }
      : { uninstalledAtEpochSeconds: item.uninstalledAtEpochSeconds, statusReason: item.statusReason };
  }

  // --- directory ------------------------------------------------------------------------------

  async listStores(request: ListStoresRequest): Promise<{ stores: InstallationView[]; cursor?: string }> {
    const after = request.cursor === undefined ? 0 : Number(request.cursor);
    const matching = [...this.installations.values()]
      .filter((item) => item.storeId > after && (request.status === undefined || item.status === request.status) && !this.expired(item))
      .sort((a, b) => a.storeId - b.storeId);
    const page = matching.slice(0, request.limit);
    return {
      stores: page.map(toView),
      ...(matching.length > request.limit ? { cursor: String(page[page.length - 1]!.storeId) } : {}),
    };
  }

  async describeStore(storeId: number): Promise<InstallationView | undefined> {
    const item = this.installations.get(storeId);
    return item === undefined || this.expired(item) ? undefined : toView(item);
  }

  /** Past its TTL: absent to the directory, as DynamoDB may not have deleted it yet. */
  private expired(item: StoredInstallation): boolean {
    return item.deleteAfterEpochSeconds !== undefined && item.deleteAfterEpochSeconds <= Math.floor(this.clock.nowEpochMs() / 1000);
  }

  // --- credentials ----------------------------------------------------------------------------

  async leaseInstallation(request: AcquireLeaseRequest): Promise<Installation | undefined> {
    const installation = this.installations.get(request.storeId);
    if (installation === undefined || !holdsGrant(installation)) return undefined;
    const lease = this.leases.get(request.storeId);
    if (lease !== undefined && lease.expiresAtEpochSeconds > request.nowEpochSeconds) return undefined;
    this.leases.set(request.storeId, { owner: request.owner, expiresAtEpochSeconds: request.leaseExpiresAtEpochSeconds });
    return structuredClone(installation);
  }

  async releaseLease(request: ReleaseLeaseRequest): Promise<boolean> {
    if (this.leases.get(request.storeId)?.owner !== request.owner) return false;
    this.leases.delete(request.storeId);
    return true;
  }

  async recordMissingScopes(request: { storeId: number; version: number; missingScopes: string[] }): Promise<boolean> {
    const installation = this.installations.get(request.storeId);
    if (installation === undefined || !holdsGrant(installation) || installation.version !== request.version) return false;
    if (request.missingScopes.length > 0) installation.missingScopes = [...request.missingScopes];
    else delete installation.missingScopes;
    return true;
  }

  async recordRevocation(request: RecordRevocationRequest): Promise<boolean> {
    const installation = this.installations.get(request.storeId);
    if (installation === undefined || !holdsGrant(installation) || installation.version !== request.version) return false;
    this.leases.delete(request.storeId);
    const next: Installation = {
      ...installation,
      status: 'needs_reinstall',
      statusReason: request.statusReason,
      version: installation.version + 1,
      updatedAtEpochSeconds: request.nowEpochSeconds,
    };
    delete next.nextCheckAtEpochSeconds;
    delete next.failureCount;
    delete next.firstFailureAtEpochSeconds;
    this.installations.set(request.storeId, next);
    return true;
  }
}

function tombstoneOf(installation: StoredInstallation, tombstone: { uninstalledAtEpochSeconds: number; deleteAfterEpochSeconds: number }): StoredInstallation {
  const purged: Record<string, unknown> = { ...installation };
  // The adapter's own list: the two stores cannot drift apart (the index and lease attributes it also
  // names are not on this store's items; its leases live in a map of their own).
  for (const field of PURGED_ATTRIBUTES) delete purged[field];
  return {
    ...(purged as unknown as StoredInstallation),
    status: 'uninstalled',
    uninstalledAtEpochSeconds: tombstone.uninstalledAtEpochSeconds,
    subscriptionChangedAtEpochSeconds: tombstone.uninstalledAtEpochSeconds,
    deleteAfterEpochSeconds: tombstone.deleteAfterEpochSeconds,
  };
}
