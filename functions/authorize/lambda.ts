import { lambdaDependencies, rootLogger } from '../runtime/dependencies';
import { createAuthorizeHandler } from './handler';

export const handler = createAuthorizeHandler(lambdaDependencies, rootLogger);
