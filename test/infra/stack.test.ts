import * as fs from 'node:fs';
import * as path from 'node:path';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { TABLE_SCHEMA } from '../../functions/adapters/dynamodb/schema';
import { CLIENT_SECRET_PLACEHOLDER } from '../../functions/adapters/client-secret-value';
import { FUNCTION_VARIABLES, type FunctionName } from '../../functions/runtime/variables';
import type { EcwidAuthStack } from '../../lib/ecwid-auth-stack';
import {
  appFunction,
  at,
  environmentOf,
  expectExactly,
  functionId,
  logicalId,
  resource,
  statementsOf,
  synth,
  leadingKeys,
  tokenKeyStatement,
  type Resource,
  type Synthesized,
} from './template';

const CLIENT_ID = 'custom-app-12345-1';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecwid/client-secret-AbC123';
const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0b5c3d4e-1f2a-4b3c-8d9e-0a1b2c3d4e5f';
const FUNCTION_NAMES = ['authorize', 'callback', 'refresh', 'webhooks', 'credentials', 'app', 'jwks'] as const satisfies readonly FunctionName[];

function tableArn(stack: EcwidAuthStack) {
  return { 'Fn::GetAtt': [logicalId(stack.auth.table), 'Arn'] };
}

function tokenKeyArn(stack: EcwidAuthStack) {
  return { 'Fn::GetAtt': [logicalId(stack.auth.tokenKey), 'Arn'] };
}

function eventBusArn(stack: EcwidAuthStack) {
  return { 'Fn::GetAtt': [logicalId(stack.auth.eventBus), 'Arn'] };
}

/** Publishing lifecycle events: to the app's bus, and no other. */
/** ES256 over a raw message with the signing key, and nothing else. */
function signStatement(stack: EcwidAuthStack) {
  return {
    Effect: 'Allow',
    Action: 'kms:Sign',
    Resource: { 'Fn::GetAtt': [logicalId(stack.auth.signingKey), 'Arn'] },
    Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'RAW' } },
  };
}

function publishStatement(stack: EcwidAuthStack) {
  return { Effect: 'Allow', Action: 'events:PutEvents', Resource: eventBusArn(stack) };
}

function httpApiId(stack: EcwidAuthStack): string {
  return logicalId(at(stack.auth, 'Api/HttpApi'));
}

/** Writing to the function's own log group: the first statement of every function's role. */
function logWriteStatement(stack: EcwidAuthStack, name: FunctionName) {
  return {
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: { 'Fn::GetAtt': [logicalId(appFunction(stack, name).logGroup), 'Arn'] },
  };
}

