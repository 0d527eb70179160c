import type {
  ClaimResult,
  Clock,
  CodeClaim,
  CodeClaimOutcome,
  CodeClaimStore,
  ConsumeStateRequest,
  Installation,
  InstallationStore,
  NewCodeClaim,
  NewInstallation,
  StateConsumption,
  StateRecord,
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
export class MemoryStore implements StateStore, CodeClaimStore, InstallationStore {
  readonly states = new Map<string, StoredState>();
  readonly claims = new Map<string, StoredClaim>();
  readonly installations = new Map<number, Installation>();

  constructor(private readonly clock: Clock) {}

  async saveState(record: StateRecord): Promise<void> {
    if (this.states.has(record.stateHash)) throw new Error('state exists');
    this.states.set(record.stateHash, { ...record });
  }

  async consumeState(request: ConsumeStateRequest): Promise<StateConsumption> {
    const state = this.states.get(request.stateHash);
    if (state === undefined) return 'unknown';
    if (state.consumedByCodeHash === request.codeHash) return 'consumed';
    if (state.consumedAtEpochSeconds !== undefined) return 'used';
    if (state.expiresAtEpochSeconds <= request.nowEpochSeconds) return 'expired';
    if (state.browserBindingHash !== request.browserBindingHash) return 'browser_mismatch';
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
    if (claim === undefined || claim.expiresAtEpochSeconds <= this.nowEpochSeconds()) return undefined;
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

  async saveInstallation(installation: NewInstallation): Promise<Installation> {
    const previous = this.installations.get(installation.storeId);
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

  private nowEpochSeconds(): number {
    return Math.floor(this.clock.nowEpochMs() / 1000);
  }
}
