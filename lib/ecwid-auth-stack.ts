import { Annotations, CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  DomainName,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
  SecurityPolicy,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../functions/adapters/dynamodb-schema';
import { CLIENT_SECRET_PLACEHOLDER } from '../functions/adapters/client-secret-value';
import { TOKEN_ENCRYPTION_CONTEXT } from '../functions/adapters/token-vault-context';
import { CLIENT_ID_PATTERN, ENVIRONMENT_VARIABLES, SCOPE_PATTERN } from '../functions/runtime/config';
import { METRICS_NAMESPACE, OUTCOME_METRICS } from '../functions/runtime/metrics';
import { CALLBACK_TIMEOUT_SECONDS, REFRESH_TIMEOUT_SECONDS } from '../functions/runtime/time-budgets';
import { AppFunction } from './app-function';
import { acknowledgeNagFindings } from './nag-acknowledgments';

/**
 * The deployment's settings. `bin/app.ts` reads each from the CDK context key of the same name
 * (`cdk.json`, or `-c key=value`).
 */
export interface EcwidAuthStackProps extends StackProps {
  /**
   * Context `ecwidClientId`: the app's client id from Ecwid. Synth and deploy work without it; the
   * functions then answer "not set up yet" until it is set.
   * @default ''
   */
  readonly ecwidClientId?: string;
  /**
   * Context `ecwidScopes`: the scopes the app requests, space-separated.
   * @default 'read_store_profile'
   */
  readonly ecwidScopes?: string;
  /**
   * Context `successUrl`: an https URL a completed install is redirected to (with `store_id`).
   * @default - a built-in "installed" page
   */
  readonly successUrl?: string;
  /**
   * Context `publicUrl`: the https origin merchants reach the API at, when something else (a CDN,
   * a proxy) fronts it. Wins over `domainName`.
   * @default - `https://{domainName}`, else the HTTP API's own endpoint
   */
  readonly publicUrl?: string;
  /**
   * Context `domainName`: a custom domain for the API (a regional API Gateway domain), given
   * together with `certificateArn`. Point a CNAME at the `CustomDomainTarget` output.
   * @default - no custom domain
   */
  readonly domainName?: string;
  /**
   * Context `certificateArn`: an ACM certificate for `domainName`, in the stack's region.
   * @default - no custom domain
   */
  readonly certificateArn?: string;
  /**
   * Context `clientSecretArn`: the complete ARN of an existing Secrets Manager secret holding the
   * client secret (the bare value, or JSON with `clientSecret`), encrypted with the AWS managed key:
   * the functions are granted no KMS access for it. An ARN without the six-character suffix also works, unless
   * the secret's name itself ends in a hyphen and six letters or digits.
   * @default - the stack creates a secret holding a placeholder, for ops to replace
   */
  readonly clientSecretArn?: string;
  /**
   * Context `appMarketInstalls`: whether installs started from the Ecwid App Market (a callback
   * without `state`) are accepted.
   * @default true
   */
  readonly appMarketInstalls?: boolean;
  /**
   * Context `logRetentionDays`: how long function and access logs are kept; one of the values
   * CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...).
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * Context `ecwidOAuthUrl`: the origin of Ecwid's OAuth endpoints; another only for staging.
   * @default 'https://my.ecwid.com'
   */
  readonly ecwidOAuthUrl?: string;
  /**
   * Context `ecwidApiUrl`: the origin of Ecwid's REST API; another only for staging.
   * @default 'https://app.ecwid.com'
   */
  readonly ecwidApiUrl?: string;
  /**
   * Context `throttleRateLimit`: steady-state requests per second the API accepts, all routes together.
   * @default 50
   */
  readonly throttleRateLimit?: number;
  /**
   * Context `throttleBurstLimit`: requests the API accepts in a burst above the steady rate.
   * @default 100
   */
  readonly throttleBurstLimit?: number;
  /**
   * Context `refreshScheduleMinutes`: how often EventBridge runs the scheduled refresh. Each run
   * handles what is due and stops before its timeout; the rest waits for the next run.
   * @default 5
   */
  readonly refreshScheduleMinutes?: number;
  /**
   * Context `refreshConcurrency`: how many installations one run handles at once.
   * @default 16
   */
  readonly refreshConcurrency?: number;
}

type VariableName = keyof typeof ENVIRONMENT_VARIABLES;


/** The item-level DynamoDB actions the callback uses; it never queries, scans or touches the index. */
const CALLBACK_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

/**
 * What every use of the token key must carry: this app's encryption context, with a store id. The
 * functions always send both, so a call without them is not one of theirs.
 */
const TOKEN_KEY_CONDITIONS = {
  StringEquals: { [`kms:EncryptionContext:${TOKEN_ENCRYPTION_CONTEXT.appKey}`]: TOKEN_ENCRYPTION_CONTEXT.appValue },
  Null: { [`kms:EncryptionContext:${TOKEN_ENCRYPTION_CONTEXT.storeKey}`]: 'false' },
};

/**
 * The install flow of a public Ecwid app: `GET /authorize` and `GET /callback` behind an HTTP API,
 * one DynamoDB table for states, code claims and installations (tokens envelope-encrypted under a
 * KMS key), and the client secret in Secrets Manager.
 */
export class EcwidAuthStack extends Stack {
  constructor(scope: Construct, id: string, props: EcwidAuthStackProps = {}) {
    super(scope, id, {
      description: 'Ecwid app install flow: OAuth authorize and callback endpoints',
      ...props,
    });
    const settings = resolveSettings(props);
    if (settings.clientId === '') {
      Annotations.of(this).addWarningV2(
        'ecwid-app-auth:missingClientId',
        'Context "ecwidClientId" is empty: the functions will answer "not set up yet" until it is set ' +
          'and the stack is deployed again.',
      );
    }

    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_SCHEMA.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    table.addGlobalSecondaryIndex({
      indexName: TABLE_SCHEMA.dueIndex.name,
      partitionKey: { name: TABLE_SCHEMA.dueIndex.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.dueIndex.sortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });

    const clientSecret = this.clientSecret(settings.clientSecretArn);

    // Retained: every stored token is encrypted under a data key this key wraps, so deleting it
    // would make every installation unreadable.
    const tokenKey = new kms.Key(this, 'TokenKey', {
      description: 'Wraps the per-install data keys that encrypt the Ecwid tokens stored in the table',
      enableKeyRotation: true,
      alias: `alias/${this.stackName}-tokens`,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const httpApi = new HttpApi(this, 'HttpApi', {
      apiName: this.stackName,
      description: 'Ecwid app install flow',
      createDefaultStage: false,
    });
    const customDomain =
      settings.customDomain === undefined
        ? undefined
        : new DomainName(this, 'CustomDomain', {
            domainName: settings.customDomain.domainName,
            certificate: Certificate.fromCertificateArn(this, 'Certificate', settings.customDomain.certificateArn),
            securityPolicy: SecurityPolicy.TLS_1_2,
          });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: settings.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new HttpStage(this, 'DefaultStage', {
      httpApi,
      autoDeploy: true,
      throttle: settings.throttle,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: accessLogFormat() },
      ...(customDomain === undefined ? {} : { domainMapping: { domainName: customDomain } }),
    });

    // The API resource does not depend on the functions, so they can reference its endpoint.
    const publicUrl =
      settings.publicUrl ??
      (settings.customDomain === undefined ? httpApi.apiEndpoint : `https://${settings.customDomain.domainName}`);
    const environment: Omit<Record<VariableName, string>, 'SUCCESS_URL'> = {
      TABLE_NAME: table.tableName,
      CLIENT_SECRET_ID: clientSecret.secretArn,
      TOKEN_KEY_ID: tokenKey.keyArn,
      ECWID_CLIENT_ID: settings.clientId,
      PUBLIC_URL: publicUrl,
      ECWID_OAUTH_URL: settings.ecwidOAuthUrl,
      ECWID_API_URL: settings.ecwidApiUrl,
      ECWID_SCOPES: settings.scopes,
      APP_MARKET_INSTALLS: String(settings.appMarketInstalls),
      STATE_TTL_SECONDS: ENVIRONMENT_VARIABLES.STATE_TTL_SECONDS,
      TOKEN_REQUEST_TIMEOUT_MS: ENVIRONMENT_VARIABLES.TOKEN_REQUEST_TIMEOUT_MS,
      SECRET_CACHE_TTL_SECONDS: ENVIRONMENT_VARIABLES.SECRET_CACHE_TTL_SECONDS,
      REFRESH_CONCURRENCY: String(settings.refreshConcurrency),
      REFRESH_MARGIN_SECONDS: ENVIRONMENT_VARIABLES.REFRESH_MARGIN_SECONDS,
      VERIFY_INTERVAL_SECONDS: ENVIRONMENT_VARIABLES.VERIFY_INTERVAL_SECONDS,
      FAILURE_BUDGET_SECONDS: ENVIRONMENT_VARIABLES.FAILURE_BUDGET_SECONDS,
    };
    const functionEnvironment =
      settings.successUrl === undefined ? environment : { ...environment, SUCCESS_URL: settings.successUrl };

    const authorize = new AppFunction(this, 'Authorize', {
      name: 'authorize',
      description: 'Starts an install: stores a state and redirects the merchant to Ecwid',
      timeout: Duration.seconds(10),
      environment: functionEnvironment,
      logRetention: settings.logRetention,
    });
    // Statements on the table ARN alone: Table.grant would add the index ARNs too.
    authorize.lambda.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [table.tableArn] }),
    );

    const callback = new AppFunction(this, 'Callback', {
      name: 'callback',
      description: 'Completes an install: exchanges the code for a token and stores the installation',
      // The token request's budget (TOKEN_REQUEST_TIMEOUT_MS), a duplicate callback's wait for the
      // request exchanging the same code, and the DynamoDB and Secrets Manager calls around them,
      // all inside API Gateway's 30 s integration limit.
      timeout: Duration.seconds(CALLBACK_TIMEOUT_SECONDS),
      environment: functionEnvironment,
      logRetention: settings.logRetention,
    });
    callback.lambda.addToRolePolicy(
      new PolicyStatement({ actions: CALLBACK_TABLE_ACTIONS, resources: [table.tableArn] }),
    );
    clientSecret.grantRead(callback.lambda);
    // A new data key per install; the callback never needs to unwrap one.
    callback.lambda.addToRolePolicy(
      new PolicyStatement({
        actions: ['kms:GenerateDataKey'],
        resources: [tokenKey.keyArn],
        conditions: TOKEN_KEY_CONDITIONS,
      }),
    );

    const refresh = new AppFunction(this, 'Refresh', {
      name: 'refresh',
      description: 'Scheduled: refreshes expiring tokens before they expire and verifies the others',
      timeout: Duration.seconds(REFRESH_TIMEOUT_SECONDS),
      environment: functionEnvironment,
      logRetention: settings.logRetention,
      // A failed run is not retried: the next scheduled run picks up whatever is still due.
      retryAttempts: 0,
    });
    refresh.lambda.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/${TABLE_SCHEMA.dueIndex.name}`] }),
    );
    // Leases and results are conditional updates of single items; nothing else is written or read.
    refresh.lambda.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [table.tableArn] }));
    clientSecret.grantRead(refresh.lambda);
    // Unwraps an installation's data key and re-encrypts the refreshed token with it; never a new key.
    refresh.lambda.addToRolePolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [tokenKey.keyArn],
        conditions: TOKEN_KEY_CONDITIONS,
      }),
    );
    new Rule(this, 'RefreshSchedule', {
      description: 'Runs the scheduled token refresh',
      schedule: Schedule.rate(Duration.minutes(settings.refreshScheduleMinutes)),
      targets: [new LambdaFunction(refresh.lambda, { retryAttempts: 0 })],
    });
    const alarmTopic = this.alarms(refresh);

    const routes = [
      ...httpApi.addRoutes({
        path: '/authorize',
        methods: [HttpMethod.GET],
        integration: new HttpLambdaIntegration('AuthorizeIntegration', authorize.lambda, {
          payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
        }),
      }),
      ...httpApi.addRoutes({
        path: '/callback',
        methods: [HttpMethod.GET],
        integration: new HttpLambdaIntegration('CallbackIntegration', callback.lambda, {
          payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
        }),
      }),
    ];

    new CfnOutput(this, 'RedirectUri', {
      value: `${publicUrl}/callback`,
      description: 'The redirect URI to register with Ecwid',
    });
    new CfnOutput(this, 'AuthorizeUrl', { value: `${publicUrl}/authorize`, description: 'Where an install starts' });
    new CfnOutput(this, 'ApiEndpoint', { value: httpApi.apiEndpoint, description: "The HTTP API's own endpoint" });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: alarmTopic.topicArn,
      description: 'Subscribe to be told when refresh runs fail or installations need a reinstall or attention',
    });
    new CfnOutput(this, 'TokenKeyArn', {
      value: tokenKey.keyArn,
      description: 'The KMS key that wraps the data keys encrypting stored tokens (retained with the table)',
    });
    new CfnOutput(this, 'ClientSecretArn', {
      value: clientSecret.secretArn,
      description: 'The secret that must hold the Ecwid client secret',
    });
    if (customDomain !== undefined) {
      new CfnOutput(this, 'CustomDomainTarget', {
        value: customDomain.regionalDomainName,
        description: `The name to point a CNAME for ${customDomain.name} at`,
      });
    }

    acknowledgeNagFindings({ publicRoutes: routes, clientSecret });
  }

  /**
   * Alarms for ops, on one SNS topic: refresh runs that fail, and installations that fall into
   * "needs reinstall" or "needs attention" (metrics the runs publish in their summary log line).
   */
  private alarms(refresh: AppFunction): Topic {
    const topic = new Topic(this, 'AlarmTopic', { displayName: 'Ecwid app auth alarms', enforceSSL: true });
    const action = new SnsAction(topic);
    const period = Duration.minutes(15);
    const alarm = (id: string, description: string, metric: Metric) =>
      new Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(action);
    const appMetric = (metricName: string) =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName, statistic: 'Sum', period });

    alarm('RefreshRunsFailing', 'A scheduled refresh run failed (see the refresh function logs)', refresh.lambda.metricErrors({ period, statistic: 'Sum' }));
    alarm(
      'InstallationsNeedReinstall',
      'Ecwid revoked a token or grant: the store must install the app again',
      appMetric(OUTCOME_METRICS.needs_reinstall),
    );
    alarm(
      'InstallationsNeedAttention',
      'Checks of an installation kept failing for longer than the failure budget',
      appMetric(OUTCOME_METRICS.needs_attention),
    );
    alarm('RefreshCheckErrors', 'A refresh result could not be stored', appMetric(OUTCOME_METRICS.error));
    return topic;
  }

  private clientSecret(existingArn: string | undefined): ISecret {
    if (existingArn !== undefined) {
      return COMPLETE_SECRET_ARN.test(existingArn)
        ? Secret.fromSecretCompleteArn(this, 'ClientSecret', existingArn)
        : Secret.fromSecretPartialArn(this, 'ClientSecret', existingArn);
    }
    return new Secret(this, 'ClientSecret', {
      description:
        'The Ecwid app client secret: replace the placeholder with the value from the Ecwid app settings ' +
        '(the bare secret, or JSON {"clientSecret": "..."}). Until then the app answers "not set up yet".',
      secretStringValue: SecretValue.unsafePlainText(CLIENT_SECRET_PLACEHOLDER),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

/**
 * One JSON object per request. The query string is left out on purpose: it carries authorization
 * codes and states.
 */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      requestTime: '$context.requestTime',
      ip: '$context.identity.sourceIp',
      routeKey: '$context.routeKey',
      status: '$context.status',
      responseLength: '$context.responseLength',
      responseLatency: '$context.responseLatency',
      integrationLatency: '$context.integrationLatency',
      integrationError: '$context.integrationErrorMessage',
    }),
  );
}

interface Settings {
  clientId: string;
  scopes: string;
  successUrl: string | undefined;
  publicUrl: string | undefined;
  customDomain: { domainName: string; certificateArn: string } | undefined;
  clientSecretArn: string | undefined;
  appMarketInstalls: boolean;
  logRetention: logs.RetentionDays;
  ecwidOAuthUrl: string;
  ecwidApiUrl: string;
  throttle: { rateLimit: number; burstLimit: number };
  refreshScheduleMinutes: number;
  refreshConcurrency: number;
}

const DOMAIN_NAME_PATTERN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const CERTIFICATE_ARN_PATTERN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;
const SECRET_ARN_PATTERN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
/** Secrets Manager appends a hyphen and six random characters to the name in a secret's complete ARN. */
const COMPLETE_SECRET_ARN = /-[A-Za-z0-9]{6}$/;

/** Validates and normalizes the props, so a mistake fails the synth instead of the first install. */
function resolveSettings(props: EcwidAuthStackProps): Settings {
  const clientId = blankToUndefined(props.ecwidClientId) ?? '';
  if (clientId !== '' && !CLIENT_ID_PATTERN.test(clientId)) {
    throw new Error(`ecwidClientId "${clientId}" must be 1 to 128 letters, digits, '.', '_' or '-'`);
  }

  const scopes = (blankToUndefined(props.ecwidScopes) ?? ENVIRONMENT_VARIABLES.ECWID_SCOPES).split(/\s+/);
  const invalidScope = scopes.find((scope) => !SCOPE_PATTERN.test(scope));
  if (invalidScope !== undefined) {
    throw new Error(
      `ecwidScopes: "${invalidScope}" is not a scope name (${SCOPE_PATTERN.source}); separate scopes with spaces`,
    );
  }

  const domainName = blankToUndefined(props.domainName)?.toLowerCase();
  const certificateArn = blankToUndefined(props.certificateArn);
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new Error('domainName and certificateArn must be given together');
  }
  if (domainName !== undefined && !DOMAIN_NAME_PATTERN.test(domainName)) {
    throw new Error(`domainName "${domainName}" is not a fully qualified host name`);
  }
  if (certificateArn !== undefined && !CERTIFICATE_ARN_PATTERN.test(certificateArn)) {
    throw new Error(`certificateArn "${certificateArn}" is not an ACM certificate ARN`);
  }

  const clientSecretArn = blankToUndefined(props.clientSecretArn);
  if (clientSecretArn !== undefined && !SECRET_ARN_PATTERN.test(clientSecretArn)) {
    throw new Error(`clientSecretArn "${clientSecretArn}" is not a Secrets Manager secret ARN`);
  }

  const logRetentionDays = props.logRetentionDays ?? 30;
  if (!Object.values(logs.RetentionDays).includes(logRetentionDays)) {
    throw new Error(
      `logRetentionDays ${logRetentionDays} is not a retention CloudWatch Logs accepts ` +
        '(1, 3, 5, 7, 14, 30, 60, 90, ...)',
    );
  }

  const rateLimit = props.throttleRateLimit ?? 50;
  if (!Number.isFinite(rateLimit) || rateLimit <= 0) {
    throw new Error(`throttleRateLimit ${rateLimit} must be a positive number of requests per second`);
  }
  const burstLimit = props.throttleBurstLimit ?? 100;
  if (!Number.isSafeInteger(burstLimit) || burstLimit <= 0) {
    throw new Error(`throttleBurstLimit ${burstLimit} must be a positive whole number of requests`);
  }

  const refreshScheduleMinutes = props.refreshScheduleMinutes ?? 5;
  if (!Number.isSafeInteger(refreshScheduleMinutes) || refreshScheduleMinutes < 1) {
    throw new Error(`refreshScheduleMinutes ${refreshScheduleMinutes} must be a whole number of minutes, at least 1`);
  }
  const refreshConcurrency = props.refreshConcurrency ?? Number(ENVIRONMENT_VARIABLES.REFRESH_CONCURRENCY);
  if (!Number.isSafeInteger(refreshConcurrency) || refreshConcurrency < 1 || refreshConcurrency > 256) {
    throw new Error(`refreshConcurrency ${refreshConcurrency} must be a whole number from 1 to 256`);
  }

  return {
    refreshScheduleMinutes,
    refreshConcurrency,
    clientId,
    scopes: scopes.join(' '),
    successUrl: httpsUrl('successUrl', props.successUrl, { query: true }),
    publicUrl: httpsUrl('publicUrl', props.publicUrl),
    customDomain: domainName === undefined || certificateArn === undefined ? undefined : { domainName, certificateArn },
    clientSecretArn,
    appMarketInstalls: props.appMarketInstalls ?? ENVIRONMENT_VARIABLES.APP_MARKET_INSTALLS === 'true',
    logRetention: logRetentionDays as logs.RetentionDays,
    ecwidOAuthUrl: httpsUrl('ecwidOAuthUrl', props.ecwidOAuthUrl) ?? ENVIRONMENT_VARIABLES.ECWID_OAUTH_URL,
    ecwidApiUrl: httpsUrl('ecwidApiUrl', props.ecwidApiUrl) ?? ENVIRONMENT_VARIABLES.ECWID_API_URL,
    throttle: { rateLimit, burstLimit },
  };
}

/** An https URL without a trailing slash (and, for a base URL, without query or fragment). */
function httpsUrl(key: string, value: string | undefined, options: { query?: boolean } = {}): string | undefined {
  const text = blankToUndefined(value);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${key} "${text}" is not a URL`);
  }
  if (url.protocol !== 'https:') throw new Error(`${key} "${text}" must be an https URL`);
  if (options.query !== true && (url.search !== '' || url.hash !== '')) {
    throw new Error(`${key} "${text}" must not have a query or a fragment: paths are appended to it`);
  }
  return options.query === true ? text : text.replace(/\/+$/, '');
}

function blankToUndefined(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
