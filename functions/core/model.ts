/**
 * The domain model: what is stored and what the flows decide. Plain data, no behaviour; the ports
 * (`ports.ts`) move it in and out. One file on purpose, past the usual size: the installation item is
 * shared by every flow (install, refresh, webhooks, credentials, the app), and its fields, read in one
 * place, show what each of them writes; the sections below keep the kinds apart.
 */
import type { ErrorCode } from './errors';

// ---------------------------------------------------------------------------------------------
// State nonces (CSRF protection of app-initiated installs)
// ---------------------------------------------------------------------------------------------

/** A stored `state`. Only hashes are stored: a copy of the table does not yield a usable state. */
export interface StateRecord {
  stateHash: string;
  /** Hash of the browser-binding cookie the state was issued to. */
  browserBindingHash: string;
  createdAtEpochSeconds: number;
  /** Enforced in code on every read; DynamoDB TTL deletes the item only eventually. */
  expiresAtEpochSeconds: number;
}

/**
 * `consumed`: the state was valid and is now spent by this code (or had already been spent by this
 * very code, which is a reload of the same callback). Every other value is a refusal.
 */
export type StateConsumption = 'consumed' | 'unknown' | 'used' | 'expired' | 'browser_mismatch';

// ---------------------------------------------------------------------------------------------
// Authorization-code claims (never exchange the same code twice)
// ---------------------------------------------------------------------------------------------

export type CodeClaimOutcome =
  | { status: 'installed'; storeId: number }
  | { status: 'failed'; errorCode: ErrorCode };

export type CodeClaim = {
  codeHash: string;
  /** The nonce of the attempt holding the claim (absent on claims written before attempts had one). */
  attemptId?: string;
  /** The store the callback named, when it named one. */
  storeId?: number;
  claimedAtEpochSeconds: number;
} & ({ status: 'pending' } | CodeClaimOutcome);

export interface NewCodeClaim {
  codeHash: string;
  /**
   * A nonce of the attempt that claims: only that attempt may record the claim's outcome or release
   * it, so a retried request of an attempt that lost the claim cannot touch the next attempt's.
   */
  attemptId: string;
  storeId?: number;
  claimedAtEpochSeconds: number;
  /** Until the outcome is known, the claim is kept as long as a code can live, and some. */
  expiresAtEpochSeconds: number;
}

export type ClaimResult = { claimed: true } | { claimed: false; existing: CodeClaim };

// ---------------------------------------------------------------------------------------------
// Tokens and installations (one per store)
// ---------------------------------------------------------------------------------------------

/**
 * - `active`: the token is believed to work.
 * - `needs_reinstall`: Ecwid revoked the token or the grant; only a new install helps.
 * - `suspended`: the store cannot use the API right now (suspended, or a plan without API).
 * - `store_gone`: Ecwid no longer knows the store.
 * - `needs_attention`: checks kept failing for longer than the failure budget.
 * - `uninstalled`: the merchant uninstalled the app (confirmed): a tombstone without tokens or data
 *   key, deleted by DynamoDB after the retention. Never checked, never due; a reinstall replaces it.
 */
export type InstallationStatus = 'active' | 'needs_reinstall' | 'suspended' | 'store_gone' | 'needs_attention' | 'uninstalled';

/**
 * A token as it is stored: ciphertext only a `TokenSealer` of the same store can open. The brand
 * keeps a plaintext token from being stored, or a sealed one from being sent, by mistake.
 */
export type SealedToken = string & { readonly __sealed: unique symbol };

/** Which token a ciphertext holds: bound into it, so a sealed token cannot be moved to another field. */
export type TokenField = 'access_token' | 'refresh_token' | 'public_token';

/** A validated answer of the token endpoint. */
export interface TokenGrant {
  accessToken: string;
  scope: string;
  storeId: number;
  publicToken?: string;
  refreshToken?: string;
  /** Lifetime of the access token, only when the server sent `expires_in`. */
  expiresInSeconds?: number;
}

