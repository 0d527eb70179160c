import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EcwidAppAuth } from '../../lib/ecwid-app-auth';
import { synth } from './template';

const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0b5c3d4e-1f2a-4b3c-8d9e-0a1b2c3d4e5f';

/**
 * The logical IDs these resources had in the stack `EcwidAppAuth` before it was split into
 * constructs (read off a synth of that version, with a custom domain and a created secret). An
 * existing deployment updated to a template without one of them would get a new empty table or key,
 * a new API endpoint, or a failed update (a second `$default` stage, route or mapping).
 */
const PRE_CONSTRUCT_IDS = {
  TableCD117FA1: 'AWS::DynamoDB::Table',
  TokenKeyD1D1A236: 'AWS::KMS::Key',
  TokenKeyAlias129AC994: 'AWS::KMS::Alias',
  ClientSecret6773D8CE: 'AWS::SecretsManager::Secret',
  AlarmTopicD01E77F9: 'AWS::SNS::Topic',
  AlarmTopicPolicy309DB5F8: 'AWS::SNS::TopicPolicy',
  HttpApiF5A9A8A7: 'AWS::ApiGatewayV2::Api',
  HttpApiGETauthorize9C536BDB: 'AWS::ApiGatewayV2::Route',
  HttpApiGETcallbackCEAA5740: 'AWS::ApiGatewayV2::Route',
  DefaultStageEE28A986: 'AWS::ApiGatewayV2::Stage',
  CustomDomain21DD44B6: 'AWS::ApiGatewayV2::DomainName',
  DefaultStageEcwidAppAuthCustomDomainundefined4305D628: 'AWS::ApiGatewayV2::ApiMapping',
  AccessLogs8B620ECA: 'AWS::Logs::LogGroup',
  AuthorizeLogGroupCAFBD4A3: 'AWS::Logs::LogGroup',
  CallbackLogGroup805C3E5A: 'AWS::Logs::LogGroup',
  RefreshLogGroup7A347EDF: 'AWS::Logs::LogGroup',
};

function typesById(template: Template): Record<string, string> {
  const resources = template.toJSON().Resources as Record<string, { Type: string }>;
  return Object.fromEntries(Object.entries(resources).map(([id, resource]) => [id, resource.Type]));
}

describe('logical IDs', () => {
  it('stay what they were before the constructs, in the standalone stack, for what a deployment must not lose', () => {
    const { template } = synth(
      { ecwidClientId: 'custom-app-12345-1', domainName: 'auth.example.com', certificateArn: CERTIFICATE_ARN },
      { stackName: 'EcwidAppAuth' },
    );
    expect(typesById(template)).toMatchObject(PRE_CONSTRUCT_IDS);
  });

  it('stay what they were for a stack of another name', () => {
    const { template } = synth({ domainName: 'auth.example.com', certificateArn: CERTIFICATE_ARN }, { stackName: 'Staging' });
    const types = typesById(template);
    expect(types).toMatchObject({ TableCD117FA1: 'AWS::DynamoDB::Table', HttpApiF5A9A8A7: 'AWS::ApiGatewayV2::Api' });
    // The stage names its domain mapping after the stack.
    expect(Object.entries(types)).toContainEqual([expect.stringMatching(/^DefaultStageStagingCustomDomainundefined[0-9A-F]{8}$/), 'AWS::ApiGatewayV2::ApiMapping']);
  });

  it("are the construct's own when it is embedded in another stack: the standalone stack alone pins them", () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const host = new Stack(app, 'EcwidAppAuth');
    new EcwidAppAuth(host, 'EcwidAuth', { domainName: 'auth.example.com', certificateArn: CERTIFICATE_ARN });
    const ids = Object.keys(typesById(Template.fromStack(host)));
    expect(ids.filter((id) => id in PRE_CONSTRUCT_IDS)).toEqual([]);
    expect(ids.filter((id) => id !== 'CDKMetadata' && !id.startsWith('EcwidAuth'))).toEqual([]);
  });
});
