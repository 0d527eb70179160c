/**
 * The client library's own failures: Ecwid's REST API refusing a request, and the credentials API
 * being out of reach. Each carries what a caller needs to act, as typed properties.
 */
import { EcwidAppAuthError } from '../functions/core/errors';
import type { RejectionVerdict, ScopeVerdict } from './credentials-source';

/**
 * Ecwid refused the token (403 `INVALID_API_TOKEN`). The rejection was reported; `verdict` is what the
 * backend concluded (`needs_reinstall`: only a new install helps), or undefined when the report
 * itself failed (its error is the `cause`).
 */
export class TokenRejectedError extends EcwidAppAuthError {
  override readonly name = 'TokenRejectedError';
  declare readonly code: 'ECWID_TOKEN_REJECTED';
  readonly storeId: number;
  readonly verdict: RejectionVerdict | undefined;

  constructor(storeId: number, verdict: RejectionVerdict | undefined, cause?: unknown) {
    super('ECWID_TOKEN_REJECTED', 'Ecwid refused the token', {
      ...(cause === undefined ? {} : { cause }),
      detail: { storeId, verdict: verdict?.status ?? 'unreported' },
    });
    this.storeId = storeId;
    this.verdict = verdict;
  }
}

/**
 * The request needs a scope the store did not grant (403 `INSUFFICIENT_APP_SCOPE`): the app must ask
 * for it (`ECWID_SCOPES`) and the merchant consent again (`/authorize`). The refusal was reported, so
 * the backend recomputed the store's missing scopes; `verdict` is what it concluded, or undefined
 * when the report itself failed (its error is the `cause`).
 */
export class InsufficientScopeError extends EcwidAppAuthError {
  override readonly name = 'InsufficientScopeError';
  declare readonly code: 'ECWID_SCOPE_INSUFFICIENT';
  readonly storeId: number;
  /** The scopes the token has, space-separated. */
  readonly grantedScope: string;
  /** Ecwid's `errorMessage`, which usually names what is missing. */
  readonly ecwidMessage: string | undefined;
  readonly verdict: ScopeVerdict | undefined;

  constructor(storeId: number, grantedScope: string, ecwidMessage: string | undefined, verdict?: ScopeVerdict, cause?: unknown) {
    super('ECWID_SCOPE_INSUFFICIENT', 'the token lacks a scope this request needs', { ...(cause === undefined ? {} : { cause }), detail: { storeId } });
    this.storeId = storeId;
    this.grantedScope = grantedScope;
    this.ecwidMessage = ecwidMessage;
    this.verdict = verdict;
  }
}

/** Ecwid's REST API refused the request itself: any other 4xx (a wrong path, an invalid body, a plan limit). */
export class EcwidApiError extends EcwidAppAuthError {
  override readonly name = 'EcwidApiError';
  declare readonly code: 'ECWID_REQUEST_REFUSED';
  readonly status: number;
  /** Ecwid's `errorCode`, when it sent one (`STORE_IS_SUSPENDED`, `INVALID_PARAMETER`, ...). */
  readonly ecwidErrorCode: string | undefined;
  readonly ecwidMessage: string | undefined;

  constructor(status: number, ecwidErrorCode: string | undefined, ecwidMessage: string | undefined) {
    super('ECWID_REQUEST_REFUSED', `Ecwid refused the request (${status})`, { detail: { status, ecwidErrorCode } });
    this.status = status;
    this.ecwidErrorCode = ecwidErrorCode;
    this.ecwidMessage = ecwidMessage;
  }
}

/**
 * The credentials API could not be reached, refused the caller (403: no `grantCredentialsApi` or
 * `grantCredentialsRead`, or a bad signature), or answered something it never answers.
 */
export class CredentialsApiError extends EcwidAppAuthError {
  override readonly name = 'CredentialsApiError';
  declare readonly code: 'CREDENTIALS_API_UNAVAILABLE';
  /** The HTTP status, when an answer came. */
  readonly status: number | undefined;
  /** The answer's `error` field, when it had one. */
  readonly error: string | undefined;

  constructor(message: string, options: { status?: number; error?: string; cause?: unknown }) {
    super('CREDENTIALS_API_UNAVAILABLE', message, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      detail: { status: options.status, error: options.error },
    });
    this.status = options.status;
    this.error = options.error;
  }
}
