import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  DomainName,
  HttpApi,
  HttpMethod,
  type HttpRoute,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
  PayloadFormatVersion,
  SecurityPolicy,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface InstallApiProps {
  /** The HTTP API's name, unique among the stack's APIs. */
  readonly apiName: string;
  /** A regional custom domain, with its ACM certificate in the stack's region. @default - none */
  readonly customDomain?: { readonly domainName: string; readonly certificateArn: string };
  /** Requests per second and burst, for all routes together. */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetention: logs.RetentionDays;
}

/**
 * The HTTP API merchants' browsers reach: one `$default` stage, throttled, deployed automatically,
 * writing JSON access logs; optionally behind a custom domain. Routes are added by their users.
 */
export class InstallApi extends Construct {
  readonly httpApi: HttpApi;
  /** The API's own origin: its custom domain, else its `execute-api` endpoint; without a trailing slash. */
  readonly url: string;
  readonly customDomain: DomainName | undefined;

  constructor(scope: Construct, id: string, props: InstallApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: props.apiName,
      description: 'Ecwid app install flow',
      createDefaultStage: false,
      // Fronted by a custom domain (and maybe the edge), the API is reached there only: the default
      // endpoint would be a way around whatever protects the front.
      disableExecuteApiEndpoint: props.customDomain !== undefined,
    });
    this.customDomain =
      props.customDomain === undefined
        ? undefined
        : new DomainName(this, 'CustomDomain', {
            domainName: props.customDomain.domainName,
            certificate: Certificate.fromCertificateArn(this, 'Certificate', props.customDomain.certificateArn),
            securityPolicy: SecurityPolicy.TLS_1_2,
          });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: accessLogFormat() },
      ...(this.customDomain === undefined ? {} : { domainMapping: { domainName: this.customDomain } }),
    });
    // The API resource does not depend on the functions, so they can be given its endpoint.
    this.url = props.customDomain === undefined ? this.httpApi.apiEndpoint : `https://${props.customDomain.domainName}`;
  }

  /** Routes `method path` to `handler`, with the event payload format 2.0; public unless an authorizer is given. */
  addRoute(path: string, handler: IFunction, method: HttpMethod = HttpMethod.GET, authorizer?: IHttpRouteAuthorizer): HttpRoute {
    const [route] = this.httpApi.addRoutes({
      path,
      methods: [method],
      ...(authorizer === undefined ? {} : { authorizer }),
      integration: new HttpLambdaIntegration('Integration', handler, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      }),
    });
    return route!;
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
