import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { AuthFlowError, errorName, isAuthFlowError, type ErrorCode } from '../core/errors';
import type { Logger } from '../core/ports';
import type { AppLogger } from './logger';
import { PAGE_CONTENT_SECURITY_POLICY, renderPage, type Page } from './pages';

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResult = APIGatewayProxyStructuredResultV2;

/** Headers on every response of the flow: nothing is cached, nothing leaks through `Referer`. */
const FLOW_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

export function htmlResponse(statusCode: number, page: Page): ApiResult {
  return {
    statusCode,
    headers: {
      ...FLOW_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': PAGE_CONTENT_SECURITY_POLICY,
      'x-frame-options': 'DENY',
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

/** What an error page needs from the deployment, when its configuration could be read at all. */
export interface PageContext {
  config: { startUrl: string };
}

/**
 * Wraps a handler: errors it throws become readable pages with the right status (the only place
 * that does so), and each request gets a logger carrying its correlation id.
 *
 * `provide` composes the dependencies (once per cold start, memoised by the caller); when the
 * configuration is broken it throws, and the merchant sees a 503 page instead of a bare 500.
 */
export function httpHandler<D extends PageContext>(
  options: { route: string; log: AppLogger },
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
        request.response = errorResponse(request.error, {
          log: logFor(request.event, request.context),
          reference: correlationId(request.event, request.context),
          startUrl: startUrlOf(provide),
        });
      },
    })
    .handler(async (event, context) => handle(event, provide(), logFor(event, context)));
}

function correlationId(event: ApiEvent, context: Context): string {
  return event.requestContext?.requestId ?? context?.awsRequestId ?? 'unknown';
}

function startUrlOf(provide: () => PageContext): string | undefined {
  try {
    return provide().config.startUrl;
  } catch {
    return undefined;
  }
}

interface ErrorPresentation {
  status: number;
  title: string;
  paragraphs: string[];
  /** Whether "start again" is the way out. */
  restart: boolean;
}

const TRY_AGAIN_SOON = 'Nothing was changed in your store. Please try again in a few minutes.';
const NOT_COMPLETED = 'Ecwid did not complete the installation';

/** The one mapping from error codes to HTTP statuses and the pages merchants see. */
export function presentError(code: ErrorCode): ErrorPresentation {
  switch (code) {
    case 'INVALID_REQUEST':
      return page(400, 'This installation link is incomplete', [
        'The address is missing information Ecwid sends when it hands an installation back to this app.',
      ]);
    case 'ECWID_AUTHORIZATION_ERROR':
      return page(400, 'Ecwid could not start the installation', ['Ecwid reported a problem with the request.']);
    case 'APP_MARKET_INSTALLS_DISABLED':
      return page(403, 'Please install from our website', [
        'This app accepts installations that start on its own website.',
      ]);
    case 'STATE_UNKNOWN':
      return page(400, 'This installation link is not valid', ['It was not issued by this app, or it is too old.']);
    case 'STATE_USED':
      return page(400, 'This installation link was already used', ['Each link works once, for your security.']);
    case 'STATE_EXPIRED':
      return page(400, 'This installation link expired', ['Links are valid for a few minutes, for your security.']);
    case 'STATE_BROWSER_MISMATCH':
      return page(403, 'Please finish in the browser you started in', [
        'For your security, an installation must be completed in the same browser where it started, with cookies enabled.',
      ]);
    case 'CODE_REJECTED':
      return page(400, 'This installation link expired', [
        'Ecwid no longer accepts it: installation links are valid for a few minutes and only once.',
      ]);
    case 'CLIENT_REJECTED':
    case 'REFRESH_TOKEN_REJECTED':
    case 'ECWID_UNAVAILABLE':
    case 'ECWID_UNREACHABLE':
    case 'ECWID_INVALID_RESPONSE':
      return page(502, NOT_COMPLETED, [TRY_AGAIN_SOON]);
    case 'INSTALL_OUTCOME_UNKNOWN':
      return page(502, 'We could not confirm the installation', [
        'An earlier attempt with this link did not finish. Please start the installation again.',
      ]);
    case 'ECWID_TIMEOUT':
      return page(504, NOT_COMPLETED, ['Ecwid took too long to answer. ' + TRY_AGAIN_SOON]);
    case 'INSTALL_IN_PROGRESS':
      return {
        status: 409,
        title: 'Your installation is still being completed',
        paragraphs: ['Please reload this page in a few seconds.'],
        restart: false,
      };
    case 'ECWID_RATE_LIMITED':
    case 'STORAGE_UNAVAILABLE':
    case 'SECRET_UNAVAILABLE':
    case 'ENCRYPTION_UNAVAILABLE':
      return page(503, 'This app is temporarily unavailable', [TRY_AGAIN_SOON]);
    case 'NOT_CONFIGURED':
      return {
        status: 503,
        title: 'This app is not set up yet',
        paragraphs: ['Its operator has not finished configuring it. Please try again later.'],
        restart: false,
      };
    case 'TOKEN_UNREADABLE':
    case 'INTERNAL':
      return page(500, 'Something went wrong', [TRY_AGAIN_SOON]);
  }
}

function page(status: number, title: string, paragraphs: string[]): ErrorPresentation {
  return { status, title, paragraphs, restart: true };
}

function errorResponse(
  error: unknown,
  context: { log: Logger; reference: string; startUrl: string | undefined },
): ApiResult {
  const known = isAuthFlowError(error);
  const failure = known ? error : new AuthFlowError('INTERNAL', 'unexpected error', { cause: error });
  const presentation = presentError(failure.code);
  const fields: Record<string, unknown> = { errorCode: failure.code, status: presentation.status, ...failure.detail };
  const cause = failure.cause ?? (known ? undefined : error);
  if (cause !== undefined) fields.causeName = errorName(cause);
  if (!known) fields.stack = (error as { stack?: unknown } | undefined)?.stack;
  const level = presentation.status >= 500 ? 'error' : 'warn';
  context.log[level](failure.message, fields);

  return htmlResponse(presentation.status, {
    title: presentation.title,
    paragraphs: presentation.paragraphs,
    ...(presentation.restart && context.startUrl !== undefined
      ? { links: [{ href: context.startUrl, label: 'Start the installation again' }] }
      : {}),
    ...(presentation.status >= 500 ? { reference: context.reference } : {}),
  });
}
