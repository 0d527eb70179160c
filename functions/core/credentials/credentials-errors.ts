/**
 * The answers of the credentials API that are not credentials, as typed errors: thrown by the API's
 * handler (and turned into JSON by `runtime/json-api.ts`) and by the client library, so a caller
 * acts on the same class whichever way it asked.
 */
import { EcwidAppAuthError } from '../errors';
import type { UnusableStatus } from './hand-out';

/** The store id in the path is not a positive integer. */
export class InvalidStoreIdError extends EcwidAppAuthError {
  override readonly name = 'InvalidStoreIdError';
  declare readonly code: 'INVALID_STORE_ID';

  constructor() {
    super('INVALID_STORE_ID', 'the store id is not a positive integer');
  }
}

/** No installation is stored for the store: it never installed the app, or it was purged. */
export class NotInstalledError extends EcwidAppAuthError {
  override readonly name = 'NotInstalledError';
  declare readonly code: 'NOT_INSTALLED';
  readonly storeId: number;

  constructor(storeId: number) {
    super('NOT_INSTALLED', 'no installation is stored for this store', { detail: { storeId } });
    this.storeId = storeId;
  }
}

/**
 * The stored token is known not to work. `status` says why and what helps: `needs_reinstall`
 * (revoked: only a new install), `suspended` (the store cannot use the API now), `store_gone`.
 */
export class InstallationUnusableError extends EcwidAppAuthError {
  override readonly name = 'InstallationUnusableError';
  declare readonly code: 'INSTALLATION_UNUSABLE';
  readonly storeId: number;
  readonly status: UnusableStatus;
  /** Ecwid's error code or the check's reason (`INVALID_API_TOKEN`, `invalid_grant`, ...). */
  readonly reason: string;

  constructor(storeId: number, status: UnusableStatus, reason: string) {
    super('INSTALLATION_UNUSABLE', `the installation is ${status}`, { detail: { storeId, status, reason } });
    this.storeId = storeId;
    this.status = status;
    this.reason = reason;
  }
}

/** The stored token is about to expire and is being renewed (or cannot be renewed from here): ask again after `retryAfterSeconds`. */
export class TokenRenewalPendingError extends EcwidAppAuthError {
  override readonly name = 'TokenRenewalPendingError';
  declare readonly code: 'TOKEN_RENEWAL_PENDING';
  readonly retryAfterSeconds: number;

  constructor(message: string, options: { storeId: number; retryAfterSeconds: number }) {
    super('TOKEN_RENEWAL_PENDING', message, { detail: { storeId: options.storeId } });
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** A reported rejection could not be confirmed or refuted now (Ecwid rate-limited or failed the check); nothing changed. */
export class RejectionUnconfirmedError extends EcwidAppAuthError {
  override readonly name = 'RejectionUnconfirmedError';
  declare readonly code: 'REJECTION_UNCONFIRMED';
  /** What kept the check from concluding (`rate_limited`, `http_500`, `STORE_IS_SUSPENDED`, ...). */
  readonly reason: string;
  readonly retryAfterSeconds: number;

  constructor(options: { storeId: number; reason: string; retryAfterSeconds: number }) {
    super('REJECTION_UNCONFIRMED', 'the reported rejection could not be confirmed', {
      detail: { storeId: options.storeId, reason: options.reason },
    });
    this.reason = options.reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
