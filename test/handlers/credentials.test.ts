import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { CredentialsDesk } from '../../functions/core/credentials/credentials-desk';
import { ConfigurationError, ErrorCodes, StorageError, EcwidAppAuthError } from '../../functions/core/errors';
import { composeCredentials, readCredentialsConfig, type CredentialsFunctionDependencies } from '../../functions/credentials/dependencies';
import { createCredentialsHandler } from '../../functions/credentials/handler';
import { CREDENTIALS_ROUTES, routeKeyOf } from '../../functions/credentials/routes';
import { jsonErrorResponse, jsonErrorStatus } from '../../functions/credentials/failure-answers';
import { credentialsHarness } from '../core/credentials-harness';
import { RecordingPublisher } from '../support/fakes';
import { TEST_ENVIRONMENT, lambdaContext, type Result } from '../support/handler-harness';

const READ = routeKeyOf(CREDENTIALS_ROUTES.read);
const REPORT = routeKeyOf(CREDENTIALS_ROUTES.reportRejection);

function event(routeKey: string, storeId: string | undefined): APIGatewayProxyEventV2 {
  const [method, template] = routeKey.split(' ') as [string, string];
  const path = template.replace('{storeId}', storeId ?? '');
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'api.example.com' },
    ...(storeId === undefined ? {} : { pathParameters: { storeId } }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'test' },
      requestId: 'request-id-1',
      routeKey,
      stage: '$default',
      time: '26/Nov/2026:12:00:00 +0000',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
  };
}

function setup() {
  const h = credentialsHarness();
  const publisher = new RecordingPublisher();
  const deps: CredentialsFunctionDependencies = { desk: h.desk, clock: h.clock, log: h.logs.log, publisher };
  const handler = createCredentialsHandler(() => deps, h.logs.log);
  const invoke = async (routeKey: string, storeId: string | undefined) => (await handler(event(routeKey, storeId), lambdaContext)) as Result;
  return { ...h, deps, invoke, publisher, handler };
}

