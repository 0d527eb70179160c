/** Reading a synthesized template the way the infra tests need: by construct, by function, by role. */
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { FunctionName } from '../../functions/runtime/variables';
import type { AppFunction } from '../../lib/app-function';
import { EcwidAuthStack } from '../../lib/ecwid-auth-stack';
import { readStackContext } from '../../lib/stack-context';

export type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

export interface Synthesized {
  app: App;
  stack: EcwidAuthStack;
  template: Template;
}

/**
 * Builds the standalone stack the way bin/app.ts does: from context alone. Bundling only when asked,
 * since it takes seconds.
 */
export function synth(
  context: Record<string, unknown> = {},
  options: { bundle?: boolean; stackName?: string } = {},
): Synthesized {
  const app = new App({
    context: { ...context, 'aws:cdk:bundling-stacks': options.bundle === true ? ['**'] : [] },
  });
  const stack = new EcwidAuthStack(app, options.stackName ?? 'Test', readStackContext(app.node).props);
  return { app, stack, template: Template.fromStack(stack) };
}

/** The construct at `path` (ids separated by `/`) below `root`. */
export function at(root: IConstruct, path: string): IConstruct {
  return path.split('/').reduce((scope, id) => scope.node.findChild(id), root);
}

/** Where each function sits inside `EcwidAppAuth`. */
const FUNCTION_PATHS: Record<FunctionName, string> = {
  authorize: 'Authorize',
  callback: 'Callback',
  refresh: 'RefreshJob/Function',
  webhooks: 'Webhooks',
  credentials: 'Credentials/Function',
  app: 'App',
  jwks: 'Jwks',
};

export function appFunction(stack: EcwidAuthStack, name: FunctionName): AppFunction {
  return at(stack.auth, FUNCTION_PATHS[name]) as AppFunction;
}

export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  // Resolved, not Stack.getLogicalId: that one ignores an overridden logical ID.
  return Stack.of(construct).resolve(element.logicalId) as string;
}

export function functionId(stack: EcwidAuthStack, name: FunctionName): string {
  return logicalId(appFunction(stack, name).lambda);
}

export function resource(template: Template, id: string): Resource {
  return template.toJSON().Resources[id] as Resource;
}

export function environmentOf(template: Template, id: string): Record<string, unknown> {
  return resource(template, id).Properties.Environment.Variables;
}

/** Every IAM statement attached to a role, by the role's logical ID. */
export function statementsOfRole(template: Template, roleId: string): unknown[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => policy.Properties.Roles.some((role: { Ref?: string }) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

/** Every IAM statement attached to a function's role. */
export function statementsOf(template: Template, fnId: string): unknown[] {
  return statementsOfRole(template, resource(template, fnId).Properties.Role['Fn::GetAtt'][0]);
}

/** Exactly these statements, in any order: the order of statements in a policy means nothing. */
export function expectExactly(statements: unknown[], expected: unknown[]): void {
  expect(statements).toHaveLength(expected.length);
  expect(statements).toEqual(expect.arrayContaining(expected));
}

/** One KMS action on a key, only with this app's encryption context and a store id in it. */
/** The condition that limits a DynamoDB statement to items whose partition key starts with one of `prefixes`. */
export function leadingKeys(...prefixes: string[]) {
  return { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}*`) } };
}

export function tokenKeyStatement(keyArn: unknown, action: string) {
  return {
    Effect: 'Allow',
    Action: action,
    Resource: keyArn,
    Condition: {
      StringEquals: { 'kms:EncryptionContext:app': 'ecwid-app-auth' },
      Null: { 'kms:EncryptionContext:storeId': 'false' },
    },
  };
}
