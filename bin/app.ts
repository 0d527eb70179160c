import { App } from 'aws-cdk-lib';
import { addRequestedChecks, buildStack } from '../lib/stack-context';

const app = new App();
buildStack(app);
addRequestedChecks(app);
