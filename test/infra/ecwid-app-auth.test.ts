import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { itemKeys } from '../../functions/adapters/dynamodb/table';
import { AuthStorage, INSTALLATION_KEY_PREFIX, TOKEN_KEY_ACCESS_TAG } from '../../lib/auth-storage';
import { EcwidAppAuth } from '../../lib/ecwid-app-auth';
import type { EcwidAppAuthProps } from '../../lib/settings';
import { at, expectExactly, leadingKeys, logicalId, statementsOf, statementsOfRole, tokenKeyStatement } from './template';

/** The execute-api ARN of a credentials route: any stage, the path parameter a wildcard. */
function routeArn(auth: EcwidAppAuth, method: string, tail: string) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':execute-api:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        ':',
        { Ref: logicalId(at(auth, 'Api/HttpApi')) },
        `/*/${method}/stores/*/${tail}`,
      ],
    ],
  };
}

const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0b5c3d4e-1f2a-4b3c-8d9e-0a1b2c3d4e5f';

interface Host {
  stack: Stack;
  auth: EcwidAppAuth;
  ownFunction: LambdaFunction;
}

/** A stack of a host app: the construct next to one of the host's own functions. */
function host(props: EcwidAppAuthProps = { ecwidClientId: 'host-app-1' }): Host {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Host');
  const auth = new EcwidAppAuth(stack, 'EcwidAuth', props);
  const ownFunction = new LambdaFunction(stack, 'Reader', {
    runtime: Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({});'),
  });
  return { stack, auth, ownFunction };
}