describe('the credentials function', () => {
  it('answers 200 with the credentials as JSON, never cached, and logs no token', async () => {
    const t = setup();
    await t.install(1003);
    const result = await t.invoke(READ, '1003');
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    expect(JSON.parse(result.body)).toMatchObject({ storeId: 1003, accessToken: 'secret_stored_1003', tokenType: 'Bearer', status: 'active' });
    expect(t.logs.lines.join('\n')).not.toContain('secret_stored_1003');
    expect(t.logs.entries()).toContainEqual(expect.objectContaining({ message: 'credentials handed out', storeId: 1003, correlationId: 'request-id-1' }));
  });

  it('answers 404 not_installed, 409 with the status and reason, 400 invalid_store_id', async () => {
    const t = setup();
    await t.install(1004);
    t.patch(1004, { status: 'store_gone', statusReason: 'STORE_NOT_FOUND' });
    expect(await t.invoke(READ, '77')).toMatchObject({ statusCode: 404, body: '{"error":"not_installed"}' });
    expect(await t.invoke(READ, '1004')).toMatchObject({ statusCode: 409, body: '{"error":"store_gone","reason":"STORE_NOT_FOUND"}' });
    expect(await t.invoke(READ, '00')).toMatchObject({ statusCode: 400, body: '{"error":"invalid_store_id"}' });
    expect(await t.invoke(READ, undefined)).toMatchObject({ statusCode: 400, body: '{"error":"invalid_store_id"}' });
  });

  it('answers a report with what was concluded, and announces the transition it made', async () => {
    const t = setup();
    await t.install(1005);
    t.ecwid.onVerify({ outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' });
    expect(await t.invoke(REPORT, '1005')).toMatchObject({ statusCode: 200, body: '{"status":"needs_reinstall"}' });
    expect(t.logs.entries()).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'installation status changed', storeId: 1005, from: 'active', to: 'needs_reinstall', reason: 'INVALID_API_TOKEN' }),
    );
    expect(t.publisher.events).toEqual([
      {
        detailType: 'Token Revoked',
        detail: { storeId: 1005, status: 'needs_reinstall', reason: 'INVALID_API_TOKEN', time: expect.any(String) },
      },
    ]);
    expect(await t.invoke(REPORT, '1005')).toMatchObject({ statusCode: 200, body: '{"status":"needs_reinstall"}' });
    // The second report changed nothing: nothing more is announced.
    expect(t.publisher.types()).toEqual(['Token Revoked']);
  });

  it('answers a report even when the event cannot be published: the change is stored, the failure logged', async () => {
    const t = setup();
    await t.install(1009);
    t.publisher.failing = true;
    t.ecwid.onVerify({ outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' });
    expect(await t.invoke(REPORT, '1009')).toMatchObject({ statusCode: 200, body: '{"status":"needs_reinstall"}' });
    expect((await t.store.getInstallation(1009))?.status).toBe('needs_reinstall');
    expect(t.logs.entries()).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'lifecycle events could not be published' }));
  });

  it('recomputes the missing scopes on a report of INSUFFICIENT_APP_SCOPE, announces a new gap once, and refuses another body', async () => {
    const t = setup();
    await t.install(1010, { scope: 'read_store_profile' });
    const report = (body: string) => t.handler({ ...event(REPORT, '1010'), body }, lambdaContext) as Promise<Result>;
    const answered = await report('{"ecwidError":"INSUFFICIENT_APP_SCOPE"}');
    expect(answered).toMatchObject({ statusCode: 200 });
    expect(JSON.parse(answered.body)).toEqual({ status: 'active', missingScopes: ['read_catalog'] });
    expect((await t.store.getInstallation(1010))!.missingScopes).toEqual(['read_catalog']);
    expect(t.publisher.events).toEqual([
      { detailType: 'Scopes Missing', detail: { storeId: 1010, status: 'active', reason: 'insufficient_app_scope', time: expect.any(String), missingScopes: ['read_catalog'] } },
    ]);
    await report('{"ecwidError":"INSUFFICIENT_APP_SCOPE"}');
    expect(t.publisher.types()).toEqual(['Scopes Missing']);
    // Ecwid's scope refusal never reaches the profile check of a token rejection.
    expect(t.ecwid.verifications).toHaveLength(0);
    for (const body of ['{"ecwidError":"SOMETHING_ELSE"}', 'not json', '[]']) {
      expect(await report(body)).toMatchObject({ statusCode: 400, body: '{"error":"invalid_request"}' });
    }
  });

  it('answers an unconfirmed report with 503, its reason and Retry-After', async () => {
    const t = setup();
    await t.install(1006);
    t.ecwid.onVerify({ outcome: 'rate_limited', retryAfterSeconds: 12 });
    const result = await t.invoke(REPORT, '1006');
    expect(result.statusCode).toBe(503);
    expect(result.headers['retry-after']).toBe('12');
    expect(JSON.parse(result.body)).toEqual({ error: 'rejection_unconfirmed', reason: 'rate_limited', reference: 'request-id-1' });
  });

  it('answers 503 token_renewal_pending with Retry-After while another holder renews a token about to die', async () => {
    const t = setup();
    await t.installExpiring(1007, 30);
    await t.store.leaseInstallation({ storeId: 1007, owner: 'job', nowEpochSeconds: t.nowSeconds(), leaseExpiresAtEpochSeconds: t.nowSeconds() + 60 });
    const result = await t.invoke(READ, '1007');
    expect(result.statusCode).toBe(503);
    expect(result.headers['retry-after']).toBe('1');
    expect(JSON.parse(result.body)).toEqual({ error: 'token_renewal_pending', reference: 'request-id-1' });
  });

  it('answers 503 storage_unavailable with a reference when the table fails, and logs the failure', async () => {
    const t = setup();
    t.store.getInstallation = async () => {
      throw new StorageError('DynamoDB GetItem failed', { operation: 'GetItem', detail: { awsError: 'InternalServerError' } });
    };
    const result = await t.invoke(READ, '1008');
    expect(result).toMatchObject({ statusCode: 503 });
    expect(JSON.parse(result.body)).toEqual({ error: 'storage_unavailable', reference: 'request-id-1' });
    expect(t.logs.entries()).toContainEqual(expect.objectContaining({ level: 'ERROR', errorCode: 'STORAGE_UNAVAILABLE', operation: 'GetItem' }));
  });

  it('answers 500 internal, never the message or the stack, for what was not foreseen', async () => {
    const t = setup();
    t.store.getInstallation = async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'secret_token_in_message')");
    };
    const result = await t.invoke(READ, '1009');
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body)).toEqual({ error: 'internal', reference: 'request-id-1' });
    expect(result.body).not.toMatch(/TypeError|secret_token|at .+:\d+/);
  });

  it('answers 503 not_configured, naming nothing, when its configuration is broken', async () => {
    const { logs } = setup();
    const broken = () => {
      throw new ConfigurationError('invalid configuration: TOKEN_KEY_ID is required', { problems: ['TOKEN_KEY_ID is required'] });
    };
    const result = (await createCredentialsHandler(broken, logs.log)(event(READ, '1003'), lambdaContext)) as Result;
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toEqual({ error: 'not_configured', reference: 'request-id-1' });
    expect(logs.entries()[0]).toMatchObject({ errorCode: 'NOT_CONFIGURED', problems: 'TOKEN_KEY_ID is required' });
  });

  it('answers 404 for a route it does not serve', async () => {
    const t = setup();
    expect(await t.invoke('DELETE /stores/{storeId}/credentials', '1003')).toMatchObject({ statusCode: 404, body: '{"error":"not_found"}' });
  });

  it('reads only its own variables, and reports every one missing at once', () => {
    expect(() => readCredentialsConfig({})).toThrow(
      expect.objectContaining({ problems: ['ECWID_CLIENT_ID is required', 'TABLE_NAME is required', 'CLIENT_SECRET_ID is required', 'TOKEN_KEY_ID is required', 'EVENT_BUS_NAME is required'] }),
    );
    const config = readCredentialsConfig({ ...TEST_ENVIRONMENT, PUBLIC_URL: 'not read' });
    expect(config.desk).toMatchObject({ clientId: 'app-client-id', renewBelowSeconds: 300, minimumLifetimeSeconds: 60, leaseDurationSeconds: 26, requestReserveMs: 10_000 });
    expect(composeCredentials(config).desk).toBeInstanceOf(CredentialsDesk);
  });
});

describe('the JSON presentation of errors', () => {
  it.each(ErrorCodes.map((code) => [code]))('%s has a status and a lower-case error, with a reference for 5xx', (code) => {
    const status = jsonErrorStatus(code);
    expect([400, 401, 403, 404, 409, 500, 502, 503, 504]).toContain(status);
    const response = jsonErrorResponse(new EcwidAppAuthError(code, 'a message that must not show'), 'ref-1');
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body as string)).toEqual({ error: code.toLowerCase(), ...(status >= 500 ? { reference: 'ref-1' } : {}) });
  });
});