export interface Installation {
  storeId: number;
  /** The store's data key, encrypted under the KMS key (see `TokenVault`). */
  tokenKey: string;
  accessToken: SealedToken;
  /** Always `Bearer`: the only type accepted from the token endpoint. */
  tokenType: 'Bearer';
  /**
   * The access token's fingerprint (`accessTokenFingerprint`): binds the control panel's payload to
   * the store (its encryption has no integrity, so its `store_id` alone proves nothing). Absent on
   * installations stored before it existed.
   */
  accessTokenFingerprint?: string;
  scope: string;
  publicToken?: SealedToken;
  refreshToken?: SealedToken;
  /** When the access token expires; absent for Ecwid's non-expiring tokens. */
  expiresAtEpochSeconds?: number;
  installedAtEpochSeconds: number;
  updatedAtEpochSeconds: number;
  status: InstallationStatus;
  /** Why the status is not `active` (an Ecwid error code, `invalid_grant`, ...). */
  statusReason?: string;
  /**
   * Incremented by every change of the grant or of its status (an install, a refresh, a check):
   * the condition of every update that must not lose a race. Taking a lease does not change it.
   */
  version: number;
  /** Hash of the authorization code that produced the current grant (none for the control panel lane). */
  grantCodeHash?: string;
  /** How the current grant came: an OAuth install (either lane) or a token the control panel handed over. */
  grantLane?: InstallLane;
  /**
   * When the code exchange that produced the current grant was answered, by the callback's clock:
   * of two installs of one store that cross, the later one stays. Only installs write it (a refresh
   * renews tokens, not the grant), so no other writer's clock can make a reinstall lose.
   */
  grantObtainedAtEpochMs?: number;
  /** When the scheduled job should next refresh or verify this token; absent when it should not. */
  nextCheckAtEpochSeconds?: number;
  lastRefreshedAtEpochSeconds?: number;
  lastVerifiedAtEpochSeconds?: number;
  /** Consecutive checks that failed for a passing reason (5xx, network), and when the first did. */
  failureCount?: number;
  firstFailureAtEpochSeconds?: number;
  /**
   * Set just before a refresh request is sent, cleared when its outcome is stored: while set, a
   * refresh may have rotated the refresh token without the new one being kept, so a later
   * `invalid_grant` means the outcome was lost, not that the merchant revoked access.
   */
  refreshInFlightSinceEpochSeconds?: number;
  /** The app's subscription in the store (`TRIAL`, `ACTIVE`, ...), from the last webhook that changed it. */
  subscriptionStatus?: string;
  /** When Ecwid says that change happened (`eventCreated`): an older webhook never overwrites it. */
  subscriptionChangedAtEpochSeconds?: number;
  /**
   * An `application.uninstalled` webhook whose check with Ecwid was inconclusive: when Ecwid says the
   * uninstall happened. The scheduled job checks the token at once and purges the installation when
   * the token is dead; a reinstall removes the request.
   */
  uninstallRequestedAtEpochSeconds?: number;
  /**
   * The scopes the app is configured to ask for that this grant lacks: recomputed by every install,
   * by the scheduled job as it checks the store (after a configuration change), and when the app's
   * code meets 403 `INSUFFICIENT_APP_SCOPE`. Absent when none are missing. The store stays usable.
   */
  missingScopes?: string[];
}

/**
 * Where a grant came from: `app_initiated` (the app's own `/authorize`, a state bound to the browser),
 * `app_market` (Ecwid's App Market, no state), `control_panel` (the token of the iframe's payload,
 * which the profile check accepted, for a store that had none that worked).
 */
export type InstallLane = 'app_initiated' | 'app_market' | 'control_panel';

/** The fields of a new grant that an install writes, replacing whatever the store had. */
type GrantFields =
  | 'storeId'
  | 'tokenKey'
  | 'accessToken'
  | 'scope'
  | 'publicToken'
  | 'refreshToken'
  | 'expiresAtEpochSeconds'
  | 'installedAtEpochSeconds'
  | 'grantCodeHash'
  | 'grantLane'
  | 'missingScopes'
  | 'accessTokenFingerprint';

/**
 * What an install writes: a fresh grant, where it came from, and when to check it first. The rest
 * of an {@link Installation} (status, version, check history) is the store's to set.
 */
export type NewInstallation = Pick<Installation, GrantFields> &
  Required<Pick<Installation, 'grantObtainedAtEpochMs' | 'nextCheckAtEpochSeconds'>>;

