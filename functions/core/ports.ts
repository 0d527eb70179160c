/**
 * The ports the core depends on, and nothing else: interfaces that adapters implement (DynamoDB,
 * KMS, Secrets Manager, fetch) and tests implement in memory. The data they carry is the domain
 * model (`model.ts`). Nothing here knows about AWS, HTTP servers or the environment. One file on
 * purpose, past the usual size: the store ports split one table's items by intent, and their
 * conditions (versions, leases, tombstones) only read as a whole.
 */
import type {
  AppSubscriptionAnswer,
  CheckResult,
  ClaimResult,
  CodeClaim,
  CodeClaimOutcome,
  DuePage,
  Installation,
  InstallationView,
  LifecycleEvent,
  Tombstone,
  NewCodeClaim,
  NewInstallation,
  SealedToken,
  StateConsumption,
  StateRecord,
  TokenField,
  TokenGrant,
  TokenVerification,
} from './model';

/** Wall-clock time and waiting, injectable so tests can pin and advance time. */
export interface Clock {
  nowEpochMs(): number;
  sleep(durationMs: number): Promise<void>;
}

/** A cryptographically secure source of random bytes. */
export interface RandomSource {
  randomBytes(length: number): Uint8Array;
}

/** What the webhooks count for ops, each as a metric: see `runtime/metric-names.ts` for their names. */
export type WebhookCount =
  /** A webhook whose signature only the previous client secret (within its grace after a rotation) matched. */
  | 'signed_with_previous_secret'
  /** A webhook with the `eventId` of another but different unsigned fields: a replayed signature, or Ecwid changing a retry. */
  | 'event_variant';

/** Counts what ops need as a number, beside the log line that tells the story. Never throws. */
export interface WebhookCounter {
  count(what: WebhookCount): void;
}

/** Structured logging. Fields must never hold a token, an authorization code or a secret. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

// ---------------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------------

export interface ConsumeStateRequest {
  stateHash: string;
  /** Hash of the binding cookie sent with the callback, or undefined when there was none. */
  browserBindingHash: string | undefined;
  /** Hash of the code the callback carries: a reload of the same callback is recognised by it. */
  codeHash: string;
  nowEpochSeconds: number;
}

export interface StateStore {
  saveState(record: StateRecord): Promise<void>;
  /** Atomically spends a state: of two concurrent callbacks with different codes only one succeeds. */
  consumeState(request: ConsumeStateRequest): Promise<StateConsumption>;
}

export interface RecordCodeOutcomeRequest {
  codeHash: string;
  /** The attempt that holds the claim: nothing is written for any other. */
  attemptId: string;
  outcome: CodeClaimOutcome;
  /** How long the claim is kept from now on: long for a code that produced a token, short for a dead one. */
  expiresAtEpochSeconds: number;
}

export interface CodeClaimStore {
  /**
   * Records that this code is being exchanged, unless a claim for it already exists. A pending claim
   * of the same `attemptId` is this attempt's own (a retried put whose first answer was lost): claimed.
   */
  claimCode(claim: NewCodeClaim): Promise<ClaimResult>;
  getCodeClaim(codeHash: string): Promise<CodeClaim | undefined>;
  /** Records a pending claim's outcome, once, and only for the attempt that holds it. */
  recordCodeOutcome(request: RecordCodeOutcomeRequest): Promise<void>;
  /**
   * Deletes a pending claim held by `attemptId`: only for a code that provably never reached Ecwid.
   * A claim another attempt has taken since is left alone.
   */
  releaseCodeClaim(codeHash: string, attemptId: string): Promise<void>;
}

export interface SaveOptions {
  /**
   * A repair (the control panel lane) replaces only what it looked at: `no_grant` (nothing stored, a
   * tombstone, a subscription recorded before any install) or the grant at `version`. Without it, an
   * install replaces any grant obtained no later than its own.
   */
  replacing?: 'no_grant' | { version: number };
}

export interface InstallationStore {
  /**
   * Stores a new grant for the store, replacing the previous one, and bumps the version; unless the
   * stored grant was obtained strictly later (two installs of one store crossing), or is not the one
   * `options.replacing` names, in which case nothing is written and the result is undefined.
   */
  saveInstallation(installation: NewInstallation, options?: SaveOptions): Promise<Installation | undefined>;
  /** Strongly consistent read. */
  getInstallation(storeId: number): Promise<Installation | undefined>;
  /** Every installation. For local inspection and operator tooling, not for request paths. */
  listInstallations(): Promise<Installation[]>;
}

export interface FindDueRequest {
  shard: string;
  nowEpochSeconds: number;
  limit: number;
  cursor?: string;
}

export interface AcquireLeaseRequest {
  storeId: number;
  owner: string;
  nowEpochSeconds: number;
  leaseExpiresAtEpochSeconds: number;
}

