import { App, Stack, Validations, type PolicyViolation } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { EcwidAppAuth } from '../../lib/ecwid-app-auth';
import { EcwidAuthStack } from '../../lib/ecwid-auth-stack';
import { addRequestedChecks, readStackContext } from '../../lib/stack-context';

const CLIENT_ID = 'custom-app-12345-1';
const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0b5c3d4e-1f2a-4b3c-8d9e-0a1b2c3d4e5f';

interface Checked {
  stack: EcwidAuthStack;
  /** One line per unacknowledged finding: rule, severity, resources, and (verbose) what to fix. */
  errors: string[];
  warnings: string[];
}

/**
 * Synthesizes the stack from context (bundling skipped), then runs the AwsSolutions checks on it.
 * cdk-nag 3 is a policy-validation plugin: it reports violations instead of annotations, and skips
 * the findings acknowledged with `Validations.of(construct).acknowledge`.
 */
function check(context: Record<string, unknown> = {}): Checked {
  const app = new App({ context: { ecwidClientId: CLIENT_ID, ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcwidAuthStack(app, 'Test', readStackContext(app.node).props);
  const checks = new AwsSolutionsChecks(app, { verbose: true });
  // Aspects and lazy values first: the checks read what the stack would deploy.
  app.synth();
  const { violations } = checks.validateScope(stack);
  return {
    stack,
    errors: violations.filter((violation) => violation.severity === 'error').map(describeViolation),
    warnings: violations.filter((violation) => violation.severity !== 'error').map(describeViolation),
  };
}

function describeViolation(violation: PolicyViolation): string {
  const paths = violation.violatingResources.map((resource) => resource.constructPath).join(', ');
  return `${violation.ruleName} (${violation.severity}) at ${paths}: ${violation.description}`;
}

/** Every acknowledgment in the tree, by construct path relative to the stack. */
function acknowledgments(root: IConstruct): Record<string, Record<string, string>> {
  const found: Record<string, Record<string, string>> = {};
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      const relativePath = construct.node.path.slice(root.node.path.length + 1);
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        (found[relativePath] ??= {})[id.replace(/^annotation::/i, '')] = reason;
      }
    }
  }
  return found;
}

describe('cdk-nag AwsSolutions checks', () => {
  it.each([
    ['the default stack', {}],
    [
      'a stack with an existing secret, a custom domain and a success URL',
      {
        clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecwid/client_secret',
        domainName: 'auth.example.com',
        certificateArn: CERTIFICATE_ARN,
        successUrl: 'https://example.com/installed',
      },
    ],
  ])('find no unacknowledged error or warning in %s', (_name, context) => {
    const { errors, warnings } = check(context);
    expect({ errors, warnings }).toEqual({ errors: [], warnings: [] });
  });

  it('accept only the findings that are so by design, each on the resource it concerns, with a reason', () => {
    const { stack } = check();
    const found = acknowledgments(stack);
    expect(Object.fromEntries(Object.entries(found).map(([path, rules]) => [path, Object.keys(rules)]))).toEqual({
      'EcwidAuth/Api/HttpApi/GET--authorize': ['AwsSolutions-APIG4'],
      'EcwidAuth/Api/HttpApi/GET--callback': ['AwsSolutions-APIG4'],
      'EcwidAuth/Api/HttpApi/POST--webhooks': ['AwsSolutions-APIG4'],
      'EcwidAuth/Api/HttpApi/GET--app': ['AwsSolutions-APIG4'],
      'EcwidAuth/Api/HttpApi/GET--.well-known--jwks.json': ['AwsSolutions-APIG4'],
      'EcwidAuth/ClientSecret': ['AwsSolutions-SMG4'],
    });
    for (const rules of Object.values(found)) {
      for (const reason of Object.values(rules)) expect(reason.length).toBeGreaterThan(80);
    }
  });

  it('acknowledge nothing about a secret the stack does not create', () => {
    const { stack } = check({ clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecwid/client-secret-AbC123' });
    expect(Object.keys(acknowledgments(stack)).sort()).toEqual([
      'EcwidAuth/Api/HttpApi/GET--.well-known--jwks.json',
      'EcwidAuth/Api/HttpApi/GET--app',
      'EcwidAuth/Api/HttpApi/GET--authorize',
      'EcwidAuth/Api/HttpApi/GET--callback',
      'EcwidAuth/Api/HttpApi/POST--webhooks',
    ]);
  });

  it('find nothing unacknowledged in the construct embedded in a host stack: the acknowledgments travel with it', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const host = new Stack(app, 'Host');
    new EcwidAppAuth(host, 'EcwidAuth', { ecwidClientId: CLIENT_ID });
    const checks = new AwsSolutionsChecks(app, { verbose: true });
    app.synth();
    expect(checks.validateScope(host).violations.map(describeViolation)).toEqual([]);
  });

  it('run on synth when context "nag" is true, and fail it on an unacknowledged error', () => {
    const appWith = (nag: unknown) => {
      const app = new App({ context: { nag, 'aws:cdk:bundling-stacks': [] } });
      // A key without rotation: AwsSolutions-KMS5, an error.
      new kms.Key(new Stack(app, 'Noncompliant'), 'Key', { enableKeyRotation: false });
      addRequestedChecks(app);
      return app;
    };
    expect(() => appWith('true').synth()).toThrow(/AwsSolutions-KMS5/);
    expect(() => appWith(false).synth()).not.toThrow();
  });
});
