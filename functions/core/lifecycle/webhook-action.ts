/**
 * What each accepted webhook asks for, once `handleWebhook` has authenticated it, judged it fresh and
 * claimed it: an uninstall confirmed with Ecwid before anything is destroyed, a subscription recorded,
 * a privacy request handed on. Throws to have the claim released (Ecwid delivers again).
 */
import { EcwidAppAuthError } from '../errors';
import type { ClaimedWebhookEvent, Installation, InstallationStatus, WebhookOutcome } from '../model';
import { announce, privacyAnnouncement, uninstallAnnouncement } from './announcements';
import type { WebhookDependencies, WebhookRequest, WebhookSettings } from './handle-webhook';
import { recordSubscriptionFromEcwid } from './record-subscription';
import { ecwidRequestTimeoutMs, MIN_ECWID_REQUEST_MS, openAccessToken } from './store-token';
import { decideAfterUninstallVerification, decideUninstall, tombstoneFor, type UninstallDecision } from './uninstall-policy';

/** The work one accepted event asks for. */
export class WebhookAction {
  constructor(
    private readonly deps: WebhookDependencies,
    private readonly settings: WebhookSettings,
    private readonly request: WebhookRequest,
    private readonly event: ClaimedWebhookEvent,
  ) {}

  /** @param subscription what a subscription event's body says (checked with Ecwid before anything is recorded) */
  async run(subscription: { newStatus: string; oldStatus?: string } | undefined): Promise<WebhookOutcome> {
    const { event } = this;
    switch (event.eventType) {
      case 'application.installed':
        // The callback stores the token; the webhook only says Ecwid installed the app.
        return { result: 'processed', detail: 'recorded' };
      case 'application.uninstalled':
        return this.uninstall();
      case 'application.subscriptionStatusChanged':
        return recordSubscriptionFromEcwid(this.deps, this.settings, this.request, event, subscription!);
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
    const timeoutMs = ecwidRequestTimeoutMs(this.deps.clock, {
      deadlineEpochMs: this.request.deadlineEpochMs,
      reserveMs: this.settings.reserveMs,
      limitMs: this.settings.verifyTimeoutMs,
    });
    if (timeoutMs < MIN_ECWID_REQUEST_MS) return { action: 'request_check', reason: 'no_time_left' };
    const opened = await openAccessToken(this.deps.vault, installation);
    if ('failure' in opened) {
      // A token that does not open is dead to this app; KMS being away is a passing problem.
      return opened.failure === 'unreadable' ? { action: 'purge', reason: 'token_unreadable' } : { action: 'request_check', reason: 'encryption_unavailable' };
    }
    const verification = await this.deps.verifier.verifyToken({ storeId: installation.storeId, accessToken: opened.accessToken, timeoutMs });
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
