import { lambdaDependencies, rootLogger } from '../runtime/dependencies';
import { createCallbackHandler } from './handler';

export const handler = createCallbackHandler(lambdaDependencies, rootLogger);