export interface MarkRefreshInFlightRequest {
  storeId: number;
  owner: string;
  /** The version the lease returned: the mark is written only while it holds. */
  version: number;
  nowEpochSeconds: number;
}

export interface CompleteCheckRequest {
  storeId: number;
  owner: string;
  /** The version the lease returned: the result is written only over that version. */
  version: number;
  nowEpochSeconds: number;
  result: CheckResult;
}

/**
 * The scheduled job's view of the installations: the due index and a lease per installation,
 * so overlapping runs never handle the same token at the same time.
 */
export interface DueInstallationStore {
  /** The shards of the due index; each is queried on its own. */
  dueShards(): readonly string[];
  /** Installations of a shard whose next check is at or before `nowEpochSeconds`. Reads nothing that is not due. */
  findDue(request: FindDueRequest): Promise<DuePage>;
  /**
   * Takes the lease on an installation that is still due and not leased by a live runner, and
   * returns the installation as it is now (the re-read after acquiring). Undefined when another
   * runner holds it or it is no longer due.
   */
  acquireLease(request: AcquireLeaseRequest): Promise<Installation | undefined>;
  /**
   * Records that a refresh request is about to be sent, while the installation is still at
   * `version` and leased by `owner`. False when it is not (nothing may be sent then). The version
   * does not move: the check's result is still written over it.
   */
  markRefreshInFlight(request: MarkRefreshInFlightRequest): Promise<boolean>;
  /**
   * Writes a check's result and releases the lease, only if the installation is still at `version`
   * and still leased by `owner`. False when it was not: a reinstall (or a lease lost to expiry) won.
   */
  completeCheck(request: CompleteCheckRequest): Promise<boolean>;
}

export interface ReleaseLeaseRequest {
  storeId: number;
  owner: string;
}

export interface RecordRevocationRequest {
  storeId: number;
  /** The version whose token was found revoked: the status is written only over that version. */
  version: number;
  nowEpochSeconds: number;
  /** Ecwid's verdict (`INVALID_API_TOKEN`). */
  statusReason: string;
}

/**
 * The credentials API's view of the installations: strongly consistent reads, the scheduled job's
 * own lease (taken here whether or not the installation is due, so a renewal on read and the job
 * never handle one token at the same time), the job's conditional result write, and the record of a
 * revocation confirmed with Ecwid.
 */
