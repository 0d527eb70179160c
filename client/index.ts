/**
 * The package's `./client` entry: what the app's own code needs to use the stores' tokens.
 *
 * - `createCredentialsReader`: a store's credentials read directly from the table and opened with
 *   KMS, for code granted `EcwidAppAuth.grantCredentialsRead`;
 * - `createCredentialsApiClient`: the same answers from the credentials API, signed with SigV4, for
 *   code granted `EcwidAppAuth.grantCredentialsApi`;
 * - `createEcwidApi`: Ecwid's REST API with a store's token from either;
 * - `verifySession` / `createSessionVerifier`: the session `/app` hands the app's UI, and the install
 *   receipt `SUCCESS_URL` gets, verified offline against the backend's JWKS;
 * - the typed errors they throw (each an `EcwidAppAuthError` with a machine-readable `code`), an
 *   installation's status, and the lifecycle events the backend publishes.
 */
export { createCredentialsReader, type CredentialsReader, type CredentialsReaderOptions } from './credentials-reader';
export {
  createCredentialsApiClient,
  type AwsCredentials,
  type AwsCredentialsProvider,
  type CredentialsApiClient,
  type CredentialsApiClientOptions,
} from './credentials-api-client';
export { createEcwidApi, type EcwidApi, type EcwidApiOptions, type EcwidRequestOptions, type HttpMethod } from './ecwid-api';
export type { CredentialsSource, RejectionVerdict, ScopeVerdict } from './credentials-source';
export {
  createSessionVerifier,
  SessionInvalidError,
  verifyInstallReceipt,
  verifySession,
  type SessionVerifier,
  type SessionVerifierOptions,
  type VerifiedInstallReceipt,
  type VerifiedSession,
} from './sessions';
export type { InstallReceiptClaims, SessionClaims } from '../functions/core/native-app/signed-tokens';
export { CredentialsApiError, EcwidApiError, InsufficientScopeError, TokenRejectedError } from './errors';
export {
  InstallationUnusableError,
  InvalidStoreIdError,
  NotInstalledError,
  TokenRenewalPendingError,
} from '../functions/core/credentials/credentials-errors';
export type { StoreCredentials, UnusableStatus, UsableStatus } from '../functions/core/credentials/hand-out';
export {
  ConfigurationError,
  EcwidAppAuthError,
  EcwidRequestError,
  EncryptionError,
  ErrorCodes,
  RateLimitedError,
  StorageError,
  type ErrorCode,
} from '../functions/core/errors';
export { NetworkError } from '../functions/adapters/ecwid/http';
export type { InstallationStatus, LifecycleEventDetail, LifecycleEventType } from '../functions/core/model';
/** The lifecycle events a rule on the construct's `eventBus` can match: their `source` and every `detail-type`. */
export { LIFECYCLE_EVENT_SOURCE, LIFECYCLE_EVENT_TYPES } from '../functions/core/model';
