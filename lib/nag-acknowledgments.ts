import { Validations } from 'aws-cdk-lib';
import type { HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { EdgeProtection } from './edge-protection';

/** The resources whose cdk-nag (AwsSolutions) findings are accepted by design rather than fixed. */
export interface NagAcknowledgedResources {
  /** The routes merchants reach from Ecwid's redirect, and the one Ecwid posts its webhooks to. */
  readonly publicRoutes: readonly HttpRoute[];
  /** The client secret: created by the stack, or imported by ARN (then there is nothing to acknowledge). */
  readonly clientSecret: ISecret;
  /** The edge protection, when it is on. */
  readonly edge: EdgeProtection | undefined;
}

/**
 * Records, on the exact resources concerned, why the AwsSolutions findings that remain are accepted,
 * so `cdk synth -c nag=true` and the cdk-nag test report only what is new. Every other finding is
 * fixed in the construct. Acknowledgments are metadata on the construct tree: they change nothing in
 * the template.
 *
 * Acknowledge by the bare rule id (`AwsSolutions-APIG4`, or `AwsSolutions-IAM5[Resource::...]` for
 * one finding of a granular rule): cdk-nag 3 itself skips those. The `AwsSolutions::` form the CDK
 * CLI suggests only hides a finding from the CDK's report, not from cdk-nag's own `validateScope`.
 */
export function acknowledgeNagFindings(resources: NagAcknowledgedResources): void {
  for (const route of resources.publicRoutes) {
    Validations.of(route).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        "Public by design: merchants reach /authorize and /callback in a browser, from Ecwid's redirect, " +
        'without credentials an authorizer could check; Ecwid posts to /webhooks with nothing but its ' +
        "HMAC signature and loads /app in its control panel's iframe with nothing but the encrypted payload; " +
        'the JWKS is public keys, for anyone to verify with. The state (single use, bound to the browser by ' +
        'a cookie), the code being worthless without the client secret that only the backend holds, the ' +
        'webhook signature and the payload (decrypted with the client secret) checked before anything is ' +
        'read, and the stage throttle protect them instead.',
    });
  }
  const { edge } = resources;
  if (edge !== undefined) {
    Validations.of(edge.originSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A shared value between the edge and the origin, generated at deploy: a new deploy of the stack can replace it ' +
        '(both sides take the new value together); rotating it alone would desynchronize them.',
    });
    Validations.of(edge.distribution).acknowledge({
      id: 'AwsSolutions-CFR3',
      reason:
        'CloudFront logs would record query strings, which carry authorization codes and states. The API access logs, ' +
        'which leave query strings out, are the record; WAF counts blocked requests in CloudWatch.',
    });
    Validations.of(edge.distribution).acknowledge({
      id: 'AwsSolutions-CFR4',
      reason:
        "With CloudFront's own *.cloudfront.net name its default certificate allows TLSv1; give edgeDomainName and " +
        'edgeCertificateArn for TLSv1.2_2021. The origin is reached over TLSv1.2 only.',
    });
    Validations.of(edge.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'Merchants of Ecwid stores install from anywhere: no country is excluded.',
    });
  }
  if (resources.clientSecret instanceof Secret) {
    Validations.of(resources.clientSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Ecwid issues the client secret: it cannot be rotated from AWS. Ops replace the value by hand ' +
        'when they regenerate it in the Ecwid app settings.',
    });
  }
}
