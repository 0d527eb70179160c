import { keyIdOf } from '../../functions/adapters/kms-token-signer';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DynamoDbInstallationStore } from '../../functions/adapters/dynamodb/installation-store';
import { DynamoTable } from '../../functions/adapters/dynamodb/table';
import { ensureLocalTable, startDynalite, type LocalDynamoDb } from '../../local/dynalite-server';
import { EventBridgeStub } from '../../local/eventbridge-stub';
import { FakeEcwid } from '../../local/fake-ecwid';
import { KmsStub } from '../../local/kms-stub';
import { SecretsManagerStub } from '../../local/secrets-manager-stub';
import { localClient } from '../support/dynamodb-servers';
import { getEvent } from '../support/handler-harness';
import { synthesizeBundles, type SynthesizedBundle } from '../support/synthesized-bundles';

/**
 * The code that deploys is the code that is tested: the standalone stack is synthesized as `cdk
 * deploy` would synthesize it, and each function's bundle is loaded from `cdk.out` in a fresh Node.js
 * process, with only the environment Lambda would give it, and called with real API Gateway v2 and
 * EventBridge events. The AWS SDK inside the bundles (credentials from the environment, as the
 * aliased provider reads them) reaches local servers through the standard `AWS_ENDPOINT_URL_*`
 * variables: dynalite, the Secrets Manager and KMS stubs, and the fake Ecwid over HTTP.
 */
