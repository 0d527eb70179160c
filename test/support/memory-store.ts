import type {
  CheckResult,
  ClaimResult,
  CodeClaim,
  CodeClaimOutcome,
  DuePage,
  Installation,
  NewCodeClaim,
  NewInstallation,
  StateConsumption,
  StateRecord,
} from '../../functions/core/model';
import type {
  AcquireLeaseRequest,
  CodeClaimStore,
  ConsumeStateRequest,
  CredentialsStore,
  DueInstallationStore,
  InstallationStore,
  RecordRevocationRequest,
  ReleaseLeaseRequest,
  StateStore,
} from '../../functions/core/ports';

interface StoredState extends StateRecord {
  consumedAtEpochSeconds?: number;
  consumedByCodeHash?: string;
}

type StoredClaim = CodeClaim & { expiresAtEpochSeconds: number };

/**
 * The store ports in memory, for tests of the core. It passes the same contract suite as the
 * DynamoDB adapter, so what the core tests prove holds against the real thing too.
 */
export class MemoryStore implements StateStore, CodeClaimStore, InstallationStore, DueInstallationStore, CredentialsStore {
  readonly states = new Map<string, StoredState>();
  readonly claims = new Map<string, StoredClaim>();
  readonly installations = new Map<number, Installation>();
  readonly leases = new Map<number, { owner: string; expiresAtEpochSeconds: number }>();
  /** Installations the due-index queries returned, for tests of the job's reads. */
  dueRead = 0;

  constructor(private readonly dueShardCount = 4) {}

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
    if (existing !== undefined) return { claimed: false, existing };
    this.claims.set(claim.codeHash, {
      codeHash: claim.codeHash,
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

  async recordCodeOutcome(codeHash: string, outcome: CodeClaimOutcome): Promise<void> {
    const claim = this.claims.get(codeHash);
    if (claim === undefined || claim.status !== 'pending') return;
    this.claims.set(codeHash, { ...claim, ...outcome } as StoredClaim);
  }

  async releaseCodeClaim(codeHash: string): Promise<void> {
    if (this.claims.get(codeHash)?.status === 'pending') this.claims.delete(codeHash);
  }

  async saveInstallation(installation: NewInstallation): Promise<Installation | undefined> {
    const previous = this.installations.get(installation.storeId);
    if ((previous?.grantObtainedAtEpochMs ?? -Infinity) > installation.grantObtainedAtEpochMs) return undefined;
    this.leases.delete(installation.storeId);
    const saved: Installation = {
      ...installation,
      tokenType: 'Bearer',
      updatedAtEpochSeconds: installation.installedAtEpochSeconds,
      status: 'active',
      version: (previous?.version ?? 0) + 1,
    };
    this.installations.set(installation.storeId, saved);
    return structuredClone(saved);
  }

  async getInstallation(storeId: number): Promise<Installation | undefined> {
    const installation = this.installations.get(storeId);
    return installation === undefined ? undefined : structuredClone(installation);
  }

  async listInstallations(): Promise<Installation[]> {
    return [...this.installations.values()].sort((a, b) => a.storeId - b.storeId).map((item) => structuredClone(item));
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
      next.grantObtainedAtEpochMs = result.refreshedGrant.obtainedAtEpochMs;
    }
    this.installations.set(request.storeId, next);
    return true;
  }

  async leaseInstallation(request: AcquireLeaseRequest): Promise<Installation | undefined> {
    const installation = this.installations.get(request.storeId);
    if (installation === undefined) return undefined;
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

  async recordRevocation(request: RecordRevocationRequest): Promise<boolean> {
    const installation = this.installations.get(request.storeId);
    if (installation === undefined || installation.version !== request.version) return false;
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
