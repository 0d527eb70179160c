/**
 * The ports the core depends on. Adapters implement them (DynamoDB, Secrets Manager, fetch);
 * tests implement them in memory. Nothing here knows about AWS, HTTP servers or the environment.
 */
import type { ErrorCode } from './errors';

/** Wall-clock time and waiting, injectable so tests can pin and advance time. */
export interface Clock {
  nowEpochMs(): number;
  sleep(durationMs: number): Promise<void>;
}

/** A cryptographically secure source of random bytes. */
export interface RandomSource {
  randomBytes(length: number): Uint8Array;
}

/** Structured logging. Fields must never hold a token, an authorization code or a secret. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

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

export interface ConsumeStateRequest {
  stateHash: string;
  /** Hash of the binding cookie sent with the callback, or undefined when there was none. */
  browserBindingHash: string | undefined;
  /** Hash of the code the callback carries: a reload of the same callback is recognised by it. */
  codeHash: string;
  nowEpochSeconds: number;
}

/**
 * `consumed`: the state was valid and is now spent by this code (or had already been spent by this
 * very code, which is a reload of the same callback). Every other value is a refusal.
 */
export type StateConsumption = 'consumed' | 'unknown' | 'used' | 'expired' | 'browser_mismatch';

export interface StateStore {
  saveState(record: StateRecord): Promise<void>;
  /** Atomically spends a state: of two concurrent callbacks with different codes only one succeeds. */
  consumeState(request: ConsumeStateRequest): Promise<StateConsumption>;
}

// ---------------------------------------------------------------------------------------------
// Authorization-code claims (never exchange the same code twice)
// ---------------------------------------------------------------------------------------------

export type CodeClaimOutcome =
  | { status: 'installed'; storeId: number }
  | { status: 'failed'; errorCode: ErrorCode };

export type CodeClaim = {
  codeHash: string;
  /** The store the callback named, when it named one. */
  storeId?: number;
  claimedAtEpochSeconds: number;
} & ({ status: 'pending' } | CodeClaimOutcome);

export interface NewCodeClaim {
  codeHash: string;
  storeId?: number;
  claimedAtEpochSeconds: number;
  expiresAtEpochSeconds: number;
}

export type ClaimResult = { claimed: true } | { claimed: false; existing: CodeClaim };

