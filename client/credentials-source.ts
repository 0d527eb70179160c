import type { StoreCredentials } from '../functions/core/credentials/hand-out';
import type { InstallationStatus } from '../functions/core/model';

/**
 * What the backend concluded from a reported rejection: the installation's status (`active` when
 * Ecwid still accepts the stored token, `needs_reinstall` once a revocation is confirmed), or
 * `unconfirmed` when it could not check now (nothing changed; ask again after `retryAfterSeconds`).
 */
export type RejectionVerdict = { status: InstallationStatus } | { status: 'unconfirmed'; reason: string; retryAfterSeconds: number };

/** What the backend recomputed after a reported missing scope: the scopes the store's grant lacks (empty: none it knows of). */
export interface ScopeVerdict {
  status: InstallationStatus;
  missingScopes: string[];
}

/**
 * Where a store's credentials come from: the direct reader (`createCredentialsReader`) or the
 * credentials API (`createCredentialsApiClient`). Both give the same answers.
 */
export interface CredentialsSource {
  /**
   * The store's credentials, whose token lasts at least another minute.
   *
   * @throws NotInstalledError, InstallationUnusableError (`status`: `needs_reinstall`, `suspended`,
   *   `store_gone`), TokenRenewalPendingError (ask again after `retryAfterSeconds`), InvalidStoreIdError,
   *   and the failures of the way they are read (StorageError, EncryptionError, CredentialsApiError).
   */
  getCredentials(storeId: number): Promise<StoreCredentials>;
  /**
   * Reports that Ecwid refused the store's token (403 `INVALID_API_TOKEN`) and forgets any copy of it
   * held here. The backend checks with Ecwid before it changes anything.
   *
   * @throws NotInstalledError, CredentialsApiError, ConfigurationError (a reader without the API's URL)
   */
  reportRejected(storeId: number): Promise<RejectionVerdict>;
  /**
   * Reports that Ecwid refused a request for lack of scope (403 `INSUFFICIENT_APP_SCOPE`): the backend
   * recomputes the store's missing scopes now, and announces a new gap (`Scopes Missing`).
   *
   * @throws NotInstalledError, CredentialsApiError, ConfigurationError (a reader without the API's URL)
   */
  reportInsufficientScope(storeId: number): Promise<ScopeVerdict>;
}
