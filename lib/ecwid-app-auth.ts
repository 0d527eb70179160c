import { Annotations, Duration, Names, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CLIENT_SECRET_PLACEHOLDER } from '../functions/adapters/client-secret-value';
import { CODES_REJECTED_METRIC, WEBHOOK_FAILURES_METRIC, WEBHOOK_VARIANTS_METRIC } from '../functions/runtime/metric-names';
import { APP_TIMEOUT_SECONDS, CALLBACK_TIMEOUT_SECONDS, WEBHOOK_TIMEOUT_SECONDS } from '../functions/runtime/time-budgets';
import { alarmOn, appMetric } from './alarms';
import { AppFunction, deploymentVariables } from './app-function';
import { AuthStorage } from './auth-storage';
import { EdgeProtection } from './edge-protection';
import { CredentialsApi } from './credentials-api';
import { InstallApi } from './install-api';
import { LifecycleEvents } from './lifecycle-events';
import { acknowledgeNagFindings } from './nag-acknowledgments';
import { RefreshJob } from './refresh-job';
import { SessionSigning } from './session-signing';
import { resolveSettings, type EcwidAppAuthProps } from './settings';

/** Where Ecwid posts the app's webhooks. */
const WEBHOOK_PATH = '/webhooks';

/** Secrets Manager appends a hyphen and six random characters to the name in a secret's complete ARN. */
const COMPLETE_SECRET_ARN = /-[A-Za-z0-9]{6}$/;

/**
 * The install flow of a public Ecwid app, for any CDK stack: `GET /authorize` and `GET /callback`
 * behind an HTTP API, a scheduled refresh that keeps every installation's token fresh, one DynamoDB
 * table (tokens envelope-encrypted under a KMS key), the client secret in Secrets Manager, and alarms
 * on one SNS topic.
 *
 * Register `redirectUri` with Ecwid, put the client secret into `clientSecret`, subscribe to
 * `alarmTopic`. The functions ship already bundled: synth needs neither esbuild nor Docker.
 *
 * The app's own code gets the stores' tokens through the IAM-authorized credentials API
 * (`grantCredentialsApi`) or reads them directly with the package's client (`grantCredentialsRead`).
 */
export class EcwidAppAuth extends Construct {
  /** The origin merchants reach the routes at (`publicUrl`, else `https://{domainName}`, else `apiEndpoint`). */
  readonly apiUrl: string;
  /** `{apiUrl}/callback`: the redirect URI to register with Ecwid. */
  readonly redirectUri: string;
  /** `{apiUrl}/authorize`: where an install starts. */
  readonly authorizeUrl: string;
  /** The HTTP API's own origin: its custom domain when it has one (its `execute-api` endpoint is then disabled), else that endpoint. */
  readonly apiEndpoint: string;
  /** States, code claims and installations (retained). Read installations with `grantInstallationsRead`. */
  readonly table: dynamodb.ITable;
  /** Wraps the data keys that encrypt stored tokens (retained: the tokens are unreadable without it). */
  readonly tokenKey: kms.IKey;
  /** The secret that must hold the Ecwid client secret. */
  readonly clientSecret: ISecret;
  /** Alarms for ops: failing refresh runs, installations that need a reinstall or attention. */
  readonly alarmTopic: ITopic;
  /** With `domainName`: the regional domain name to point the domain's CNAME at. */
  readonly customDomainTarget?: string;
  /** With `edgeProtection`: the CloudFront distribution, its web ACL and its origin secret. */
  readonly edge?: EdgeProtection;
  /** `{apiUrl}/webhooks`: the webhook URL to register with Ecwid. */
  readonly webhookUrl: string;
  /**
   * Where lifecycle events are published (source `ecwid-app-auth`: `Store Installed`, `Store Uninstalled`,
   * `Token Revoked`, ...): add rules on it for the app's other services.
   */
  readonly eventBus: IEventBus;
  /**
   * The origin of the credentials API (IAM-authorized, callers sign with SigV4): the HTTP API's own
   * endpoint, whatever fronts the install routes, so a signature is always checked against the host
   * it was made for. Give it to `createCredentialsApiClient` or `createCredentialsReader`.
   */
  readonly credentialsApiUrl: string;
  /** `{credentialsApiUrl}/stores/{storeId}/credentials`, with `{storeId}` to replace. */
  readonly credentialsUrl: string;
  /** `{apiUrl}/app`: the iframe URL to register with Ecwid (the app's page in the control panel). */
  readonly appUrl: string;
  /** `{apiUrl}/.well-known/jwks.json`: the public keys that verify sessions and install receipts. */
  readonly jwksUrl: string;
  /** The asymmetric key (ES256) that signs sessions and install receipts; its private half never leaves KMS. */
  readonly signingKey: kms.IKey;

  private readonly storage: AuthStorage;
  private readonly credentialsApi: CredentialsApi;