describe('EcwidAppAuth in a host stack', () => {
  it('can live twice in one stack: its key alias and its API are named after the construct, not the stack', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Host');
    new EcwidAppAuth(stack, 'Production', { ecwidClientId: 'app-1' });
    new EcwidAppAuth(stack, 'Staging', { ecwidClientId: 'app-2' });
    const template = Template.fromStack(stack);
    const aliases = Object.values(template.findResources('AWS::KMS::Alias')).map((alias) => alias.Properties.AliasName as string);
    const apis = Object.values(template.findResources('AWS::ApiGatewayV2::Api')).map((api) => api.Properties.Name as string);
    // Two keys each (the token key, the signing key): four aliases, none shared.
    expect(new Set(aliases).size).toBe(4);
    expect(new Set(apis).size).toBe(2);
    for (const alias of aliases) expect(alias).toMatch(/^alias\/[A-Za-z0-9/_-]+$/);
  });

  it('warns a host that forgot the client id, and still synthesizes', () => {
    const { stack } = host({});
    Annotations.fromStack(stack).hasWarning('/Host/EcwidAuth', Match.stringLikeRegexp('ecwidClientId'));
  });

  it('exposes where the API is: by default its own endpoint, the redirect URI and the start URL under it', () => {
    const { stack, auth } = host();
    const endpoint = { 'Fn::GetAtt': [logicalId(at(auth, 'Api/HttpApi')), 'ApiEndpoint'] };
    expect(stack.resolve(auth.apiEndpoint)).toEqual(endpoint);
    expect(stack.resolve(auth.apiUrl)).toEqual(endpoint);
    expect(stack.resolve(auth.redirectUri)).toEqual({ 'Fn::Join': ['', [endpoint, '/callback']] });
    expect(stack.resolve(auth.authorizeUrl)).toEqual({ 'Fn::Join': ['', [endpoint, '/authorize']] });
    expect(stack.resolve(auth.webhookUrl)).toEqual({ 'Fn::Join': ['', [endpoint, '/webhooks']] });
    expect(auth.customDomainTarget).toBeUndefined();
  });

  it('exposes the custom domain as the API URL, and the name its CNAME points at', () => {
    const { stack, auth } = host({ domainName: 'auth.example.com', certificateArn: CERTIFICATE_ARN });
    expect(auth.apiUrl).toBe('https://auth.example.com');
    expect(auth.redirectUri).toBe('https://auth.example.com/callback');
    expect(auth.authorizeUrl).toBe('https://auth.example.com/authorize');
    expect(auth.webhookUrl).toBe('https://auth.example.com/webhooks');
    expect(stack.resolve(auth.customDomainTarget)).toEqual({
      'Fn::GetAtt': [logicalId(at(auth, 'Api/CustomDomain')), 'RegionalDomainName'],
    });
  });

  it('exposes the table, the token key, the client secret and the alarm topic it deploys', () => {
    const { stack, auth } = host();
    const template = Template.fromStack(stack);
    const idOf = (type: string, props: Record<string, unknown> = {}) => {
      const ids = Object.keys(template.findResources(type, { Properties: props }));
      expect(ids).toHaveLength(1);
      return ids[0]!;
    };
    expect(stack.resolve(auth.table.tableName)).toEqual({ Ref: idOf('AWS::DynamoDB::Table') });
    expect(stack.resolve(auth.tokenKey.keyArn)).toEqual({ 'Fn::GetAtt': [idOf('AWS::KMS::Key', { EnableKeyRotation: true }), 'Arn'] });
    expect(stack.resolve(auth.signingKey.keyArn)).toEqual({ 'Fn::GetAtt': [idOf('AWS::KMS::Key', { KeySpec: 'ECC_NIST_P256' }), 'Arn'] });
    expect(stack.resolve(auth.clientSecret.secretArn)).toEqual({ Ref: idOf('AWS::SecretsManager::Secret') });
    expect(stack.resolve(auth.alarmTopic.topicArn)).toEqual({ Ref: idOf('AWS::SNS::Topic') });
    expect(stack.resolve(auth.eventBus.eventBusName)).toEqual({ Ref: idOf('AWS::Events::EventBus') });
  });

  it("lets a host function read installation items, and nothing else: no state, no code claim, no KMS", () => {
    const { stack, auth, ownFunction } = host();
    auth.grantInstallationsRead(ownFunction);
    const template = Template.fromStack(stack);
    expectExactly(statementsOf(template, logicalId(ownFunction)), [
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:Query'],
        Resource: { 'Fn::GetAtt': [logicalId(auth.table), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['STORE#*'] } },
      },
    ]);
  });

  it('restricts that read to the keys installation items have, and no other item has', () => {
    const isInstallationKey = (key: string) => key.startsWith(INSTALLATION_KEY_PREFIX);
    expect(itemKeys.installation(1234567)).toBe(`${INSTALLATION_KEY_PREFIX}1234567`);
    expect(isInstallationKey(itemKeys.state('a'.repeat(43)))).toBe(false);
    expect(isInstallationKey(itemKeys.codeClaim('a'.repeat(43)))).toBe(false);
  });

  it('exposes the credentials API on the HTTP API’s own endpoint, or on its custom domain (the endpoint is disabled then), never on the edge', () => {
    const plain = host();
    const endpoint = { 'Fn::GetAtt': [logicalId(at(plain.auth, 'Api/HttpApi')), 'ApiEndpoint'] };
    expect(plain.stack.resolve(plain.auth.credentialsApiUrl)).toEqual(endpoint);
    expect(plain.stack.resolve(plain.auth.credentialsUrl)).toEqual({ 'Fn::Join': ['', [endpoint, '/stores/{storeId}/credentials']] });
    const { stack, auth } = host({ domainName: 'auth.example.com', certificateArn: CERTIFICATE_ARN });
    expect(stack.resolve(auth.credentialsApiUrl)).toBe('https://auth.example.com');
    expect(stack.resolve(auth.credentialsUrl)).toBe('https://auth.example.com/stores/{storeId}/credentials');
  });

  it('lets a host function call exactly the two credentials routes, for any store, and nothing else', () => {
    const { stack, auth, ownFunction } = host();
    auth.grantCredentialsApi(ownFunction);
    const template = Template.fromStack(stack);
    expectExactly(statementsOf(template, logicalId(ownFunction)), [
      { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: [routeArn(auth, 'GET', 'credentials'), routeArn(auth, 'POST', 'credentials/rejected')] },
    ]);
  });

  it('lets a host function read tokens directly: GetItem of installation items, Decrypt with the encryption context, and the credentials routes', () => {
    const { stack, auth, ownFunction } = host();
    auth.grantCredentialsRead(ownFunction);
    const template = Template.fromStack(stack);
    expectExactly(statementsOf(template, logicalId(ownFunction)), [
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: { 'Fn::GetAtt': [logicalId(auth.table), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['STORE#*'] } },
      },
      tokenKeyStatement({ 'Fn::GetAtt': [logicalId(auth.tokenKey), 'Arn'] }, 'kms:Decrypt'),
      { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: [routeArn(auth, 'GET', 'credentials'), routeArn(auth, 'POST', 'credentials/rejected')] },
    ]);
  });

  it('grants the read to a Lambda of another stack that depends on this one, without a cycle: the key policy admits it by a tag', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const authStack = new Stack(app, 'Auth');
    const auth = new EcwidAppAuth(authStack, 'EcwidAuth', { ecwidClientId: 'host-app-1' });
    const otherStack = new Stack(app, 'Catalogue');
    const reader = new LambdaFunction(otherStack, 'Reader', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => ({});'),
      // What makes the other stack depend on this one: it is told where the credentials are.
      environment: { CREDENTIALS_URL: auth.credentialsUrl, TABLE_NAME: auth.table.tableName },
    });
    auth.grantCredentialsRead(reader);
    expect(() => app.synth()).not.toThrow();
    expect(otherStack.dependencies).toContain(authStack);
    expect(authStack.dependencies).not.toContain(otherStack);

    // The reader's role carries the tag; its IAM policy has kms:Decrypt with the context.
    const other = Template.fromStack(otherStack);
    const roleId = logicalId(reader.role!);
    const tags = other.toJSON().Resources[roleId].Properties.Tags as Array<{ Key: string; Value: string }>;
    const tag = tags.find((candidate) => candidate.Key === TOKEN_KEY_ACCESS_TAG)!;
    expect(tag.Value).toMatch(/Storage/);
    expect(JSON.stringify(statementsOfRole(other, roleId))).toContain('kms:Decrypt');

    // The key policy names no role of the other stack; it admits the account's principals with that tag, with the context.
    const keyStatements = (Template.fromStack(authStack).toJSON().Resources[logicalId(auth.tokenKey)].Properties.KeyPolicy.Statement) as Array<Record<string, any>>;
    expect(JSON.stringify(keyStatements)).not.toContain('Catalogue');
    const admitted = keyStatements.filter((statement) => JSON.stringify(statement.Condition ?? {}).includes('aws:PrincipalTag'));
    expect(admitted).toEqual([
      {
        Sid: 'TaggedPrincipalsOfOtherStacksDecrypt',
        Effect: 'Allow',
        Principal: { AWS: expect.anything() },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: {
          StringEquals: { 'kms:EncryptionContext:app': 'ecwid-app-auth', [`aws:PrincipalTag/${TOKEN_KEY_ACCESS_TAG}`]: tag.Value },
          Null: { 'kms:EncryptionContext:storeId': 'false' },
        },
      },
    ]);
    expect(JSON.stringify(admitted[0]!.Principal)).toContain(':root');
  });

  it('gives kms:Decrypt to the refresh job, the webhooks, the credentials function and the principals granted the read, and no one else', () => {
    const { stack, auth, ownFunction } = host();
    auth.grantCredentialsRead(ownFunction);
    auth.grantCredentialsApi(new Role(stack, 'ApiCaller', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }));
    auth.grantInstallationsRead(new Role(stack, 'InstallationReader', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }));
    const template = Template.fromStack(stack);
    const decrypting = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.PolicyDocument).includes('kms:Decrypt'))
      .flatMap((policy) => policy.Properties.Roles.map((role: { Ref: string }) => role.Ref))
      .sort();
    expect(decrypting).toEqual(
      [at(auth, 'RefreshJob/Function/Role'), at(auth, 'Webhooks/Role'), at(auth, 'Credentials/Function/Role'), ownFunction.role!].map((role) => logicalId(role)).sort(),
    );
  });

  it('validates its props at construction, naming the setting', () => {
    expect(() => host({ publicUrl: 'http://auth.example.com' })).toThrow(/publicUrl "http:\/\/auth.example.com" must be an https URL/);
  });
});

