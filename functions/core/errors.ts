/**
 * Every failure the install and refresh flows can meet, as a machine-readable code.
 *
 * The code decides the HTTP status and the page a merchant sees (see `presentError` in `runtime/http.ts`);
 * the `detail` is for the one log line that explains the failure and never holds a token,
 * an authorization code or a secret.
 */
export const ErrorCodes = [
  /** The callback query is not one Ecwid would send (missing or malformed parameters). */
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
  /** Ecwid answered 429; `detail.retryAfterSeconds` says when to come back, when it said. */
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
  /** A required setting is missing or invalid. */
  'NOT_CONFIGURED',
  /** Anything not foreseen: a bug. */
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

/** Safe, structured facts about a failure: never a token, a code or a secret. */
export type ErrorDetail = Record<string, string | number | boolean | undefined>;

/**
 * The base of every error this project throws on purpose.
 *
 * `code` is the contract with callers; `message` is for humans reading logs; `detail` holds
 * the data a caller or an operator needs (status codes, Ecwid's `error` field, a store id).
 */
export class AuthFlowError extends Error {
  override readonly name: string = 'AuthFlowError';
  readonly code: ErrorCode;
  readonly detail: ErrorDetail;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; detail?: ErrorDetail } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = options.detail ?? {};
  }
}

/** A failure of the token endpoint or of the answer it gave. */
export class TokenExchangeError extends AuthFlowError {
  override readonly name = 'TokenExchangeError';
  /**
   * False only when the request provably never left this process (the connection was refused or
   * the host did not resolve). Then the code was not spent and may be tried again.
   */
  readonly mayHaveReachedServer: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; detail?: ErrorDetail; mayHaveReachedServer?: boolean } = {},
  ) {
    super(code, message, options);
    this.mayHaveReachedServer = options.mayHaveReachedServer ?? true;
  }
}

/** A persistence failure, translated from the database client's own errors at the adapter. */
export class StorageError extends AuthFlowError {
  override readonly name = 'StorageError';
  constructor(message: string, options: { cause?: unknown; detail?: ErrorDetail } = {}) {
    super('STORAGE_UNAVAILABLE', message, options);
  }
}

/** A missing or invalid setting, found when the configuration is read. */
export class ConfigurationError extends AuthFlowError {
  override readonly name = 'ConfigurationError';
  constructor(message: string, options: { cause?: unknown; detail?: ErrorDetail } = {}) {
    super('NOT_CONFIGURED', message, options);
  }
}

export function isAuthFlowError(error: unknown): error is AuthFlowError {
  return error instanceof AuthFlowError;
}

/** The `name` of anything thrown (duck-typed: errors from another realm fail `instanceof Error`). */
export function errorName(error: unknown): string {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : typeof error;
}