  constructor(scope: Construct, id: string, props: EcwidAppAuthProps = {}) {
    super(scope, id);
    const settings = resolveSettings(props);

    if (settings.clientId === '') {
      Annotations.of(this).addWarningV2(
        'ecwid-app-auth:missingClientId',
        'ecwidClientId (context "ecwidClientId") is empty: the functions will answer "not set up yet" until it is set ' +
          'and the stack is deployed again.',
      );
    }
    // Names unique to this construct, so two of them can live in one stack (and one account).
    const uniqueName = Names.uniqueResourceName(this, { maxLength: 200, separator: '-' });
    this.storage = new AuthStorage(this, 'Storage', { keyAliasName: `alias/${uniqueName}-tokens` });
    this.table = this.storage.table;
    this.tokenKey = this.storage.tokenKey;
    this.clientSecret = this.createOrImportClientSecret(settings.clientSecretArn);
    this.alarmTopic = new Topic(this, 'AlarmTopic', { displayName: 'Ecwid app auth alarms', enforceSSL: true });

    const api = new InstallApi(this, 'Api', {
      apiName: uniqueName,
      customDomain: settings.customDomain,
      throttle: settings.throttle,
      logRetention: settings.logRetention,
    });
    this.edge =
      settings.edge === undefined || settings.customDomain === undefined
        ? undefined
        : new EdgeProtection(this, 'Edge', {
            originDomainName: settings.customDomain.domainName,
            rateLimitPer5Minutes: settings.edge.rateLimitPer5Minutes,
            webhookPath: WEBHOOK_PATH,
            ...(settings.edge.webAclArn === undefined ? {} : { webAclArn: settings.edge.webAclArn }),
            ...(settings.edge.domain === undefined ? {} : { domain: settings.edge.domain }),
          });
    const publicUrl = settings.publicUrl ?? this.edge?.url ?? api.url;
    this.apiUrl = publicUrl;
    this.redirectUri = `${publicUrl}/callback`;
    this.authorizeUrl = `${publicUrl}/authorize`;
    this.webhookUrl = `${publicUrl}${WEBHOOK_PATH}`;
    this.appUrl = `${publicUrl}/app`;
    this.jwksUrl = `${publicUrl}/.well-known/jwks.json`;
    const lifecycleEvents = new LifecycleEvents(this, 'LifecycleEvents', { alarmTopic: this.alarmTopic });
    const signing = new SessionSigning(this, 'SessionSigning', { aliasName: `alias/${uniqueName}-sessions` });
    this.signingKey = signing.key;
    this.eventBus = lifecycleEvents.bus;
    this.apiEndpoint = api.url;
    if (api.customDomain !== undefined) this.customDomainTarget = api.customDomain.regionalDomainName;

    const variables = deploymentVariables(settings, {
      publicUrl,
      tableName: this.table.tableName,
      clientSecretArn: this.clientSecret.secretArn,
      tokenKeyArn: this.tokenKey.keyArn,
      signingKeyArn: signing.key.keyArn,
      eventBusName: lifecycleEvents.bus.eventBusName,
      edgeOriginSecret: this.edge?.originSecretValue,
    });
    const authorize = new AppFunction(this, 'Authorize', {
      name: 'authorize',
      description: 'Starts an install: stores a state and redirects the merchant to Ecwid',
      timeout: Duration.seconds(10),
      variables,
      logRetention: settings.logRetention,
    });
    this.storage.grantStateWrites(authorize.lambda);

    const callback = new AppFunction(this, 'Callback', {
      name: 'callback',
      description: 'Completes an install: exchanges the code for a token and stores the installation',
      // The token request's budget (TOKEN_REQUEST_TIMEOUT_MS), a duplicate callback's wait for the
      // request exchanging the same code, and the DynamoDB and Secrets Manager calls around them,
      // all inside API Gateway's 30 s integration limit.
      timeout: Duration.seconds(CALLBACK_TIMEOUT_SECONDS),
      variables,
      logRetention: settings.logRetention,
      ...(settings.callbackReservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: settings.callbackReservedConcurrency }),
    });
    this.storage.grantInstallWrites(callback.lambda);
    alarmOn(callback, this.alarmTopic, {
      id: 'CodesRejected',
      description:
        'Ecwid refused many authorization codes: a stranger sending junk codes to /callback, or a misconfigured app (client id, redirect URI)',
      metric: appMetric(CODES_REJECTED_METRIC, Duration.minutes(5)),
      threshold: settings.rejectedCodesAlarmThreshold,
    });
    this.clientSecret.grantRead(callback.lambda);
    lifecycleEvents.grantPublish(callback.lambda);
    // Install receipts.
    signing.grantSign(callback.lambda);

    const refreshJob = new RefreshJob(this, 'RefreshJob', {
      variables,
      logRetention: settings.logRetention,
      scheduleMinutes: settings.refreshScheduleMinutes,
      alarmTopic: this.alarmTopic,
    });
    this.storage.grantRefreshJob(refreshJob.function.lambda);
    this.clientSecret.grantRead(refreshJob.function.lambda);
    lifecycleEvents.grantPublish(refreshJob.function.lambda);

