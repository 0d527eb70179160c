import { composedOnce, rootLogger } from '../runtime/composition';
import { composeCredentials, readCredentialsConfig } from './dependencies';
import { createCredentialsHandler } from './handler';

export const handler = createCredentialsHandler(composedOnce(() => composeCredentials(readCredentialsConfig())), rootLogger);
