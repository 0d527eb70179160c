import { composedOnce, rootLogger } from '../runtime/composition';
import { composeJwks, readJwksConfig } from './dependencies';
import { createJwksHandler } from './handler';

export const handler = createJwksHandler(composedOnce(() => composeJwks(readJwksConfig())), rootLogger);
