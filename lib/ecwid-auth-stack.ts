import { CfnElement, CfnOutput, Names, Stack, type StackProps } from 'aws-cdk-lib';
import { ApiMapping, type CfnApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { CfnAlias } from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';
import { EcwidAppAuth } from './ecwid-app-auth';
import type { EcwidAppAuthProps } from './settings';

/** The standalone deployment's settings: `bin/app.ts` reads each from the CDK context key of the same name. */
export interface EcwidAuthStackProps extends EcwidAppAuthProps, StackProps {}

/** The id of the construct inside the stack; its resources' paths start with it. */
const CONSTRUCT_ID = 'EcwidAuth';

/**
 * Resources whose CloudFormation logical ID is kept from before the stack was split into constructs,
 * by their path inside `EcwidAppAuth` and the path they had directly in the stack. A new logical ID
 * makes CloudFormation create a new resource and delete the old one: a new empty table and key; a
 * new API endpoint (the redirect URI registered with Ecwid); a `$default` stage, a route or a domain
 * mapping that conflicts with the old one still in place, failing the update; an alarm topic without
 * its subscriptions; log groups without their history. Functions, roles, integrations, the schedule
 * and the alarms may be replaced.
 */
const PRE_CONSTRUCT_PATHS: Readonly<Record<string, string>> = {
  'Storage/Table/Resource': 'Table/Resource',
  'Storage/TokenKey/Resource': 'TokenKey/Resource',
  'Storage/TokenKey/Alias/Resource': 'TokenKey/Alias/Resource',
  'ClientSecret/Resource': 'ClientSecret/Resource',
  'AlarmTopic/Resource': 'AlarmTopic/Resource',
  // Deleting a replaced topic policy after its successor is in place resets the topic's policy.
  'AlarmTopic/Policy/Resource': 'AlarmTopic/Policy/Resource',
  'Api/HttpApi/Resource': 'HttpApi/Resource',
  'Api/HttpApi/GET--authorize/Resource': 'HttpApi/GET--authorize/Resource',
  'Api/HttpApi/GET--callback/Resource': 'HttpApi/GET--callback/Resource',
  'Api/DefaultStage/Resource': 'DefaultStage/Resource',
  'Api/CustomDomain/Resource': 'CustomDomain/Resource',
  'Api/AccessLogs/Resource': 'AccessLogs/Resource',
  'Authorize/LogGroup/Resource': 'Authorize/LogGroup/Resource',
  'Callback/LogGroup/Resource': 'Callback/LogGroup/Resource',
  'RefreshJob/Function/LogGroup/Resource': 'Refresh/LogGroup/Resource',
};

/**
 * The standalone deployment: the `EcwidAppAuth` construct alone in a stack, with its outputs. It
 * keeps the logical IDs of the resources an existing deployment must not lose (see
 * `PRE_CONSTRUCT_PATHS`); the construct embedded in another stack has its own.
 */
export class EcwidAuthStack extends Stack {
  readonly auth: EcwidAppAuth;

  constructor(scope: Construct, id: string, props: EcwidAuthStackProps = {}) {
    super(scope, id, {
      description: 'Ecwid app install flow: OAuth authorize and callback endpoints',
      ...props,
    });
    const auth = new EcwidAppAuth(this, CONSTRUCT_ID, props);
    this.auth = auth;
    this.keepPreConstructLogicalIds();
    this.keepPreConstructNames();

    new CfnOutput(this, 'RedirectUri', { value: auth.redirectUri, description: 'The redirect URI to register with Ecwid' });
    new CfnOutput(this, 'AuthorizeUrl', { value: auth.authorizeUrl, description: 'Where an install starts' });
    new CfnOutput(this, 'ApiEndpoint', { value: auth.apiEndpoint, description: "The HTTP API's own endpoint" });
    new CfnOutput(this, 'CredentialsUrl', {
      value: auth.credentialsUrl,
      description:
        "GET (IAM-authorized: sign with SigV4) returns a store's credentials; replace {storeId}. POST to it + /rejected reports a token Ecwid refused",
    });
    new CfnOutput(this, 'AppUrl', {
      value: auth.appUrl,
      description: "The iframe URL to register with Ecwid: the app's page in the merchant's control panel",
    });
    new CfnOutput(this, 'JwksUrl', { value: auth.jwksUrl, description: 'The public keys that verify sessions and install receipts (ES256)' });
    new CfnOutput(this, 'TableName', { value: auth.table.tableName });
    new CfnOutput(this, 'WebhookUrl', { value: auth.webhookUrl, description: 'The webhook URL to register with Ecwid' });
    new CfnOutput(this, 'EventBusName', {
      value: auth.eventBus.eventBusName,
      description: 'The EventBridge bus of lifecycle events (source ecwid-app-auth)',
    });
    new CfnOutput(this, 'EventBusArn', { value: auth.eventBus.eventBusArn });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: auth.alarmTopic.topicArn,
      description: 'Subscribe to be told when refresh runs fail or installations need a reinstall or attention',
    });
    new CfnOutput(this, 'TokenKeyArn', {
      value: auth.tokenKey.keyArn,
      description: 'The KMS key that wraps the data keys encrypting stored tokens (retained with the table)',
    });
    new CfnOutput(this, 'ClientSecretArn', {
      value: auth.clientSecret.secretArn,
      description: 'The secret that must hold the Ecwid client secret',
    });
    if (auth.customDomainTarget !== undefined) {
      new CfnOutput(this, 'CustomDomainTarget', {
        value: auth.customDomainTarget,
        description: `The name to point a CNAME for ${props.domainName?.trim().toLowerCase()} at`,
      });
    }
  }

  /**
   * The names the standalone stack gave its API and its key's alias before the construct existed:
   * the stack's own name. The construct names them uniquely, so two can share a stack; one alone in
   * its stack keeps what ops and scripts already know.
   */
  private keepPreConstructNames(): void {
    const construct = this.node.findChild(CONSTRUCT_ID);
    const alias = descendantAt(construct, 'Storage/TokenKey/Alias/Resource') as CfnAlias;
    alias.aliasName = `alias/${this.stackName}-tokens`;
    const api = descendantAt(construct, 'Api/HttpApi/Resource') as CfnApi;
    api.name = this.stackName;
  }

  private keepPreConstructLogicalIds(): void {
    const construct = this.node.findChild(CONSTRUCT_ID);
    for (const [path, preConstructPath] of Object.entries(PRE_CONSTRUCT_PATHS)) {
      const element = descendantAt(construct, path);
      if (element !== undefined) pinLogicalId(element, preConstructPath.split('/'));
    }
    // The stage names its domain mapping after the domain's construct path, which moved.
    const stage = construct.node.findChild('Api').node.findChild('DefaultStage');
    const mapping = stage.node.children.find((child) => child instanceof ApiMapping);
    if (mapping !== undefined) {
      pinLogicalId(mapping.node.findChild('Resource'), ['DefaultStage', `${this.node.path}/CustomDomainundefined`, 'Resource']);
    }
  }
}

/** The construct at `path` (ids separated by `/`) below `root`, if there is one. */
function descendantAt(root: IConstruct, path: string): IConstruct | undefined {
  let found: IConstruct | undefined = root;
  for (const id of path.split('/')) found = found?.node.tryFindChild(id);
  return found;
}

/** Gives `element` the logical ID the CDK allocates to a resource at `path` directly in a stack. */
function pinLogicalId(element: IConstruct, path: readonly string[]): void {
  if (!(element instanceof CfnElement)) throw new Error(`${element.node.path} is not a CloudFormation element`);
  element.overrideLogicalId(logicalIdAt(path));
}

/**
 * The logical ID of a resource at `path` in a stack: the CDK's own algorithm (`Stack.allocateLogicalId`
 * is `makeUniqueId` of the path below the stack, which `Names.nodeUniqueId` computes for the path
 * below a root), applied to a detached tree of that shape.
 */
function logicalIdAt(path: readonly string[]): string {
  let scope = new Construct(undefined as unknown as Construct, '');
  for (const id of path) scope = new Construct(scope, id);
  return Names.nodeUniqueId(scope.node);
}
