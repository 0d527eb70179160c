import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  FUNCTION_VARIABLES,
  type FunctionName,
  type VARIABLE_DEFAULTS,
  type VariableName,
} from '../functions/runtime/variables';
import { functionCode } from './function-code';

/**
 * The value of every variable the functions read, for one deployment: a variable forgotten here is a
 * type error. An optional one (its default is empty, like `SUCCESS_URL`) may be undefined: it is then
 * left out, and the function applies its default.
 */
export type DeploymentVariables = {
  readonly [N in VariableName]: (typeof VARIABLE_DEFAULTS)[N] extends '' ? string | undefined : string;
};

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
