/**
 * Every failure this project throws on purpose, as a machine-readable code, and the error classes
 * that carry them.
 *
 * The code decides the HTTP status and the page or JSON a caller sees (see `runtime/http.ts`).
 * What a caller needs to act on a failure is a typed property of a subclass (`retryAfterSeconds`
 * of a {@link RateLimitedError}); `detail` only feeds the one log line that explains the failure
 * and never holds a token, an authorization code or a secret. Nothing reads `detail` back.
 */
export const ErrorCodes = [
  /** The request is not one this app or Ecwid would send (missing or malformed parameters). */
  'INVALID_REQUEST',
  /** Ecwid redirected back with an `error` other than `access_denied`. */
  'ECWID_AUTHORIZATION_ERROR',
  /** The callback carried no `state` and App Market installs are turned off. */
  'APP_MARKET_INSTALLS_DISABLED',
  /** The `state` is not one this app issued (or it was deleted long ago). */
  'STATE_UNKNOWN',
  /** The `state` was already used by an earlier callback. */
  'STATE_USED',
  /** The `state` outlived its lifetime. */
  'STATE_EXPIRED',
  /** The `state` was issued to another browser (its binding cookie is missing or different). */
  'STATE_BROWSER_MISMATCH',
  /** Ecwid refused the authorization code (expired, already used): the merchant must start again. */
  'CODE_REJECTED',
  /** The token server refused a refresh token (`invalid_grant`): the grant is gone, only a reinstall helps. */
  'REFRESH_TOKEN_REJECTED',
  /** Ecwid refused the app's own credentials (client id or secret): an operator must act. */
  'CLIENT_REJECTED',
  /** Ecwid answered 429 (see {@link RateLimitedError}). */
  'ECWID_RATE_LIMITED',
  /** Ecwid answered with a server error, or the connection broke after the request was sent. */
  'ECWID_UNAVAILABLE',
  /** Ecwid could not be reached at all: the request was never sent. */
  'ECWID_UNREACHABLE',
  /** Ecwid did not answer within the timeout. */
  'ECWID_TIMEOUT',
  /** Ecwid answered 200 with something that is not a usable token response. */
  'ECWID_INVALID_RESPONSE',
  /** Another request is exchanging the same code right now. */
  'INSTALL_IN_PROGRESS',
  /** The earlier attempt with this code ended without a recorded outcome. */
  'INSTALL_OUTCOME_UNKNOWN',
  /** The database could not be reached or refused the request. */
  'STORAGE_UNAVAILABLE',
  /** The client secret could not be read. */
  'SECRET_UNAVAILABLE',
  /** KMS could not be reached or refused to produce or open a data key. */
  'ENCRYPTION_UNAVAILABLE',
  /** A stored token did not decrypt: altered, or copied from another store or field. */
  'TOKEN_UNREADABLE',
  // The credentials API and the client library.
  /** The store id in a request is not a positive integer. */
  'INVALID_STORE_ID',
  /** No installation is stored for the store (never installed, or purged). */
  'NOT_INSTALLED',
  /** The stored token is known not to work: the installation's status says why (`needs_reinstall`, ...). */
  'INSTALLATION_UNUSABLE',
  /** The stored token is about to expire and its renewal has not finished yet: ask again in a moment. */
  'TOKEN_RENEWAL_PENDING',
  /** The backend could not confirm a reported rejection (Ecwid rate-limited or failed the check). Nothing changed. */
  'REJECTION_UNCONFIRMED',
  /** The credentials API could not be reached or answered something unexpected. */
  'CREDENTIALS_API_UNAVAILABLE',
  /** Ecwid's REST API refused the token (403 `INVALID_API_TOKEN`). */
  'ECWID_TOKEN_REJECTED',
  /** Ecwid's REST API needs a scope the installation was not granted (403 `INSUFFICIENT_APP_SCOPE`). */
  'ECWID_SCOPE_INSUFFICIENT',
  /** Ecwid's REST API refused the request itself (another 4xx: a wrong path, a bad body, a plan limit). */
  'ECWID_REQUEST_REFUSED',
  /** A required setting is missing or invalid. */
  'NOT_CONFIGURED',
  /** With edge protection on, a request reached the API's origin directly, not through the edge. */
  'NOT_THROUGH_EDGE',
  /** The `payload` of the app's iframe URL does not decrypt or validate (never says why: no oracle). */
  'APP_PAYLOAD_INVALID',
  /** A session or install receipt that does not verify: another signer, another audience, expired, altered. */
  'SESSION_INVALID',
  /** Anything not foreseen: a bug. */
  'INTERNAL',
  /** A webhook without a valid `X-Ecwid-Webhook-Signature` (by the current or the previous client secret). */
  'WEBHOOK_SIGNATURE_INVALID',
  /** A webhook body that is not Ecwid's: not JSON, missing or mistyped fields, too large. */
  'INVALID_WEBHOOK',
  /** Another delivery of the same webhook is being acted on right now: Ecwid delivers it again later. */
  'WEBHOOK_IN_PROGRESS',
  /** The webhook's work did not fit in Ecwid's 10 s: nothing was lost, Ecwid delivers it again. */
  'WEBHOOK_DEFERRED',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

/** Safe, structured facts about a failure, for its log line only: never a token, a code or a secret. */
export type ErrorDetail = Readonly<Record<string, string | number | boolean | undefined>>;

interface ErrorOptions {
  cause?: unknown;
  detail?: ErrorDetail;
}

/**
 * The base of every error this project throws on purpose.
 *
 * `code` is the contract with callers; `message` is for humans reading logs; `detail` holds facts
 * for the log line (status codes, Ecwid's `error` field, a store id).
 */
export class EcwidAppAuthError extends Error {
  override readonly name: string = 'EcwidAppAuthError';
  readonly code: ErrorCode;
  readonly detail: ErrorDetail;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = options.detail ?? {};
  }
}