describe('the deployed bundles, run from cdk.out', () => {
  const PUBLIC_URL = 'https://auth.example.test';
  const TABLE = 'deployed-bundles';
  const SECRET_NAME = 'ecwid-app-auth/deployed-client-secret';
  const CLIENT_ID = 'deployed-app';
  const CLIENT_SECRET = 'deployed-client-secret-value';
  const BUS = 'deployed-lifecycle-events';
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ecwid-deployed-'));
  let bundles: Map<string, SynthesizedBundle>;
  let dynamoDb: LocalDynamoDb;
  let secretsManager: SecretsManagerStub;
  let kms: KmsStub;
  let eventBridge: EventBridgeStub;
  let fake: FakeEcwid;
  let fakeServer: Server;
  /** What every process gets, whatever its function: what Lambda gives, and the SDK's endpoint overrides. */
  let runtimeEnvironment: Record<string, string>;
  /** The values of the templates' deploy-time references, resolved as CloudFormation would resolve them here. */
  let deployedValues: Record<string, string>;
  let table: DynamoTable;

  beforeAll(async () => {
    bundles = new Map(synthesizeBundles(outdir, { ecwidClientId: CLIENT_ID }).map((bundle) => [bundle.functionName, bundle]));
    dynamoDb = await startDynalite();
    await ensureLocalTable(dynamoDb.endpoint, TABLE);
    secretsManager = new SecretsManagerStub();
    secretsManager.putSecret(SECRET_NAME, CLIENT_SECRET);
    const secretsManagerEndpoint = await secretsManager.listen();
    kms = new KmsStub();
    const kmsEndpoint = await kms.listen();
    eventBridge = new EventBridgeStub(BUS);
    const eventBridgeEndpoint = await eventBridge.listen();
    fake = new FakeEcwid({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUrl: `${PUBLIC_URL}/callback` });
    fakeServer = createServer((request, response) => {
      void fake.handle(request, response).then((handled) => {
        if (!handled) response.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => fakeServer.listen(0, '127.0.0.1', resolve));
    const fakeUrl = `http://127.0.0.1:${(fakeServer.address() as AddressInfo).port}`;
    table = new DynamoTable(localClient(dynamoDb.endpoint), TABLE);
    runtimeEnvironment = {
      // What Lambda gives every function: its region and its role's credentials in the environment.
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SESSION_TOKEN: 'local',
      // The SDK's standard service-specific endpoints, which the deployed code must honour.
      AWS_ENDPOINT_URL_DYNAMODB: dynamoDb.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManagerEndpoint,
      AWS_ENDPOINT_URL_KMS: kmsEndpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridgeEndpoint,
      HOME: outdir,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    deployedValues = {
      TABLE_NAME: TABLE,
      CLIENT_SECRET_ID: SECRET_NAME,
      TOKEN_KEY_ID: kms.keyArn,
      SIGNING_KEY_ID: kms.signingKeyArn,
      EVENT_BUS_NAME: BUS,
      PUBLIC_URL,
      // Ecwid itself is the fake: the only value changed from what the template sets.
      ECWID_OAUTH_URL: fakeUrl,
      ECWID_API_URL: fakeUrl,
    };
  }, 120_000);

  afterAll(async () => {
    await new Promise((resolve) => fakeServer?.close(resolve));
    fake?.releaseHeldRequests();
    await secretsManager?.close();
    await kms?.close();
    await eventBridge?.close();
    await dynamoDb?.close();
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  function bundleOf(functionName: string): SynthesizedBundle {
    const bundle = bundles.get(functionName);
    if (bundle === undefined) throw new Error(`no bundle for ${functionName}: ${[...bundles.keys()].join(', ')}`);
    return bundle;
  }

  /**
   * A function's process environment: the runtime's, plus exactly the variables its template sets,
   * each with the template's value or, for a deploy-time reference (and Ecwid), the value resolved
   * here. A variable the template lacks stays unset, as it would in Lambda.
   */
  function environmentOf(functionName: string): Record<string, string> {
    const environment = { ...runtimeEnvironment };
    for (const [name, value] of Object.entries(bundleOf(functionName).environment)) {
      const resolved = deployedValues[name] ?? (typeof value === 'string' ? value : undefined);
      if (resolved === undefined) throw new Error(`${functionName}: nothing resolves the deploy-time reference of ${name}`);
      environment[name] = resolved;
    }
    return environment;
  }

  /** Calls a bundle's handler in a fresh process with the function's own environment. */
  async function invoke(functionName: string, event: unknown, remainingMs = 25_000): Promise<Record<string, any>> {
    const { stdout } = await run(bundleOf(functionName), environmentOf(functionName), JSON.stringify({ event, remainingMs }));
    const line = stdout.split('\n').find((text) => text.startsWith(RESULT_MARKER));
    if (line === undefined) throw new Error(`no result from ${functionName}:\n${stdout}`);
    return JSON.parse(line.slice(RESULT_MARKER.length)) as Record<string, any>;
  }

  it('builds one bundle per function, each given exactly the environment of its own function', () => {
    expect([...bundles.keys()].sort()).toEqual(['app', 'authorize', 'callback', 'credentials', 'jwks', 'refresh', 'webhooks']);
    for (const bundle of bundles.values()) {
      expect(fs.existsSync(bundle.file)).toBe(true);
      expect(bundle.file.startsWith(outdir)).toBe(true);
      expect(Object.keys(environmentOf(bundle.functionName)).sort()).toEqual(
        [...Object.keys(runtimeEnvironment), ...Object.keys(bundle.environment)].sort(),
      );
    }
  });

  it('publishes the signing key through the deployed JWKS function, cacheable, readable from any origin', async () => {
    const answered = await invoke('jwks', getEvent('/.well-known/jwks.json'));
    expect(answered.result.statusCode).toBe(200);
    expect(answered.result.headers).toMatchObject({ 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' });
    const { keys } = JSON.parse(answered.result.body) as { keys: Array<Record<string, string>> };
    expect(keys).toEqual([{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: keyIdOf(kms.signingKeyArn), alg: 'ES256', use: 'sig' }]);
  });

  it('installs a store through the deployed authorize and callback, and refreshes it through the deployed job', async () => {
    fake.tokenLifetimeSeconds = 3600;
    const started = await invoke('authorize', getEvent('/authorize'));
    expect(started.result.statusCode).toBe(302);
    const location = new URL(started.result.headers.location);
    expect(location.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/callback`);
    const state = location.searchParams.get('state')!;
    const cookie = (started.result.cookies[0] as string).split(';')[0]!;

    const code = fake.issueCode({ storeId: 4242, redirectUri: `${PUBLIC_URL}/callback` });
    const callbackEvent: APIGatewayProxyEventV2 = getEvent('/callback', `code=${code}&store_id=4242&state=${state}`, [cookie]);
    const completed = await invoke('callback', callbackEvent);
    expect(completed.result.statusCode).toBe(200);
    expect(completed.result.body).toContain('Your store is connected');
    expect(fake.exchangesOf(code).map((exchange) => exchange.outcome)).toEqual(['issued']);

    const store = new DynamoDbInstallationStore(table);
    const installed = (await store.getInstallation(4242))!;
    expect(installed).toMatchObject({ status: 'active', version: 1 });
    expect(kms.calls.GenerateDataKey).toBe(1);

    // Due now, as the scheduled job would find it some minutes before the token expires.
    const nowEpochSeconds = Math.floor(Date.now() / 1000);
    await table.documents.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk: 'STORE#4242' },
        UpdateExpression: 'SET nextCheckAtEpochSeconds = :due, dueAtEpochSeconds = :due',
        ExpressionAttributeValues: { ':due': nowEpochSeconds - 1 },
      }),
    );
    const scheduled = {
      version: '0',
      id: 'a1b2c3d4-0000-4000-8000-000000000000',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:123456789012:rule/EcwidAppAuth-RefreshSchedule'],
      detail: {},
    };
    const run = await invoke('refresh', scheduled, 300_000);
    expect(run.result).toMatchObject({ processed: 1, outcomes: expect.objectContaining({ refreshed: 1 }) });
    expect(fake.refreshesOf(4242).map((refresh) => refresh.outcome)).toEqual(['issued']);
    const refreshed = (await store.getInstallation(4242))!;
    expect(refreshed).toMatchObject({ status: 'active', version: 2 });
    expect(refreshed).not.toHaveProperty('refreshInFlightSinceEpochSeconds');
    expect(kms.calls.Decrypt).toBe(1);
    // Each change was announced on the bus by the function that made it.
    expect(eventBridge.events.map((event) => event.detailType)).toEqual(['Store Installed']);
  });

  it('takes a signed webhook through the deployed webhooks function, and refuses a forged one', async () => {
    const eventCreated = Math.floor(Date.now() / 1000);
    const eventId = randomUUID();
    const body = JSON.stringify({
      eventId,
      eventCreated,
      storeId: 4242,
      entityId: 4242,
      eventType: 'application.subscriptionStatusChanged',
      data: { oldSubscriptionStatus: 'TRIAL', newSubscriptionStatus: 'ACTIVE' },
    });
    const signature = createHmac('sha256', CLIENT_SECRET).update(`${eventCreated}.${eventId}`).digest('base64');
    const post = (headers: Record<string, string>) => ({
      ...getEvent('/webhooks'),
      routeKey: 'POST /webhooks',
      requestContext: { ...getEvent('/webhooks').requestContext, http: { ...getEvent('/webhooks').requestContext.http, method: 'POST' } },
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const forged = await invoke('webhooks', post({ 'x-ecwid-webhook-signature': 'AAAA' }), 10_000);
    expect(forged.result.statusCode).toBe(401);
    const delivered = await invoke('webhooks', post({ 'x-ecwid-webhook-signature': signature }), 10_000);
    expect(delivered.result.statusCode).toBe(200);
    expect(JSON.parse(delivered.result.body)).toMatchObject({ result: 'processed' });
    expect(eventBridge.events.map((event) => event.detailType)).toContain('Subscription Changed');
  });

  it('answers a broken configuration with the "not set up" page, not a crash', async () => {
    const broken = { ...getEvent('/authorize') };
    const bundle = bundles.get('authorize')!;
    const { stdout } = await run(
      bundle,
      { ...environmentOf('authorize'), TABLE_NAME: '', PUBLIC_URL: 'http://example.com' },
      JSON.stringify({ event: broken, remainingMs: 10_000 }),
    );
    const result = JSON.parse(stdout.split('\n').find((text) => text.startsWith(RESULT_MARKER))!.slice(RESULT_MARKER.length)) as Record<string, any>;
    expect(result.result.statusCode).toBe(503);
    expect(result.result.body).toContain('not set up yet');
    const logged = stdout.split('\n').filter((text) => text.startsWith('{')).map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(logged.some((entry) => String(entry.problems).includes('TABLE_NAME is required'))).toBe(true);
  });
});

const RESULT_MARKER = '__HANDLER_RESULT__ ';

/** What Lambda's Node.js runtime does for one invocation: load the module, call the export with the event and a context. */
const RUNNER = `
const [file, exportName] = process.argv.slice(1);
let input = '';
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', async () => {
  const { event, remainingMs } = JSON.parse(input);
  const startedAt = Date.now();
  const context = {
    awsRequestId: 'deployed-' + process.pid,
    functionName: 'deployed',
    getRemainingTimeInMillis: () => remainingMs - (Date.now() - startedAt),
  };
  let outcome;
  try {
    outcome = { result: await require(file)[exportName](event, context) };
  } catch (error) {
    outcome = { error: String(error && error.name) };
  }
  process.stdout.write('\\n${RESULT_MARKER}' + JSON.stringify(outcome) + '\\n');
});
`;

function run(bundle: SynthesizedBundle, environment: Record<string, string>, input: string): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['-e', RUNNER, bundle.file, bundle.exportName],
      { cwd: path.dirname(bundle.file), env: environment, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error === null ? resolve({ stdout }) : reject(new Error(`${error.message}\n${stderr}`))),
    );
    child.stdin!.end(input);
  });
}
