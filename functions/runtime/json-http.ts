import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { EcwidAppAuthError, errorCodeOf, type ErrorCode } from '../core/errors';
import { requireThroughEdge } from './edge-origin';
import type { Logger } from '../core/ports';
import { presentError } from './error-pages';
import { reportFailure } from './failure-report';
import type { ApiEvent, ApiResult } from './http';
import type { AppLogger } from './logger';
import { embeddedCounts } from './metrics';

/** Headers of every JSON answer: nothing cached, nothing sniffed. */
const JSON_HEADERS: Record<string, string> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function jsonResponse(statusCode: number, body: Record<string, unknown>): ApiResult {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

/**
 * The error answer of a machine-facing route: `{"error": CODE, "message": ...}` with the status of
 * the one mapping of codes (`error-pages.ts`), and for a 5xx the reference to find its log line.
 */
export function jsonErrorResponse(code: ErrorCode, reference: string): ApiResult {
  const presentation = presentError(code);
  return jsonResponse(presentation.status, {
    error: code,
    message: presentation.title,
    ...(presentation.status >= 500 ? { reference } : {}),
  });
}

/**
 * Wraps a machine-facing handler (webhooks): what it throws becomes a JSON error with the code's
 * status, logged once; each request gets a logger with its correlation id. A broken configuration
 * (`provide` throws) answers 503 `NOT_CONFIGURED`.
 */
export function jsonHandler<D extends { edgeOriginSecret: string | undefined }>(
  options: {
    route: string;
    log: AppLogger;
    /** Counted, in the app's namespace, for every answer with a 5xx: the stack alarms on it. */
    failureMetric?: string;
  },
  provide: () => D,
  handle: (event: ApiEvent, deps: D, log: Logger, context: Context) => Promise<ApiResult>,
) {
  const logFor = (event: ApiEvent, context: Context) =>
    options.log.child({ route: options.route, correlationId: correlationId(event, context) });
  return middy<ApiEvent, ApiResult>()
    .use({
      onError: (request) => {
        const log = logFor(request.event, request.context);
        const failure = reportFailure(log, request.error, { status: presentError(errorCodeOf(request.error)).status });
        request.response = jsonErrorResponse(failure.code, correlationId(request.event, request.context));
        if (options.failureMetric !== undefined && presentError(failure.code).status >= 500) {
          log.info('failure counted', { errorCode: failure.code, ...embeddedCounts({ [options.failureMetric]: 1 }, Date.now()) });
        }
      },
    })
    .handler(async (event, context) => {
      const deps = provide();
      requireThroughEdge(event.headers, deps.edgeOriginSecret);
      return handle(event, deps, logFor(event, context), context);
    });
}

export function correlationId(event: ApiEvent, context: Context | undefined): string {
  return event?.requestContext?.requestId ?? context?.awsRequestId ?? 'unknown';
}

/** Thrown when a deadline passes first: the answer goes out, the work is abandoned. */
export function deadlineError(): EcwidAppAuthError {
  return new EcwidAppAuthError('WEBHOOK_DEFERRED', 'the webhook could not be handled within its budget');
}