describe('the default stack', () => {
  let synthesized: Synthesized;
  let template: Template;
  let stack: EcwidAuthStack;

  beforeAll(() => {
    synthesized = synth({ ecwidClientId: CLIENT_ID }, { bundle: true });
    ({ template, stack } = synthesized);
  });

  it('routes the install flow, the webhooks, the app and its keys publicly and the credentials routes behind IAM, all with payload format 2.0', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((route) => [route.Properties.RouteKey, route.Properties.AuthorizationType]);
    expect(routes.sort()).toEqual([
      ['GET /.well-known/jwks.json', 'NONE'],
      ['GET /app', 'NONE'],
      ['GET /authorize', 'NONE'],
      ['GET /callback', 'NONE'],
      ['GET /stores/{storeId}/credentials', 'AWS_IAM'],
      ['POST /stores/{storeId}/credentials/rejected', 'AWS_IAM'],
      ['POST /webhooks', 'NONE'],
    ]);
    const formats = Object.values(template.findResources('AWS::ApiGatewayV2::Integration')).map(
      (integration) => integration.Properties.PayloadFormatVersion,
    );
    expect(formats).toEqual(Array(7).fill('2.0'));
  });

  it('routes each path to its function', () => {
    const targets = Object.fromEntries(
      Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((route) => {
        const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref;
        const integration = resource(template, integrationId);
        return [route.Properties.RouteKey, integration.Properties.IntegrationUri['Fn::GetAtt'][0]];
      }),
    );
    expect(targets).toEqual({
      'GET /authorize': functionId(stack, 'authorize'),
      'GET /callback': functionId(stack, 'callback'),
      'POST /webhooks': functionId(stack, 'webhooks'),
      'GET /stores/{storeId}/credentials': functionId(stack, 'credentials'),
      'POST /stores/{storeId}/credentials/rejected': functionId(stack, 'credentials'),
      'GET /app': functionId(stack, 'app'),
      'GET /.well-known/jwks.json': functionId(stack, 'jwks'),
    });
  });

  it('runs exactly seven functions, each on Node.js 24, arm64, 256 MB, without source-mapped stacks', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(FUNCTION_NAMES.length);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], MemorySize: 256 });
      // --enable-source-maps costs every cold start (npm run bench measures it): not set.
      expect(fn.Properties.Environment.Variables).not.toHaveProperty('NODE_OPTIONS');
      expect(fn.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    }
  });

  it('gives the callback time for the token request, within the 30 s API Gateway allows', () => {
    expect(resource(template, functionId(stack, 'authorize')).Properties.Timeout).toBe(10);
    const callbackTimeoutSeconds = resource(template, functionId(stack, 'callback')).Properties.Timeout as number;
    const environment = environmentOf(template, functionId(stack, 'callback'));
    const tokenRequestSeconds = Number(environment.TOKEN_REQUEST_TIMEOUT_MS) / 1000;
    expect(callbackTimeoutSeconds).toBe(25);
    expect(callbackTimeoutSeconds).toBeGreaterThan(2 * tokenRequestSeconds);
    expect(callbackTimeoutSeconds).toBeLessThan(30);
    // The credentials function may wait for a renewal, then renew: still inside API Gateway's 30 s.
    expect(resource(template, functionId(stack, 'credentials')).Properties.Timeout).toBe(25);
    // The app may check a control panel token with Ecwid (a repair) before it signs a session.
    expect(resource(template, functionId(stack, 'app')).Properties.Timeout).toBe(25);
  });

  it('logs each function to its own log group, kept 30 days', () => {
    const logGroupIds = FUNCTION_NAMES.map(
      (name) => resource(template, functionId(stack, name)).Properties.LoggingConfig.LogGroup.Ref,
    );
    expect(new Set(logGroupIds).size).toBe(FUNCTION_NAMES.length);
    for (const id of logGroupIds) expect(resource(template, id).Properties.RetentionInDays).toBe(30);
  });

  it('keeps the table: on-demand, TTL, point-in-time recovery, deletion protection, retained', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(1);
    const table = Object.values(tables)[0] as Resource;
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.timeToLiveAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it('indexes installations by due time, as the schema defines', () => {
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0] as Resource;
    const { dueIndex } = TABLE_SCHEMA;
    expect(table.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: dueIndex.name,
        KeySchema: [
          { AttributeName: dueIndex.partitionKey, KeyType: 'HASH' },
          { AttributeName: dueIndex.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: dueIndex.partitionKey, AttributeType: 'S' },
        { AttributeName: dueIndex.sortKey, AttributeType: 'N' },
      ]),
    );
  });

  it('creates a retained secret that holds only the placeholder', () => {
    const secrets = Object.values(template.findResources('AWS::SecretsManager::Secret')) as Resource[];
    expect(secrets).toHaveLength(1);
    expect(secrets[0]!.DeletionPolicy).toBe('Retain');
    expect(secrets[0]!.Properties.SecretString).toBe(CLIENT_SECRET_PLACEHOLDER);
  });

  it('lets authorize log and put items into the table, and nothing else (no KMS)', () => {
    expectExactly(statementsOf(template, functionId(stack, 'authorize')), [
      logWriteStatement(stack, 'authorize'),
      { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: tableArn(stack), Condition: leadingKeys('STATE#') },
    ]);
  });

  it('lets callback read, write and delete table items, read the secret and generate data keys, and nothing else', () => {
    const secretId = logicalId(stack.auth.clientSecret);
    expectExactly(statementsOf(template, functionId(stack, 'callback')), [
      logWriteStatement(stack, 'callback'),
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: tableArn(stack),
        Condition: leadingKeys('STATE#', 'CODE#', 'STORE#'),
      },
      { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: tableArn(stack), Condition: leadingKeys('CODE#') },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: secretId },
      },
      tokenKeyStatement(tokenKeyArn(stack), 'kms:GenerateDataKey'),
      publishStatement(stack),
      // Install receipts.
      signStatement(stack),
    ]);
  });

  it('lets the app read and write installation items, read the secret, make data keys, publish and sign, and nothing else', () => {
    expectExactly(statementsOf(template, functionId(stack, 'app')), [
      logWriteStatement(stack, 'app'),
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: tableArn(stack), Condition: leadingKeys('STORE#') },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: logicalId(stack.auth.clientSecret) },
      },
      // A repair seals the control panel's token under a new data key; nothing ever unwraps one here.
      tokenKeyStatement(tokenKeyArn(stack), 'kms:GenerateDataKey'),
      publishStatement(stack),
      signStatement(stack),
    ]);
  });

  it('lets the JWKS read the signing key\'s public half, and nothing else', () => {
    expectExactly(statementsOf(template, functionId(stack, 'jwks')), [
      logWriteStatement(stack, 'jwks'),
      { Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: { 'Fn::GetAtt': [logicalId(stack.auth.signingKey), 'Arn'] } },
    ]);
  });

  it('signs with an asymmetric P-256 key the account administers but cannot use, named in its policy for the signers only', () => {
    const key = resource(template, logicalId(stack.auth.signingKey));
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const statements = key.Properties.KeyPolicy.Statement as Array<Record<string, any>>;
    const root = statements.find((statement) => JSON.stringify(statement.Principal).includes(':root'))!;
    for (const action of [root.Action].flat() as string[]) expect(action).not.toMatch(/^kms:(\*|Sign|Verify|GetPublicKey|CreateGrant)/);
    const roleOf = (name: 'callback' | 'app' | 'jwks') => resource(template, functionId(stack, name)).Properties.Role;
    const uses = statements.filter((statement) => statement !== root).map((statement) => [statement.Action, statement.Principal.AWS]);
    expect(uses).toEqual([
      ['kms:Sign', roleOf('callback')],
      ['kms:Sign', roleOf('app')],
      ['kms:GetPublicKey', roleOf('jwks')],
    ]);
    template.hasOutput('AppUrl', { Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [httpApiId(stack), 'ApiEndpoint'] }, '/app']] } });
    template.hasOutput('JwksUrl', { Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [httpApiId(stack), 'ApiEndpoint'] }, '/.well-known/jwks.json']] } });
  });

  it('lets refresh query the due index, update single items, read the secret and unwrap data keys, and nothing else', () => {
    const secretId = logicalId(stack.auth.clientSecret);
    expectExactly(statementsOf(template, functionId(stack, 'refresh')), [
      logWriteStatement(stack, 'refresh'),
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [tableArn(stack), `/index/${TABLE_SCHEMA.dueIndex.name}`]] },
        Condition: leadingKeys('shard-'),
      },
      { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: tableArn(stack), Condition: leadingKeys('STORE#') },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: secretId },
      },
      tokenKeyStatement(tokenKeyArn(stack), 'kms:Decrypt'),
      publishStatement(stack),
    ]);
  });

  it('lets webhooks read and update installation items, put and update webhook-event items, read the secret, unwrap data keys and publish, and nothing else', () => {
    const secretId = logicalId(stack.auth.clientSecret);
    expectExactly(statementsOf(template, functionId(stack, 'webhooks')), [
      logWriteStatement(stack, 'webhooks'),
      // No new installation item and no delete: only the lifecycle of existing ones.
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: tableArn(stack), Condition: leadingKeys('STORE#') },
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: tableArn(stack), Condition: leadingKeys('EVENT#') },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: secretId },
      },
      tokenKeyStatement(tokenKeyArn(stack), 'kms:Decrypt'),
      publishStatement(stack),
    ]);
  });

  it('lets credentials read and conditionally update installation items only, read the secret, unwrap data keys and publish, and nothing else', () => {
    const secretId = logicalId(stack.auth.clientSecret);
    expectExactly(statementsOf(template, functionId(stack, 'credentials')), [
      logWriteStatement(stack, 'credentials'),
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: tableArn(stack),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['STORE#*'] } },
      },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: secretId },
      },
      tokenKeyStatement(tokenKeyArn(stack), 'kms:Decrypt'),
      publishStatement(stack),
    ]);
  });

  it('answers webhooks within Ecwid\'s 10 s: the function stops itself before its own timeout', () => {
    expect(resource(template, functionId(stack, 'webhooks')).Properties.Timeout).toBe(10);
  });

  it('creates the lifecycle event bus, names it in an output, and lets only the functions that publish put events on it', () => {
    const buses = Object.keys(template.findResources('AWS::Events::EventBus'));
    expect(buses).toEqual([logicalId(stack.auth.eventBus)]);
    template.hasOutput('EventBusName', { Value: { Ref: logicalId(stack.auth.eventBus) } });
    template.hasOutput('EventBusArn', { Value: eventBusArn(stack) });
    const publishers = FUNCTION_NAMES.filter((name) =>
      statementsOf(template, functionId(stack, name)).some((statement) => JSON.stringify(statement).includes('events:PutEvents')),
    );
    expect(publishers).toEqual(['callback', 'refresh', 'webhooks', 'credentials', 'app']);
  });

  it('gives kms:Decrypt to the refresh job, the webhooks and the credentials function only', () => {
    const decrypters = ['refresh', 'webhooks', 'credentials'] as const;
    const decrypting = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.PolicyDocument).includes('kms:Decrypt'))
      .flatMap((policy) => policy.Properties.Roles.map((role: { Ref: string }) => role.Ref))
      .sort();
    expect(decrypting).toEqual(decrypters.map((name) => logicalId(appFunction(stack, name).lambda.role!)).sort());
    // Nor does the key policy name anyone else for it.
    const keyStatements = resource(template, logicalId(stack.auth.tokenKey)).Properties.KeyPolicy.Statement as Array<{
      Action: string | string[];
      Principal: unknown;
    }>;
    const keyDecrypters = keyStatements
      .filter((statement) => [statement.Action].flat().includes('kms:Decrypt'))
      .map((statement) => JSON.stringify(statement.Principal));
    expect(keyDecrypters).toHaveLength(decrypters.length);
    for (const principal of keyDecrypters) {
      expect(decrypters.some((name) => principal.includes(logicalId(appFunction(stack, name).lambda.role!)))).toBe(true);
    }
  });

  it('outputs the credentials URL on the HTTP API’s own endpoint', () => {
    template.hasOutput('CredentialsUrl', {
      Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [httpApiId(stack), 'ApiEndpoint'] }, '/stores/{storeId}/credentials']] },
    });
  });

  it('keeps a rotating KMS key for the tokens, retained, that only the functions that need it can use', () => {
    const keys = [resource(template, logicalId(stack.auth.tokenKey))] as Resource[];
    expect(Object.keys(template.findResources('AWS::KMS::Key'))).toHaveLength(2);
    expect(keys[0]!.DeletionPolicy).toBe('Retain');
    expect(keys[0]!.Properties).toMatchObject({ EnableKeyRotation: true, Description: expect.any(String) });
    // No KeySpec: symmetric, the only kind that generates data keys.
    expect(keys[0]!.Properties).not.toHaveProperty('KeySpec');
    const statements = keys[0]!.Properties.KeyPolicy.Statement as Array<Record<string, any>>;
    // The account administers the key through IAM, but no IAM policy (even kms:*) lets anyone use it.
    const root = statements.find((statement) => JSON.stringify(statement.Principal).includes(':root'))!;
    const rootActions = [root.Action].flat() as string[];
    expect(rootActions).toEqual(expect.arrayContaining(['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DescribeKey']));
    for (const action of rootActions) {
      expect(action).not.toMatch(/^kms:(\*|Encrypt|Decrypt|GenerateDataKey|ReEncrypt|CreateGrant)/);
    }
    // Use only by the callback (new data keys) and the refresh job (unwrapping), always with the context.
    const uses = statements.filter((statement) => statement !== root);
    const roleOf = (name: 'callback' | 'refresh' | 'webhooks' | 'credentials' | 'app') => resource(template, functionId(stack, name)).Properties.Role;
    expect(uses).toEqual(
      expect.arrayContaining([
        {
          Effect: 'Allow',
          Principal: { AWS: roleOf('callback') },
          Action: 'kms:GenerateDataKey',
          Resource: '*',
          Condition: tokenKeyStatement(undefined, '').Condition,
        },
        {
          Effect: 'Allow',
          Principal: { AWS: roleOf('refresh') },
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: tokenKeyStatement(undefined, '').Condition,
        },
      ]),
    );
    // The app, which seals a token the control panel handed over (a repair).
    expect(uses).toContainEqual({
      Effect: 'Allow',
      Principal: { AWS: roleOf('app') },
      Action: 'kms:GenerateDataKey',
      Resource: '*',
      Condition: tokenKeyStatement(undefined, '').Condition,
    });
    // And the webhooks function, to check a token before an uninstall destroys anything, and the
    // credentials function, which hands tokens out.
    for (const name of ['webhooks', 'credentials'] as const) {
      expect(uses).toContainEqual({
        Effect: 'Allow',
        Principal: { AWS: roleOf(name) },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: tokenKeyStatement(undefined, '').Condition,
      });
    }
    expect(uses).toHaveLength(5);
    // The standalone stack keeps the names it had before the construct: the stack's own.
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: 'Test' });
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/Test-tokens',
      TargetKeyId: tokenKeyArn(stack),
    });
    template.hasOutput('TokenKeyArn', { Value: tokenKeyArn(stack) });
  });

  it('runs the refresh every 5 minutes from EventBridge, never retrying a failed run', () => {
    const refreshId = functionId(stack, 'refresh');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [refreshId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: refreshId },
      MaximumRetryAttempts: 0,
    });
    expect(resource(template, refreshId).Properties.Timeout).toBe(300);
  });

  it('alarms ops when refresh runs or webhooks fail, a signature is replayed with another body, installations need a reinstall or attention, or events go unpublished', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
    const byMetric = Object.fromEntries(
      alarms.map((alarm) => [`${alarm.Namespace}/${alarm.MetricName}${alarm.Dimensions === undefined ? '' : `/${alarm.Dimensions[0].Value.Ref}`}`, alarm]),
    );
    expect(Object.keys(byMetric).sort()).toEqual(
      [
        `AWS/Lambda/Errors/${functionId(stack, 'refresh')}`,
        `AWS/Lambda/Errors/${functionId(stack, 'webhooks')}`,
        'EcwidAppAuth/CheckErrors',
        'EcwidAppAuth/CodesRejected',
        'EcwidAppAuth/InstallationsNeedingAttention',
        'EcwidAppAuth/InstallationsNeedingReinstall',
        'EcwidAppAuth/LifecycleEventsUnpublished',
        'EcwidAppAuth/RefreshOutcomesLost',
        'EcwidAppAuth/WebhookFailures',
        'EcwidAppAuth/WebhookVariants',
      ].sort(),
    );
    // One replayed signature is worth a look.
    expect(byMetric['EcwidAppAuth/WebhookVariants']).toMatchObject({ Threshold: 1, Period: 300, Statistic: 'Sum' });
    // Junk codes: a rate over five minutes, not a single one.
    expect(byMetric['EcwidAppAuth/CodesRejected']).toMatchObject({ Threshold: 20, Period: 300, Statistic: 'Sum' });
    expect(byMetric['EcwidAppAuth/WebhookFailures']).toMatchObject({ Threshold: 5, Period: 900 });
    const topicId = logicalId(stack.auth.alarmTopic);
    for (const alarm of alarms.filter((candidate) => candidate.MetricName !== 'WebhookFailures')) {
      expect(alarm).toMatchObject({
        Threshold: ({ CodesRejected: 20, WebhookFailures: 5 } as Record<string, number>)[alarm.MetricName] ?? 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topicId }],
      });
    }
    template.hasOutput('AlarmTopicArn', { Value: { Ref: topicId } });
  });

  it('gives each function a role of its own with no managed or inline policies besides the statements above', () => {
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    expect(roles).toHaveLength(FUNCTION_NAMES.length);
    for (const role of roles) {
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
    }
    for (const name of FUNCTION_NAMES) {
      expect(resource(template, functionId(stack, name)).Properties.Role).toEqual({
        'Fn::GetAtt': [logicalId(appFunction(stack, name).lambda.role!), 'Arn'],
      });
    }
  });

  it('gives each function exactly the variables it reads, the secret and the token key only by ARN', () => {
    const secretId = logicalId(stack.auth.clientSecret);
    const expected: Record<string, unknown> = {
      TABLE_NAME: { Ref: logicalId(stack.auth.table) },
      CLIENT_SECRET_ID: { Ref: secretId },
      TOKEN_KEY_ID: tokenKeyArn(stack),
      ECWID_CLIENT_ID: CLIENT_ID,
      PUBLIC_URL: { 'Fn::GetAtt': [httpApiId(stack), 'ApiEndpoint'] },
      ECWID_SCOPES: 'read_store_profile',
      ECWID_OAUTH_URL: 'https://my.ecwid.com',
      ECWID_API_URL: 'https://app.ecwid.com',
      APP_MARKET_INSTALLS: 'true',
      STATE_TTL_SECONDS: '600',
      TOKEN_REQUEST_TIMEOUT_MS: '8000',
      SECRET_CACHE_TTL_SECONDS: '300',
      REFRESH_CONCURRENCY: '16',
      REFRESH_MARGIN_SECONDS: '900',
      VERIFY_INTERVAL_SECONDS: '86400',
      FAILURE_BUDGET_SECONDS: '259200',
      EVENT_BUS_NAME: { Ref: logicalId(stack.auth.eventBus) },
      UNINSTALL_RETENTION_DAYS: '30',
      SIGNING_KEY_ID: { 'Fn::GetAtt': [logicalId(stack.auth.signingKey), 'Arn'] },
      FRAME_ANCESTORS: 'https://my.ecwid.com',
    };
    for (const name of FUNCTION_NAMES) {
      const environment = environmentOf(template, functionId(stack, name));
      // SUCCESS_URL and APP_UI_URL only when set (below), EDGE_ORIGIN_SECRET only with edge protection (edge-protection.test.ts).
      const own = FUNCTION_VARIABLES[name].filter((variable) => !['SUCCESS_URL', 'APP_UI_URL', 'EDGE_ORIGIN_SECRET'].includes(variable));
      expect(Object.keys(environment).sort()).toEqual([...own].sort());
      for (const variable of own) expect(environment[variable]).toEqual(expected[variable]);
      expect(JSON.stringify(environment)).not.toContain(CLIENT_SECRET_PLACEHOLDER);
    }
  });

  it('gives authorize neither the secret nor the token key, and the refresh no public URL', () => {
    expect(environmentOf(template, functionId(stack, 'authorize'))).not.toHaveProperty('CLIENT_SECRET_ID');
    expect(environmentOf(template, functionId(stack, 'authorize'))).not.toHaveProperty('TOKEN_KEY_ID');
    expect(environmentOf(template, functionId(stack, 'refresh'))).not.toHaveProperty('PUBLIC_URL');
  });

  it("uses the HTTP API's own endpoint as the public URL and the redirect URI", () => {
    const apiId = httpApiId(stack);
    const endpoint = { 'Fn::GetAtt': [apiId, 'ApiEndpoint'] };
    expect(environmentOf(template, functionId(stack, 'callback')).PUBLIC_URL).toEqual(endpoint);
    template.hasOutput('RedirectUri', { Value: { 'Fn::Join': ['', [endpoint, '/callback']] } });
    template.hasOutput('AuthorizeUrl', { Value: { 'Fn::Join': ['', [endpoint, '/authorize']] } });
    template.hasOutput('ApiEndpoint', { Value: endpoint });
    template.hasOutput('WebhookUrl', { Value: { 'Fn::Join': ['', [endpoint, '/webhooks']] } });
    template.hasOutput('TableName', { Value: { Ref: logicalId(stack.auth.table) } });
    template.hasOutput('ClientSecretArn', { Value: { Ref: logicalId(stack.auth.clientSecret) } });
    expect(template.findOutputs('CustomDomainTarget')).toEqual({});
  });

  it('throttles the default stage, which deploys automatically', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('writes JSON access logs that leave out the query string', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as Resource;
    const { DestinationArn, Format } = stage.Properties.AccessLogSettings;
    expect(resource(template, DestinationArn['Fn::GetAtt'][0]).Type).toBe('AWS::Logs::LogGroup');
    const format = JSON.parse(Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      routeKey: '$context.routeKey',
      status: '$context.status',
      responseLength: '$context.responseLength',
      integrationLatency: '$context.integrationLatency',
    });
    expect(Format).not.toMatch(/querystring|\$context\.path|\$request/i);
  });

  it('does not warn when the client id is set', () => {
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });

  it('bundles each function with the AWS SDK inside and a source map without sources', () => {
    const assembly = synthesized.app.synth();
    for (const name of FUNCTION_NAMES) {
      const s3Key = resource(template, functionId(stack, name)).Properties.Code.S3Key as string;
      const assetHash = s3Key.replace(/\.zip$/, '');
      const directory = path.join(assembly.directory, `asset.${assetHash}`);
      const bundle = fs.readFileSync(path.join(directory, 'index.js'), 'utf8');
      const sourceMap = JSON.parse(fs.readFileSync(path.join(directory, 'index.js.map'), 'utf8')) as {
        sources: string[];
        sourcesContent?: unknown;
      };
      expect(sourceMap.sources).toContainEqual(expect.stringMatching(`functions/${name}/lambda.ts$`));
      expect(sourceMap.sourcesContent).toBeUndefined();
      // Booleans, not toMatch: a failure would print the whole bundle.
      expect(/require\("@aws-sdk\/(client-dynamodb|lib-dynamodb|client-secrets-manager|client-kms)"\)/.test(bundle)).toBe(false);
      // The JWKS function talks to KMS only.
      expect(bundle.includes(name === 'jwks' ? 'TrentService' : 'DynamoDB_20120810')).toBe(true);
    }
  });
});

