/**
 * The lifecycle events each change is announced with: pure builders, one per kind of change, so the
 * callback, the refresh job and the webhooks say the same thing the same way. No token ever goes in.
 */
import type { CheckResult, ClaimedWebhookEvent, Installation, InstallationStatus, LifecycleEvent } from '../model';
import { errorName } from '../errors';
import type { LifecycleEventPublisher, Logger } from '../ports';

const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();

/** A stored install: the store's first (`Store Installed`), or one over an earlier installation or tombstone. */
export function installAnnouncement(saved: Pick<Installation, 'storeId' | 'version' | 'installedAtEpochSeconds'>, lane: string): LifecycleEvent {
  return {
    // The version starts at 1 with the first write of a grant: anything above is a reinstall.
    detailType: saved.version <= 1 ? 'Store Installed' : 'Store Reinstalled',
    detail: { storeId: saved.storeId, status: 'active', reason: lane, time: iso(saved.installedAtEpochSeconds) },
  };
}

/**
 * A grant that lacks scopes the app is configured to ask for: `Scopes Missing`, with the scopes, so
 * the app can ask the merchant to re-consent (`GET /authorize`). Undefined when none are missing.
 */
export function scopesAnnouncement(
  installation: Pick<Installation, 'storeId' | 'status' | 'missingScopes' | 'updatedAtEpochSeconds'>,
  reason: string,
): LifecycleEvent | undefined {
  const missing = installation.missingScopes ?? [];
  if (missing.length === 0) return undefined;
  return {
    detailType: 'Scopes Missing',
    detail: { storeId: installation.storeId, status: installation.status, reason, time: iso(installation.updatedAtEpochSeconds), missingScopes: [...missing] },
  };
}

/**
 * What a scheduled check changed, if it is worth announcing: a store that moved to `needs_reinstall`
 * (`Token Revoked`), one back to `active` (`Token Recovered`), a confirmed uninstall (`Store Uninstalled`).
 */
export function checkAnnouncement(previous: InstallationStatus, result: CheckResult, storeId: number, nowEpochSeconds: number): LifecycleEvent | undefined {
  const reason = result.statusReason ?? result.status;
  if (result.status === 'uninstalled' && result.uninstall !== undefined) {
    return { detailType: 'Store Uninstalled', detail: { storeId, status: 'uninstalled', reason, time: iso(result.uninstall.uninstalledAtEpochSeconds) } };
  }
  if (result.status === 'needs_reinstall' && previous !== 'needs_reinstall') {
    return { detailType: 'Token Revoked', detail: { storeId, status: 'needs_reinstall', reason, time: iso(nowEpochSeconds) } };
  }
  if (result.status === 'active' && previous !== 'active') {
    return { detailType: 'Token Recovered', detail: { storeId, status: 'active', reason: `was_${previous}`, time: iso(nowEpochSeconds) } };
  }
  return undefined;
}

/** An uninstall a webhook confirmed and purged. */
export function uninstallAnnouncement(event: ClaimedWebhookEvent, reason: string): LifecycleEvent {
  return {
    detailType: 'Store Uninstalled',
    detail: { storeId: event.storeId, status: 'uninstalled', reason, time: iso(event.eventCreated), ...webhookOf(event) },
  };
}

export function subscriptionAnnouncement(
  event: ClaimedWebhookEvent,
  change: { newStatus: string; previousStatus?: string | undefined },
  installationStatus: InstallationStatus | null,
): LifecycleEvent {
  return {
    detailType: 'Subscription Changed',
    detail: {
      storeId: event.storeId,
      status: installationStatus,
      reason: event.eventType,
      time: iso(event.eventCreated),
      ...webhookOf(event),
      subscriptionStatus: change.newStatus,
      ...(change.previousStatus === undefined ? {} : { previousSubscriptionStatus: change.previousStatus }),
    },
  };
}

/** A privacy request (`customer.personalDataRemovalRequest`, ...), handed on for the app to act on. */
export function privacyAnnouncement(event: ClaimedWebhookEvent, installationStatus: InstallationStatus | null): LifecycleEvent {
  const [subject, action] = event.eventType.split('.') as [string, string];
  return {
    detailType: 'Personal Data Request',
    detail: {
      storeId: event.storeId,
      status: installationStatus,
      reason: event.eventType,
      time: iso(event.eventCreated),
      ...webhookOf(event),
      request: action.includes('Export') ? 'export' : 'removal',
      subject: subject === 'profile' ? 'profile' : 'customer',
      ...(event.entityId === undefined ? {} : { entityId: event.entityId }),
      ...(event.data === undefined ? {} : { data: event.data }),
    },
  };
}

/** The webhook an event announces the work of: consumers deduplicate by both. */
function webhookOf(event: ClaimedWebhookEvent): { webhookEventId: string; webhookDigest: string } {
  return { webhookEventId: event.eventId, webhookDigest: event.digest };
}

/**
 * Publishes, and never lets publishing fail the change it announces: the publisher already retries
 * and logs what it could not publish; anything it throws all the same is swallowed here.
 *
 * @returns whether every event was published: a caller whose change is nothing but the event (a
 *   privacy request) can then ask for it again instead of acknowledging it.
 */
export async function announce(
  publisher: LifecycleEventPublisher,
  log: Logger,
  events: ReadonlyArray<LifecycleEvent | undefined>,
): Promise<boolean> {
  const defined = events.filter((event): event is LifecycleEvent => event !== undefined);
  if (defined.length === 0) return true;
  try {
    return (await publisher.publish(defined)).unpublished === 0;
  } catch (error) {
    // The publisher's contract is never to throw; a bug there must not undo a stored change.
    try {
      log.error('lifecycle events could not be published', { errorName: errorName(error), events: loggableEvents(defined) });
    } catch {
      // Not even the line could be written: nothing more to do, and the change stays.
    }
    return false;
  }
}

/**
 * Events as a log line can hold them: whole when they can be written as JSON (an operator replays
 * them from the line), else what identifies each (a `data` that cannot be written is left out).
 */
export function loggableEvents(events: readonly LifecycleEvent[]): unknown[] {
  try {
    JSON.stringify(events);
    return [...events];
  } catch {
    return events.map(({ detailType, detail }) => ({
      detailType,
      detail: {
        storeId: detail.storeId,
        status: detail.status,
        reason: detail.reason,
        time: detail.time,
        ...(detail.webhookEventId === undefined ? {} : { webhookEventId: detail.webhookEventId }),
      },
      omitted: 'the rest of the detail could not be written as JSON',
    }));
  }
}
