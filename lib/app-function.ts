import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

const PROJECT_ROOT = path.join(__dirname, '..');

/** Environment-only credentials: all a Lambda function needs (see the module's own comment). */
const LAMBDA_CREDENTIALS = './functions/runtime/lambda-credentials.ts';

export interface AppFunctionProps {
  /** The directory under `functions/` whose `lambda.ts` exports `handler`. */
  readonly name: string;
  readonly description: string;
  /** The whole invocation budget, including every downstream call the function may wait for. */
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Retries of a failed asynchronous invocation. @default Lambda's own (2) */
  readonly retryAttempts?: number;
}

/**
 * One Lambda function of the app, with the defaults every function shares: Node.js 24 on arm64,
 * 256 MB, its own log group, its own role (allowed only to write to that group; the stack grants
 * the rest), and a minified bundle built by the local esbuild (never Docker) that includes the
 * AWS SDK, so the SDK version is the one pinned by package-lock.json.
 */
export class AppFunction extends Construct {
  /** The function itself: grant to it, integrate it. */
  readonly lambda: NodejsFunction;
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
    this.lambda = new NodejsFunction(this, 'Function', {
      description: props.description,
      role,
      entry: path.join(PROJECT_ROOT, 'functions', props.name, 'lambda.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout,
      logGroup: this.logGroup,
      ...(props.retryAttempts === undefined ? {} : { retryAttempts: props.retryAttempts }),
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node24',
        format: OutputFormat.CJS,
        // Prefer the ES module builds of dependencies: esbuild tree-shakes them far better.
        mainFields: ['module', 'main'],
        // Everything is bundled but the SDK's event-stream codec, which it loads only on demand with a
        // dynamic import, for streaming operations DynamoDB, KMS and Secrets Manager do not have
        // (~15 KB). Were it ever loaded, the runtime's own copy of the SDK would provide it.
        externalModules: ['@smithy/core/event-streams'],
        esbuildArgs: {
          '--alias': `@aws-sdk/credential-provider-node=${LAMBDA_CREDENTIALS}`,
        },
      },
    });
  }
}
