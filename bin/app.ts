import { App } from 'aws-cdk-lib';
import { buildStack } from '../lib/stack-context';

buildStack(new App());
