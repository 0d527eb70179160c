/** What the credentials API's core is given, and what it answers. */
import type { InstallationStatus } from '../model';
import type {
  ClientSecretSource,
  Clock,
  CredentialsStore,
  Logger,
  RandomSource,
  TokenRefresher,
  TokenVault,
  TokenVerifier,
} from '../ports';
import type { CheckPolicy } from '../refresh/policy';
import type { HandOutRules, StoreCredentials, UnusableStatus } from './hand-out';

export interface CredentialsSettings extends CheckPolicy, HandOutRules {
  clientId: string;
  /** The scopes the app asks for: a report of a missing scope recomputes what the grant lacks of them. */
  configuredScopes: readonly string[];
  /** How long a renewal's lease keeps the scheduled job and other readers away. */
  leaseDurationSeconds: number;
  /** How long a reader waits for a renewal that another lease holder is doing, at most. */
  renewalWaitMs: number;
  /** The same, when the current token still lasts the minimum lifetime and can be handed out instead. */
  renewalWaitWithFallbackMs: number;
  /** How often a waiting reader looks at the installation again. */
  renewalPollMs: number;
  /**
   * A refresh request is sent only with this much time left before both the request's deadline and
   * the lease's end: enough for the request and for storing its answer, so a rotated refresh token
   * is never obtained by a reader that could not store it.
   */
  requestReserveMs: number;
  /** After Ecwid accepted a token, further rejection reports for the same version are answered without asking again for this long. */
  acceptedTokenMemoMs: number;
}

export interface CredentialsDependencies {
  installations: CredentialsStore;
  vault: TokenVault;
  refresher: TokenRefresher;
  verifier: TokenVerifier;
  clientSecret: ClientSecretSource;
  clock: Clock;
  random: RandomSource;
  log: Logger;
}

export interface CredentialsRequest {
  storeId: number;
  /** When the answer must be given (the Lambda's deadline, less a margin for the response). */
  deadlineEpochMs: number;
}

/**
 * A change of an installation's status made while answering, for whoever reacts to it (lifecycle
 * events, alarms). Returned, never published from the core.
 */
export interface InstallationTransition {
  storeId: number;
  from: InstallationStatus;
  to: InstallationStatus;
  /** Why (`INVALID_API_TOKEN`, `invalid_grant`, ...); absent when the installation became active. */
  reason?: string;
}

/** The answer to a read of a store's credentials. */
export type CredentialsAnswer =
  | { outcome: 'issued'; credentials: StoreCredentials; transition?: InstallationTransition }
  | { outcome: 'not_installed' }
  | { outcome: 'unusable'; status: UnusableStatus; reason: string; transition?: InstallationTransition };

/**
 * What a reported rejection concluded: the token works (`active`), or the installation's status now
 * (`needs_reinstall` once the revocation is confirmed, or whatever it already was); or the check
 * could not conclude and nothing changed.
 */
export type RejectionAnswer =
  | { outcome: 'concluded'; status: InstallationStatus; transition?: InstallationTransition }
  | { outcome: 'not_installed' }
  | { outcome: 'unconfirmed'; reason: string; retryAfterSeconds: number };
