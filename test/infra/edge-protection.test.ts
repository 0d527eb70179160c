import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EDGE_ORIGIN_HEADER } from '../../functions/runtime/edge-origin';
import { EcwidAuthStack } from '../../lib/ecwid-auth-stack';
import { environmentOf, functionId, logicalId, resource, synth } from './template';

const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0b5c3d4e-1f2a-4b3c-8d9e-0a1b2c3d4e5f';
const WEB_ACL_ARN = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/ecwid-edge/1a2b3c4d-0000-4000-8000-000000000000';
const DOMAIN = { domainName: 'origin.auth.example.com', certificateArn: CERTIFICATE_ARN };

describe('edge protection (context edgeProtection)', () => {
  it('is off by default: no distribution, no web ACL, the execute-api endpoint serves the routes', () => {
    const { stack, template } = synth({ ecwidClientId: 'app-1' });
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: false });
    expect(environmentOf(template, functionId(stack, 'callback'))).not.toHaveProperty('EDGE_ORIGIN_SECRET');
  });

  it("does not count Ecwid's webhook deliveries (POST /webhooks, signed) in the per-IP rate rule, and counts everything else", () => {
    const { template } = synth({ ecwidClientId: 'app-1', edgeProtection: 'true', ...DOMAIN });
    const webAcl = Object.values(template.findResources('AWS::WAFv2::WebACL'))[0]!.Properties;
    const rule = webAcl.Rules.find((candidate: { Name: string }) => candidate.Name === 'RateLimitPerClientIp');
    const exactly = (fieldToMatch: object, value: string) => ({
      ByteMatchStatement: { FieldToMatch: fieldToMatch, PositionalConstraint: 'EXACTLY', SearchString: value, TextTransformations: [{ Priority: 0, Type: 'NONE' }] },
    });
    // Counted: every request that is not (path /webhooks AND method POST).
    expect(rule.Statement.RateBasedStatement.ScopeDownStatement).toEqual({
      NotStatement: { Statement: { AndStatement: { Statements: [exactly({ UriPath: {} }, '/webhooks'), exactly({ Method: {} }, 'POST')] } } },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhooks' });
  });

  it('disables the execute-api endpoint whenever a custom domain fronts the API, so nothing goes around it', () => {
    const { template } = synth({ ecwidClientId: 'app-1', ...DOMAIN });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
  });

  it('puts CloudFront with a rate-limiting web ACL in front, over the custom domain, with a secret origin header', () => {
    const { stack, template } = synth({ ecwidClientId: 'app-1', edgeProtection: 'true', edgeRateLimit: '120', ...DOMAIN });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
    const webAcl = Object.values(template.findResources('AWS::WAFv2::WebACL'))[0]!.Properties;
    expect(webAcl).toMatchObject({ Scope: 'CLOUDFRONT', DefaultAction: { Allow: {} } });
    expect(webAcl.Rules).toEqual([
      expect.objectContaining({
        Action: { Block: {} },
        Statement: { RateBasedStatement: expect.objectContaining({ Limit: 120, AggregateKeyType: 'IP', EvaluationWindowSec: 300 }) },
      }),
    ]);
    // Sampled requests would show query strings (codes) in the console.
    expect(webAcl.VisibilityConfig.SampledRequestsEnabled).toBe(false);

    const distribution = Object.values(template.findResources('AWS::CloudFront::Distribution'))[0]!.Properties.DistributionConfig;
    const [origin] = distribution.Origins;
    expect(origin.DomainName).toBe('origin.auth.example.com');
    expect(origin.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only' });
    expect(origin.OriginCustomHeaders).toEqual([{ HeaderName: EDGE_ORIGIN_HEADER, HeaderValue: expect.anything() }]);
    expect(distribution.WebACLId).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
    expect(distribution).not.toHaveProperty('Logging');
    expect(distribution.DefaultCacheBehavior).toMatchObject({ ViewerProtocolPolicy: 'https-only' });

    // The public URL is the distribution's; the public routes demand the header CloudFront adds.
    const publicUrl = { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [logicalId(stack.auth.edge!.distribution), 'DomainName'] }]] };
    for (const name of ['authorize', 'callback', 'webhooks'] as const) {
      const environment = environmentOf(template, functionId(stack, name));
      // The webhooks function builds no URL: it has no public URL to know.
      if (name !== 'webhooks') expect(environment.PUBLIC_URL).toEqual(publicUrl);
      expect(environment.EDGE_ORIGIN_SECRET).toEqual(origin.OriginCustomHeaders[0].HeaderValue);
      expect(JSON.stringify(environment.EDGE_ORIGIN_SECRET)).toContain('{{resolve:secretsmanager:');
    }
    expect(environmentOf(template, functionId(stack, 'refresh'))).not.toHaveProperty('EDGE_ORIGIN_SECRET');
    template.hasOutput('RedirectUri', { Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [logicalId(stack.auth.edge!.distribution), 'DomainName'] }, '/callback']] } });
  });

  it('attaches an existing web ACL instead of creating one, and serves a host name of your own', () => {
    const { stack, template } = synth({
      ecwidClientId: 'app-1',
      edgeProtection: true,
      edgeWebAclArn: WEB_ACL_ARN,
      edgeDomainName: 'auth.example.com',
      edgeCertificateArn: CERTIFICATE_ARN,
      ...DOMAIN,
    });
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    const distribution = Object.values(template.findResources('AWS::CloudFront::Distribution'))[0]!.Properties.DistributionConfig;
    expect(distribution).toMatchObject({ WebACLId: WEB_ACL_ARN, Aliases: ['auth.example.com'] });
    expect(distribution.ViewerCertificate).toMatchObject({ AcmCertificateArn: CERTIFICATE_ARN, MinimumProtocolVersion: 'TLSv1.2_2021' });
    expect(environmentOf(template, functionId(stack, 'callback')).PUBLIC_URL).toBe('https://auth.example.com');
    expect(resource(template, functionId(stack, 'callback')).Type).toBe('AWS::Lambda::Function');
  });

  it('refuses to create the web ACL outside us-east-1, where AWS does not accept one for CloudFront', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(
      () => new EcwidAuthStack(app, 'Frankfurt', { env: { region: 'eu-central-1', account: '123456789012' }, edgeProtection: true, ...DOMAIN }),
    ).toThrow(/us-east-1/);
    const withAcl = new EcwidAuthStack(app, 'FrankfurtWithAcl', {
      env: { region: 'eu-central-1', account: '123456789012' },
      edgeProtection: true,
      edgeWebAclArn: WEB_ACL_ARN,
      ...DOMAIN,
    });
    Template.fromStack(withAcl).resourceCountIs('AWS::CloudFront::Distribution', 1);
  });

  it.each([
    [{ edgeProtection: true }, /edgeProtection needs domainName and certificateArn/],
    [{ edgeProtection: true, edgeRateLimit: '5', ...DOMAIN }, /edgeRateLimit 5 must be at least 10/],
    [{ edgeProtection: true, edgeWebAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/1a2b', ...DOMAIN }, /edgeWebAclArn/],
    [{ edgeProtection: true, edgeDomainName: 'auth.example.com', ...DOMAIN }, /edgeDomainName and edgeCertificateArn must be given together/],
    [
      {
        edgeProtection: true,
        edgeDomainName: 'auth.example.com',
        edgeCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0b5c3d4e-1f2a-4b3c-8d9e-0a1b2c3d4e5f',
        ...DOMAIN,
      },
      /edgeCertificateArn .* us-east-1/,
    ],
  ])('refuses %j', (context, message) => {
    expect(() => synth(context)).toThrow(message);
  });
});
