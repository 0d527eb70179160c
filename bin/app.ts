import { App, Tags } from 'aws-cdk-lib';
import { EcwidAuthStack } from '../lib/ecwid-auth-stack';
import { readStackContext } from '../lib/stack-context';

const app = new App();
const { stackName, props } = readStackContext(app.node);
// No env: the stack is environment-agnostic, so synth needs no AWS account lookups or credentials.
const stack = new EcwidAuthStack(app, stackName, props);
Tags.of(stack).add('application', 'ecwid-app-auth');
Tags.of(stack).add('managed-by', 'aws-cdk');
