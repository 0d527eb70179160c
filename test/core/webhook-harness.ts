import { randomUUID } from 'node:crypto';
import { handleWebhook, type WebhookSettings } from '../../functions/core/lifecycle/handle-webhook';
import { webhookSignature } from '../../functions/core/lifecycle/signature';
import type { AppSubscriptionAnswer, TokenVerification } from '../../functions/core/model';
import type { AppSubscriptionReader, TokenVerifier } from '../../functions/core/ports';
import { capturingLogger, FixedClientSecret, ManualClock, RecordingCounter, RecordingPublisher } from '../support/fakes';
import { MemoryStore } from '../support/memory-store';
import { MemoryTokenVault } from '../support/memory-token-vault';

export const WEBHOOK_SETTINGS: WebhookSettings = {
  maxEventAgeSeconds: 26 * 3600,
  maxFutureSkewSeconds: 300,
  eventRetentionSeconds: 72 * 3600,
  uninstallRetentionSeconds: 30 * 86_400,
  verifyTimeoutMs: 3_000,
  reserveMs: 2_500,
};

/** Ecwid's REST API as the uninstall check sees it: per store, a scripted answer, or the token's own verdict. */
export class ScriptedProfile implements TokenVerifier {
  readonly requests: Array<{ storeId: number; accessToken: string; timeoutMs?: number }> = [];
  /** Tokens Ecwid still accepts: the others are revoked. */
  readonly validTokens = new Set<string>();
  readonly answers = new Map<number, TokenVerification | (() => Promise<TokenVerification>)>();

  async verifyToken(request: { storeId: number; accessToken: string; timeoutMs?: number }): Promise<TokenVerification> {
    this.requests.push(request);
    const scripted = this.answers.get(request.storeId);
    if (typeof scripted === 'function') return scripted();
    if (scripted !== undefined) return scripted;
    return this.validTokens.has(request.accessToken) ? { outcome: 'valid' } : { outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' };
  }
}

/**
 * Ecwid's `GET /api/v3/{storeId}/application` as the subscription check sees it: per store, a scripted
 * answer, or the app's subscription status (`ACTIVE` when none is set, as for a free app) for a token
 * Ecwid accepts, and 403 `INVALID_API_TOKEN` for one it does not.
 */
export class ScriptedApplication implements AppSubscriptionReader {
  readonly requests: Array<{ storeId: number; accessToken: string; timeoutMs?: number }> = [];
  /** The app's subscription status in each store, as Ecwid has it. */
  readonly subscriptions = new Map<number, string>();
  readonly answers = new Map<number, AppSubscriptionAnswer | (() => Promise<AppSubscriptionAnswer>)>();

  constructor(private readonly profile: ScriptedProfile) {}

  async readAppSubscription(request: { storeId: number; accessToken: string; timeoutMs?: number }): Promise<AppSubscriptionAnswer> {
    this.requests.push(request);
    const scripted = this.answers.get(request.storeId);
    if (typeof scripted === 'function') return scripted();
    if (scripted !== undefined) return scripted;
    if (!this.profile.validTokens.has(request.accessToken)) return { outcome: 'refused', reason: 'INVALID_API_TOKEN' };
    return { outcome: 'found', subscriptionStatus: this.subscriptions.get(request.storeId) ?? 'ACTIVE' };
  }
}

/** The webhook core over in-memory fakes, a manual clock, and helpers to sign and send webhooks as Ecwid does. */
export function webhookHarness() {
  const clock = new ManualClock();
  const store = new MemoryStore(4, clock);
  const vault = new MemoryTokenVault();
  const secrets = new FixedClientSecret('webhook-client-secret');
  const profile = new ScriptedProfile();
  const application = new ScriptedApplication(profile);
  const publisher = new RecordingPublisher();
  const counter = new RecordingCounter();
  const logs = capturingLogger();
  const now = () => Math.floor(clock.nowEpochMs() / 1000);
  const deps = {
    secrets,
    webhookEvents: store,
    installations: store,
    lifecycle: store,
    vault,
    verifier: profile,
    appSubscription: application,
    publisher,
    counter,
    clock,
    log: logs.log,
  };
  let obtained = clock.nowEpochMs();
  let requests = 0;

  /** Stores a working installation (the token Ecwid accepts) as the callback would. */
  const install = async (storeId: number, overrides: { installedAtEpochSeconds?: number; status?: 'needs_reinstall' } = {}) => {
    const sealer = await vault.sealerFor(storeId);
    const accessToken = `secret_${storeId}_${randomUUID().replace(/-/g, '')}`;
    profile.validTokens.add(accessToken);
    const saved = (await store.saveInstallation({
      storeId,
      tokenKey: sealer.tokenKey,
      accessToken: sealer.seal(accessToken, 'access_token'),
      scope: 'read_store_profile',
      installedAtEpochSeconds: overrides.installedAtEpochSeconds ?? now(),
      grantCodeHash: randomUUID(),
      grantObtainedAtEpochMs: (obtained += 1),
      nextCheckAtEpochSeconds: now() + 86_400,
    }))!;
    if (overrides.status !== undefined) store.installations.get(storeId)!.status = overrides.status;
    return { saved, accessToken };
  };

  /** A webhook body as Ecwid sends it, and its signature by `secret` (the current client secret by default). */
  const webhook = (fields: Record<string, unknown>, secret = secrets.value) => {
    const body = { eventId: randomUUID(), eventCreated: now(), entityId: 'app-client-id', ...fields };
    const bodyText = JSON.stringify(body);
    const signature = webhookSignature(secret, { eventCreated: body.eventCreated as number, eventId: String(body.eventId) });
    return { body, bodyText, signature };
  };

  /** One delivery, with an 8 s budget from now. */
  const deliver = (bodyText: string, signature: string | undefined) =>
    handleWebhook(deps, WEBHOOK_SETTINGS, { bodyText, signature, requestId: `request-${(requests += 1)}`, deadlineEpochMs: clock.nowEpochMs() + 8_000 });

  return { clock, store, vault, secrets, profile, application, publisher, counter, logs, deps, now, install, webhook, deliver };
}