// ---------------------------------------------------------------------------------------------
// The scheduled job
// ---------------------------------------------------------------------------------------------

export interface DueEntry {
  storeId: number;
  dueAtEpochSeconds: number;
}

/** One page of due installations from one shard of the due index, earliest due first. */
export interface DuePage {
  /** Only what the index holds: which store, and since when it is due. The lease reads the rest. */
  due: DueEntry[];
  /** Where the next page starts; absent on the last page. */
  cursor?: string;
}

/** What a scheduled check decided about an installation; written atomically with its lease release. */
export interface CheckResult {
  status: InstallationStatus;
  /** Why the status is not `active`; absent clears it. */
  statusReason?: string;
  /** A refreshed grant: written together with everything else, so a rotated refresh token is never lost. */
  refreshedGrant?: {
    accessToken: SealedToken;
    /** The new access token's fingerprint. */
    accessTokenFingerprint?: string;
    refreshToken?: SealedToken;
    expiresAtEpochSeconds: number;
    scope?: string;
  };
  /** The next check, or absent to take the installation out of the schedule (revoked, gone). */
  nextCheckAtEpochSeconds?: number;
  lastRefreshedAtEpochSeconds?: number;
  lastVerifiedAtEpochSeconds?: number;
  /** The failure streak after this check; absent resets it. */
  failure?: { count: number; firstAtEpochSeconds: number };
  /**
   * Kept when a refresh was sent and its outcome is unknown (a timeout, a broken connection, a 5xx,
   * an answer that made no sense): the server may have rotated the refresh token. Absent clears it.
   */
  refreshInFlightSinceEpochSeconds?: number;
  /** With status `uninstalled`: the check confirmed a requested uninstall; the write purges the installation. */
  uninstall?: Tombstone;
  /** The check found the token alive: a requested uninstall was not the merchant's, and is forgotten. */
  dismissUninstallRequest?: boolean;
  /** The configured scopes the grant lacks, recomputed by the check; empty clears them, absent leaves them. */
  missingScopes?: string[];
}

/**
 * What Ecwid's REST API said of a token, from `GET /api/v3/{storeId}/profile`.
 * `failed` covers 5xx, network errors and answers that make no sense: a passing problem.
 */
export type TokenVerification =
  | { outcome: 'valid' }
  | { outcome: 'revoked'; errorCode: string }
  | { outcome: 'suspended'; errorCode: string }
  | { outcome: 'store_gone'; errorCode: string }
  | { outcome: 'rate_limited'; retryAfterSeconds?: number }
  | { outcome: 'failed'; reason: string };

/** What `GET /api/v3/{storeId}/application` said of the app's subscription in the store. */
export type AppSubscriptionAnswer =
  | { outcome: 'found'; subscriptionStatus: string }
  /** Ecwid answered, with nothing to record: the token refused, the store suspended or gone, no status in the answer. */
  | { outcome: 'refused'; reason: string }
  /** Ecwid could not say now (a timeout, a 5xx, a 429, the network): asking again later may work. */
  | { outcome: 'unavailable'; reason: string; retryAfterSeconds?: number };

// ---------------------------------------------------------------------------------------------
// The lifecycle: Ecwid's webhooks, purges, and the events other services subscribe to
// ---------------------------------------------------------------------------------------------

/**
 * What a purge leaves of an installation: no token and no data key, only when the app was
 * uninstalled and until when the tombstone is kept (DynamoDB's TTL deletes it after that).
 */
export interface Tombstone {
  /** When Ecwid says the merchant uninstalled (`eventCreated` of the webhook). */
  uninstalledAtEpochSeconds: number;
  /** When DynamoDB may delete the tombstone (the TTL). */
  deleteAfterEpochSeconds: number;
}

/**
 * An installation as operators and the local stack see it: its lifecycle, never a token, a data key
 * or the owner's email. Tombstones (`uninstalled`) included; `status` is absent for a store whose
 * subscription webhook arrived before its install completed (items earlier versions wrote).
 */
export type InstallationView = Partial<
  Omit<Installation, 'storeId' | 'tokenKey' | 'accessToken' | 'publicToken' | 'refreshToken' | 'ownerEmail' | 'tokenType' | 'grantCodeHash'>