describe('AuthStorage grants, each named after what its user does', () => {
  function storageWithRole() {
    const stack = new Stack(new App(), 'Storage');
    const storage = new AuthStorage(stack, 'Storage', { keyAliasName: 'alias/Storage-tokens' });
    const role = new Role(stack, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    const statements = () => statementsOfRole(Template.fromStack(stack), logicalId(role));
    const tableArn = { 'Fn::GetAtt': [logicalId(storage.table), 'Arn'] };
    const keyArn = { 'Fn::GetAtt': [logicalId(storage.tokenKey), 'Arn'] };
    return { storage, role, statements, tableArn, keyArn };
  }

  it('state writes: putting items, nothing else', () => {
    const { storage, role, statements, tableArn } = storageWithRole();
    storage.grantStateWrites(role);
    expectExactly(statements(), [{ Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: tableArn, Condition: leadingKeys('STATE#') }]);
  });

  it('install writes: single items, and new data keys under this app’s encryption context', () => {
    const { storage, role, statements, tableArn, keyArn } = storageWithRole();
    storage.grantInstallWrites(role);
    expectExactly(statements(), [
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: tableArn,
        Condition: leadingKeys('STATE#', 'CODE#', 'STORE#'),
      },
      // Only the callback deletes, and only code claims (releasing one that never reached Ecwid).
      { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: tableArn, Condition: leadingKeys('CODE#') },
      tokenKeyStatement(keyArn, 'kms:GenerateDataKey'),
    ]);
  });

  it('refresh job: querying the due index, updating single items, unwrapping data keys', () => {
    const { storage, role, statements, tableArn, keyArn } = storageWithRole();
    storage.grantRefreshJob(role);
    expectExactly(statements(), [
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [tableArn, '/index/due-index']] },
        Condition: leadingKeys('shard-'),
      },
      { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: tableArn, Condition: leadingKeys('STORE#') },
      tokenKeyStatement(keyArn, 'kms:Decrypt'),
    ]);
  });

  it('credentials function: reading and updating installation items only, unwrapping data keys', () => {
    const { storage, role, statements, tableArn, keyArn } = storageWithRole();
    storage.grantCredentialsFunction(role);
    expectExactly(statements(), [
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: tableArn,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['STORE#*'] } },
      },
      tokenKeyStatement(keyArn, 'kms:Decrypt'),
    ]);
  });

  it('credentials read: getting installation items one by one and unwrapping their data keys, nothing more', () => {
    const { storage, role, statements, tableArn, keyArn } = storageWithRole();
    storage.grantCredentialsRead(role);
    expectExactly(statements(), [
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: tableArn,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['STORE#*'] } },
      },
      tokenKeyStatement(keyArn, 'kms:Decrypt'),
    ]);
  });

  it('names its token key alias after the stack', () => {
    const { storage } = storageWithRole();
    Template.fromStack(Stack.of(storage)).hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/Storage-tokens' });
  });
});
