/**
 * The domain model: what is stored and what the flows decide. Plain data, no behaviour; the ports
 * (`ports.ts`) move it in and out.
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
 */
export type InstallationStatus = 'active' | 'needs_reinstall' | 'suspended' | 'store_gone' | 'needs_attention';

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
  /** Hash of the authorization code that produced the current grant. */
  grantCodeHash?: string;
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
}

/** The fields of a new grant that an install writes, replacing whatever the store had. */
type GrantFields = 'storeId' | 'tokenKey' | 'accessToken' | 'scope' | 'publicToken' | 'refreshToken' | 'expiresAtEpochSeconds' | 'installedAtEpochSeconds';

/**
 * What an install writes: a fresh grant, where it came from, and when to check it first. The rest
 * of an {@link Installation} (status, version, check history) is the store's to set.
 */
export type NewInstallation = Pick<Installation, GrantFields> &
  Required<Pick<Installation, 'grantCodeHash' | 'grantObtainedAtEpochMs' | 'nextCheckAtEpochSeconds'>>;

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