    const webhooks = new AppFunction(this, 'Webhooks', {
      name: 'webhooks',
      description: "Receives Ecwid's lifecycle webhooks: verifies, deduplicates, confirms uninstalls, records subscriptions",
      // The function answers by its own deadline (8 s, inside Ecwid's 10 s); this is only the backstop.
      timeout: Duration.seconds(WEBHOOK_TIMEOUT_SECONDS),
      variables,
      logRetention: settings.logRetention,
    });
    this.storage.grantWebhookHandling(webhooks.lambda);
    this.clientSecret.grantRead(webhooks.lambda);
    lifecycleEvents.grantPublish(webhooks.lambda);
    alarmOn(webhooks, this.alarmTopic, {
      id: 'Failing',
      description: 'The webhooks function failed or timed out (see its logs): Ecwid delivers again, but may block the URL',
      metric: webhooks.lambda.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
    });
    alarmOn(webhooks, this.alarmTopic, {
      id: 'AnswersFailing',
      description:
        'Webhooks keep being answered with a 5xx (see the webhooks function logs): Ecwid delivers them again, ' +
        'but blocks a URL that keeps failing for two weeks',
      metric: appMetric(WEBHOOK_FAILURES_METRIC, Duration.minutes(15)),
      // A few are normal (a delivery racing a scheduled check is answered 503 and delivered again).
      threshold: 5,
    });
    alarmOn(webhooks, this.alarmTopic, {
      id: 'Variants',
      description:
        'A webhook arrived with the eventId (and signature) of another but a different body: someone is replaying a captured ' +
        'signature with forged fields (see the webhooks function logs). Each body was handled as its own event, up to a few per eventId',
      metric: appMetric(WEBHOOK_VARIANTS_METRIC, Duration.minutes(5)),
    });

    const app = new AppFunction(this, 'App', {
      name: 'app',
      description: "The app's page in Ecwid's control panel: decrypts the iframe's payload into a signed session",
      timeout: Duration.seconds(APP_TIMEOUT_SECONDS),
      variables,
      logRetention: settings.logRetention,
    });
    this.storage.grantControlPanelRepair(app.lambda);
    this.clientSecret.grantRead(app.lambda);
    lifecycleEvents.grantPublish(app.lambda);
    signing.grantSign(app.lambda);

    const jwks = new AppFunction(this, 'Jwks', {
      name: 'jwks',
      description: 'Publishes the public keys that verify sessions and install receipts',
      timeout: Duration.seconds(10),
      variables,
      logRetention: settings.logRetention,
    });
    signing.grantPublicKey(jwks.lambda);

    const publicRoutes = [
      api.addRoute('/authorize', authorize.lambda),
      api.addRoute('/callback', callback.lambda),
      api.addRoute(WEBHOOK_PATH, webhooks.lambda, HttpMethod.POST),
      api.addRoute('/app', app.lambda),
      api.addRoute('/.well-known/jwks.json', jwks.lambda),
    ];
    acknowledgeNagFindings({ publicRoutes, clientSecret: this.clientSecret, edge: this.edge });
    this.credentialsApi = new CredentialsApi(this, 'Credentials', { api, variables, logRetention: settings.logRetention });
    this.storage.grantCredentialsFunction(this.credentialsApi.function.lambda);
    // The client secret renews an expiring token on read.
    this.clientSecret.grantRead(this.credentialsApi.function.lambda);
    lifecycleEvents.grantPublish(this.credentialsApi.function.lambda);
    // The API's own origin (its regional custom domain when there is one, the only way in then),
    // never the edge: IAM checks the SigV4 signature, and the edge would only be in the way.
    this.credentialsApiUrl = api.url;
    this.credentialsUrl = `${api.url}/stores/{storeId}/credentials`;
  }

  /**
   * Lets `grantee` read installation items (`GetItem`, or `Query` by partition key) and nothing
   * else in the table: no state, no code claim. No KMS access: the tokens in them stay sealed.
   */
  grantInstallationsRead(grantee: IGrantable): Grant {
    return this.storage.grantInstallationsRead(grantee);
  }

  /**
   * Lets `grantee` call the credentials API: `execute-api:Invoke` on exactly
   * `GET /stores/{storeId}/credentials` and `POST /stores/{storeId}/credentials/rejected`, for any store.
   * It gets tokens in the clear from the API; it needs no access to the table or the key.
   */
  grantCredentialsApi(grantee: IGrantable): Grant {
    return this.credentialsApi.grantInvoke(grantee);
  }

  /**
   * Lets `grantee` read any installed store's token directly (the client's `createCredentialsReader`):
   * `GetItem` of installation items only (`dynamodb:LeadingKeys` `STORE#*`), `kms:Decrypt` on the
   * token key only with this app's encryption context, and the credentials API's two routes, through
   * which the reader reports a token Ecwid refused and renews one about to expire. Nothing else.
   */
  grantCredentialsRead(grantee: IGrantable): Grant {
    return this.storage.grantCredentialsRead(grantee).combine(this.credentialsApi.grantInvoke(grantee));
  }

  private createOrImportClientSecret(existingArn: string | undefined): ISecret {
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
