/**
 * `POST /webhooks`, Ecwid's lifecycle webhooks: authenticated, deduplicated by `eventId`, judged
 * fresh, then acted on within Ecwid's 10 s. One file: the order of these steps is the security of
 * the route (nothing is read or written before the signature holds; nothing destroyed unconfirmed).
 */
import { EcwidAppAuthError, errorCodeOf, errorName } from '../errors';
import type { Installation, InstallationStatus, WebhookEvent, WebhookOutcome } from '../model';
import type {
  ClientSecretVersions,
  Clock,
  InstallationStore,
  LifecycleEventPublisher,
  LifecycleStore,
  Logger,
  TokenVault,
  TokenVerifier,
  WebhookCounter,
  WebhookEventStore,
} from '../ports';
import { announce, privacyAnnouncement, subscriptionAnnouncement, uninstallAnnouncement } from './announcements';
import { verifyWebhookSignature } from './signature';
import {
  decideAfterUninstallVerification,
  decideUninstall,
  tombstoneFor,
  type UninstallDecision,
} from './uninstall-policy';
import { isAppEvent, isPrivacyEvent, readSignedFields, readSubscriptionChange, readWebhookEvent } from './webhook-body';

export interface WebhookSettings {
  /** Ecwid retries a delivery for about 24 hours: anything older is a replay (26 h leaves room for clocks). */
  maxEventAgeSeconds: number;
  /** Clocks differ a little; an event further ahead than this is not Ecwid's. */
  maxFutureSkewSeconds: number;
  /** How long an `eventId` is remembered: at least 72 hours, far past Ecwid's retries. */
  eventRetentionSeconds: number;
  /** How long an uninstalled store's tombstone is kept. */
  uninstallRetentionSeconds: number;
  /** The most one request to Ecwid's REST API may take. */
  verifyTimeoutMs: number;
  /** Time kept back, after the last request to Ecwid, for the writes and the answer. */
  reserveMs: number;
}

export interface WebhookDependencies {
  secrets: ClientSecretVersions;
  webhookEvents: WebhookEventStore;
  installations: Pick<InstallationStore, 'getInstallation'>;
  lifecycle: LifecycleStore;
  vault: TokenVault;
  verifier: TokenVerifier;
  publisher: LifecycleEventPublisher;
  counter: WebhookCounter;
  clock: Clock;
  log: Logger;
}

export interface WebhookRequest {
  bodyText: string;
  /** `X-Ecwid-Webhook-Signature`, as sent. */
  signature: string | undefined;
  /** The request's own id: the owner of the event's claim. */
  requestId: string;
  /** When the answer must be on its way: everything is budgeted against it. */
  deadlineEpochMs: number;
}

/**
 * Handles one delivery of a webhook.
 *
 * @returns what was done; every outcome is a 200 for Ecwid.
 * @throws EcwidAppAuthError `INVALID_WEBHOOK` (400) or `WEBHOOK_SIGNATURE_INVALID` (401), with nothing
 *   recorded; `WEBHOOK_IN_PROGRESS` (409) when another delivery of the event is being handled;
 *   `WEBHOOK_DEFERRED` or a dependency's error (5xx) when the work could not be done, in which case
 *   the event's claim is released and Ecwid's next delivery does it.
 * @see https://api-docs.ecwid.com/docs/webhooks
 */
