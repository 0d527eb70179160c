import { composedOnce, rootLogger } from '../runtime/composition';
import { composeCallback, readCallbackConfig } from './dependencies';
import { createCallbackHandler } from './handler';

export const handler = createCallbackHandler(composedOnce(() => composeCallback(readCallbackConfig())), rootLogger);
