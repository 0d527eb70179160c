import { EcwidAppAuthError, errorName } from '../core/errors';
import type { Logger } from '../core/ports';

export interface FailureReportOptions {
  /** The HTTP status the failure is answered with, when a request is answered. */
  status?: number;
  /** The log line's message; the failure's own message then goes into `errorMessage`. */
  message?: string;
}

/**
 * The one way a failure that ends a request or a run is logged, whichever function met it: its
 * code, its name, its message, its log facts (`detail`), the name of its cause, and, for what this
 * project did not foresee, the stack. At `error` level for the service's own failures (a 5xx, or a
 * run that fails), `warn` for a request refused (a 4xx). Returns the failure as an
 * {@link EcwidAppAuthError}: an unforeseen error becomes `INTERNAL`.
 */
export function reportFailure(log: Logger, error: unknown, options: FailureReportOptions = {}): EcwidAppAuthError {
  const known = error instanceof EcwidAppAuthError;
  const failure = known ? error : new EcwidAppAuthError('INTERNAL', 'unexpected error', { cause: error });
  // The failure's facts first: the fields that describe this report cannot be overwritten by them.
  const fields: Record<string, unknown> = { ...failure.detail, errorCode: failure.code, errorName: errorName(error) };
  if (options.status !== undefined) fields.status = options.status;
  const cause = failure.cause ?? (known ? undefined : error);
  if (cause !== undefined) fields.causeName = errorName(cause);
  if (!known) fields.stack = (error as { stack?: unknown } | undefined)?.stack;
  if (options.message !== undefined) fields.errorMessage = failure.message;
  const serviceFailure = options.status === undefined || options.status >= 500;
  log[serviceFailure ? 'error' : 'warn'](options.message ?? failure.message, fields);
  return failure;
}