export async function handleWebhook(deps: WebhookDependencies, settings: WebhookSettings, request: WebhookRequest): Promise<WebhookOutcome> {
  // 1. Authenticate. Before this nothing is trusted, stored or looked up.
  const { body, signed } = readSignedFields(request.bodyText);
  if (verifyWebhookSignature(request.signature, signed, await deps.secrets.clientSecrets()) === 'previous') {
    // Genuine within the grace after a rotation, but worth knowing: after it, such a signature is refused.
    deps.log.warn('webhook signed with the previous client secret', { eventId: signed.eventId, eventCreated: signed.eventCreated });
    deps.counter.count('signed_with_previous_secret');
  }
  const event = readWebhookEvent(body, signed);

  // 2. Fresh: a signature captured long ago must not be usable now.
  const nowEpochSeconds = Math.floor(deps.clock.nowEpochMs() / 1000);
  const ageSeconds = nowEpochSeconds - event.eventCreated;
  if (ageSeconds > settings.maxEventAgeSeconds || -ageSeconds > settings.maxFutureSkewSeconds) {
    const reason = ageSeconds > 0 ? 'stale' : 'future';
    deps.log.warn('webhook ignored', { reason, ageSeconds, eventId: event.eventId, storeId: event.storeId });
    return { result: 'ignored', reason };
  }
  if (!isAppEvent(event.eventType) && !isPrivacyEvent(event.eventType)) {
    deps.log.info('webhook ignored', { reason: 'unknown_event_type', eventId: event.eventId, eventType: safeForLog(event.eventType) });
    return { result: 'ignored', reason: 'unknown_event_type' };
  }
  // A subscription event without its new status is malformed: refused before anything is recorded.
  const subscription = event.eventType === 'application.subscriptionStatusChanged' ? readSubscriptionChange(event) : undefined;

  // 3. Once: a claim on the eventId, released if the work fails so Ecwid's next delivery does it.
  const claim = await deps.webhookEvents.claimWebhookEvent({
    eventId: event.eventId,
    owner: request.requestId,
    eventType: event.eventType,
    storeId: event.storeId,
    nowEpochMs: deps.clock.nowEpochMs(),
    // Past this the delivery holding it has been answered or has died: another may take over.
    leaseUntilEpochMs: request.deadlineEpochMs + settings.reserveMs,
    keepUntilEpochSeconds: nowEpochSeconds + settings.eventRetentionSeconds,
  });
  if (!claim.claimed) {
    if (claim.state === 'done') {
      deps.log.info('webhook already handled', { eventId: event.eventId, storeId: event.storeId });
      return { result: 'duplicate' };
    }
    throw new EcwidAppAuthError('WEBHOOK_IN_PROGRESS', 'another delivery of this webhook is being handled', { detail: { eventId: event.eventId } });
  }

  let outcome: WebhookOutcome;
  try {
    outcome = await new WebhookAction(deps, settings, request, event).run(subscription);
  } catch (error) {
    try {
      await deps.webhookEvents.releaseWebhookEvent(event.eventId, request.requestId);
    } catch (releaseError) {
      // The claim's lease runs out and Ecwid's next delivery takes it over.
      deps.log.warn('could not release a webhook claim', { eventId: event.eventId, errorName: errorName(releaseError) });
    }
    throw error;
  }
  try {
    await deps.webhookEvents.completeWebhookEvent(event.eventId, request.requestId, describe(outcome));
  } catch (error) {
    // The work is done and idempotent: a later delivery finds the lease run out and does nothing new.
    deps.log.warn('could not mark a webhook as handled', { eventId: event.eventId, errorCode: errorCodeOf(error) });
  }
  deps.log.info('webhook handled', { eventId: event.eventId, storeId: event.storeId, eventType: event.eventType, ...outcome });
  return outcome;
}

/** The work one accepted event asks for. */
class WebhookAction {
  constructor(
    private readonly deps: WebhookDependencies,
    private readonly settings: WebhookSettings,
    private readonly request: WebhookRequest,
    private readonly event: WebhookEvent,
  ) {}

  async run(subscription: { newStatus: string; oldStatus?: string } | undefined): Promise<WebhookOutcome> {
    const { event } = this;
    switch (event.eventType) {
      case 'application.installed':
        // The callback stores the token; the webhook only says Ecwid installed the app.
        return { result: 'processed', detail: 'recorded' };
      case 'application.uninstalled':
        return this.uninstall();
      case 'application.subscriptionStatusChanged':
        return this.recordSubscription(subscription!);
      default:
        // A privacy request: the app acts on it; this backend holds no customer data. The event is the
        // only record of the request: unpublished, it is not acknowledged, and Ecwid delivers it again.
        if (!(await announce(this.deps.publisher, this.deps.log, [privacyAnnouncement(event, await this.installationStatus())]))) {
          throw new EcwidAppAuthError('WEBHOOK_DEFERRED', 'the privacy request could not be published; Ecwid delivers it again', {
            detail: { eventId: event.eventId },
          });
        }
        return { result: 'processed', detail: 'published' };
    }
  }

  private async recordSubscription(change: { newStatus: string; oldStatus?: string }): Promise<WebhookOutcome> {
    const nowEpochSeconds = this.nowEpochSeconds();
    const recorded = await this.deps.lifecycle.recordSubscription({
      storeId: this.event.storeId,
      subscriptionStatus: change.newStatus,
      changedAtEpochSeconds: this.event.eventCreated,
      nowEpochSeconds,
      keepUntilEpochSeconds: nowEpochSeconds + this.settings.uninstallRetentionSeconds,
    });
    if (!recorded.recorded) return { result: 'ignored', reason: 'older_than_recorded' };
    const previousStatus = change.oldStatus ?? recorded.previousStatus;
    await announce(this.deps.publisher, this.deps.log, [
      subscriptionAnnouncement(this.event, { newStatus: change.newStatus, previousStatus }, recorded.installationStatus),
    ]);
    return { result: 'processed', detail: 'subscription_recorded' };
  }