> & {
  storeId: number;
  uninstalledAtEpochSeconds?: number;
  deleteAfterEpochSeconds?: number;
};

/** An app event of Ecwid's webhooks, in the one spelling this project uses (camelCase). */
export type AppEventType = 'application.installed' | 'application.uninstalled' | 'application.subscriptionStatusChanged';

/** A privacy event: someone asked for their personal data to be removed or exported. */
export type PrivacyEventType =
  | 'customer.personalDataRemovalRequest'
  | 'customer.personalDataExportRequest'
  | 'profile.personalDataRemovalRequest'
  | 'profile.personalDataExportRequest';

/**
 * A webhook from Ecwid, parsed and normalized: `eventType` in camelCase whatever Ecwid sent,
 * `eventId` and `entityId` as strings. Only `eventId` and `eventCreated` are signed.
 */
export interface WebhookEvent {
  eventId: string;
  /** Unix seconds, as Ecwid sent it: the signature covers its text. */
  eventCreated: number;
  storeId: number;
  /** The normalized type; an event this project does not act on keeps its own (camelCase) name. */
  eventType: AppEventType | PrivacyEventType | string;
  entityId?: string;
  data?: Record<string, unknown>;
}

/** A webhook event its delivery has claimed, named by its `eventId` and the digest of its unsigned fields. */
export interface ClaimedWebhookEvent extends WebhookEvent {
  /** SHA-256 (hex) of `storeId`, `eventType`, `entityId` and `data` (`lifecycle/webhook-digest.ts`). */
  digest: string;
}

/** What the webhook route did with an event it accepted (every one of these answers 200). */
export type WebhookOutcome =
  | { result: 'processed'; detail: string }
  | { result: 'duplicate' }
  | {
      result: 'ignored';
      reason: 'stale' | 'future' | 'unknown_event_type' | 'unconfirmed' | 'no_installation' | 'superseded_by_reinstall' | 'older_than_recorded' | 'too_many_variants';
    };

/** The EventBridge `source` of every lifecycle event. */
export const LIFECYCLE_EVENT_SOURCE = 'ecwid-app-auth';

/** Every kind of event the app's other services can subscribe to (EventBridge `detail-type`). */
export const LIFECYCLE_EVENT_TYPES = [
  'Store Installed',
  'Store Reinstalled',
  'Store Uninstalled',
  'Token Revoked',
  'Token Recovered',
  'Subscription Changed',
  'Personal Data Request',
  /** A store whose grant lacks scopes the app is configured to ask for (`missingScopes`): it needs a re-consent. */
  'Scopes Missing',
] as const;

export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];

/**
 * The `detail` of a lifecycle event: which store, its new status, why, and when. Never a token.
 * The optional fields belong to some types only (see the README).
 */
export interface LifecycleEventDetail {
  storeId: number;
  /** The installation's status after the change; null when the store has no installation. */
  status: InstallationStatus | null;
  /** Why: an Ecwid error code, a webhook's event type, `install`, ... */
  reason: string;
  /** When the change happened, ISO-8601. */
  time: string;
  /**
   * The webhook behind the change, when there was one. Consumers deduplicate by it together with
   * `webhookDigest`: delivery is at least once, and a replayed signature can carry another body under
   * the same `eventId` (each body is an event of its own).
   */
  webhookEventId?: string;
  /** SHA-256 (hex) of the webhook's unsigned fields (`storeId`, `eventType`, `entityId`, `data`). */
  webhookDigest?: string;
  subscriptionStatus?: string;
  previousSubscriptionStatus?: string;
  /** `Personal Data Request`: `removal` or `export`, about a `customer` or the store's `profile`. */
  request?: 'removal' | 'export';
  subject?: 'customer' | 'profile';
  /** `Personal Data Request`: the customer (or profile) id Ecwid named. Unsigned: check it with Ecwid before acting. */
  entityId?: string;
  /** `Personal Data Request`: Ecwid's `data`, as sent. */
  data?: Record<string, unknown>;
  /** `Scopes Missing`: the configured scopes the store's grant lacks. */
  missingScopes?: string[];
}

export interface LifecycleEvent {
  detailType: LifecycleEventType;
  detail: LifecycleEventDetail;
}
