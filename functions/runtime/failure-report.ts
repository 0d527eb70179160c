import { EcwidAppAuthError, errorName, type ErrorCode } from '../core/errors';
import type { Logger } from '../core/ports';

/**
 * The one way a failure that ends a request or a run is logged, whichever function met it: its
 * code, its message, its log facts (`detail`), the name of its cause, and, for what this project
 * did not foresee, the stack. At `error` level when `severity` says the failure is the service's
 * own (a 5xx), `warn` otherwise. Returns the failure as an {@link EcwidAppAuthError}: unforeseen
 * errors become `INTERNAL`.
 */
export function reportFailure(
  log: Logger,
  error: unknown,
  statusOf: (code: ErrorCode) => number,
  message?: string,
): EcwidAppAuthError {
  const known = error instanceof EcwidAppAuthError;
  const failure = known ? error : new EcwidAppAuthError('INTERNAL', 'unexpected error', { cause: error });
  const status = statusOf(failure.code);
  const fields: Record<string, unknown> = { errorCode: failure.code, status, ...failure.detail };
  const cause = failure.cause ?? (known ? undefined : error);
  if (cause !== undefined) fields.causeName = errorName(cause);
  if (!known) fields.stack = (error as { stack?: unknown } | undefined)?.stack;
  if (message !== undefined) fields.errorMessage = failure.message;
  log[status >= 500 ? 'error' : 'warn'](message ?? failure.message, fields);
  return failure;
}
