import { composedOnce, rootLogger } from '../runtime/composition';
import { composeRefresh, readRefreshConfig } from './dependencies';
import { createRefreshHandler } from './handler';

export const handler = createRefreshHandler(composedOnce(() => composeRefresh(readRefreshConfig())), rootLogger);
