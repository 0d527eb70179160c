import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { HttpMethod, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CREDENTIALS_ROUTES, type CredentialsRoute } from '../functions/credentials/routes';
import { CREDENTIALS_TIMEOUT_SECONDS } from '../functions/runtime/time-budgets';
import { AppFunction, type DeploymentVariables } from './app-function';
import type { InstallApi } from './install-api';

export interface CredentialsApiProps {
  /** The HTTP API the routes are added to. */
  readonly api: InstallApi;
  readonly variables: DeploymentVariables;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The credentials API: `GET /stores/{storeId}/credentials` and `POST /stores/{storeId}/credentials/rejected`
 * on the install flow's HTTP API, served by a function of their own, behind IAM authorization:
 * callers sign with SigV4, and only principals granted `execute-api:Invoke` on them get through.
 */
export class CredentialsApi extends Construct {
  readonly function: AppFunction;
  readonly routes: readonly HttpRoute[];
  private readonly api: InstallApi;

  constructor(scope: Construct, id: string, props: CredentialsApiProps) {
    super(scope, id);
    this.api = props.api;
    this.function = new AppFunction(this, 'Function', {
      name: 'credentials',
      description: "Hands out a store's Ecwid token to the app's own code, and checks reported rejections",
      // A wait for a renewal another lease holder is doing, then a refresh of its own and its write,
      // inside API Gateway's 30 s integration limit.
      timeout: Duration.seconds(CREDENTIALS_TIMEOUT_SECONDS),
      variables: props.variables,
      logRetention: props.logRetention,
    });
    const authorizer = new HttpIamAuthorizer();
    this.routes = [CREDENTIALS_ROUTES.read, CREDENTIALS_ROUTES.reportRejection].map((route) =>
      props.api.addRoute(route.path, this.function.lambda, HttpMethod[route.method], authorizer),
    );
  }

  /**
   * `execute-api:Invoke` on exactly the two routes, with the path parameter a wildcard: what a caller
   * needs to sign its requests to them. (`HttpRoute.grantInvoke` would widen the path to everything
   * from the first parameter on: `/stores/*`.)
   */
  grantInvoke(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [CREDENTIALS_ROUTES.read, CREDENTIALS_ROUTES.reportRejection].map((route) => this.routeArn(route)),
    });
  }

  /** `arn:...:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}{path}`, any stage, each parameter a wildcard. */
  private routeArn(route: CredentialsRoute): string {
    return Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.api.httpApi.apiId,
      resourceName: `*/${route.method}${route.path.replace(/\{[^}]+\}/g, '*')}`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }
}