export interface CredentialsStore {
  /** Strongly consistent read. */
  getInstallation(storeId: number): Promise<Installation | undefined>;
  /**
   * Takes the lease on an installation that no live runner holds, due or not, and returns it as it
   * is now. Undefined when another holder (the job, or another reader) has it, or it is not there.
   */
  leaseInstallation(request: AcquireLeaseRequest): Promise<Installation | undefined>;
  /** Gives a lease back without changing anything else (not even the version). False when `owner` did not hold it. */
  releaseLease(request: ReleaseLeaseRequest): Promise<boolean>;
  /** As {@link DueInstallationStore.markRefreshInFlight}: before a renewal's refresh request leaves. */
  markRefreshInFlight(request: MarkRefreshInFlightRequest): Promise<boolean>;
  /** As {@link DueInstallationStore.completeCheck}: written only over `version`, only by the lease holder; releases the lease. */
  completeCheck(request: CompleteCheckRequest): Promise<boolean>;
  /**
   * Moves the installation to `needs_reinstall` and out of the schedule, only if it is still at
   * `version`. False when it was not: a reinstall (or a check) changed it first.
   */
  recordRevocation(request: RecordRevocationRequest): Promise<boolean>;
  /**
   * Records the scopes the grant lacks (an empty list clears them), only if the installation is still
   * at `version`; the version does not move (neither the grant nor its status changed). False when it was not.
   */
  recordMissingScopes(request: { storeId: number; version: number; missingScopes: string[] }): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Keys and secrets
// ---------------------------------------------------------------------------------------------

/** Seals and opens the tokens of one store with that store's data key. Local work: no I/O, cannot time out. */
export interface TokenSealer {
  readonly storeId: number;
  /** The store's data key, encrypted under the app's KMS key: stored with the installation. */
  readonly tokenKey: string;
  seal(token: string, field: TokenField): SealedToken;
  /** @throws EncryptionError `TOKEN_UNREADABLE` when the ciphertext was altered or belongs elsewhere. */
  open(sealed: SealedToken, field: TokenField): string;
}

/**
 * Envelope encryption of tokens: each store has a data key, encrypted under the app's KMS key with
 * an encryption context naming the store, so a ciphertext copied to another store's item does not
 * decrypt. Each call is one KMS request.
 */
export interface TokenVault {
  /** A new data key for a store. Called before a code is spent, so a KMS outage costs nothing. */
  sealerFor(storeId: number): Promise<TokenSealer>;
  /** The data key of an installation, to read its tokens and seal new ones. */
  sealerOf(installation: { storeId: number; tokenKey: string }): Promise<TokenSealer>;
}

/**
 * Signs with a key whose private half never leaves its keeper (KMS): ES256, ECDSA on P-256 with
 * SHA-256. Each `sign` is one request to the keeper.
 */
export interface TokenSigner {
  /** Names the key in a JWT header (`kid`) and in the published JWKS. */
  readonly keyId: string;
  /**
   * The signature of `data`, as JOSE wants it: `r ‖ s`, 64 bytes (RFC 7518 §3.4).
   * @throws EncryptionError `ENCRYPTION_UNAVAILABLE` when the keeper cannot sign.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** Where the app's client secret comes from. */
export interface ClientSecretSource {
  /** @throws SecretUnavailableError, or ConfigurationError when the secret is missing or unset. */
  clientSecret(): Promise<string>;
}

/**
 * The client secret and, while a rotated secret rolls out, the one before it: webhooks Ecwid signed
 * with either are genuine.
 */
export interface ClientSecretVersions {
  /**
   * `previous` only within `PREVIOUS_CLIENT_SECRET_GRACE_SECONDS` (`lifecycle/signature.ts`) of the
   * current version's creation; absent past it, when there is none, or when it (or the current
   * version's creation time) cannot be read: the current one still works.
   * @throws SecretUnavailableError, or ConfigurationError when the current secret is missing or unset.
   */
  clientSecrets(): Promise<{ current: string; previous?: string }>;
}

// ---------------------------------------------------------------------------------------------
// Ecwid
// ---------------------------------------------------------------------------------------------

export interface CodeExchangeRequest {
  code: string;
  redirectUri: string;
  clientId: string;
  clientSecret: string;
  /** The store named by the redirect: selects `/api/oauth/token/{storeId}` and must match the answer. */
  storeId?: number;
}

export interface TokenRefreshRequest {
  storeId: number;
  refreshToken: string;
  clientId: string;
  clientSecret: string;
}

/** The OAuth token endpoint. */
export interface TokenEndpoint {
  /**
   * Exchanges an authorization code for a token grant. Sent once, never retried.
   * @throws EcwidRequestError with a code for every failure: rejected code, rejected client,
   *   server error, timeout, unreachable, invalid answer.
   */
  exchangeCode(request: CodeExchangeRequest): Promise<TokenGrant>;
}

/** The refresh grant of the token endpoint (RFC 6749 §6). */
export interface TokenRefresher {
  /**
   * @throws EcwidRequestError: `REFRESH_TOKEN_REJECTED` when the grant is gone, a
   *   {@link RateLimitedError}, `CLIENT_REJECTED`, and the same transport failures as a code exchange.
   */
  refreshToken(request: TokenRefreshRequest): Promise<TokenGrant>;
}

export interface TokenVerifier {
  /**
   * Checks that a non-expiring token still works. Never throws: every answer is a verification.
   * `timeoutMs`, when given, replaces the adapter's own timeout for this request.
   */
  verifyToken(request: { storeId: number; accessToken: string; timeoutMs?: number }): Promise<TokenVerification>;
}

/** The app's own status in a store, from Ecwid's REST API: what a subscription webhook is checked against. */
export interface AppSubscriptionReader {
  /**
   * `GET /api/v3/{storeId}/application` with the store's token. Never throws: every answer is one of
   * {@link AppSubscriptionAnswer}. `timeoutMs`, when given, replaces the adapter's own timeout.
   */
  readAppSubscription(request: { storeId: number; accessToken: string; timeoutMs?: number }): Promise<AppSubscriptionAnswer>;
}

// ---------------------------------------------------------------------------------------------
// The lifecycle (webhooks and events)
// ---------------------------------------------------------------------------------------------

/** What a claim on a webhook's `eventId` and body found. */
export type WebhookClaim =
  /** `variant`: another body was claimed under this `eventId` before (a replayed signature, most likely). */
  | { claimed: true; variant: boolean }
  /** This body was acted on already (or is being acted on right now, by a delivery whose lease still runs). */
  | { claimed: false; state: 'done' | 'in_progress' }
  /** A new body, but `maxBodies` others already have claims under this `eventId`: nothing claimed. */
  | { claimed: false; state: 'too_many_variants' };

/** One webhook's claim: its `eventId` and the digest of its unsigned fields. */
export interface WebhookClaimKey {
  eventId: string;
  /** SHA-256 (hex) of the unsigned fields (`lifecycle/webhook-digest.ts`). */
  digest: string;
}

export interface ClaimWebhookRequest extends WebhookClaimKey {
  /** Distinct bodies (digests) the `eventId` may have claims for; a new one past them is refused. */
  maxBodies: number;
  /** Who claims: the request's id, so only this delivery completes or releases the claim. */
  owner: string;
  eventType: string;
  storeId: number;
  nowEpochMs: number;
  /** A claim older than this belongs to a delivery that died: another delivery may take it over. */
  leaseUntilEpochMs: number;
  /** When the record may go: at least 72 hours, longer than Ecwid retries a delivery. */
  keepUntilEpochSeconds: number;
}

/**
 * Each webhook acted on once: a conditional write per `eventId` and body, kept past Ecwid's retries. A
 * body another delivery of the `eventId` did not carry has a claim of its own, so a replayed signature
 * with a forged body never makes the genuine delivery a duplicate.
 */
export interface WebhookEventStore {
  /** Claims an event's body unless it is done, or claimed by a delivery whose lease has not run out. */
  claimWebhookEvent(request: ClaimWebhookRequest): Promise<WebhookClaim>;
  /** Marks a claimed body as acted on, with what was done. Only the owner's claim is completed. */
  completeWebhookEvent(key: WebhookClaimKey, owner: string, outcome: string): Promise<void>;
  /** Gives up a claim after a failure, so Ecwid's next delivery acts on the event. Only the owner's. */
  releaseWebhookEvent(key: WebhookClaimKey, owner: string): Promise<void>;
}

export interface PurgeRequest {
  storeId: number;
  /** Why the uninstall is confirmed (`INVALID_API_TOKEN`, ...): the tombstone's `statusReason`. */
  reason: string;
  /** The version the decision was made on: a reinstall or a check since then wins. */
  version: number;
  nowEpochSeconds: number;
  tombstone: Tombstone;
}

export interface UninstallCheckRequest {
  storeId: number;
  version: number;
  /** When Ecwid says the uninstall happened. */
  requestedAtEpochSeconds: number;
  nowEpochSeconds: number;
}

export interface SubscriptionChange {
  storeId: number;
  /** The status Ecwid gives for the app in the store. */
  subscriptionStatus: string;
  changedAtEpochSeconds: number;
  nowEpochSeconds: number;
}

export type SubscriptionRecording =
  | { recorded: true; previousStatus?: string; installationStatus: Installation['status'] }
  /** `older_than_recorded`: a later change is recorded; `no_installation`: the store holds no installation (or only a tombstone). */
  | { recorded: false; reason: 'older_than_recorded' | 'no_installation' };

/** The writes webhooks make to installations. */
export interface LifecycleStore {
  /**
   * Removes the sealed tokens and the data key in one conditional write, leaving a tombstone. False
   * when the installation is no longer at `version` (a reinstall or a check won): nothing written.
   */
  purgeInstallation(request: PurgeRequest): Promise<boolean>;
  /**
   * Marks the installation for an immediate check by the scheduled job, which finishes the uninstall.
   * False when it is no longer at `version`, or a check holds its lease right now: nothing written.
   * An expired lease is removed with the request, so a check still finishing under it cannot write
   * its result (made without the request) over it.
   */
  requestUninstallCheck(request: UninstallCheckRequest): Promise<boolean>;
  /**
   * Records a subscription status on an installation, unless one that changed later is recorded (the
   * same change again counts as recorded: a retry must not lose its announcement). Nothing is written
   * for a store without an installation holding a grant (none, or a tombstone).
   */
  recordSubscription(change: SubscriptionChange): Promise<SubscriptionRecording>;
  /**
   * The tombstone a purge left of the store, and why it was purged; undefined when the store holds an
   * installation, nothing, or a tombstone whose TTL has passed (`nowEpochSeconds`). Strongly consistent.
   */
  findTombstone(storeId: number, nowEpochSeconds: number): Promise<{ uninstalledAtEpochSeconds: number; statusReason?: string } | undefined>;
}

export interface ListStoresRequest {
  limit: number;
  cursor?: string;
  status?: Installation['status'];
}

/**
 * Installations as operators see them, tombstones included. Bounded reads, never on a request path.
 * An item whose TTL has passed is absent (DynamoDB deletes expired items lazily).
 */
export interface InstallationDirectory {
  /** Up to `limit` installations (after the status filter), and where the next page starts. */
  listStores(request: ListStoresRequest): Promise<{ stores: InstallationView[]; cursor?: string }>;
  describeStore(storeId: number): Promise<InstallationView | undefined>;
}

/**
 * Publishes lifecycle events for the app's other services. Never throws and never waits long: an
 * event it could not publish is logged whole (no token is in one) and counted by a metric with an
 * alarm, so the change it announces is never lost nor failed by it.
 */
export interface LifecycleEventPublisher {
  /** @returns how many of the events it gave up (0: all were published), for a caller that can still ask for them again. */
  publish(events: readonly LifecycleEvent[]): Promise<{ unpublished: number }>;
}
