import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { errorCodeOf } from '../core/errors';
import { requireThroughEdge } from './edge-origin';
import type { Logger } from '../core/ports';
import { reportFailure } from './failure-report';
import { presentError } from './error-pages';
import type { AppLogger } from './logger';
import { pageContentSecurityPolicy, renderPage, type Page } from './pages';

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResult = APIGatewayProxyStructuredResultV2;

/** Headers on every response of the flow: nothing is cached, nothing leaks through `Referer`. */
const FLOW_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/**
 * A page. Never framed, unless `frameAncestors` names the origins that may (CSP `frame-ancestors`;
 * `X-Frame-Options` cannot name several, so it is left out then).
 */
export function htmlResponse(statusCode: number, page: Page, options: { frameAncestors?: readonly string[] } = {}): ApiResult {
  const framed = options.frameAncestors !== undefined && options.frameAncestors.length > 0;
  return {
    statusCode,
    headers: {
      ...FLOW_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': pageContentSecurityPolicy(options.frameAncestors),
      ...(framed ? {} : { 'x-frame-options': 'DENY' }),
    },
    body: renderPage(page),
  };
}

export function redirectResponse(statusCode: 302 | 303, location: string, cookies: string[] = []): ApiResult {
  return {
    statusCode,
    headers: { ...FLOW_HEADERS, location },
    ...(cookies.length > 0 ? { cookies } : {}),
    body: '',
  };
}

/** A cookie's value from an API Gateway v2 event (its `cookies` array, or a raw `Cookie` header). */
export function readCookie(event: ApiEvent, name: string): string | undefined {
  const pairs = event.cookies ?? (event.headers?.cookie ?? '').split(';');
  for (const pair of pairs) {
    const separator = pair.indexOf('=');
    if (separator > 0 && pair.slice(0, separator).trim() === name) return pair.slice(separator + 1).trim();
  }
  return undefined;
}

/** What every public route needs from the deployment, when its configuration could be read at all. */
export interface PageContext {
  /** Where "start again" links point. */
  startUrl: string;
  /** With edge protection: the secret every request must carry from the edge (see `edge-origin.ts`). */
  edgeOriginSecret: string | undefined;
  /** The origins that may frame this route's pages (its error pages too); none for most routes. */
  frameAncestors?: readonly string[];
}

/**
 * Wraps a handler: errors it throws become readable pages with the right status (the only place
 * that does so), and each request gets a logger carrying its correlation id.
 *
 * `provide` composes the dependencies (once per cold start, memoised by the caller); when the
 * configuration is broken it throws, and the merchant sees a 503 page instead of a bare 500.
 */
export function httpHandler<D extends PageContext>(
  options: {
    route: string;
    log: AppLogger;
    /** Who may frame the error pages when the configuration cannot be read (the route's default). */
    defaultFrameAncestors?: readonly string[];
  },
  provide: () => D,
  handle: (event: ApiEvent, deps: D, log: Logger) => Promise<ApiResult>,
) {
  const logFor = (event: ApiEvent, context: Context) =>
    options.log.child({
      route: options.route,
      correlationId: correlationId(event, context),
    });

  return middy<ApiEvent, ApiResult>()
    .use({
      onError: (request) => {
        const context = pageContextOf(provide);
        request.response = errorResponse(request.error, {
          log: logFor(request.event, request.context),
          reference: correlationId(request.event, request.context),
          startUrl: context?.startUrl,
          frameAncestors: context === undefined ? options.defaultFrameAncestors : context.frameAncestors,
        });
      },
    })
    .handler(async (event, context) => {
      const deps = provide();
      requireThroughEdge(event.headers, deps.edgeOriginSecret);
      return handle(event, deps, logFor(event, context));
    });
}

function correlationId(event: ApiEvent, context: Context): string {
  // Whatever the event, even none: the error page and its log line must still be produced.
  return event?.requestContext?.requestId ?? context?.awsRequestId ?? 'unknown';
}

function pageContextOf(provide: () => PageContext): PageContext | undefined {
  try {
    return provide();
  } catch {
    return undefined;
  }
}

function errorResponse(
  error: unknown,
  context: { log: Logger; reference: string; startUrl: string | undefined; frameAncestors: readonly string[] | undefined },
): ApiResult {
  const failure = reportFailure(context.log, error, { status: presentError(errorCodeOf(error)).status });
  const presentation = presentError(failure.code);
  return htmlResponse(presentation.status, {
    title: presentation.title,
    paragraphs: presentation.paragraphs,
    ...(presentation.restart && context.startUrl !== undefined
      ? { links: [{ href: context.startUrl, label: 'Start the installation again', newWindow: context.frameAncestors !== undefined }] }
      : {}),
    ...(presentation.status >= 500 ? { reference: context.reference } : {}),
  }, context.frameAncestors === undefined ? {} : { frameAncestors: context.frameAncestors });
}
