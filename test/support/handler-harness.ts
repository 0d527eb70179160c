import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { composeAuthorize, readAuthorizeConfig, type AuthorizeDependencies } from '../../functions/authorize/dependencies';
import { composeCallback, readCallbackConfig, type CallbackDependencies } from '../../functions/callback/dependencies';
import { capturingLogger, FixedClientSecret, ManualClock, RecordingPublisher, ScriptedTokenEndpoint, SeededRandom } from './fakes';
import { LocalTokenSigner } from './local-token-signer';
import { MemoryStore } from './memory-store';
import { MemoryTokenVault } from './memory-token-vault';

export const TEST_ENVIRONMENT = {
  TABLE_NAME: 'table',
  CLIENT_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:client-AbCdEf',
  TOKEN_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/0b5c3d4e-1f2a-4b3c-8d9e-0a1b2c3d4e5f',
  SIGNING_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
  ECWID_CLIENT_ID: 'app-client-id',
  PUBLIC_URL: 'https://auth.example.com',
  ECWID_OAUTH_URL: 'https://my.ecwid.example',
  ECWID_SCOPES: 'read_store_profile read_catalog',
  EVENT_BUS_NAME: 'ecwid-app-auth-lifecycle',
};

/** The dependencies of the authorize and callback functions over one set of in-memory fakes, for handler tests. */
export function handlerHarness(environment: Record<string, string> = {}) {
  const variables = { ...TEST_ENVIRONMENT, ...environment };
  const clock = new ManualClock();
  const random = new SeededRandom();
  const store = new MemoryStore(4, clock);
  const tokenEndpoint = new ScriptedTokenEndpoint();
  const logs = capturingLogger();
  const publisher = new RecordingPublisher();
  const authorizeDeps: AuthorizeDependencies = {
    ...composeAuthorize(readAuthorizeConfig(variables), { clock, random }),
    states: store,
  };
  const callbackDeps: CallbackDependencies = {
    ...composeCallback(readCallbackConfig(variables), { clock, random }),
    states: store,
    claims: store,
    installations: store,
    tokenEndpoint,
    clientSecret: new FixedClientSecret(),
    vault: new MemoryTokenVault(),
    log: logs.log,
    publisher,
  };
  const signer = new LocalTokenSigner();
  callbackDeps.receipts = { ...callbackDeps.receipts, signer, clock, random };
  return { authorizeDeps, callbackDeps, store, tokenEndpoint, clock, logs, publisher, signer };
}

/** An API Gateway HTTP API (payload 2.0) event for a GET. */
export function getEvent(path: string, rawQueryString = '', cookies?: string[]): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `GET ${path}`,
    rawPath: path,
    rawQueryString,
    ...(cookies === undefined ? {} : { cookies }),
    headers: { host: 'auth.example.com' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'auth.example.com',
      domainPrefix: 'auth',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'test' },
      requestId: 'request-id-1',
      routeKey: `GET ${path}`,
      stage: '$default',
      time: '26/Nov/2026:12:00:00 +0000',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
  };
}

export const lambdaContext = {
  awsRequestId: 'aws-request-id',
  functionName: 'test',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

export type Result = APIGatewayProxyStructuredResultV2 & { headers: Record<string, string>; body: string };

/** An API Gateway HTTP API (payload 2.0) event for a POST with a JSON body. */
export function postEvent(path: string, body: string | undefined, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const event = getEvent(path);
  return {
    ...event,
    routeKey: `POST ${path}`,
    headers: { ...event.headers, 'content-type': 'application/json', ...headers },
    requestContext: { ...event.requestContext, routeKey: `POST ${path}`, http: { ...event.requestContext.http, method: 'POST' } },
    ...(body === undefined ? {} : { body }),
  };
}