describe('the stack with settings from context', () => {
  it('warns, and still synthesizes, when the client id is not set', () => {
    const { stack, template } = synth();
    Annotations.fromStack(stack).hasWarning('/Test/EcwidAuth', Match.stringLikeRegexp('ecwidClientId'));
    expect(environmentOf(template, functionId(stack, 'authorize')).ECWID_CLIENT_ID).toBe('');
  });

  it('uses an existing secret by its ARN, and creates none', () => {
    const { stack, template } = synth({ ecwidClientId: CLIENT_ID, clientSecretArn: SECRET_ARN });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(environmentOf(template, functionId(stack, 'callback')).CLIENT_SECRET_ID).toBe(SECRET_ARN);
    expect(statementsOf(template, functionId(stack, 'callback'))).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      Resource: SECRET_ARN,
    });
    template.hasOutput('ClientSecretArn', { Value: SECRET_ARN });
  });

  it('grants on any suffix when the secret ARN is partial', () => {
    const partialArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecwid/client_secret';
    const { stack, template } = synth({ clientSecretArn: partialArn });
    expect(statementsOf(template, functionId(stack, 'callback'))).toContainEqual(
      expect.objectContaining({ Resource: `${partialArn}-??????` }),
    );
  });

  it('serves a custom domain, which becomes the public URL', () => {
    const { stack, template } = synth({ domainName: 'Auth.Example.com', certificateArn: CERTIFICATE_ARN });
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'auth.example.com',
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: CERTIFICATE_ARN, EndpointType: 'REGIONAL' })],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
      ApiId: { Ref: httpApiId(stack) },
      DomainName: { Ref: logicalId(at(stack.auth, 'Api/CustomDomain')) },
      Stage: '$default',
    });
    for (const name of ['authorize', 'callback'] as const) {
      expect(environmentOf(template, functionId(stack, name)).PUBLIC_URL).toBe('https://auth.example.com');
    }
    template.hasOutput('RedirectUri', { Value: 'https://auth.example.com/callback' });
    template.hasOutput('CustomDomainTarget', {
      Value: { 'Fn::GetAtt': [Match.anyValue(), 'RegionalDomainName'] },
    });
  });

  it('prefers an explicit public URL, without its trailing slash', () => {
    const { stack, template } = synth({
      publicUrl: 'https://shop.example.com/ecwid/',
      domainName: 'auth.example.com',
      certificateArn: CERTIFICATE_ARN,
    });
    expect(environmentOf(template, functionId(stack, 'callback')).PUBLIC_URL).toBe('https://shop.example.com/ecwid');
    template.hasOutput('RedirectUri', { Value: 'https://shop.example.com/ecwid/callback' });
  });

  it('passes a success URL only when one is set', () => {
    const withUrl = synth({ successUrl: 'https://example.com/installed?from=ecwid' });
    expect(environmentOf(withUrl.template, functionId(withUrl.stack, 'callback')).SUCCESS_URL).toBe(
      'https://example.com/installed?from=ecwid',
    );
    const withoutUrl = synth({ successUrl: '' });
    expect(environmentOf(withoutUrl.template, functionId(withoutUrl.stack, 'callback'))).not.toHaveProperty(
      'SUCCESS_URL',
    );
  });

  it('gives the app its UI URL and its framers from context appUiUrl and frameAncestors, and refuses unsafe ones', () => {
    const { stack, template } = synth({ appUiUrl: 'https://ui.example.com/ecwid?embedded=1', frameAncestors: ' https://my.ecwid.com  https://*.ecwid.com ' });
    expect(environmentOf(template, functionId(stack, 'app'))).toMatchObject({
      APP_UI_URL: 'https://ui.example.com/ecwid?embedded=1',
      FRAME_ANCESTORS: 'https://my.ecwid.com https://*.ecwid.com',
    });
    expect(environmentOf(template, functionId(stack, 'callback'))).not.toHaveProperty('APP_UI_URL');
    expect(() => synth({ appUiUrl: 'https://ui.example.com/#session' })).toThrow(/appUiUrl .* must not have a fragment/);
    expect(() => synth({ appUiUrl: 'http://localhost:3000/ui' })).toThrow(/appUiUrl .* must be an https URL/);
    expect(() => synth({ frameAncestors: 'http://localhost:3000' })).toThrow(/frameAncestors .* must be https origins/);
    expect(() => synth({ frameAncestors: "'self' https://my.ecwid.com" })).toThrow(/frameAncestors .* must be space-separated origins/);
  });

  it('reads booleans and numbers given as strings on the command line', () => {
    const { stack, template } = synth({
      refreshScheduleMinutes: '15',
      refreshConcurrency: '4',
      appMarketInstalls: 'false',
      throttleRateLimit: '5',
      throttleBurstLimit: '10',
      logRetentionDays: '90',
      ecwidScopes: '  read_store_profile   read_catalog ',
      tokenRequestTimeoutMs: '12000',
      callbackReservedConcurrency: '25',
      rejectedCodesAlarmThreshold: '200',
    });
    expect(environmentOf(template, functionId(stack, 'callback')).TOKEN_REQUEST_TIMEOUT_MS).toBe('12000');
    expect(environmentOf(template, functionId(stack, 'refresh')).TOKEN_REQUEST_TIMEOUT_MS).toBe('12000');
    expect(resource(template, functionId(stack, 'callback')).Properties.ReservedConcurrentExecutions).toBe(25);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'CodesRejected', Threshold: 200 });
    expect(environmentOf(template, functionId(stack, 'callback')).APP_MARKET_INSTALLS).toBe('false');
    expect(environmentOf(template, functionId(stack, 'authorize')).ECWID_SCOPES).toBe('read_store_profile read_catalog');
    expect(environmentOf(template, functionId(stack, 'refresh')).REFRESH_CONCURRENCY).toBe('4');
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
    const retentions = Object.values(template.findResources('AWS::Logs::LogGroup')).map(
      (group) => group.Properties.RetentionInDays,
    );
    expect(retentions).toEqual(Array(FUNCTION_NAMES.length + 1).fill(90));
  });

  it('keeps tombstones as long as context uninstallRetentionDays says, in both functions that make them', () => {
    const { stack, template } = synth({ uninstallRetentionDays: '7' });
    expect(environmentOf(template, functionId(stack, 'webhooks')).UNINSTALL_RETENTION_DAYS).toBe('7');
    expect(environmentOf(template, functionId(stack, 'refresh')).UNINSTALL_RETENTION_DAYS).toBe('7');
    expect(environmentOf(template, functionId(stack, 'callback'))).not.toHaveProperty('UNINSTALL_RETENTION_DAYS');
  });

  it('points the functions at another OAuth server for staging', () => {
    const { stack, template } = synth({
      ecwidOAuthUrl: 'https://oauth.staging.example.com/',
      ecwidApiUrl: 'https://api.staging.example.com',
    });
    expect(environmentOf(template, functionId(stack, 'callback')).ECWID_OAUTH_URL).toBe('https://oauth.staging.example.com');
    expect(environmentOf(template, functionId(stack, 'refresh'))).toMatchObject({
      ECWID_OAUTH_URL: 'https://oauth.staging.example.com',
      ECWID_API_URL: 'https://api.staging.example.com',
    });
  });

  it.each([
    [{ ecwidScopes: 'read_store_profile Write-Catalog' }, /ecwidScopes: "Write-Catalog"/],
    [{ ecwidScopes: 'read_store_profile,read_catalog' }, /ecwidScopes/],
    [{ ecwidClientId: 'my app' }, /ecwidClientId/],
    [{ publicUrl: 'http://auth.example.com' }, /publicUrl .* must be an https URL/],
    [{ publicUrl: 'https://auth.example.com/?x=1' }, /publicUrl .* query/],
    [{ successUrl: 'not a url' }, /successUrl "not a url" must be an absolute https URL/],
    [{ ecwidOAuthUrl: 'http://my.ecwid.com' }, /ecwidOAuthUrl/],
    [{ domainName: 'auth.example.com' }, /domainName and certificateArn must be given together/],
    [{ domainName: 'auth_example', certificateArn: CERTIFICATE_ARN }, /domainName "auth_example"/],
    [{ domainName: 'auth.example.com', certificateArn: 'arn:aws:iam::123456789012:role/x' }, /certificateArn/],
    [{ clientSecretArn: 'ecwid/client-secret' }, /clientSecretArn/],
    [{ appMarketInstalls: 'maybe' }, /Context "appMarketInstalls" must be true or false/],
    [{ logRetentionDays: '31' }, /logRetentionDays 31/],
    [{ throttleRateLimit: 'fast' }, /Context "throttleRateLimit" must be a number/],
    [{ throttleBurstLimit: '2.5' }, /throttleBurstLimit 2.5/],
    [{ refreshScheduleMinutes: '0' }, /refreshScheduleMinutes 0/],
    [{ refreshConcurrency: '1000' }, /refreshConcurrency 1000/],
    [{ tokenRequestTimeoutMs: '20000' }, /tokenRequestTimeoutMs 20000 must be at most 15000 ms/],
    [{ callbackReservedConcurrency: '0' }, /callbackReservedConcurrency 0/],
    [{ uninstallRetentionDays: '0' }, /uninstallRetentionDays 0 must be a positive integer/],
    [{ uninstallRetentionDays: '3651' }, /uninstallRetentionDays 3651 must be at most 3650 days/],
    [{ uninstallRetentionDays: 'forever' }, /Context "uninstallRetentionDays" must be a number/],
  ])('refuses %j', (context, message) => {
    expect(() => synth(context)).toThrow(message);
  });
});
