import { Tags, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Node } from 'constructs';
import { EcwidAuthStack, type EcwidAuthStackProps } from './ecwid-auth-stack';

/** The stack's id (and CloudFormation name) when context `stackName` is not set. */
export const DEFAULT_STACK_NAME = 'EcwidAppAuth';

export interface StackContext {
  /** Context `stackName`. */
  readonly stackName: string;
  readonly props: EcwidAuthStackProps;
}

/**
 * Reads the stack's settings from the CDK context. Values given on the command line
 * (`-c appMarketInstalls=false`) arrive as strings, so booleans and numbers are accepted either way.
 * Empty values count as unset; the stack applies its defaults and validates.
 *
 * @throws Error naming the key when a value cannot be read as the type it needs.
 */
export function readStackContext(node: Node): StackContext {
  return {
    stackName: text(node, 'stackName') ?? DEFAULT_STACK_NAME,
    props: {
      ecwidClientId: text(node, 'ecwidClientId'),
      ecwidScopes: text(node, 'ecwidScopes'),
      successUrl: text(node, 'successUrl'),
      publicUrl: text(node, 'publicUrl'),
      domainName: text(node, 'domainName'),
      certificateArn: text(node, 'certificateArn'),
      clientSecretArn: text(node, 'clientSecretArn'),
      appMarketInstalls: flag(node, 'appMarketInstalls'),
      logRetentionDays: number(node, 'logRetentionDays'),
      ecwidOAuthUrl: text(node, 'ecwidOAuthUrl'),
      ecwidApiUrl: text(node, 'ecwidApiUrl'),
      throttleRateLimit: number(node, 'throttleRateLimit'),
      throttleBurstLimit: number(node, 'throttleBurstLimit'),
      refreshScheduleMinutes: number(node, 'refreshScheduleMinutes'),
      refreshConcurrency: number(node, 'refreshConcurrency'),
      tokenRequestTimeoutMs: number(node, 'tokenRequestTimeoutMs'),
      callbackReservedConcurrency: number(node, 'callbackReservedConcurrency'),
      rejectedCodesAlarmThreshold: number(node, 'rejectedCodesAlarmThreshold'),
      edgeProtection: flag(node, 'edgeProtection'),
      edgeRateLimit: number(node, 'edgeRateLimit'),
      edgeWebAclArn: text(node, 'edgeWebAclArn'),
      edgeDomainName: text(node, 'edgeDomainName'),
      edgeCertificateArn: text(node, 'edgeCertificateArn'),
      uninstallRetentionDays: number(node, 'uninstallRetentionDays'),
      appUiUrl: text(node, 'appUiUrl'),
      frameAncestors: text(node, 'frameAncestors'),
    },
  };
}

/**
 * The stack the app deploys, built from the app's context and tagged: what `bin/app.ts` runs, and
 * what the benchmark synthesizes, so both measure and ship the same thing.
 */
export function buildStack(app: App): EcwidAuthStack {
  const { stackName, props } = readStackContext(app.node);
  // No env: the stack is environment-agnostic, so synth needs no AWS account lookups or credentials.
  const stack = new EcwidAuthStack(app, stackName, props);
  Tags.of(stack).add('application', 'ecwid-app-auth');
  Tags.of(stack).add('managed-by', 'aws-cdk');
  return stack;
}

/**
 * Context `nag` (`npx cdk synth -c nag=true`): runs cdk-nag's AwsSolutions checks on synth. An
 * unacknowledged error fails the synth; every finding is printed with its explanation. The stack
 * records why the findings it accepts are accepted (`nag-acknowledgments.ts`).
 */
export function addRequestedChecks(app: App): void {
  if (flag(app.node, 'nag') === true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  }
}

function raw(node: Node, key: string): unknown {
  const value: unknown = node.tryGetContext(key);
  return value === null || (typeof value === 'string' && value.trim() === '') ? undefined : value;
}

function text(node: Node, key: string): string | undefined {
  const value = raw(node, key);
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  throw new Error(`Context "${key}" must be a string, got ${JSON.stringify(value)}`);
}

function flag(node: Node, key: string): boolean | undefined {
  const value = raw(node, key);
  if (value === undefined || typeof value === 'boolean') return value;
  const normalized = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (normalized === 'true') return true;
  if (normalized === 'false') return false;
  throw new Error(`Context "${key}" must be true or false, got ${JSON.stringify(value)}`);
}

function number(node: Node, key: string): number | undefined {
  const value = raw(node, key);
  if (value === undefined) return undefined;
  const parsed = typeof value === 'string' ? Number(value.trim()) : value;
  if (typeof parsed === 'number' && Number.isFinite(parsed)) return parsed;
  throw new Error(`Context "${key}" must be a number, got ${JSON.stringify(value)}`);
}
