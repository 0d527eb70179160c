import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { createAuthorizeHandler } from '../../../functions/authorize/handler';
import { createCallbackHandler } from '../../../functions/callback/handler';
import { ErrorCodes } from '../../../functions/core/errors';
import { presentError } from '../../../functions/runtime/error-pages';
import { renderPage } from '../../../functions/runtime/pages';
import { getEvent, handlerHarness, lambdaContext, type Result } from '../../support/handler-harness';
import { BINDING_COOKIE, type HttpCall, type IssuedStates } from './arbitraries';
import { apiGatewayQueryParameters, decodeFormQuery } from './query-reading';

export const START_URL = 'https://auth.example.com/authorize';
export const SUCCESS_URL = 'https://app.example.com/welcome?from=ecwid';

export type Deployment = 'default' | 'success_url' | 'no_app_market';

const ENVIRONMENTS: Record<Deployment, Record<string, string>> = {
  default: {},
  success_url: { SUCCESS_URL },
  no_app_market: { APP_MARKET_INSTALLS: 'false' },
};

/** SHA-256 hex, as the store keys states, cookies and codes. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The event API Gateway builds for a GET, with its `queryStringParameters` and cookies. */
export function eventFor(path: string, call: HttpCall): APIGatewayProxyEventV2 {
  const event = getEvent(path, call.query, call.cookies);
  if (call.cookieHeader !== undefined) event.headers = { ...event.headers, cookie: call.cookieHeader };
  const parameters = apiGatewayQueryParameters(call.query);
  if (parameters !== undefined) event.queryStringParameters = parameters;
  return event;
}

/** The real handlers over a fresh in-memory harness, with three states issued by its own `/authorize`. */
export async function startedFlow(deployment: Deployment) {
  const harness = handlerHarness(ENVIRONMENTS[deployment]);
  const authorize = createAuthorizeHandler(() => harness.authorizeDeps, harness.logs.log);
  const callback = createCallbackHandler(() => harness.callbackDeps, harness.logs.log);

  const begin = async (cookies?: string[]) => {
    const result = (await authorize(getEvent('/authorize', '', cookies), lambdaContext)) as Result;
    const state = new URL(result.headers.location!).searchParams.get('state')!;
    const binding = /^[^=]+=([^;]*)/.exec(result.cookies![0]!)![1]!;
    return { state, binding };
  };
  const first = await begin();
  const second = await begin();
  const third = await begin([`${BINDING_COOKIE}=${first.binding}`]);
  const issued: IssuedStates = { s1: first.state, s2: second.state, s3: third.state, b1: first.binding, b2: second.binding };

  const call = async (path: '/callback' | '/authorize', request: HttpCall) =>
    (await (path === '/callback' ? callback : authorize)(eventFor(path, request), lambdaContext)) as Result | undefined;
  return { ...harness, issued, call };
}

/** Everything in the store, comparable: states by hash, claims and installations as JSON. */
export function storeSnapshot(store: ReturnType<typeof handlerHarness>['store']) {
  return {
    states: new Map([...store.states].map(([hash, record]) => [hash, JSON.stringify(record)])),
    claims: JSON.stringify([...store.claims]),
    installations: new Map([...store.installations].map(([storeId, item]) => [storeId, JSON.stringify(item)])),
  };
}

/**
 * Every piece of page markup the app can render without user input (all error pages, and the
 * cancelled and success pages observed in a benign run). A hostile value that happens to be a
 * substring of it cannot be told apart from the template, so only values outside it are checked.
 */
export function pageTemplateText(observedBodies: string[]): string {
  const errorPages = ErrorCodes.map((code) => {
    const { title, paragraphs } = presentError(code);
    return renderPage({ title, paragraphs, links: [{ href: START_URL, label: 'Start the installation again' }], reference: 'request-id-1' });
  });
  return [...errorPages, ...observedBodies].join('\n');
}

const PAGE_TAGS = new Set(['!doctype', 'html', 'head', 'meta', 'title', 'style', 'body', 'main', 'h1', 'p', 'a', 'small']);

/**
 * Invariant 4: no markup from the request reaches a page. The template has exactly one `"><`
 * (`<html lang="en"><head>`), so that one is set aside before looking for others.
 */
export function expectNothingReflected(body: string, call: HttpCall, templateText: string): void {
  expect(body).not.toMatch(/<script/i);
  expect(body.replace('<html lang="en"><head>', '')).not.toContain('"><');
  const tags = [...body.matchAll(/<\/?([!A-Za-z][A-Za-z0-9]*)/g)].map((match) => match[1]!.toLowerCase());
  expect(tags.filter((tag) => !PAGE_TAGS.has(tag))).toEqual([]);

  const candidates = new Set<string>([call.query, ...(call.cookies ?? []), call.cookieHeader ?? '']);
  for (const sequence of call.query.split('&')) {
    for (const part of sequence.split('=')) candidates.add(part);
  }
  for (const [name, value] of decodeFormQuery(call.query)) {
    candidates.add(name);
    candidates.add(value);
  }
  for (const candidate of candidates) {
    if (candidate.length < 2 || !/[<"]/.test(candidate) || templateText.includes(candidate)) continue;
    expect({ reflected: candidate, found: body.includes(candidate) }).toEqual({ reflected: candidate, found: false });
  }
}

/** Invariant 1: the headers every answer of the flow carries. */
export function expectFlowHeaders(result: Result): void {
  expect(result.headers['cache-control']).toBe('no-store');
  expect(result.headers['x-content-type-options']).toBe('nosniff');
  if (String(result.headers['content-type']).startsWith('text/html')) {
    expect(result.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  }
}
