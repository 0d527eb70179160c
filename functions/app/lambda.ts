import { composedOnce, rootLogger } from '../runtime/composition';
import { composeApp, readAppConfig } from './dependencies';
import { createAppHandler } from './handler';

export const handler = createAppHandler(composedOnce(() => composeApp(readAppConfig())), rootLogger);