/** The codes a request to Ecwid (its token endpoint or its REST API) can fail with. */
export type EcwidRequestErrorCode = Extract<
  ErrorCode,
  | 'CODE_REJECTED'
  | 'REFRESH_TOKEN_REJECTED'
  | 'CLIENT_REJECTED'
  | 'ECWID_RATE_LIMITED'
  | 'ECWID_UNAVAILABLE'
  | 'ECWID_UNREACHABLE'
  | 'ECWID_TIMEOUT'
  | 'ECWID_INVALID_RESPONSE'
>;

/** A failure of a request to Ecwid, or of the answer it gave. */
export class EcwidRequestError extends EcwidAppAuthError {
  override readonly name: string = 'EcwidRequestError';
  declare readonly code: EcwidRequestErrorCode;
  /**
   * False only when the request provably never left this process (the connection was refused or
   * the host did not resolve). Then an authorization code was not spent and may be tried again.
   */
  readonly mayHaveReachedServer: boolean;

  constructor(
    code: EcwidRequestErrorCode,
    message: string,
    options: ErrorOptions & { mayHaveReachedServer?: boolean } = {},
  ) {
    super(code, message, options);
    this.mayHaveReachedServer = options.mayHaveReachedServer ?? true;
  }
}

/** Ecwid answered 429: come back after `retryAfterSeconds`, when it said. */
export class RateLimitedError extends EcwidRequestError {
  override readonly name = 'RateLimitedError';
  /** From the `Retry-After` header, in seconds; undefined when Ecwid did not say. */
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options: ErrorOptions & { retryAfterSeconds: number | undefined }) {
    super('ECWID_RATE_LIMITED', message, {
      ...options,
      detail: { ...options.detail, retryAfterSeconds: options.retryAfterSeconds },
    });
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** A persistence failure, translated from the database client's own errors at the adapter. */
export class StorageError extends EcwidAppAuthError {
  override readonly name = 'StorageError';
  declare readonly code: 'STORAGE_UNAVAILABLE';
  /** The database operation that failed (`UpdateItem`, ...). */
  readonly operation: string;

  constructor(message: string, options: ErrorOptions & { operation: string }) {
    super('STORAGE_UNAVAILABLE', message, { ...options, detail: { operation: options.operation, ...options.detail } });
    this.operation = options.operation;
  }
}

/** A key-management failure: KMS unreachable or refusing (`ENCRYPTION_UNAVAILABLE`), or a token that does not open (`TOKEN_UNREADABLE`). */
export class EncryptionError extends EcwidAppAuthError {
  override readonly name = 'EncryptionError';
  declare readonly code: 'ENCRYPTION_UNAVAILABLE' | 'TOKEN_UNREADABLE';

  constructor(code: 'ENCRYPTION_UNAVAILABLE' | 'TOKEN_UNREADABLE', message: string, options: ErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The client secret could not be read (Secrets Manager unreachable or refusing). */
export class SecretUnavailableError extends EcwidAppAuthError {
  override readonly name = 'SecretUnavailableError';
  declare readonly code: 'SECRET_UNAVAILABLE';

  constructor(message: string, options: ErrorOptions = {}) {
    super('SECRET_UNAVAILABLE', message, options);
  }
}

/** A missing or invalid setting, found when the configuration (or the client secret) is read. */
export class ConfigurationError extends EcwidAppAuthError {
  override readonly name = 'ConfigurationError';
  declare readonly code: 'NOT_CONFIGURED';
  /** Every problem found, each naming its setting (never its value). */
  readonly problems: readonly string[];

  constructor(message: string, options: ErrorOptions & { problems?: readonly string[] } = {}) {
    const problems = options.problems ?? [message];
    super('NOT_CONFIGURED', message, { ...options, detail: { problems: problems.join('; '), ...options.detail } });
    this.problems = problems;
  }
}

/** The code of anything thrown: its own code, or `INTERNAL` for what this project did not foresee. */
export function errorCodeOf(error: unknown): ErrorCode {
  return error instanceof EcwidAppAuthError ? error.code : 'INTERNAL';
}

/** The `name` of anything thrown (duck-typed: errors from another realm fail `instanceof Error`). */
export function errorName(error: unknown): string {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : typeof error;
}
