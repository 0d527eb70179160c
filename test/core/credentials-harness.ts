import { CredentialsDesk } from '../../functions/core/credentials/credentials-desk';
import { DEFAULT_HAND_OUT_RULES } from '../../functions/core/credentials/hand-out';
import type { CredentialsDependencies, CredentialsSettings } from '../../functions/core/credentials/settings';
import { EcwidRequestError } from '../../functions/core/errors';
import type { Installation, NewInstallation, TokenGrant, TokenVerification } from '../../functions/core/model';
import type { TokenRefreshRequest } from '../../functions/core/ports';
import { DEFAULT_CHECK_SCHEDULE } from '../../functions/core/refresh/schedule';
import { capturingLogger, FixedClientSecret, ManualClock, SeededRandom } from '../support/fakes';
import { MemoryStore } from '../support/memory-store';
import { MemoryTokenVault } from '../support/memory-token-vault';

export const CREDENTIALS_SETTINGS: CredentialsSettings = {
  ...DEFAULT_HAND_OUT_RULES,
  clientId: 'app-client-id',
  configuredScopes: ['read_store_profile', 'read_catalog'],
  leaseDurationSeconds: 26,
  renewalWaitMs: 8_000,
  renewalWaitWithFallbackMs: 2_000,
  renewalPollMs: 200,
  requestReserveMs: 9_000,
  acceptedTokenMemoMs: 10_000,
  schedule: DEFAULT_CHECK_SCHEDULE,
  failureBudgetSeconds: 3 * 86_400,
  retryBaseSeconds: 300,
  retryMaxSeconds: 6 * 3600,
  rateLimitDefaultSeconds: 60,
  rateLimitMaxSeconds: 3600,
  assumedTokenLifetimeSeconds: 3600,
};

type RefreshAnswer = TokenGrant | EcwidRequestError | ((request: TokenRefreshRequest) => Promise<TokenGrant>);
type VerifyAnswer = TokenVerification | ((request: { storeId: number; accessToken: string }) => Promise<TokenVerification>);

/** Ecwid's token endpoint and profile check, answering from scripts (by default: a rotated grant, a valid token). */
export class ScriptedEcwid {
  readonly refreshes: TokenRefreshRequest[] = [];
  readonly verifications: Array<{ storeId: number; accessToken: string }> = [];
  private readonly refreshAnswers: RefreshAnswer[] = [];
  private readonly verifyAnswers: VerifyAnswer[] = [];
  private counter = 0;

  onRefresh(...answers: RefreshAnswer[]): this {
    this.refreshAnswers.push(...answers);
    return this;
  }

  onVerify(...answers: VerifyAnswer[]): this {
    this.verifyAnswers.push(...answers);
    return this;
  }

  async refreshToken(request: TokenRefreshRequest): Promise<TokenGrant> {
    this.refreshes.push(request);
    const next = this.refreshAnswers.shift();
    if (next instanceof EcwidRequestError) throw next;
    if (typeof next === 'function') return next(request);
    this.counter += 1;
    return (
      next ?? {
        accessToken: `secret_renewed_${this.counter}`,
        refreshToken: `refresh_renewed_${this.counter}`,
        expiresInSeconds: 3600,
        scope: 'read_store_profile read_catalog',
        storeId: request.storeId,
      }
    );
  }

  async verifyToken(request: { storeId: number; accessToken: string }): Promise<TokenVerification> {
    this.verifications.push(request);
    const next = this.verifyAnswers.shift();
    if (typeof next === 'function') return next(request);
    return next ?? { outcome: 'valid' };
  }
}

/** The memory store, counting the calls the credentials API makes. */
export class CountingStore extends MemoryStore {
  readonly calls = { getInstallation: 0, leaseInstallation: 0, completeCheck: 0, releaseLease: 0, recordRevocation: 0 };
  /** When set, `completeCheck` throws this many times before writing. */
  failWrites = 0;

  override async getInstallation(storeId: number): Promise<Installation | undefined> {
    this.calls.getInstallation += 1;
    return super.getInstallation(storeId);
  }

  override async leaseInstallation(request: Parameters<MemoryStore['leaseInstallation']>[0]) {
    this.calls.leaseInstallation += 1;
    return super.leaseInstallation(request);
  }