  /** Confirm, then purge; an inconclusive check is handed to the scheduled job. Decided afresh if a write loses a race. */
  private async uninstall(): Promise<WebhookOutcome> {
    let purgeRefused: { reason: string } | undefined;
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      const installation = await this.deps.installations.getInstallation(this.event.storeId);
      if (installation === undefined) {
        // Gone right after this delivery's own purge was refused: that purge was applied and only its
        // answer lost (the client retried it), or the job purged it meanwhile. Announced either way.
        if (purgeRefused !== undefined) return this.purged(purgeRefused.reason);
        return this.afterEarlierPurge();
      }
      let decision = decideUninstall(installation, this.event.eventCreated, this.nowEpochSeconds());
      if (decision.action === 'verify') decision = await this.verify(installation);
      const written = await this.apply(installation, decision);
      if (written !== undefined) return written;
      purgeRefused = decision.action === 'purge' ? { reason: decision.reason } : undefined;
      this.deps.log.info('the installation changed while an uninstall was decided; deciding again', { storeId: installation.storeId });
    }
    throw new EcwidAppAuthError('WEBHOOK_DEFERRED', 'the installation kept changing while the uninstall was decided', {
      detail: { storeId: this.event.storeId },
    });
  }

  /** Asks Ecwid about the token, in what remains of the budget; no answer in time is inconclusive. */
  private async verify(installation: Installation): Promise<UninstallDecision> {
    const remainingMs = this.request.deadlineEpochMs - this.settings.reserveMs - this.deps.clock.nowEpochMs();
    const timeoutMs = Math.min(this.settings.verifyTimeoutMs, remainingMs);
    if (timeoutMs < 500) return { action: 'request_check', reason: 'no_time_left' };
    let accessToken: string;
    try {
      const sealer = await this.deps.vault.sealerOf(installation);
      accessToken = sealer.open(installation.accessToken, 'access_token');
    } catch (error) {
      // A token that does not open is dead to this app; KMS being away is a passing problem.
      if (errorCodeOf(error) === 'TOKEN_UNREADABLE') return { action: 'purge', reason: 'token_unreadable' };
      return { action: 'request_check', reason: 'encryption_unavailable' };
    }
    const verification = await this.deps.verifier.verifyToken({ storeId: installation.storeId, accessToken, timeoutMs });
    return decideAfterUninstallVerification(verification);
  }

  /** Carries out a decision; undefined when its conditional write found the installation changed. */
  private async apply(installation: Installation, decision: UninstallDecision): Promise<WebhookOutcome | undefined> {
    const nowEpochSeconds = this.nowEpochSeconds();
    const { storeId, version } = installation;
    switch (decision.action) {
      case 'ignore':
        this.deps.log.warn('uninstall webhook ignored', { storeId, reason: decision.reason, eventId: this.event.eventId });
        return { result: 'ignored', reason: decision.reason };
      case 'verify':
        throw new Error('an uninstall is applied only once its check is done');
      case 'purge': {
        const tombstone = tombstoneFor(this.event.eventCreated, nowEpochSeconds, this.settings.uninstallRetentionSeconds);
        if (!(await this.deps.lifecycle.purgeInstallation({ storeId, version, reason: decision.reason, nowEpochSeconds, tombstone }))) return undefined;
        this.deps.log.warn('installation status changed', { storeId, from: installation.status, to: 'uninstalled', reason: decision.reason });
        return this.purged(decision.reason);
      }
      case 'request_check': {
        const requested = await this.deps.lifecycle.requestUninstallCheck({
          storeId,
          version,
          requestedAtEpochSeconds: this.event.eventCreated,
          nowEpochSeconds,
        });
        if (!requested) return undefined;
        this.deps.log.warn('uninstall could not be confirmed yet; the scheduled job checks the token now', { storeId, reason: decision.reason });
        return { result: 'processed', detail: 'uninstall_check_requested' };
      }
    }
  }

  /**
   * No installation, but maybe the tombstone of this very uninstall: an earlier delivery purged, then
   * failed before it announced (its claim released). Announced now; subscribers deduplicate.
   */
  private async afterEarlierPurge(): Promise<WebhookOutcome> {
    const tombstone = await this.deps.lifecycle.findTombstone(this.event.storeId, this.nowEpochSeconds());
    if (tombstone?.uninstalledAtEpochSeconds !== this.event.eventCreated) return { result: 'ignored', reason: 'no_installation' };
    this.deps.log.info('uninstall already purged by an earlier delivery; announced again', { storeId: this.event.storeId, eventId: this.event.eventId });
    return this.purged(tombstone.statusReason ?? 'uninstalled');
  }

  private async purged(reason: string): Promise<WebhookOutcome> {
    await announce(this.deps.publisher, this.deps.log, [uninstallAnnouncement(this.event, reason)]);
    return { result: 'processed', detail: 'purged' };
  }

  private async installationStatus(): Promise<InstallationStatus | null> {
    return (await this.deps.installations.getInstallation(this.event.storeId))?.status ?? null;
  }

  private nowEpochSeconds(): number {
    return Math.floor(this.deps.clock.nowEpochMs() / 1000);
  }
}

function describe(outcome: WebhookOutcome): string {
  switch (outcome.result) {
    case 'processed':
      return outcome.detail;
    case 'ignored':
      return `ignored:${outcome.reason}`;
    case 'duplicate':
      return 'duplicate';
  }
}

/** Event types are unsigned input: only a plain dotted name reaches a log line. */
function safeForLog(eventType: string): string {
  return /^[A-Za-z0-9_.]{1,128}$/.test(eventType) ? eventType : '[unrecognised]';
}
