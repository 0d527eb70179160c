import { lambdaDependencies, rootLogger } from '../runtime/dependencies';
import { createRefreshHandler } from './handler';

export const handler = createRefreshHandler(lambdaDependencies, rootLogger);
