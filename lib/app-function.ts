import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTION_VARIABLES, VARIABLE_DEFAULTS, type FunctionName, type VariableName } from '../functions/runtime/variables';
import { functionCode } from './function-code';
import type { Settings } from './settings';

/**
 * The value of every variable the functions read, for one deployment: a variable forgotten here is a
 * type error. An optional one (its default is empty, like `SUCCESS_URL`) may be undefined: it is then
 * left out, and the function applies its default.
 */
export type DeploymentVariables = {
  readonly [N in VariableName]: (typeof VARIABLE_DEFAULTS)[N] extends '' ? string | undefined : string;
};

/** What the construct deployed that the functions are told about (ARNs and names resolve at deploy). */
export interface DeployedResources {
  publicUrl: string;
  tableName: string;
  clientSecretArn: string;
  tokenKeyArn: string;
  signingKeyArn: string;
  eventBusName: string;
  edgeOriginSecret: string | undefined;
}

/** Every function's variables, from the settings and the resources; each function is given only its own. */
export function deploymentVariables(settings: Settings, resources: DeployedResources): DeploymentVariables {
  return {
    TABLE_NAME: resources.tableName,
    CLIENT_SECRET_ID: resources.clientSecretArn,
    TOKEN_KEY_ID: resources.tokenKeyArn,
    ECWID_CLIENT_ID: settings.clientId,
    PUBLIC_URL: resources.publicUrl,
    ECWID_OAUTH_URL: settings.ecwidOAuthUrl,
    ECWID_API_URL: settings.ecwidApiUrl,
    ECWID_SCOPES: settings.scopes,
    SUCCESS_URL: settings.successUrl,
    APP_MARKET_INSTALLS: String(settings.appMarketInstalls),
    STATE_TTL_SECONDS: VARIABLE_DEFAULTS.STATE_TTL_SECONDS,
    TOKEN_REQUEST_TIMEOUT_MS: String(settings.tokenRequestTimeoutMs),
    SECRET_CACHE_TTL_SECONDS: VARIABLE_DEFAULTS.SECRET_CACHE_TTL_SECONDS,
    REFRESH_CONCURRENCY: String(settings.refreshConcurrency),
    REFRESH_MARGIN_SECONDS: VARIABLE_DEFAULTS.REFRESH_MARGIN_SECONDS,
    VERIFY_INTERVAL_SECONDS: VARIABLE_DEFAULTS.VERIFY_INTERVAL_SECONDS,
    FAILURE_BUDGET_SECONDS: VARIABLE_DEFAULTS.FAILURE_BUDGET_SECONDS,
    EDGE_ORIGIN_SECRET: resources.edgeOriginSecret,
    EVENT_BUS_NAME: resources.eventBusName,
    UNINSTALL_RETENTION_DAYS: String(settings.uninstallRetentionDays),
    SIGNING_KEY_ID: resources.signingKeyArn,
    APP_UI_URL: settings.appUiUrl,
    FRAME_ANCESTORS: settings.frameAncestors,
  };
}

export interface AppFunctionProps {
  /** The directory under `functions/` whose `lambda.ts` exports `handler`. */
  readonly name: FunctionName;
  readonly description: string;
  /** The whole invocation budget, including every downstream call the function may wait for. */
  readonly timeout: Duration;
  /** The deployment's variables; the function is given only those it reads. */
  readonly variables: DeploymentVariables;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Retries of a failed asynchronous invocation. @default Lambda's own (2) */
  readonly retryAttempts?: number;
  /**
   * Concurrent executions reserved for (and the most allowed to) this function, so a flood of its
   * requests can neither starve the account's other functions nor grow without bound.
   * @default - none reserved: the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * One Lambda function of the app, with the defaults every function shares: Node.js 24 on arm64,
 * 256 MB, its own log group, its own role (allowed only to write to that group; grants add the rest),
 * exactly the environment variables it reads, and a minified bundle that includes the AWS SDK, so
 * the SDK version is the one pinned by package-lock.json (see `function-code.ts`).
 */
export class AppFunction extends Construct {
  /** The function itself: grant to it, integrate it. */
  readonly lambda: LambdaFunction;
  /** Where the function logs; nothing else writes there. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Instead of the AWSLambdaBasicExecutionRole managed policy, which may create and write any log
    // group: the group above already exists, so the function only needs to write streams into it.
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${props.name} function`,
    });
    this.logGroup.grantWrite(role);
    this.lambda = new LambdaFunction(this, 'Function', {
      description: props.description,
      role,
      code: functionCode(props.name),
      handler: 'index.handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout,
      logGroup: this.logGroup,
      ...(props.retryAttempts === undefined ? {} : { retryAttempts: props.retryAttempts }),
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      // No NODE_OPTIONS=--enable-source-maps: Node then parses the whole map at every cold start and
      // maps every stack, for stack traces only unforeseen errors log (`npm run bench` measures it).
      // The map ships in the asset, to read such a trace offline.
      environment: functionEnvironment(props.name, props.variables),
    });
  }
}

/** The variables function `name` reads, with their values; an optional one without a value is left out. */
export function functionEnvironment(name: FunctionName, variables: DeploymentVariables): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const variable of FUNCTION_VARIABLES[name]) {
    const value = variables[variable];
    if (value !== undefined) environment[variable] = value;
  }
  return environment;
}