export interface CodeClaimStore {
  /** Records that this code is being exchanged, unless a claim for it already exists. */
  claimCode(claim: NewCodeClaim): Promise<ClaimResult>;
  getCodeClaim(codeHash: string): Promise<CodeClaim | undefined>;
  recordCodeOutcome(codeHash: string, outcome: CodeClaimOutcome): Promise<void>;
  /** Deletes a pending claim: only for a code that provably never reached Ecwid. */
  releaseCodeClaim(codeHash: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Installations (one per store)
// ---------------------------------------------------------------------------------------------

/**
 * - `active`: the token is believed to work.
 * - `needs_reinstall`: Ecwid revoked the token or the grant; only a new install helps.
 * - `suspended`: the store cannot use the API right now (suspended, or a plan without API).
 * - `store_gone`: Ecwid no longer knows the store.
 * - `needs_attention`: checks kept failing for longer than the failure budget.
 */
export type InstallationStatus = 'active' | 'needs_reinstall' | 'suspended' | 'store_gone' | 'needs_attention';

/**
 * A token as it is stored: ciphertext only a {@link TokenSealer} of the same store can open. The
 * brand keeps a plaintext token from being stored, or a sealed one from being sent, by mistake.
 */
export type SealedToken = string & { readonly __sealed: unique symbol };

/** Which token a ciphertext holds: bound into it, so a sealed token cannot be moved to another field. */
export type TokenField = 'access_token' | 'refresh_token' | 'public_token';

/** Seals and opens the tokens of one store with that store's data key. Local work: no I/O, cannot time out. */
export interface TokenSealer {
  readonly storeId: number;
  /** The store's data key, encrypted under the app's KMS key: stored with the installation. */
  readonly tokenKey: string;
  seal(token: string, field: TokenField): SealedToken;
  /** @throws AuthFlowError `TOKEN_UNREADABLE` when the ciphertext was altered or belongs elsewhere. */
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

/** A validated answer of the token endpoint. */
export interface TokenGrant {
  accessToken: string;
  scope: string;
  storeId: number;
  publicToken?: string;
  email?: string;
  refreshToken?: string;
  /** Lifetime of the access token, only when the server sent `expires_in`. */
  expiresInSeconds?: number;
}

export interface Installation {
  storeId: number;
  /** The store's data key, encrypted under the KMS key (see {@link TokenVault}). */
  tokenKey: string;
  accessToken: SealedToken;
  /** Always `Bearer`: the only type accepted from the token endpoint. */
  tokenType: 'Bearer';
  scope: string;
  publicToken?: SealedToken;
  ownerEmail?: string;
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
  /** Hash of the authorization code that produced the current grant. */
  grantCodeHash?: string;
  /** When the current grant came from the token endpoint: an older grant never replaces it. */
  grantObtainedAtEpochMs?: number;
  /** When the scheduled job should next refresh or verify this token; absent when it should not. */
  nextCheckAtEpochSeconds?: number;
  lastRefreshedAtEpochSeconds?: number;
  lastVerifiedAtEpochSeconds?: number;
  /** Consecutive checks that failed for a passing reason (5xx, network), and when the first did. */
  failureCount?: number;
  firstFailureAtEpochSeconds?: number;
}

/** What an install writes: a fresh token that replaces whatever the store had. */
export interface NewInstallation {
  storeId: number;
  tokenKey: string;
  accessToken: SealedToken;
  scope: string;
  publicToken?: SealedToken;
  ownerEmail?: string;
  refreshToken?: SealedToken;
  expiresAtEpochSeconds?: number;
  installedAtEpochSeconds: number;
  grantCodeHash: string;
  /** When the token endpoint answered with this grant. */
  grantObtainedAtEpochMs: number;
  nextCheckAtEpochSeconds: number;
}

export interface InstallationStore {
  /**
   * Stores a new grant for the store, replacing the previous one, and bumps the version; unless the
   * stored grant was obtained strictly later (two installs of one store crossing), in which case
   * nothing is written and the result is undefined.
   */
  saveInstallation(installation: NewInstallation): Promise<Installation | undefined>;
  /** Strongly consistent read. */
  getInstallation(storeId: number): Promise<Installation | undefined>;
  /** Every installation. For local inspection and operator tooling, not for request paths. */
  listInstallations(): Promise<Installation[]>;
}

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
    refreshToken?: SealedToken;
    expiresAtEpochSeconds: number;
    scope?: string;
    obtainedAtEpochMs: number;
  };
  /** The next check, or absent to take the installation out of the schedule (revoked, gone). */
  nextCheckAtEpochSeconds?: number;
  lastRefreshedAtEpochSeconds?: number;
  lastVerifiedAtEpochSeconds?: number;
  /** The failure streak after this check; absent resets it. */
  failure?: { count: number; firstAtEpochSeconds: number };
}

/**
 * The scheduled job's view of the installations: the due index and a lease per installation,
 * so overlapping runs never handle the same token at the same time.
 */
export interface DueInstallationStore {
  /** The shards of the due index; each is queried on its own. */
  dueShards(): readonly string[];
  /** Installations of a shard whose next check is at or before `nowEpochSeconds`. Reads nothing that is not due. */
  findDue(request: { shard: string; nowEpochSeconds: number; limit: number; cursor?: string }): Promise<DuePage>;
  /**
   * Takes the lease on an installation that is still due and not leased by a live runner, and
   * returns the installation as it is now (the re-read after acquiring). Undefined when another
   * runner holds it or it is no longer due.
   */
  acquireLease(request: {
    storeId: number;
    owner: string;
    nowEpochSeconds: number;
    leaseExpiresAtEpochSeconds: number;
  }): Promise<Installation | undefined>;
  /**
   * Writes a check's result and releases the lease, only if the installation is still at `version`
   * and still leased by `owner`. False when it was not: a reinstall (or a lease lost to expiry) won.
   */
  completeCheck(request: { storeId: number; owner: string; version: number; nowEpochSeconds: number; result: CheckResult }): Promise<boolean>;
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
   * @throws TokenExchangeError with a code for every failure: rejected code, rejected client,
   *   server error, timeout, unreachable, invalid answer.
   */
  exchangeCode(request: CodeExchangeRequest): Promise<TokenGrant>;
}

/** The refresh grant of the token endpoint (RFC 6749 §6). */
export interface TokenRefresher {
  /**
   * @throws TokenExchangeError: `REFRESH_TOKEN_REJECTED` when the grant is gone, `ECWID_RATE_LIMITED`,
   *   `CLIENT_REJECTED`, and the same transport failures as a code exchange.
   */
  refreshToken(request: TokenRefreshRequest): Promise<TokenGrant>;
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

export interface TokenVerifier {
  /** Checks that a non-expiring token still works. Never throws: every answer is a verification. */
  verifyToken(request: { storeId: number; accessToken: string }): Promise<TokenVerification>;
}

/** Where the app's client secret comes from. */
export interface ClientSecretSource {
  /** @throws AuthFlowError `SECRET_UNAVAILABLE` or `NOT_CONFIGURED`. */
  clientSecret(): Promise<string>;
}
