/**
 * The JSON counterpart of `http.ts`, for the machine-facing routes (webhooks, credentials): one
 * place turns what a handler throws into a JSON answer with the right status, logged once, never a
 * stack trace, a token or a message that helps an attacker. Each route says how a failure is
 * presented (its own contract); by default `{"error": CODE, "message": ...}` with the status of the
 * one mapping of codes (`error-pages.ts`).
 */
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

/** Headers of every JSON answer: nothing cached anywhere, nothing sniffed as anything but JSON. */
const JSON_HEADERS: Record<string, string> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
};

/** A JSON answer; `headers` add to (or override) the defaults, and a `cache-control` of its own drops `pragma: no-cache`. */
export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  const { pragma, ...cacheable } = JSON_HEADERS;
  const defaults = 'cache-control' in headers ? cacheable : { ...cacheable, pragma: pragma! };
  return { statusCode, headers: { ...defaults, ...headers }, body: JSON.stringify(body) };
}

/** How a route answers a failure: its status, and the JSON it shows. */
export interface FailurePresentation {
  /** The status a failure with this code is answered with (logged with it, before the answer is built). */
  statusOf(code: ErrorCode): number;
  /** The answer; `reference` finds the request's log line. */
  answer(failure: EcwidAppAuthError, reference: string): ApiResult;
}

/**
 * The default presentation: `{"error": CODE, "message": ...}` with the status of the one mapping of
 * codes, and for a 5xx the reference to find its log line.
 */
export const CODE_AND_MESSAGE: FailurePresentation = {
  statusOf: (code) => presentError(code).status,
  answer: (failure, reference) => jsonErrorResponse(failure.code, reference),
};

export function jsonErrorResponse(code: ErrorCode, reference: string): ApiResult {
  const presentation = presentError(code);
  return jsonResponse(presentation.status, {
    error: code,
    message: presentation.title,
    ...(presentation.status >= 500 ? { reference } : {}),
  });
}

/**
 * Wraps a machine-facing handler: what it throws becomes the route's JSON error, logged once; each
 * request gets a logger with its correlation id. A broken configuration (`provide` throws) answers
 * 503 `NOT_CONFIGURED`. With edge protection, a route whose dependencies carry the origin secret
 * answers only requests that came through the edge.
 */
export function jsonHandler<D extends { edgeOriginSecret?: string | undefined }>(
  options: {
    route: string;
    log: AppLogger;
    /** Counted, in the app's namespace, for every answer with a 5xx: the stack alarms on it. */
    failureMetric?: string;
    presentation?: FailurePresentation;
  },
  provide: () => D,
  handle: (event: ApiEvent, deps: D, log: Logger, context: Context) => Promise<ApiResult>,
) {
  const presentation = options.presentation ?? CODE_AND_MESSAGE;
  const logFor = (event: ApiEvent, context: Context) =>
    options.log.child({ route: options.route, correlationId: correlationId(event, context) });
  return middy<ApiEvent, ApiResult>()
    .use({
      onError: (request) => {
        const log = logFor(request.event, request.context);
        const status = presentation.statusOf(errorCodeOf(request.error));
        const failure = reportFailure(log, request.error, { status });
        request.response = presentation.answer(failure, correlationId(request.event, request.context));
        if (options.failureMetric !== undefined && status >= 500) {
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
