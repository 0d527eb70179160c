import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from './http-util';

export type HttpLambda = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** API Gateway's own limit on the integration, after which it answers 503 whatever the function does. */
const INTEGRATION_TIMEOUT_MS = 29_000;

/**
 * Serves a Lambda handler the way an API Gateway HTTP API (payload format 2.0) would: the same
 * event shape, the same treatment of repeated query parameters and cookies, the same response mapping.
 */
export async function invokeAsApiGateway(
  handler: HttpLambda,
  routeKey: string,
  request: IncomingMessage,
  response: ServerResponse,
  options: { functionName: string; timeoutMs?: number; pathParameters?: Record<string, string> },
): Promise<void> {
  const event = toEvent(routeKey, request, await readBody(request, 10 * 1024 * 1024));
  if (options.pathParameters !== undefined) event.pathParameters = options.pathParameters;
  const timeoutMs = options.timeoutMs ?? INTEGRATION_TIMEOUT_MS;
  const startedAt = Date.now();
  const context = lambdaContext(options.functionName, () => timeoutMs - (Date.now() - startedAt));

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  let result: APIGatewayProxyStructuredResultV2 | 'timeout';
  try {
    result = await Promise.race([handler(event, context), timedOut]);
  } catch {
    // What API Gateway answers when the function itself fails.
    sendJson(response, 500, { message: 'Internal Server Error' });
    return;
  } finally {
    clearTimeout(timer);
  }
  if (result === 'timeout') {
    sendJson(response, 503, { message: 'Service Unavailable' });
    return;
  }
  writeResult(result, response);
}

function toEvent(routeKey: string, request: IncomingMessage, body: string): APIGatewayProxyEventV2 {
  const target = request.url ?? '/';
  const queryStart = target.indexOf('?');
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const rawQueryString = queryStart === -1 ? '' : target.slice(queryStart + 1);

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && name !== 'cookie') headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const cookies = (request.headers.cookie ?? '')
    .split(';')
    .map((cookie) => cookie.trim())
    .filter(Boolean);

  // API Gateway joins repeated query parameters with commas. A Map: names like `__proto__` are data here.
  const joined = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    const earlier = joined.get(name);
    joined.set(name, earlier === undefined ? value : `${earlier},${value}`);
  }
  const queryStringParameters = Object.fromEntries(joined);

  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(rawQueryString === '' ? {} : { queryStringParameters }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0]!,
      http: {
        method: request.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body === '' ? {} : { body }),
    isBase64Encoded: false,
  };
}

/** A Lambda context for a local invocation, with a real deadline behind `getRemainingTimeInMillis`. */
export function lambdaContext(functionName: string, remainingMs: () => number): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function writeResult(result: APIGatewayProxyStructuredResultV2, response: ServerResponse): void {
  const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  const headers: Record<string, string | number | string[]> = { ...(result.headers as Record<string, string | number>) };
  if (result.cookies !== undefined && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  headers['content-length'] = body.byteLength;
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}