  override async completeCheck(request: Parameters<MemoryStore['completeCheck']>[0]) {
    this.calls.completeCheck += 1;
    if (this.failWrites > 0) {
      this.failWrites -= 1;
      throw new Error('write failed');
    }
    return super.completeCheck(request);
  }

  override async releaseLease(request: Parameters<MemoryStore['releaseLease']>[0]) {
    this.calls.releaseLease += 1;
    return super.releaseLease(request);
  }

  override async recordRevocation(request: Parameters<MemoryStore['recordRevocation']>[0]) {
    this.calls.recordRevocation += 1;
    return super.recordRevocation(request);
  }
}

/** A desk over in-memory fakes, and helpers to store installations as an install would. */
export function credentialsHarness(settings: Partial<CredentialsSettings> = {}) {
  const clock = new ManualClock();
  const store = new CountingStore();
  const ecwid = new ScriptedEcwid();
  const vault = new MemoryTokenVault();
  const logs = capturingLogger();
  const deps: CredentialsDependencies = {
    installations: store,
    vault,
    refresher: ecwid,
    verifier: ecwid,
    clientSecret: new FixedClientSecret(),
    clock,
    random: new SeededRandom(),
    log: logs.log,
  };
  const merged = { ...CREDENTIALS_SETTINGS, ...settings };
  const nowSeconds = () => Math.floor(clock.nowEpochMs() / 1000);
  let obtainedAt = clock.nowEpochMs();

  const install = async (
    storeId: number,
    overrides: Partial<Omit<NewInstallation, 'accessToken' | 'refreshToken' | 'publicToken' | 'tokenKey'>> & {
      accessToken?: string;
      refreshToken?: string;
      publicToken?: string;
    } = {},
  ): Promise<Installation> => {
    const { accessToken = `secret_stored_${storeId}`, refreshToken, publicToken, ...rest } = overrides;
    const sealer = await vault.sealerFor(storeId);
    const saved = await store.saveInstallation({
      storeId,
      tokenKey: sealer.tokenKey,
      accessToken: sealer.seal(accessToken, 'access_token'),
      ...(refreshToken === undefined ? {} : { refreshToken: sealer.seal(refreshToken, 'refresh_token') }),
      ...(publicToken === undefined ? {} : { publicToken: sealer.seal(publicToken, 'public_token') }),
      scope: 'read_store_profile read_catalog',
      installedAtEpochSeconds: nowSeconds(),
      grantCodeHash: `code-${storeId}-${obtainedAt}`,
      grantObtainedAtEpochMs: (obtainedAt += 1),
      nextCheckAtEpochSeconds: nowSeconds() + 86_400,
      ...rest,
    });
    vault.calls.sealerFor = 0;
    return saved!;
  };

  /** An expiring token of an hour's lifetime with `remainingSeconds` left, and a refresh token. */
  const installExpiring = (storeId: number, remainingSeconds: number, refreshToken = `refresh_stored_${storeId}`) =>
    install(storeId, {
      installedAtEpochSeconds: nowSeconds() + remainingSeconds - 3600,
      expiresAtEpochSeconds: nowSeconds() + remainingSeconds,
      refreshToken,
      nextCheckAtEpochSeconds: nowSeconds() + remainingSeconds - 900,
    });

  /** Sets fields of a stored installation directly (as a check would have written them). */
  const patch = (storeId: number, fields: Partial<Installation>) => {
    const stored = store.installations.get(storeId)!;
    store.installations.set(storeId, { ...stored, ...fields, version: stored.version + 1 });
  };

  const deadline = (inMs = 20_000) => clock.nowEpochMs() + inMs;
  const newDesk = () => new CredentialsDesk(deps, merged);

  return { clock, store, ecwid, vault, logs, deps, settings: merged, desk: newDesk(), newDesk, install, installExpiring, patch, nowSeconds, deadline };
}

/** Yields to the event loop until `condition` holds (at most `rounds` times). */
export async function until(condition: () => boolean, rounds = 200): Promise<void> {
  for (let round = 0; round < rounds && !condition(); round += 1) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('the condition never held');
}
