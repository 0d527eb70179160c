import { planHandOut } from './hand-out';
import { openCredentials } from './open-credentials';
import { RejectionCheck } from './rejection-check';
import { reportInsufficientScope, type ScopeReportAnswer } from './scope-report';
import type { CredentialsAnswer, CredentialsDependencies, CredentialsRequest, CredentialsSettings, RejectionAnswer } from './settings';
import { TokenRenewal } from './token-renewal';

/** Stores whose accepted token is remembered, at most (the oldest is forgotten first). */
const ACCEPTED_TOKENS_REMEMBERED = 1_000;

/**
 * The credentials API's core, one per execution environment: it hands out a store's credentials
 * and checks reported rejections. Concurrent requests for one store share one answer (one database
 * read, one KMS request, at most one renewal); across environments the lease keeps renewals single.
 */
export class CredentialsDesk {
  private readonly reads = new Map<number, Promise<CredentialsAnswer>>();
  private readonly reports = new Map<number, Promise<RejectionAnswer>>();
  private readonly accepted = new AcceptedTokenMemo(ACCEPTED_TOKENS_REMEMBERED);

  constructor(
    private readonly deps: CredentialsDependencies,
    private readonly settings: CredentialsSettings,
  ) {}

  /**
   * A store's credentials (`GET /stores/{storeId}/credentials`): its token while its status says the
   * token works; an expiring token close to its end is renewed first (see {@link TokenRenewal}), so
   * no token with less than `minimumLifetimeSeconds` left is ever handed out.
   *
   * @throws TokenRenewalPendingError when the token is about to expire and its renewal has not
   *   finished; StorageError, EncryptionError; the refresh's EcwidRequestError when a renewal failed
   *   and the current token is too close to its end to hand out.
   */
  read(request: CredentialsRequest): Promise<CredentialsAnswer> {
    return shared(this.reads, request.storeId, () => this.readOnce(request));
  }

  /**
   * The app's report that Ecwid refused a token (`POST /stores/{storeId}/credentials/rejected`),
   * checked with Ecwid before anything changes (see {@link RejectionCheck}).
   *
   * @throws StorageError, EncryptionError
   */
  reportRejection(request: CredentialsRequest): Promise<RejectionAnswer> {
    return shared(this.reports, request.storeId, () =>
      new RejectionCheck(this.deps, this.settings, request, {
        wasAccepted: (storeId, version) => this.accepted.has(storeId, version, this.deps.clock.nowEpochMs()),
        accept: (storeId, version) => this.accepted.add(storeId, version, this.deps.clock.nowEpochMs() + this.settings.acceptedTokenMemoMs),
      }).run(),
    );
  }

  /**
   * The app's report that Ecwid refused a request for lack of scope (403 `INSUFFICIENT_APP_SCOPE`):
   * the store's missing scopes, recomputed now (see {@link reportInsufficientScope}).
   *
   * @throws StorageError
   */
  reportInsufficientScope(request: CredentialsRequest): Promise<ScopeReportAnswer> {
    return reportInsufficientScope(this.deps, this.settings, request);
  }

  private async readOnce(request: CredentialsRequest): Promise<CredentialsAnswer> {
    const installation = await this.deps.installations.getInstallation(request.storeId);
    if (installation === undefined) return { outcome: 'not_installed' };
    const plan = planHandOut(installation, this.nowEpochSeconds(), this.settings);
    switch (plan.kind) {
      case 'unusable':
        return { outcome: 'unusable', status: plan.status, reason: plan.reason };
      case 'hand_out':
        return { outcome: 'issued', credentials: await openCredentials(this.deps.vault, plan.installation) };
      case 'renew':
        return new TokenRenewal(this.deps, this.settings, request, (latest) => planHandOut(latest, this.nowEpochSeconds(), this.settings).kind === 'renew').renew(
          plan.installation,
        );
    }
  }

  private nowEpochSeconds(): number {
    return Math.floor(this.deps.clock.nowEpochMs() / 1000);
  }
}

/** Runs `start` unless a run for the same key is in flight, whose promise is shared instead. */
function shared<T>(inFlight: Map<number, Promise<T>>, key: number, start: () => Promise<T>): Promise<T> {
  const running = inFlight.get(key);
  if (running !== undefined) return running;
  const started = start().finally(() => inFlight.delete(key));
  inFlight.set(key, started);
  return started;
}

/** Versions of installations whose token Ecwid accepted recently: bounded, oldest forgotten first. */
class AcceptedTokenMemo {
  private readonly entries = new Map<number, { version: number; untilEpochMs: number }>();

  constructor(private readonly capacity: number) {}

  has(storeId: number, version: number, nowEpochMs: number): boolean {
    const entry = this.entries.get(storeId);
    return entry !== undefined && entry.version === version && entry.untilEpochMs > nowEpochMs;
  }

  add(storeId: number, version: number, untilEpochMs: number): void {
    this.entries.delete(storeId);
    this.entries.set(storeId, { version, untilEpochMs });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}
